package incidenttest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// MemStore is an in-memory incident.Store with the same semantics as the
// database store (package gormstore), checked by RunStoreTests: the same
// defaults, error kinds, orderings, and time normalisation (UTC, whole
// microseconds). Everything it returns is a deep copy, so callers can never
// change stored state except through its methods. It is safe for concurrent
// use.
//
// Atomic holds the store for the whole of its function and restores a
// snapshot when the function fails; jobs scheduled on its Tx are handed to
// the Scheduler given to SetScheduler when the function succeeds.
//
// It is composed of one part per feature, each in its own file and all on
// the same data and lock: incidents (memstore_incidents.go), the timeline
// (memstore_timeline.go), status updates (memstore_updates.go), follow-ups,
// reviews and sent notices (memstore_followthrough.go), pages
// (memstore_pages.go), changes and rollbacks (memstore_changes.go), alerts
// (memstore_alerts.go), deliveries (memstore_deliveries.go), exports
// (memstore_exports.go) and leases (memstore_leases.go); Atomic
// (memstore_atomic.go) composes the same parts on its transaction.
type MemStore struct {
	*memShared
	memIncidents
	memTimeline
	memUpdates
	memFollowUps
	memPages
	memChanges
	memAlerts
	memDeliveries
	memExports
	memLeases
	memPeople
}

var _ incident.Store = (*MemStore)(nil)

// memShared is what every part of a MemStore shares.
type memShared struct {
	*memData
	// mu guards memData; a Tx shares the data and holds a no-op lock,
	// since Atomic holds the real one for it.
	mu sync.Locker
	// tx collects the jobs of the transaction a Tx belongs to; nil outside.
	tx *memTx
}

// memData is the state of a MemStore, shared with its Tx values.
type memData struct {
	clock incident.Clock
	sched incident.Scheduler

	lastID     int64 // one sequence for every row kind: IDs stay unique and increasing
	lastNumber int64
	incidents  []*incident.Incident // by ID ascending
	events     []incident.TimelineEvent
	updates    []incident.StatusUpdate
	items      []incident.ActionItem
	changes    []incident.ChangeEvent
	deliveries map[deliveryKey]time.Time
	replays    []incident.ReplayBatch
	pages      []incident.Page
	rollbacks  []incident.Rollback
	exports    map[exportKey]incident.ExportRef
	alerts     []incident.Alert
	reviews    map[int64]incident.Review
	notices    map[string]time.Time
	leases     map[string]memLease
	standings  map[string]incident.PersonStanding
	// installation is the store's installation id, made when first asked.
	installation string
}

// NewMemStore returns an empty store that tells the time with clock
// (incident.SystemClock when nil).
func NewMemStore(clock incident.Clock) *MemStore {
	if clock == nil {
		clock = incident.SystemClock
	}
	return newMemStore(&memShared{
		memData: &memData{
			clock:      clock,
			deliveries: map[deliveryKey]time.Time{},
			exports:    map[exportKey]incident.ExportRef{},
			reviews:    map[int64]incident.Review{},
			notices:    map[string]time.Time{},
			leases:     map[string]memLease{},
			standings:  map[string]incident.PersonStanding{},
		},
		mu: &sync.Mutex{},
	})
}

// newMemStore composes the parts of a MemStore on sh.
func newMemStore(sh *memShared) *MemStore {
	return &MemStore{
		memShared:     sh,
		memIncidents:  memIncidents{sh},
		memTimeline:   memTimeline{sh},
		memUpdates:    memUpdates{sh},
		memFollowUps:  memFollowUps{sh},
		memPages:      memPages{sh},
		memChanges:    memChanges{sh},
		memAlerts:     memAlerts{sh},
		memDeliveries: memDeliveries{sh},
		memExports:    memExports{sh},
		memLeases:     memLeases{sh},
		memPeople:     memPeople{sh},
	}
}

func (m *memData) now() time.Time { return normTime(m.clock.Now()) }

func (m *memData) nextID() int64 {
	m.lastID++
	return m.lastID
}

// normTime matches what the database stores: UTC, whole microseconds.
func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func normTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := normTime(*t)
	return &v
}

// cloneMap copies m; an empty map becomes nil, as the database reads it back.
func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

func cloneIncident(in *incident.Incident) *incident.Incident {
	out := *in
	out.Roles = cloneMap(in.Roles)
	out.DeclaredAt = normTime(in.DeclaredAt)
	out.UpdatedAt = normTime(in.UpdatedAt)
	out.AcknowledgedAt = normTimePtr(in.AcknowledgedAt)
	out.MitigatedAt = normTimePtr(in.MitigatedAt)
	out.ResolvedAt = normTimePtr(in.ResolvedAt)
	out.ClosedAt = normTimePtr(in.ClosedAt)
	out.LastUpdateAt = normTimePtr(in.LastUpdateAt)
	out.SnoozedUntil = normTimePtr(in.SnoozedUntil)
	return &out
}

// cloneEvent copies ev; its payload is a value, copied with it.
func cloneEvent(in incident.TimelineEvent) incident.TimelineEvent {
	in.At = normTime(in.At)
	return in
}

// storedEvent is ev as the database store reads it back: a copy whose
// payload went through the JSON the database keeps.
func storedEvent(op string, ev incident.TimelineEvent) (incident.TimelineEvent, error) {
	data, err := incident.EncodeEventData(&ev)
	if err != nil {
		return ev, fmt.Errorf("%s: %w", op, err)
	}
	out := cloneEvent(ev)
	if err := incident.DecodeEventData(&out, data); err != nil {
		return ev, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// clonePage copies p; empty Assignees become nil, as the database reads them back.
func clonePage(in incident.Page) incident.Page {
	in.Assignees = slices.Clone(in.Assignees)
	if len(in.Assignees) == 0 {
		in.Assignees = nil
	}
	in.CreatedAt = normTime(in.CreatedAt)
	in.AcknowledgedAt = normTimePtr(in.AcknowledgedAt)
	in.ResolvedAt = normTimePtr(in.ResolvedAt)
	return in
}

func cloneRollback(in incident.Rollback) incident.Rollback {
	in.CreatedAt = normTime(in.CreatedAt)
	in.UpdatedAt = normTime(in.UpdatedAt)
	return in
}

func cloneChange(in incident.ChangeEvent) incident.ChangeEvent {
	in.Data = cloneMap(in.Data)
	in.OccurredAt = normTime(in.OccurredAt)
	return in
}

func errorf(op, code, format string, args ...any) error {
	return fmt.Errorf("%s: %w", op, incident.Errorf(code, format, args...))
}

func (m *memData) incidentByID(id int64) *incident.Incident {
	for _, inc := range m.incidents {
		if inc.ID == id {
			return inc
		}
	}
	return nil
}

// Ping implements incident.Store; a MemStore is always reachable.
func (m *MemStore) Ping(context.Context) error { return nil }

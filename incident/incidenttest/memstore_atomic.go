package incidenttest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/firebreakhq/firebreak/incident"
)

// SetScheduler gives the store the Scheduler that receives the jobs of a
// committed Atomic. Without one, scheduling on a Tx fails.
func (m *MemStore) SetScheduler(s incident.Scheduler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sched = s
}

// memTx is one running Atomic: the jobs to hand over at commit.
type memTx struct {
	jobs []incident.Job
}

type noLock struct{}

func (noLock) Lock() {}

func (noLock) Unlock() {}

// Atomic implements incident.Store. The store stays locked while fn runs,
// so fn calling the store itself instead of tx deadlocks, as it may on
// SQLite.
func (m *MemStore) Atomic(ctx context.Context, fn func(tx incident.Tx) error) (err error) {
	if m.tx != nil {
		// Already inside: the same transaction, undone alone on failure
		// like a savepoint.
		saved, jobs := m.memData.clone(), len(m.tx.jobs)
		if err := fn(m); err != nil {
			*m.memData = *saved
			m.tx.jobs = m.tx.jobs[:jobs]
			return err
		}
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	saved := m.memData.clone()
	tx := newMemStore(&memShared{memData: m.memData, mu: noLock{}, tx: &memTx{}})
	committed := false
	defer func() {
		if !committed {
			*m.memData = *saved
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	for _, job := range tx.tx.jobs {
		// Scheduling is the engine's commit of the same transaction; a
		// failure here is a test wiring bug, not a rollback.
		if _, err := m.sched.Schedule(ctx, job); err != nil {
			return fmt.Errorf("memstore: hand over job %s: %w", job.Kind, err)
		}
	}
	return nil
}

// Schedule implements incident.Scheduler on a Tx: the job is handed to the
// store's Scheduler when the transaction commits. Outside a transaction it
// schedules at once.
func (m *MemStore) Schedule(ctx context.Context, job incident.Job) (bool, error) {
	if m.sched == nil {
		return false, errors.New("memstore: no scheduler; call SetScheduler")
	}
	if m.tx == nil {
		return m.sched.Schedule(ctx, job)
	}
	m.tx.jobs = append(m.tx.jobs, job)
	return true, nil
}

// clone deep-copies the data, for rolling back.
func (d *memData) clone() *memData {
	out := *d
	out.incidents = make([]*incident.Incident, len(d.incidents))
	for i, inc := range d.incidents {
		out.incidents[i] = cloneIncident(inc)
	}
	out.events = make([]incident.TimelineEvent, len(d.events))
	for i, ev := range d.events {
		out.events[i] = cloneEvent(ev)
	}
	out.updates = slices.Clone(d.updates)
	out.items = slices.Clone(d.items)
	out.changes = make([]incident.ChangeEvent, len(d.changes))
	for i, c := range d.changes {
		c.Data = maps.Clone(c.Data)
		out.changes[i] = c
	}
	out.deliveries = maps.Clone(d.deliveries)
	out.pages = make([]incident.Page, len(d.pages))
	for i, p := range d.pages {
		out.pages[i] = clonePage(p)
	}
	out.rollbacks = slices.Clone(d.rollbacks)
	out.exports = maps.Clone(d.exports)
	out.alerts = make([]incident.Alert, len(d.alerts))
	for i, a := range d.alerts {
		out.alerts[i] = cloneAlert(a)
	}
	out.reviews = maps.Clone(d.reviews)
	out.notices = maps.Clone(d.notices)
	out.leases = maps.Clone(d.leases)
	out.standings = maps.Clone(d.standings)
	return &out
}

// CreateIncidentWith implements incident.IncidentOpener: the incident, then
// its first events, in one Atomic (a savepoint inside one), so a failing
// event leaves nothing of the incident.
func (m *MemStore) CreateIncidentWith(ctx context.Context, inc *incident.Incident, first func(*incident.Incident) []incident.TimelineEvent) (*incident.Incident, error) {
	var (
		out     *incident.Incident
		existed bool
	)
	err := m.Atomic(ctx, func(tx incident.Tx) error {
		var err error
		out, err = tx.CreateIncident(ctx, inc)
		if err != nil {
			existed = out != nil
			return err
		}
		for _, ev := range first(out) {
			ev.IncidentID = out.ID
			if err := tx.AddTimelineEvent(ctx, &ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !existed {
		return nil, err
	}
	return out, err
}

package incidenttest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
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
type MemStore struct {
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
	pages      []incident.Page
	rollbacks  []incident.Rollback
	exports    map[exportKey]incident.ExportRef
	alerts     []incident.Alert
	reviews    map[int64]incident.Review
	notices    map[string]time.Time
}

type deliveryKey struct{ source, id string }

type exportKey struct {
	incidentID int64
	target     string
}

var _ incident.Store = (*MemStore)(nil)

// NewMemStore returns an empty store that tells the time with clock
// (incident.SystemClock when nil).
func NewMemStore(clock incident.Clock) *MemStore {
	if clock == nil {
		clock = incident.SystemClock
	}
	return &MemStore{
		memData: &memData{
			clock:      clock,
			deliveries: map[deliveryKey]time.Time{},
			exports:    map[exportKey]incident.ExportRef{},
			reviews:    map[int64]incident.Review{},
			notices:    map[string]time.Time{},
		},
		mu: &sync.Mutex{},
	}
}

func (m *MemStore) now() time.Time { return normTime(m.clock.Now()) }

func (m *MemStore) nextID() int64 {
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

func cloneEvent(in incident.TimelineEvent) incident.TimelineEvent {
	in.Data = cloneMap(in.Data)
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

func checkIncident(op string, inc *incident.Incident) error {
	switch {
	case inc.Title == "":
		return errorf(op, incident.EINVALID, "The incident needs a title.")
	case !inc.Severity.Valid():
		return errorf(op, incident.EINVALID, "Unknown severity %d: use P1, P2, P3 or P4.", int(inc.Severity))
	case !inc.Status.Valid():
		return errorf(op, incident.EINVALID, "Unknown status %q.", inc.Status)
	case inc.NagCount < 0:
		return errorf(op, incident.EINVALID, "The nag count cannot be negative.")
	}
	return nil
}

func (m *MemStore) incidentByID(id int64) *incident.Incident {
	for _, inc := range m.incidents {
		if inc.ID == id {
			return inc
		}
	}
	return nil
}

// channelTaken reports whether an incident other than id owns channelID.
func (m *MemStore) channelTaken(channelID string, id int64) bool {
	if channelID == "" {
		return false
	}
	for _, inc := range m.incidents {
		if inc.ChannelID == channelID && inc.ID != id {
			return true
		}
	}
	return false
}

// CreateIncident implements incident.Store.
func (m *MemStore) CreateIncident(_ context.Context, inc *incident.Incident) (*incident.Incident, error) {
	const op = "create incident"
	if inc == nil {
		return nil, errorf(op, incident.EINVALID, "No incident to create.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	in := cloneIncident(inc)
	now := m.now()
	if in.Status == "" {
		in.Status = incident.StatusDeclared
	}
	if in.DeclaredAt.IsZero() {
		in.DeclaredAt = now
	}
	in.UpdatedAt = now
	if err := checkIncident(op, in); err != nil {
		return nil, err
	}
	if in.DeclareKey != "" {
		for _, existing := range m.incidents {
			if existing.DeclareKey == in.DeclareKey {
				return cloneIncident(existing), errorf(op, incident.ECONFLICT, "This incident was already declared as %s.", existing.Key())
			}
		}
	}
	if m.channelTaken(in.ChannelID, 0) {
		return nil, errorf(op, incident.ECONFLICT, "Another incident already uses this channel.")
	}
	m.lastNumber++
	in.ID, in.Number = m.nextID(), m.lastNumber
	m.incidents = append(m.incidents, in)
	return cloneIncident(in), nil
}

// GetIncident implements incident.Store.
func (m *MemStore) GetIncident(_ context.Context, id int64) (*incident.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if inc := m.incidentByID(id); inc != nil {
		return cloneIncident(inc), nil
	}
	return nil, errorf("get incident", incident.ENOTFOUND, "Incident %d was not found.", id)
}

// GetIncidentByNumber implements incident.Store.
func (m *MemStore) GetIncidentByNumber(_ context.Context, number int64) (*incident.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, inc := range m.incidents {
		if inc.Number == number {
			return cloneIncident(inc), nil
		}
	}
	return nil, errorf("get incident by number", incident.ENOTFOUND, "INC-%d was not found.", number)
}

// GetIncidentByChannel implements incident.Store.
func (m *MemStore) GetIncidentByChannel(_ context.Context, channelID string) (*incident.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if channelID != "" {
		for _, inc := range m.incidents {
			if inc.ChannelID == channelID {
				return cloneIncident(inc), nil
			}
		}
	}
	return nil, errorf("get incident by channel", incident.ENOTFOUND, "This channel does not belong to an incident.")
}

// ListIncidents implements incident.Store. A Limit of zero or less means no
// limit.
func (m *MemStore) ListIncidents(_ context.Context, filter incident.IncidentFilter) ([]*incident.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*incident.Incident, 0, len(m.incidents))
	for _, inc := range m.incidents {
		if !filter.Match(inc) {
			continue
		}
		out = append(out, cloneIncident(inc))
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Severity != b.Severity {
			return a.Severity < b.Severity
		}
		if !a.DeclaredAt.Equal(b.DeclaredAt) {
			return a.DeclaredAt.After(b.DeclaredAt)
		}
		return a.ID > b.ID
	})
	if filter.Limit > 0 && len(out) > filter.Limit {
		out = out[:filter.Limit]
	}
	return out, nil
}

// UpdateIncident implements incident.Store, with the same extras as the
// database store: ID and Number cannot change, UpdatedAt comes from the
// clock, events get the incident's ID and a zero At becomes now, and an event
// whose SourceID is already stored aborts the update with ECONFLICT.
func (m *MemStore) UpdateIncident(_ context.Context, id int64, fn func(*incident.Incident) ([]incident.TimelineEvent, error)) (*incident.Incident, error) {
	const op = "update incident"
	// Holding the lock across fn serialises updates, like the row lock.
	m.mu.Lock()
	defer m.mu.Unlock()
	stored := m.incidentByID(id)
	if stored == nil {
		return nil, errorf(op, incident.ENOTFOUND, "Incident %d was not found.", id)
	}
	inc := cloneIncident(stored)
	events, err := fn(inc)
	if err != nil {
		return nil, err
	}
	now := m.now()
	inc = cloneIncident(inc)
	inc.ID, inc.Number, inc.UpdatedAt = stored.ID, stored.Number, now
	if err := checkIncident(op, inc); err != nil {
		return nil, err
	}
	if m.channelTaken(inc.ChannelID, id) {
		return nil, errorf(op, incident.ECONFLICT, "Another incident already uses this channel.")
	}
	pending := make([]incident.TimelineEvent, 0, len(events))
	for _, ev := range events {
		ev, err := storedEvent(op, ev)
		if err != nil {
			return nil, err
		}
		ev.IncidentID = id
		if ev.At.IsZero() {
			ev.At = now
		}
		if err := m.checkEvent(op, ev, pending); err != nil {
			return nil, err
		}
		pending = append(pending, ev)
	}
	*stored = *inc
	for _, ev := range pending {
		ev.ID = m.nextID()
		m.events = append(m.events, ev)
	}
	return cloneIncident(stored), nil
}

// checkEvent applies the timeline's rules against stored events and those
// about to be stored with it.
func (m *MemStore) checkEvent(op string, ev incident.TimelineEvent, pending []incident.TimelineEvent) error {
	if ev.Kind == "" {
		return errorf(op, incident.EINVALID, "A timeline event needs a kind.")
	}
	if m.incidentByID(ev.IncidentID) == nil {
		return errorf(op, incident.ENOTFOUND, "Incident %d was not found.", ev.IncidentID)
	}
	if ev.SourceID == "" {
		return nil
	}
	for _, list := range [][]incident.TimelineEvent{m.events, pending} {
		for _, e := range list {
			if e.IncidentID == ev.IncidentID && e.SourceID == ev.SourceID {
				return errorf(op, incident.ECONFLICT, "That event is already on the timeline.")
			}
		}
	}
	return nil
}

// AddTimelineEvent implements incident.Store. A zero At becomes the clock's now.
func (m *MemStore) AddTimelineEvent(_ context.Context, ev *incident.TimelineEvent) error {
	const op = "add timeline event"
	if ev == nil {
		return errorf(op, incident.EINVALID, "No event to add.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	in, err := storedEvent(op, *ev)
	if err != nil {
		return err
	}
	if in.At.IsZero() {
		in.At = m.now()
	}
	if err := m.checkEvent(op, in, nil); err != nil {
		return err
	}
	in.ID = m.nextID()
	m.events = append(m.events, in)
	ev.ID, ev.At = in.ID, in.At
	return nil
}

// ListTimeline implements incident.Store.
func (m *MemStore) ListTimeline(_ context.Context, incidentID int64) ([]incident.TimelineEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []incident.TimelineEvent{}
	for _, ev := range m.events {
		if ev.IncidentID == incidentID {
			out = append(out, cloneEvent(ev))
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// AddStatusUpdate implements incident.Store. Like the database store it adds
// an EventUpdatePosted by the author at PostedAt (a zero PostedAt becomes the
// clock's now) with the update's text and an UpdatePostedData.
func (m *MemStore) AddStatusUpdate(_ context.Context, u *incident.StatusUpdate) error {
	const op = "add status update"
	if u == nil {
		return errorf(op, incident.EINVALID, "No status update to add.")
	}
	switch {
	case !u.Status.Valid():
		return errorf(op, incident.EINVALID, "Unknown status %q.", u.Status)
	case u.NextUpdateIn < 0:
		return errorf(op, incident.EINVALID, "The time to the next update cannot be negative.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.incidentByID(u.IncidentID) == nil {
		return errorf(op, incident.ENOTFOUND, "Incident %d was not found.", u.IncidentID)
	}
	in := *u
	in.PostedAt = normTime(in.PostedAt)
	if in.PostedAt.IsZero() {
		in.PostedAt = m.now()
	}
	in.ID = m.nextID()
	m.updates = append(m.updates, in)
	ev, err := storedEvent(op, incident.TimelineEvent{
		IncidentID: in.IncidentID,
		Kind:       incident.EventUpdatePosted,
		Actor:      in.Author,
		At:         in.PostedAt,
		Text:       in.Text,
		Payload:    incident.UpdatePostedData{Status: in.Status},
	})
	if err != nil {
		return err
	}
	ev.ID = m.nextID()
	m.events = append(m.events, ev)
	u.ID, u.PostedAt = in.ID, in.PostedAt
	return nil
}

// ListStatusUpdates implements incident.Store.
func (m *MemStore) ListStatusUpdates(_ context.Context, incidentID int64) ([]incident.StatusUpdate, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []incident.StatusUpdate{}
	for _, u := range m.updates {
		if u.IncidentID == incidentID {
			out = append(out, u)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].PostedAt.Equal(out[j].PostedAt) {
			return out[i].PostedAt.Before(out[j].PostedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// AddActionItem implements incident.Store. A zero CreatedAt becomes the
// clock's now.
func (m *MemStore) AddActionItem(_ context.Context, a *incident.ActionItem) error {
	const op = "add action item"
	if a == nil {
		return errorf(op, incident.EINVALID, "No follow-up to add.")
	}
	if a.Text == "" {
		return errorf(op, incident.EINVALID, "A follow-up needs a description.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.incidentByID(a.IncidentID) == nil {
		return errorf(op, incident.ENOTFOUND, "Incident %d was not found.", a.IncidentID)
	}
	in := *a
	in.DueOn = normTimePtr(a.DueOn)
	in.CreatedAt = normTime(in.CreatedAt)
	if in.CreatedAt.IsZero() {
		in.CreatedAt = m.now()
	}
	in.ID = m.nextID()
	m.items = append(m.items, in)
	a.ID, a.CreatedAt = in.ID, in.CreatedAt
	return nil
}

// ListActionItems implements incident.Store.
func (m *MemStore) ListActionItems(_ context.Context, incidentID int64) ([]incident.ActionItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []incident.ActionItem{}
	for _, a := range m.items {
		if a.IncidentID == incidentID {
			a.DueOn = normTimePtr(a.DueOn)
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// AddChangeEvent implements incident.Store. A zero OccurredAt becomes the
// clock's now; Source, ExternalID and Kind are required (EINVALID).
func (m *MemStore) AddChangeEvent(_ context.Context, c *incident.ChangeEvent) error {
	const op = "add change event"
	if c == nil {
		return errorf(op, incident.EINVALID, "No change to add.")
	}
	if c.Source == "" || c.ExternalID == "" || c.Kind == "" {
		return errorf(op, incident.EINVALID, "A change needs a source, an id and a kind.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	in := cloneChange(*c)
	if in.OccurredAt.IsZero() {
		in.OccurredAt = m.now()
	}
	for i, e := range m.changes {
		if e.Source == c.Source && e.ExternalID == c.ExternalID {
			if !in.Newer(e) {
				return errorf(op, incident.ECONFLICT, "The %s change %s is already recorded.", c.Source, c.ExternalID)
			}
			in.ID = e.ID
			if in.Service == "" {
				in.Service = e.Service
			}
			m.changes[i] = in
			c.ID, c.OccurredAt, c.Service = in.ID, in.OccurredAt, in.Service
			return nil
		}
	}
	in.ID = m.nextID()
	m.changes = append(m.changes, in)
	c.ID, c.OccurredAt = in.ID, in.OccurredAt
	return nil
}

// ListChangeEvents implements incident.Store.
func (m *MemStore) ListChangeEvents(_ context.Context, service string, from, to time.Time) ([]incident.ChangeEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []incident.ChangeEvent{}
	for _, c := range m.changes {
		if c.OccurredAt.Before(from) || c.OccurredAt.After(to) {
			continue
		}
		if service != "" && c.Service != service {
			continue
		}
		out = append(out, cloneChange(c))
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].OccurredAt.Equal(out[j].OccurredAt) {
			return out[i].OccurredAt.After(out[j].OccurredAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// RecordDelivery implements incident.Store. A zero ReceivedAt becomes the
// clock's now; Source and ID are required (EINVALID).
func (m *MemStore) RecordDelivery(_ context.Context, d incident.Delivery) (bool, error) {
	if d.Source == "" || d.ID == "" {
		return false, errorf("record delivery", incident.EINVALID, "A delivery needs a source and an id.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := deliveryKey{d.Source, d.ID}
	if _, ok := m.deliveries[k]; ok {
		return false, nil
	}
	at := normTime(d.ReceivedAt)
	if at.IsZero() {
		at = m.now()
	}
	m.deliveries[k] = at
	return true, nil
}

// PurgeDeliveries implements incident.Store.
func (m *MemStore) PurgeDeliveries(_ context.Context, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, at := range m.deliveries {
		if at.Before(before) {
			delete(m.deliveries, k)
			n++
		}
	}
	return n, nil
}

// UpdateTimelineEvent implements incident.Store, with the same extras as
// the database store: ID, IncidentID and SourceID cannot change, a zero At
// keeps the stored one, an empty Kind is EINVALID, and fn's error is
// returned as is with nothing written.
func (m *MemStore) UpdateTimelineEvent(_ context.Context, incidentID int64, sourceID string, fn func(*incident.TimelineEvent) error) (*incident.TimelineEvent, error) {
	const op = "update timeline event"
	m.mu.Lock()
	defer m.mu.Unlock()
	i := -1
	if sourceID != "" {
		i = slices.IndexFunc(m.events, func(e incident.TimelineEvent) bool {
			return e.IncidentID == incidentID && e.SourceID == sourceID
		})
	}
	if i < 0 {
		return nil, errorf(op, incident.ENOTFOUND, "That message is not on the incident's timeline.")
	}
	stored := m.events[i]
	ev := cloneEvent(stored)
	if err := fn(&ev); err != nil {
		return nil, err
	}
	ev, err := storedEvent(op, ev)
	if err != nil {
		return nil, err
	}
	ev.ID, ev.IncidentID, ev.SourceID = stored.ID, stored.IncidentID, stored.SourceID
	if ev.At.IsZero() {
		ev.At = stored.At
	}
	if ev.Kind == "" {
		return nil, errorf(op, incident.EINVALID, "A timeline event needs a kind.")
	}
	m.events[i] = ev
	out := cloneEvent(ev)
	return &out, nil
}

// pageTaken reports whether a page other than id has the provider and
// non-empty dedup key.
func (m *MemStore) pageTaken(provider, dedupKey string, id int64) bool {
	if dedupKey == "" {
		return false
	}
	return slices.ContainsFunc(m.pages, func(p incident.Page) bool {
		return p.Provider == provider && p.DedupKey == dedupKey && p.ID != id
	})
}

// AddPage implements paging.Store, with the same extras as the database
// store: Provider is required (EINVALID), a zero CreatedAt becomes the
// clock's now, and an empty DedupKey never conflicts.
func (m *MemStore) AddPage(_ context.Context, p *incident.Page) error {
	const op = "add page"
	if p == nil {
		return errorf(op, incident.EINVALID, "No page to add.")
	}
	if p.Provider == "" {
		return errorf(op, incident.EINVALID, "A page needs a provider.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.incidentByID(p.IncidentID) == nil {
		return errorf(op, incident.ENOTFOUND, "Incident %d was not found.", p.IncidentID)
	}
	if m.pageTaken(p.Provider, p.DedupKey, 0) {
		return errorf(op, incident.ECONFLICT, "That page was already sent.")
	}
	in := clonePage(*p)
	if in.CreatedAt.IsZero() {
		in.CreatedAt = m.now()
	}
	in.ID = m.nextID()
	m.pages = append(m.pages, in)
	p.ID, p.CreatedAt = in.ID, in.CreatedAt
	return nil
}

// UpdatePage implements paging.Store, with the same extras as the
// database store: ID and IncidentID cannot change, a zero CreatedAt keeps
// the stored one, an empty Provider is EINVALID, another page's
// Provider+DedupKey is ECONFLICT, and fn's error is returned as is.
func (m *MemStore) UpdatePage(_ context.Context, id int64, fn func(*incident.Page) error) (*incident.Page, error) {
	const op = "update page"
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.pages, func(p incident.Page) bool { return p.ID == id })
	if i < 0 {
		return nil, errorf(op, incident.ENOTFOUND, "That page was not found.")
	}
	stored := m.pages[i]
	p := clonePage(stored)
	if err := fn(&p); err != nil {
		return nil, err
	}
	p = clonePage(p)
	p.ID, p.IncidentID = stored.ID, stored.IncidentID
	if p.CreatedAt.IsZero() {
		p.CreatedAt = stored.CreatedAt
	}
	if p.Provider == "" {
		return nil, errorf(op, incident.EINVALID, "A page needs a provider.")
	}
	if m.pageTaken(p.Provider, p.DedupKey, id) {
		return nil, errorf(op, incident.ECONFLICT, "That page was already sent.")
	}
	m.pages[i] = p
	out := clonePage(p)
	return &out, nil
}

// FindPage implements paging.Store. When several of the provider's pages
// match, the oldest is returned.
func (m *MemStore) FindPage(_ context.Context, provider, ref string) (*incident.Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if provider != "" && ref != "" {
		// Pages are appended with increasing IDs, so the first match is the oldest.
		for _, p := range m.pages {
			if p.Provider == provider && (p.ExternalID == ref || p.DedupKey == ref) {
				out := clonePage(p)
				return &out, nil
			}
		}
	}
	return nil, errorf("find page", incident.ENOTFOUND, "That page was not found.")
}

// ListPages implements incident.Store.
func (m *MemStore) ListPages(_ context.Context, incidentID int64) ([]incident.Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []incident.Page{}
	for _, p := range m.pages {
		if p.IncidentID == incidentID {
			out = append(out, clonePage(p))
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// AddRollback implements incident.Store, with the same extras as the
// database store: Key and Plan.Key are one value (an empty one is filled
// from the other; both empty or different is EINVALID), an empty Status
// becomes RollbackAwaitingApproval, and CreatedAt and UpdatedAt are always
// the clock's now. The argument gets what was stored.
func (m *MemStore) AddRollback(_ context.Context, r *incident.Rollback) error {
	const op = "add rollback"
	if r == nil {
		return errorf(op, incident.EINVALID, "No rollback to add.")
	}
	in := cloneRollback(*r)
	switch {
	case in.Key == "":
		in.Key = in.Plan.Key
	case in.Plan.Key == "":
		in.Plan.Key = in.Key
	}
	switch {
	case in.Key == "":
		return errorf(op, incident.EINVALID, "A rollback needs its plan's key.")
	case in.Key != in.Plan.Key:
		return errorf(op, incident.EINVALID, "A rollback's key must be its plan's key.")
	}
	if in.Status == "" {
		in.Status = incident.RollbackAwaitingApproval
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.incidentByID(in.IncidentID) == nil {
		return errorf(op, incident.ENOTFOUND, "Incident %d was not found.", in.IncidentID)
	}
	if slices.ContainsFunc(m.rollbacks, func(e incident.Rollback) bool { return e.Key == in.Key }) {
		return errorf(op, incident.ECONFLICT, "That rollback was already requested.")
	}
	now := m.now()
	in.CreatedAt, in.UpdatedAt = now, now
	in.ID = m.nextID()
	m.rollbacks = append(m.rollbacks, in)
	*r = in
	return nil
}

// UpdateRollback implements incident.Store, with the same extras as the
// database store: ID, IncidentID, Key (and Plan.Key) and CreatedAt cannot
// change, UpdatedAt comes from the clock, an empty Status is EINVALID, and
// fn's error is returned as is.
func (m *MemStore) UpdateRollback(_ context.Context, id int64, fn func(*incident.Rollback) error) (*incident.Rollback, error) {
	const op = "update rollback"
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.rollbacks, func(r incident.Rollback) bool { return r.ID == id })
	if i < 0 {
		return nil, errorf(op, incident.ENOTFOUND, "That rollback was not found.")
	}
	stored := m.rollbacks[i]
	r := cloneRollback(stored)
	if err := fn(&r); err != nil {
		return nil, err
	}
	r = cloneRollback(r)
	r.ID, r.IncidentID, r.Key, r.Plan.Key = stored.ID, stored.IncidentID, stored.Key, stored.Key
	r.CreatedAt, r.UpdatedAt = stored.CreatedAt, m.now()
	if r.Status == "" {
		return nil, errorf(op, incident.EINVALID, "A rollback needs a status.")
	}
	m.rollbacks[i] = r
	out := cloneRollback(r)
	return &out, nil
}

// GetRollback implements incident.Store.
func (m *MemStore) GetRollback(_ context.Context, key string) (*incident.Rollback, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if key != "" {
		for _, r := range m.rollbacks {
			if r.Key == key {
				out := cloneRollback(r)
				return &out, nil
			}
		}
	}
	return nil, errorf("get rollback", incident.ENOTFOUND, "That rollback was not found.")
}

// ListRollbacks implements incident.Store.
func (m *MemStore) ListRollbacks(_ context.Context, incidentID int64) ([]incident.Rollback, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []incident.Rollback{}
	for _, r := range m.rollbacks {
		if r.IncidentID == incidentID {
			out = append(out, cloneRollback(r))
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// SaveExport implements incident.Store. Target is required (EINVALID).
func (m *MemStore) SaveExport(_ context.Context, incidentID int64, ref incident.ExportRef) error {
	const op = "save export"
	if ref.Target == "" {
		return errorf(op, incident.EINVALID, "An export needs a target.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.incidentByID(incidentID) == nil {
		return errorf(op, incident.ENOTFOUND, "Incident %d was not found.", incidentID)
	}
	m.exports[exportKey{incidentID, ref.Target}] = ref
	return nil
}

// GetExport implements incident.Store.
func (m *MemStore) GetExport(_ context.Context, incidentID int64, target string) (*incident.ExportRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ref, ok := m.exports[exportKey{incidentID, target}]
	if !ok {
		return nil, errorf("get export", incident.ENOTFOUND, "The postmortem was never exported to %s.", target)
	}
	return &ref, nil
}

// Ping implements incident.Store; a MemStore is always reachable.
func (m *MemStore) Ping(context.Context) error { return nil }

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

func (noLock) Lock()   {}
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
	tx := &MemStore{memData: m.memData, mu: noLock{}, tx: &memTx{}}
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
	return &out
}

package incidenttest

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"sync"
	"time"

	"github.com/incidentbot/incidentbot/incident"
)

// MemStore is an in-memory incident.Store with the same semantics as the
// database store (package gormstore), checked by RunStoreTests: the same
// defaults, error kinds, orderings, and time normalisation (UTC, whole
// microseconds). Everything it returns is a deep copy, so callers can never
// change stored state except through its methods. It is safe for concurrent
// use.
type MemStore struct {
	clock incident.Clock

	mu         sync.Mutex
	lastID     int64 // one sequence for every row kind: IDs stay unique and increasing
	lastNumber int64
	incidents  []*incident.Incident // by ID ascending
	events     []incident.TimelineEvent
	updates    []incident.StatusUpdate
	items      []incident.ActionItem
	changes    []incident.ChangeEvent
	deliveries map[deliveryKey]time.Time
}

type deliveryKey struct{ source, id string }

var _ incident.Store = (*MemStore)(nil)

// NewMemStore returns an empty store that tells the time with clock
// (incident.SystemClock when nil).
func NewMemStore(clock incident.Clock) *MemStore {
	if clock == nil {
		clock = incident.SystemClock
	}
	return &MemStore{clock: clock, deliveries: map[deliveryKey]time.Time{}}
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
	return &out
}

func cloneEvent(in incident.TimelineEvent) incident.TimelineEvent {
	in.Data = cloneMap(in.Data)
	in.At = normTime(in.At)
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
		if filter.OpenOnly && !inc.Status.Open() {
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
		ev = cloneEvent(ev)
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
	in := cloneEvent(*ev)
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
// clock's now) with the update's text and Data {"status": ...}.
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
	m.events = append(m.events, incident.TimelineEvent{
		ID:         m.nextID(),
		IncidentID: in.IncidentID,
		Kind:       incident.EventUpdatePosted,
		Actor:      in.Author,
		At:         in.PostedAt,
		Text:       in.Text,
		Data:       map[string]string{"status": string(in.Status)},
	})
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
	for _, e := range m.changes {
		if e.Source == c.Source && e.ExternalID == c.ExternalID {
			return errorf(op, incident.ECONFLICT, "The %s change %s is already recorded.", c.Source, c.ExternalID)
		}
	}
	in := cloneChange(*c)
	if in.OccurredAt.IsZero() {
		in.OccurredAt = m.now()
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

// Ping implements incident.Store; a MemStore is always reachable.
func (m *MemStore) Ping(context.Context) error { return nil }

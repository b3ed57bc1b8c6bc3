package incidenttest

import (
	"context"
	"sort"

	"github.com/firebreakhq/firebreak/incident"
)

// memIncidents keeps incidents: their numbering, lookups, the list and the
// update that also records the update's events.
type memIncidents struct{ *memShared }

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

// channelTaken reports whether an incident other than id owns channelID.
func (m *memIncidents) channelTaken(channelID string, id int64) bool {
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
func (m *memIncidents) CreateIncident(_ context.Context, inc *incident.Incident) (*incident.Incident, error) {
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
func (m *memIncidents) GetIncident(_ context.Context, id int64) (*incident.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if inc := m.incidentByID(id); inc != nil {
		return cloneIncident(inc), nil
	}
	return nil, errorf("get incident", incident.ENOTFOUND, "Incident %d was not found.", id)
}

// GetIncidentByNumber implements incident.Store.
func (m *memIncidents) GetIncidentByNumber(_ context.Context, number int64) (*incident.Incident, error) {
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
func (m *memIncidents) GetIncidentByChannel(_ context.Context, channelID string) (*incident.Incident, error) {
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
func (m *memIncidents) ListIncidents(_ context.Context, filter incident.IncidentFilter) ([]*incident.Incident, error) {
	if !filter.Order.Valid() {
		return nil, errorf("list incidents", incident.EINVALID, "Unknown list order %d.", int(filter.Order))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var picked []*incident.Incident
	for _, inc := range m.incidents {
		if filter.Match(inc) {
			picked = append(picked, inc)
		}
	}
	less := func(a, b *incident.Incident) bool {
		if a.Severity != b.Severity {
			return a.Severity < b.Severity
		}
		return incident.NewestFirst(a, b)
	}
	if filter.Order == incident.OrderNewest {
		less = incident.NewestFirst
	}
	sort.SliceStable(picked, func(i, j int) bool { return less(picked[i], picked[j]) })
	if filter.Limit > 0 && len(picked) > filter.Limit {
		picked = picked[:filter.Limit]
	}
	out := make([]*incident.Incident, len(picked))
	for i, inc := range picked {
		out[i] = cloneIncident(inc)
	}
	return out, nil
}

// UpdateIncident implements incident.Store, with the same extras as the
// database store: ID and Number cannot change, UpdatedAt comes from the
// clock, events get the incident's ID and a zero At becomes now, and an event
// whose SourceID is already stored aborts the update with ECONFLICT.
func (m *memIncidents) UpdateIncident(_ context.Context, id int64, fn func(*incident.Incident) ([]incident.TimelineEvent, error)) (*incident.Incident, error) {
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

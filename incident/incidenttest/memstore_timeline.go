package incidenttest

import (
	"context"
	"slices"
	"sort"

	"github.com/firebreakhq/firebreak/incident"
)

// memTimeline keeps each incident's timeline events.
type memTimeline struct{ *memShared }

// checkEvent applies the timeline's rules against stored events and those
// about to be stored with it.
func (m *memData) checkEvent(op string, ev incident.TimelineEvent, pending []incident.TimelineEvent) error {
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
func (m *memTimeline) AddTimelineEvent(_ context.Context, ev *incident.TimelineEvent) error {
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

// UpdateTimelineEvent implements incident.Store, with the same extras as
// the database store: ID, IncidentID and SourceID cannot change, a zero At
// keeps the stored one, an empty Kind is EINVALID, and fn's error is
// returned as is with nothing written.
func (m *memTimeline) UpdateTimelineEvent(_ context.Context, incidentID int64, sourceID string, fn func(*incident.TimelineEvent) error) (*incident.TimelineEvent, error) {
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

// ListTimeline implements incident.Store.
func (m *memTimeline) ListTimeline(_ context.Context, incidentID int64) ([]incident.TimelineEvent, error) {
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

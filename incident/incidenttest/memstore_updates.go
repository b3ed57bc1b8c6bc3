package incidenttest

import (
	"context"
	"sort"

	"github.com/firebreakhq/firebreak/incident"
)

// memUpdates keeps the status updates posted for incidents.
type memUpdates struct{ *memShared }

// AddStatusUpdate implements incident.Store. Like the database store it adds
// an EventUpdatePosted by the author at PostedAt (a zero PostedAt becomes the
// clock's now) with the update's text and an UpdatePostedData.
func (m *memUpdates) AddStatusUpdate(_ context.Context, u *incident.StatusUpdate) error {
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
	ev, err := storedEvent(op, incident.TimelineEvent{
		IncidentID: in.IncidentID,
		Kind:       incident.EventUpdatePosted,
		Actor:      in.Author,
		At:         in.PostedAt,
		Text:       in.EventText(),
		SourceID:   in.SourceID,
		Payload:    incident.UpdatePostedData{Status: in.Status},
	})
	if err != nil {
		return err
	}
	if err := m.checkEvent(op, ev, nil); err != nil {
		if incident.ErrorCode(err) == incident.ECONFLICT {
			return errorf(op, incident.ECONFLICT, "That update is already on the timeline.")
		}
		return err
	}
	in.ID = m.nextID()
	in.SourceID = ""
	m.updates = append(m.updates, in)
	ev.ID = m.nextID()
	m.events = append(m.events, ev)
	u.ID, u.PostedAt = in.ID, in.PostedAt
	return nil
}

// ListStatusUpdates implements incident.Store.
func (m *memUpdates) ListStatusUpdates(_ context.Context, incidentID int64) ([]incident.StatusUpdate, error) {
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

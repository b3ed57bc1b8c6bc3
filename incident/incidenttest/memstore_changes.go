package incidenttest

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// memChanges keeps the changes reported by change sources and webhooks, and
// the rollbacks asked for.
type memChanges struct{ *memShared }

// AddChangeEvent implements incident.Store. A zero OccurredAt becomes the
// clock's now; Source, ExternalID and Kind are required (EINVALID).
func (m *memChanges) AddChangeEvent(_ context.Context, c *incident.ChangeEvent) error {
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
func (m *memChanges) ListChangeEvents(_ context.Context, service string, from, to time.Time) ([]incident.ChangeEvent, error) {
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

// AddRollback implements incident.Store, with the same extras as the
// database store: Key and Plan.Key are one value (an empty one is filled
// from the other; both empty or different is EINVALID), an empty Status
// becomes RollbackAwaitingApproval, and CreatedAt and UpdatedAt are always
// the clock's now. The argument gets what was stored.
func (m *memChanges) AddRollback(_ context.Context, r *incident.Rollback) error {
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
func (m *memChanges) UpdateRollback(_ context.Context, id int64, fn func(*incident.Rollback) error) (*incident.Rollback, error) {
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
func (m *memChanges) GetRollback(_ context.Context, key string) (*incident.Rollback, error) {
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
func (m *memChanges) ListRollbacks(_ context.Context, incidentID int64) ([]incident.Rollback, error) {
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

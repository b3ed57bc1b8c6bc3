package incidenttest

import (
	"context"
	"maps"
	"sort"
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/followthrough"
)

// memFollowUps keeps follow-ups (action items), postmortem reviews and the
// notices already sent about them.
type memFollowUps struct{ *memShared }

// The store, and the store of an Atomic's transaction, keep follow-through.
var _ followthrough.Tx = (*MemStore)(nil)

// AddActionItem implements incident.Store. A zero CreatedAt becomes the
// clock's now.
func (m *memFollowUps) AddActionItem(_ context.Context, a *incident.ActionItem) error {
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
func (m *memFollowUps) ListActionItems(_ context.Context, incidentID int64) ([]incident.ActionItem, error) {
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

// GetActionItem implements followthrough.Store.
func (m *memFollowUps) GetActionItem(_ context.Context, id int64) (*incident.ActionItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.items {
		if a.ID == id {
			a.DueOn = normTimePtr(a.DueOn)
			return &a, nil
		}
	}
	return nil, errorf("get action item", incident.ENOTFOUND, "That follow-up was not found.")
}

// UpdateActionItem implements followthrough.Store.
func (m *memFollowUps) UpdateActionItem(_ context.Context, id int64, fn func(*incident.ActionItem) error) (*incident.ActionItem, error) {
	const op = "update action item"
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, a := range m.items {
		if a.ID != id {
			continue
		}
		work := a
		work.DueOn = normTimePtr(a.DueOn)
		if err := fn(&work); err != nil {
			return nil, err
		}
		if work.Text == "" {
			return nil, errorf(op, incident.EINVALID, "A follow-up needs a description.")
		}
		work.ID, work.IncidentID, work.CreatedBy, work.CreatedAt = a.ID, a.IncidentID, a.CreatedBy, a.CreatedAt
		work.DueOn = normTimePtr(work.DueOn)
		m.items[i] = work
		out := work
		out.DueOn = normTimePtr(work.DueOn)
		return &out, nil
	}
	return nil, errorf(op, incident.ENOTFOUND, "That follow-up was not found.")
}

// ListOpenActionItems implements followthrough.Store.
func (m *memFollowUps) ListOpenActionItems(_ context.Context) ([]incident.ActionItem, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []incident.ActionItem{}
	for _, a := range m.items {
		if !a.Done {
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

// SaveReview implements followthrough.Store.
func (m *memFollowUps) SaveReview(_ context.Context, r *incident.Review) error {
	const op = "save review"
	if r == nil || r.IncidentID == 0 {
		return errorf(op, incident.EINVALID, "A review needs an incident.")
	}
	if !r.State.Valid() {
		return errorf(op, incident.EINVALID, "Unknown review state.")
	}
	if r.DueOn.IsZero() {
		return errorf(op, incident.EINVALID, "A review needs a due date.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.incidentByID(r.IncidentID) == nil {
		return errorf(op, incident.ENOTFOUND, "Incident %d was not found.", r.IncidentID)
	}
	now := m.now()
	in := *r
	in.DueOn, in.CreatedAt, in.UpdatedAt = normTime(in.DueOn), normTime(in.CreatedAt), normTime(in.UpdatedAt)
	if in.CreatedAt.IsZero() {
		in.CreatedAt = now
	}
	if in.UpdatedAt.IsZero() {
		in.UpdatedAt = now
	}
	if old, ok := m.reviews[in.IncidentID]; ok {
		in.CreatedAt = old.CreatedAt
	}
	m.reviews[in.IncidentID] = in
	r.CreatedAt, r.UpdatedAt, r.DueOn = in.CreatedAt, in.UpdatedAt, in.DueOn
	return nil
}

// GetReview implements followthrough.Store.
func (m *memFollowUps) GetReview(_ context.Context, incidentID int64) (*incident.Review, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reviews[incidentID]
	if !ok {
		return nil, errorf("get review", incident.ENOTFOUND, "That incident has no review yet.")
	}
	return &r, nil
}

// ListReviews implements followthrough.Store.
func (m *memFollowUps) ListReviews(_ context.Context) ([]incident.Review, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []incident.Review{}
	for r := range maps.Values(m.reviews) {
		if r.State != incident.ReviewPublished {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].DueOn.Equal(out[j].DueOn) {
			return out[i].DueOn.Before(out[j].DueOn)
		}
		return out[i].IncidentID < out[j].IncidentID
	})
	return out, nil
}

// RecordNotice implements followthrough.Store.
func (m *memFollowUps) RecordNotice(_ context.Context, key string, at time.Time) (bool, error) {
	if key == "" {
		return false, errorf("record notice", incident.EINVALID, "A notice needs a key.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.notices[key]; ok {
		return false, nil
	}
	if at.IsZero() {
		at = m.now()
	}
	m.notices[key] = normTime(at)
	return true, nil
}

// NoticesSent implements followthrough.Store.
func (m *memFollowUps) NoticesSent(_ context.Context, keys []string) (map[string]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		if _, ok := m.notices[k]; ok {
			out[k] = true
		}
	}
	return out, nil
}

// NoticeSent implements followthrough.Store.
func (m *memFollowUps) NoticeSent(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.notices[key]
	return ok, nil
}

package incidenttest

import (
	"context"
	"maps"
	"sort"
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/followthrough"
)

// The store, and the store of an Atomic's transaction, keep follow-through.
var _ followthrough.Tx = (*MemStore)(nil)

func cloneAlert(a incident.Alert) incident.Alert {
	a.Labels = cloneMap(a.Labels)
	a.ResolvedAt = normTimePtr(a.ResolvedAt)
	return a
}

func checkAlert(op string, a *incident.Alert) error {
	switch {
	case a.Source == "" || a.Fingerprint == "":
		return errorf(op, incident.EINVALID, "An alert needs a source and a fingerprint.")
	case a.Status == "" || a.State == "":
		return errorf(op, incident.EINVALID, "An alert needs a status and a state.")
	case !a.Severity.Valid():
		return errorf(op, incident.EINVALID, "Unknown severity: use P1, P2, P3 or P4.")
	case a.Count < 0:
		return errorf(op, incident.EINVALID, "An alert's count cannot be negative.")
	}
	return nil
}

// AddAlert implements incident.Store.
func (m *MemStore) AddAlert(_ context.Context, a *incident.Alert) (*incident.Alert, error) {
	const op = "add alert"
	if a == nil {
		return nil, errorf(op, incident.EINVALID, "No alert to add.")
	}
	in := cloneAlert(*a)
	if err := checkAlert(op, &in); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.alerts {
		if x.Source == in.Source && x.Fingerprint == in.Fingerprint {
			out := cloneAlert(x)
			return &out, errorf(op, incident.ECONFLICT, "That alert is already stored.")
		}
	}
	if in.IncidentID != 0 && m.incidentByID(in.IncidentID) == nil {
		return nil, errorf(op, incident.ENOTFOUND, "Incident %d was not found.", in.IncidentID)
	}
	in.FirstAt, in.LastAt = normTime(in.FirstAt), normTime(in.LastAt)
	if in.FirstAt.IsZero() {
		in.FirstAt = m.now()
	}
	if in.LastAt.IsZero() {
		in.LastAt = in.FirstAt
	}
	if len(in.Labels) == 0 {
		in.Labels = nil
	}
	in.ID = m.nextID()
	m.alerts = append(m.alerts, in)
	out := cloneAlert(in)
	return &out, nil
}

func (m *MemStore) alertWhere(op string, match func(incident.Alert) bool) (*incident.Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.alerts {
		if match(a) {
			out := cloneAlert(a)
			return &out, nil
		}
	}
	return nil, errorf(op, incident.ENOTFOUND, "That alert was not found.")
}

// GetAlert implements incident.Store.
func (m *MemStore) GetAlert(_ context.Context, id int64) (*incident.Alert, error) {
	return m.alertWhere("get alert", func(a incident.Alert) bool { return a.ID == id })
}

// FindAlert implements incident.Store.
func (m *MemStore) FindAlert(_ context.Context, source, fingerprint string) (*incident.Alert, error) {
	return m.alertWhere("find alert", func(a incident.Alert) bool { return a.Source == source && a.Fingerprint == fingerprint })
}

// UpdateAlert implements incident.Store.
func (m *MemStore) UpdateAlert(_ context.Context, id int64, fn func(*incident.Alert) error) (*incident.Alert, error) {
	const op = "update alert"
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, a := range m.alerts {
		if a.ID != id {
			continue
		}
		work := cloneAlert(a)
		if err := fn(&work); err != nil {
			return nil, err
		}
		work.ID, work.Source, work.Fingerprint = a.ID, a.Source, a.Fingerprint
		if err := checkAlert(op, &work); err != nil {
			return nil, err
		}
		if work.IncidentID != 0 && m.incidentByID(work.IncidentID) == nil {
			return nil, errorf(op, incident.ENOTFOUND, "Incident %d was not found.", work.IncidentID)
		}
		work.FirstAt, work.LastAt = normTime(work.FirstAt), normTime(work.LastAt)
		if len(work.Labels) == 0 {
			work.Labels = nil
		}
		m.alerts[i] = cloneAlert(work)
		out := cloneAlert(work)
		return &out, nil
	}
	return nil, errorf(op, incident.ENOTFOUND, "That alert was not found.")
}

// ListAlerts implements incident.Store.
func (m *MemStore) ListAlerts(_ context.Context, incidentID int64) ([]incident.Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []incident.Alert{}
	for _, a := range m.alerts {
		if a.IncidentID == incidentID && incidentID != 0 {
			out = append(out, cloneAlert(a))
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].FirstAt.Equal(out[j].FirstAt) {
			return out[i].FirstAt.Before(out[j].FirstAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// GetActionItem implements followthrough.Store.
func (m *MemStore) GetActionItem(_ context.Context, id int64) (*incident.ActionItem, error) {
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
func (m *MemStore) UpdateActionItem(_ context.Context, id int64, fn func(*incident.ActionItem) error) (*incident.ActionItem, error) {
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
func (m *MemStore) ListOpenActionItems(_ context.Context) ([]incident.ActionItem, error) {
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
func (m *MemStore) SaveReview(_ context.Context, r *incident.Review) error {
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
func (m *MemStore) GetReview(_ context.Context, incidentID int64) (*incident.Review, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reviews[incidentID]
	if !ok {
		return nil, errorf("get review", incident.ENOTFOUND, "That incident has no review yet.")
	}
	return &r, nil
}

// ListReviews implements followthrough.Store.
func (m *MemStore) ListReviews(_ context.Context) ([]incident.Review, error) {
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
func (m *MemStore) RecordNotice(_ context.Context, key string, at time.Time) (bool, error) {
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
func (m *MemStore) NoticesSent(_ context.Context, keys []string) (map[string]bool, error) {
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
func (m *MemStore) NoticeSent(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.notices[key]
	return ok, nil
}

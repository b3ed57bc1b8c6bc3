package incidenttest

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// memAlerts keeps monitoring alerts and what was decided about them.
type memAlerts struct{ *memShared }

func cloneAlert(a incident.Alert) incident.Alert {
	a.Labels = cloneMap(a.Labels)
	a.ResolvedAt = normTimePtr(a.ResolvedAt)
	a.StartsAt = normTime(a.StartsAt)
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
func (m *memAlerts) AddAlert(_ context.Context, a *incident.Alert) (*incident.Alert, error) {
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

func (m *memAlerts) alertWhere(op string, match func(incident.Alert) bool) (*incident.Alert, error) {
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
func (m *memAlerts) GetAlert(_ context.Context, id int64) (*incident.Alert, error) {
	return m.alertWhere("get alert", func(a incident.Alert) bool { return a.ID == id })
}

// FindAlert implements incident.Store.
func (m *memAlerts) FindAlert(_ context.Context, source, fingerprint string) (*incident.Alert, error) {
	return m.alertWhere("find alert", func(a incident.Alert) bool { return a.Source == source && a.Fingerprint == fingerprint })
}

// FindAlertGroup implements incident.Store. The store is locked for the
// whole of an Atomic, which claims every group as gormstore's claim row
// does one.
func (m *memAlerts) FindAlertGroup(_ context.Context, rule, service string, since time.Time) (*incident.Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	live := func(a incident.Alert) bool { return a.Status == incident.AlertFiring && !a.LastAt.Before(since) }
	for _, a := range slices.Backward(m.alerts) {
		if a.Rule != rule || a.Service != service || a.GroupID != 0 || (a.State != incident.AlertProposed && a.State != incident.AlertDeclared) {
			continue
		}
		if live(a) || slices.ContainsFunc(m.alerts, func(x incident.Alert) bool { return x.GroupID == a.ID && live(x) }) {
			out := cloneAlert(a)
			return &out, nil
		}
	}
	return nil, errorf("find alert group", incident.ENOTFOUND, "That alert was not found.")
}

// CountAlertGroup implements incident.Store.
func (m *memAlerts) CountAlertGroup(_ context.Context, leader int64) (incident.AlertGroupCount, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n incident.AlertGroupCount
	for _, a := range m.alerts {
		if a.ID == leader || (leader != 0 && a.GroupID == leader) {
			n.Alerts++
			if a.Status == incident.AlertFiring {
				n.Firing++
			}
		}
	}
	if n.Alerts == 0 {
		return n, errorf("count alert group", incident.ENOTFOUND, "That alert was not found.")
	}
	return n, nil
}

// ListAlertGroup implements incident.Store.
func (m *memAlerts) ListAlertGroup(_ context.Context, leader int64) ([]incident.Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []incident.Alert
	for _, a := range m.alerts {
		if a.ID == leader || (leader != 0 && a.GroupID == leader) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b incident.Alert) int { return cmp.Compare(a.ID, b.ID) })
	if len(out) == 0 || out[0].ID != leader {
		return nil, errorf("list alert group", incident.ENOTFOUND, "That alert was not found.")
	}
	return out, nil
}

// UpdateAlert implements incident.Store.
func (m *memAlerts) UpdateAlert(_ context.Context, id int64, fn func(*incident.Alert) error) (*incident.Alert, error) {
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
func (m *memAlerts) ListAlerts(_ context.Context, incidentID int64) ([]incident.Alert, error) {
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

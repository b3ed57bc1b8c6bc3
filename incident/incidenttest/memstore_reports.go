package incidenttest

import (
	"context"
	"sort"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

var _ incident.ReportReader = (*MemStore)(nil)

// ListIncidentRecords implements incident.ReportReader: each list in the
// order of its own List method, nil when empty, and no entry for an
// incident with nothing recorded.
func (m *MemStore) ListIncidentRecords(_ context.Context, ids []int64) (map[int64]incident.IncidentRecord, error) {
	want := make(map[int64]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[int64]incident.IncidentRecord{}
	add := func(id int64, edit func(*incident.IncidentRecord)) {
		rec := out[id]
		edit(&rec)
		out[id] = rec
	}
	for _, ev := range m.events {
		if want[ev.IncidentID] {
			add(ev.IncidentID, func(r *incident.IncidentRecord) { r.Timeline = append(r.Timeline, cloneEvent(ev)) })
		}
	}
	for _, u := range m.updates {
		if want[u.IncidentID] {
			add(u.IncidentID, func(r *incident.IncidentRecord) { r.Updates = append(r.Updates, u) })
		}
	}
	for _, a := range m.items {
		if want[a.IncidentID] {
			a.DueOn = normTimePtr(a.DueOn)
			add(a.IncidentID, func(r *incident.IncidentRecord) { r.ActionItems = append(r.ActionItems, a) })
		}
	}
	for _, rb := range m.rollbacks {
		if want[rb.IncidentID] {
			add(rb.IncidentID, func(r *incident.IncidentRecord) { r.Rollbacks = append(r.Rollbacks, cloneRollback(rb)) })
		}
	}
	for id, rec := range out {
		byTime(rec.Timeline, func(ev incident.TimelineEvent) (time.Time, int64) { return ev.At, ev.ID })
		byTime(rec.Updates, func(u incident.StatusUpdate) (time.Time, int64) { return u.PostedAt, u.ID })
		byTime(rec.ActionItems, func(a incident.ActionItem) (time.Time, int64) { return a.CreatedAt, a.ID })
		byTime(rec.Rollbacks, func(r incident.Rollback) (time.Time, int64) { return r.CreatedAt, r.ID })
		out[id] = rec
	}
	return out, nil
}

// byTime sorts rows oldest first, by ID on a tie, as the List methods do.
func byTime[T any](rows []T, key func(T) (time.Time, int64)) {
	sort.SliceStable(rows, func(i, j int) bool {
		ti, idi := key(rows[i])
		tj, idj := key(rows[j])
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return idi < idj
	})
}

package incidenttest

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// memPeople keeps the standings the chat reported.
type memPeople struct{ *memShared }

var _ incident.PeopleStore = (*MemStore)(nil)

// RecordStanding implements incident.PeopleStore.
func (m *memPeople) RecordStanding(_ context.Context, p incident.PersonStanding) error {
	if p.UserID == "" {
		return errorf("record standing", incident.EINVALID, "A standing needs a user id.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.ChangedAt.IsZero() {
		p.ChangedAt = m.now()
	}
	p.ChangedAt = normTime(p.ChangedAt)
	m.standings[p.UserID] = p
	return nil
}

// StandingsChangedSince implements incident.PeopleStore.
func (m *memPeople) StandingsChangedSince(_ context.Context, since time.Time) ([]incident.PersonStanding, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []incident.PersonStanding
	for _, p := range m.standings {
		if !p.ChangedAt.Before(since) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b incident.PersonStanding) int {
		return cmp.Or(a.ChangedAt.Compare(b.ChangedAt), cmp.Compare(a.UserID, b.UserID))
	})
	return out, nil
}

package incidenttest

import (
	"context"
	"slices"
	"sort"

	"github.com/firebreakhq/firebreak/incident"
)

// memPages keeps the pages sent for incidents.
type memPages struct{ *memShared }

// InstallationID implements paging.Store: an id made the first time it is
// asked for and the same for the store's life, as the database store keeps
// one per database.
func (m *memPages) InstallationID(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.installation == "" {
		m.installation = incident.NewInstallationID()
	}
	return m.installation, nil
}

// pageTaken reports whether a page other than id has the provider and
// non-empty dedup key.
func (m *memPages) pageTaken(provider, dedupKey string, id int64) bool {
	if dedupKey == "" {
		return false
	}
	return slices.ContainsFunc(m.pages, func(p incident.Page) bool {
		return p.Provider == provider && p.DedupKey == dedupKey && p.ID != id
	})
}

// AddPage implements paging.Store, with the same extras as the database
// store: Provider is required (EINVALID), a zero CreatedAt becomes the
// clock's now, and an empty DedupKey never conflicts.
func (m *memPages) AddPage(_ context.Context, p *incident.Page) error {
	const op = "add page"
	if p == nil {
		return errorf(op, incident.EINVALID, "No page to add.")
	}
	if p.Provider == "" {
		return errorf(op, incident.EINVALID, "A page needs a provider.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.incidentByID(p.IncidentID) == nil {
		return errorf(op, incident.ENOTFOUND, "Incident %d was not found.", p.IncidentID)
	}
	if m.pageTaken(p.Provider, p.DedupKey, 0) {
		return errorf(op, incident.ECONFLICT, "That page was already sent.")
	}
	in := clonePage(*p)
	if in.CreatedAt.IsZero() {
		in.CreatedAt = m.now()
	}
	in.ID = m.nextID()
	m.pages = append(m.pages, in)
	p.ID, p.CreatedAt = in.ID, in.CreatedAt
	return nil
}

// UpdatePage implements paging.Store, with the same extras as the
// database store: ID and IncidentID cannot change, a zero CreatedAt keeps
// the stored one, an empty Provider is EINVALID, another page's
// Provider+DedupKey is ECONFLICT, and fn's error is returned as is.
func (m *memPages) UpdatePage(_ context.Context, id int64, fn func(*incident.Page) error) (*incident.Page, error) {
	const op = "update page"
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.pages, func(p incident.Page) bool { return p.ID == id })
	if i < 0 {
		return nil, errorf(op, incident.ENOTFOUND, "That page was not found.")
	}
	stored := m.pages[i]
	p := clonePage(stored)
	if err := fn(&p); err != nil {
		return nil, err
	}
	p = clonePage(p)
	p.ID, p.IncidentID = stored.ID, stored.IncidentID
	if p.CreatedAt.IsZero() {
		p.CreatedAt = stored.CreatedAt
	}
	if p.Provider == "" {
		return nil, errorf(op, incident.EINVALID, "A page needs a provider.")
	}
	if m.pageTaken(p.Provider, p.DedupKey, id) {
		return nil, errorf(op, incident.ECONFLICT, "That page was already sent.")
	}
	m.pages[i] = p
	out := clonePage(p)
	return &out, nil
}

// FindPage implements paging.Store. When several of the provider's pages
// match, the oldest is returned.
func (m *memPages) FindPage(_ context.Context, provider, ref string) (*incident.Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if provider != "" && ref != "" {
		// Pages are appended with increasing IDs, so the first match is the oldest.
		for _, p := range m.pages {
			if p.Provider == provider && (p.ExternalID == ref || p.DedupKey == ref) {
				out := clonePage(p)
				return &out, nil
			}
		}
	}
	return nil, errorf("find page", incident.ENOTFOUND, "That page was not found.")
}

// ListPages implements incident.Store.
func (m *memPages) ListPages(_ context.Context, incidentID int64) ([]incident.Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []incident.Page{}
	for _, p := range m.pages {
		if p.IncidentID == incidentID {
			out = append(out, clonePage(p))
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

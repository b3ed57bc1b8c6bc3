package incidenttest

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// MemAccessStore is an in-memory incident.AccessStore with the same rules as
// the database store.
type MemAccessStore struct {
	clock incident.Clock

	mu       sync.Mutex
	sessions map[string]incident.WebSession
	tokens   []incident.APIToken
	lastID   int64
}

var _ incident.AccessStore = (*MemAccessStore)(nil)

// NewMemAccessStore returns an empty store that tells the time with clock
// (incident.SystemClock when nil).
func NewMemAccessStore(clock incident.Clock) *MemAccessStore {
	if clock == nil {
		clock = incident.SystemClock
	}
	return &MemAccessStore{clock: clock, sessions: map[string]incident.WebSession{}}
}

// CreateSession implements incident.AccessStore.
func (m *MemAccessStore) CreateSession(_ context.Context, s *incident.WebSession) error {
	switch {
	case len(s.ID) != 64:
		return incident.Errorf(incident.EINVALID, "A session id is a 64-character hash.")
	case s.UserID == "" || s.TeamID == "":
		return incident.Errorf(incident.EINVALID, "A session needs a user and a team.")
	case s.CSRFToken == "":
		return incident.Errorf(incident.EINVALID, "A session needs a CSRF token.")
	case s.ExpiresAt.IsZero():
		return incident.Errorf(incident.EINVALID, "A session needs an expiry.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[s.ID]; ok {
		return incident.Errorf(incident.ECONFLICT, "The session exists already.")
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = normTime(m.clock.Now())
	}
	s.CreatedAt, s.ExpiresAt = normTime(s.CreatedAt), normTime(s.ExpiresAt)
	m.sessions[s.ID] = *s
	return nil
}

// GetSession implements incident.AccessStore.
func (m *MemAccessStore) GetSession(_ context.Context, id string) (*incident.WebSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return nil, incident.Errorf(incident.ENOTFOUND, "The session was not found.")
	}
	return &s, nil
}

// DeleteSession implements incident.AccessStore.
func (m *MemAccessStore) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, id)
	return nil
}

// PurgeSessions implements incident.AccessStore.
func (m *MemAccessStore) PurgeSessions(_ context.Context, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for id, s := range m.sessions {
		if s.ExpiresAt.Before(before) {
			delete(m.sessions, id)
			n++
		}
	}
	return n, nil
}

// CreateAPIToken implements incident.AccessStore.
func (m *MemAccessStore) CreateAPIToken(_ context.Context, t *incident.APIToken) error {
	switch {
	case t.Name == "":
		return incident.Errorf(incident.EINVALID, "A token needs a name.")
	case len(t.Hash) != 64:
		return incident.Errorf(incident.EINVALID, "A token hash is 64 hex characters.")
	case !t.Scope.Valid():
		return incident.Errorf(incident.EINVALID, "Unknown scope %q: use read or write.", t.Scope)
	case t.ActAs == "":
		return incident.Errorf(incident.EINVALID, "A token acts for a Slack user.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.tokens {
		if o.Hash == t.Hash {
			return incident.Errorf(incident.ECONFLICT, "A token with this secret exists already.")
		}
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = m.clock.Now()
	}
	m.lastID++
	t.ID, t.CreatedAt = m.lastID, normTime(t.CreatedAt)
	t.LastUsedAt, t.RevokedAt = normTimePtr(t.LastUsedAt), normTimePtr(t.RevokedAt)
	m.tokens = append(m.tokens, *t)
	return nil
}

func cloneToken(t incident.APIToken) *incident.APIToken {
	t.LastUsedAt, t.RevokedAt = normTimePtr(t.LastUsedAt), normTimePtr(t.RevokedAt)
	return &t
}

// GetAPITokenByHash implements incident.AccessStore.
func (m *MemAccessStore) GetAPITokenByHash(_ context.Context, hash string) (*incident.APIToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tokens {
		if t.Hash == hash {
			return cloneToken(t), nil
		}
	}
	return nil, incident.Errorf(incident.ENOTFOUND, "The token was not found.")
}

// ListAPITokens implements incident.AccessStore.
func (m *MemAccessStore) ListAPITokens(context.Context) ([]incident.APIToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]incident.APIToken, 0, len(m.tokens))
	for _, t := range m.tokens {
		out = append(out, *cloneToken(t))
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// RevokeAPIToken implements incident.AccessStore.
func (m *MemAccessStore) RevokeAPIToken(_ context.Context, id int64, at time.Time) (*incident.APIToken, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.tokens {
		if m.tokens[i].ID == id {
			if m.tokens[i].RevokedAt == nil {
				m.tokens[i].RevokedAt = normTimePtr(&at)
			}
			return cloneToken(m.tokens[i]), nil
		}
	}
	return nil, incident.Errorf(incident.ENOTFOUND, "The token was not found.")
}

// TouchAPIToken implements incident.AccessStore.
func (m *MemAccessStore) TouchAPIToken(_ context.Context, id int64, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.tokens {
		if m.tokens[i].ID == id {
			m.tokens[i].LastUsedAt = normTimePtr(&at)
			return nil
		}
	}
	return incident.Errorf(incident.ENOTFOUND, "The token was not found.")
}

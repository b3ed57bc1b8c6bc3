package incidenttest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// RunAccessStoreTests checks that an AccessStore keeps its contract.
// newStore must return a new, empty store each time it is called.
func RunAccessStoreTests(t *testing.T, newStore func(t *testing.T) incident.AccessStore) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s incident.AccessStore)
	}{
		{"Sessions", testSessions},
		{"SessionErrors", testSessionErrors},
		{"APITokens", testAPITokens},
		{"APITokenErrors", testAPITokenErrors},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func testSessions(t *testing.T, s incident.AccessStore) {
	ctx := context.Background()
	a := &incident.WebSession{ID: hash("a"), UserID: "U0ALICE", TeamID: "T0TEAM", Name: "Alice", CSRFToken: "csrf-a",
		CreatedAt: at(0), ExpiresAt: at(60)}
	require.NoError(t, s.CreateSession(ctx, a))
	b := &incident.WebSession{ID: hash("b"), UserID: "U0BOB", TeamID: "T0TEAM", CSRFToken: "csrf-b",
		CreatedAt: at(0), ExpiresAt: at(600)}
	require.NoError(t, s.CreateSession(ctx, b))

	got, err := s.GetSession(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, a, got)

	n, err := s.PurgeSessions(ctx, at(61))
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	_, err = s.GetSession(ctx, a.ID)
	RequireCode(t, err, incident.ENOTFOUND)

	require.NoError(t, s.DeleteSession(ctx, b.ID))
	require.NoError(t, s.DeleteSession(ctx, b.ID), "deleting twice is fine")
	_, err = s.GetSession(ctx, b.ID)
	RequireCode(t, err, incident.ENOTFOUND)
}

func testSessionErrors(t *testing.T, s incident.AccessStore) {
	ctx := context.Background()
	ok := func() *incident.WebSession {
		return &incident.WebSession{ID: hash("x"), UserID: "U0A", TeamID: "T0A", CSRFToken: "c", ExpiresAt: at(10)}
	}
	for name, edit := range map[string]func(*incident.WebSession){
		"short id":  func(w *incident.WebSession) { w.ID = "abc" },
		"no user":   func(w *incident.WebSession) { w.UserID = "" },
		"no team":   func(w *incident.WebSession) { w.TeamID = "" },
		"no csrf":   func(w *incident.WebSession) { w.CSRFToken = "" },
		"no expiry": func(w *incident.WebSession) { w.ExpiresAt = time.Time{} },
	} {
		w := ok()
		edit(w)
		RequireCode(t, s.CreateSession(ctx, w), incident.EINVALID)
		_ = name
	}
	first := ok()
	require.NoError(t, s.CreateSession(ctx, first))
	require.False(t, first.CreatedAt.IsZero(), "a zero CreatedAt is set from the clock")
	RequireCode(t, s.CreateSession(ctx, ok()), incident.ECONFLICT)
}

func testAPITokens(t *testing.T, s incident.AccessStore) {
	ctx := context.Background()
	read := &incident.APIToken{Name: "dashboards", Hash: hash("r"), Prefix: "fbk_r", Scope: incident.ScopeRead,
		ActAs: "U0ADMIN", CreatedBy: "U0ADMIN", CreatedAt: at(0)}
	require.NoError(t, s.CreateAPIToken(ctx, read))
	require.NotZero(t, read.ID)
	write := &incident.APIToken{Name: "alertmanager", Hash: hash("w"), Scope: incident.ScopeWrite,
		ActAs: "U0ADMIN", CreatedBy: "U0ADMIN", CreatedAt: at(5)}
	require.NoError(t, s.CreateAPIToken(ctx, write))
	require.NotEqual(t, read.ID, write.ID)

	got, err := s.GetAPITokenByHash(ctx, hash("r"))
	require.NoError(t, err)
	require.Equal(t, read, got)
	require.True(t, got.Active())

	list, err := s.ListAPITokens(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, write.ID, list[0].ID, "newest first")

	require.NoError(t, s.TouchAPIToken(ctx, read.ID, at(7)))
	got, err = s.GetAPITokenByHash(ctx, hash("r"))
	require.NoError(t, err)
	require.Equal(t, at(7), *got.LastUsedAt)

	revoked, err := s.RevokeAPIToken(ctx, read.ID, at(8))
	require.NoError(t, err)
	require.Equal(t, at(8), *revoked.RevokedAt)
	require.False(t, revoked.Active())
	again, err := s.RevokeAPIToken(ctx, read.ID, at(9))
	require.NoError(t, err)
	require.Equal(t, at(8), *again.RevokedAt, "revoking again keeps the first time")
	got, err = s.GetAPITokenByHash(ctx, hash("r"))
	require.NoError(t, err)
	require.False(t, got.Active())
}

func testAPITokenErrors(t *testing.T, s incident.AccessStore) {
	ctx := context.Background()
	ok := func() *incident.APIToken {
		return &incident.APIToken{Name: "n", Hash: hash("t"), Scope: incident.ScopeRead, ActAs: "U0A"}
	}
	for _, edit := range []func(*incident.APIToken){
		func(tk *incident.APIToken) { tk.Name = "" },
		func(tk *incident.APIToken) { tk.Hash = "short" },
		func(tk *incident.APIToken) { tk.Scope = "admin" },
		func(tk *incident.APIToken) { tk.ActAs = "" },
	} {
		tk := ok()
		edit(tk)
		RequireCode(t, s.CreateAPIToken(ctx, tk), incident.EINVALID)
	}
	first := ok()
	require.NoError(t, s.CreateAPIToken(ctx, first))
	require.False(t, first.CreatedAt.IsZero())
	RequireCode(t, s.CreateAPIToken(ctx, ok()), incident.ECONFLICT)
	_, err := s.GetAPITokenByHash(ctx, hash("nope"))
	RequireCode(t, err, incident.ENOTFOUND)
	_, err = s.RevokeAPIToken(ctx, 999, at(1))
	RequireCode(t, err, incident.ENOTFOUND)
	RequireCode(t, s.TouchAPIToken(ctx, 999, at(1)), incident.ENOTFOUND)
}

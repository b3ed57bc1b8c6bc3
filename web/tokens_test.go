package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/web"
)

// withAdmin adds a Slack user id to WEB_ADMINS.
func withAdmin(id string) func(*web.Config) {
	return func(c *web.Config) { c.Admins = append(c.Admins, id) }
}

// tokenOf creates an API token as user does on the admin page: signed in
// as themselves, the token acting as them. user must be an admin
// (withAdmin).
func tokenOf(t *testing.T, f *fixture, user slackfake.User, name, scope string) string {
	t.Helper()
	b := f.browser()
	b.signIn(user)
	return createToken(t, b, name, scope, "")
}

// logBuffer is a log sink the server's goroutines may write to while the
// test reads it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// records returns the JSON log records logged so far.
func (l *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		out = append(out, rec)
	}
	return out
}

// sha256Hex is how the store keys a token: the hex SHA-256 of its secret.
func sha256Hex(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func withLog(l *logBuffer) func(*web.Config) {
	return func(c *web.Config) { c.Logger = slog.New(slog.NewJSONHandler(l, nil)) }
}

// TestTokenCannotActAsSomeoneElse is the authorization review's
// reproduction: an admin who is not in a private incident's channel made a
// write token acting as a member (alice), read the private incident's
// timeline and handed its IC role to themselves, recorded as alice's doing.
// Making such a token is refused, and one made before that rule stops
// working with a sentence telling its owner what to do.
func TestTokenCannotActAsSomeoneElse(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	bob := f.browser()
	bob.signIn(f.bob)
	private := "/api/v1/incidents/" + itoa(f.private.Number)

	_, page := bob.get("/admin/tokens")
	resp, page := bob.post("/admin/tokens", url.Values{"csrf_token": {csrfFrom(t, page)}, "name": {"grafana"}, "scope": {"write"}, "act_as": {f.alice.ID}})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, page)
	require.Contains(t, page, `id="token-problem"`)
	require.Contains(t, page, "A token acts only as the person who creates it")
	require.NotContains(t, page, `id="token-secret"`)
	tokens, err := f.access.ListAPITokens(context.Background())
	require.NoError(t, err)
	require.Empty(t, tokens, "no token was made")

	// A token made before the rule, by bob, acting as alice.
	secret := "fbk_" + strings.Repeat("a", 43)
	old := &incident.APIToken{Name: "grafana", Hash: sha256Hex(secret), Prefix: secret[:10], Scope: incident.ScopeWrite,
		ActAs: f.alice.ID, CreatedBy: f.bob.ID, CreatedAt: t0.Add(-time.Hour)}
	require.NoError(t, f.access.CreateAPIToken(context.Background(), old))
	before, err := f.store.ListTimeline(context.Background(), f.private.ID)
	require.NoError(t, err)

	var refusal struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	for _, call := range []struct{ method, path, body string }{
		{http.MethodGet, private + "/timeline", ""},
		{http.MethodPatch, private, `{"commander":"` + f.bob.ID + `"}`},
		{http.MethodGet, "/api/v1/incidents", ""},
	} {
		status, body := apiCall(t, f, secret, call.method, call.path, call.body)
		require.Equal(t, http.StatusForbidden, status, "%s %s: %s", call.method, call.path, body)
		require.NotContains(t, body, "payroll")
		require.NoError(t, json.Unmarshal([]byte(body), &refusal))
		require.Equal(t, "token_acts_as_someone_else", refusal.Error.Code)
		require.Equal(t, `The API token "grafana" acts as `+f.alice.ID+`, but `+f.bob.ID+` created it, and a token now acts only as the person who created it, so it no longer works. `+
			`Create a new token on the API tokens page while signed in as the person it should act as, and revoke this one.`, refusal.Error.Message)
	}
	got, err := f.store.GetIncident(context.Background(), f.private.ID)
	require.NoError(t, err)
	require.Equal(t, f.private.Commander, got.Commander, "the IC role did not move")
	after, err := f.store.ListTimeline(context.Background(), f.private.ID)
	require.NoError(t, err)
	require.Equal(t, before, after, "nothing was recorded as alice's")

	// The tokens page says why the token stopped.
	_, page = bob.get("/admin/tokens")
	require.Contains(t, page, "Stopped: it acts as someone other than its creator; create a new one.")
}

// TestMemberTokenDoesWhatTheMemberMay: a token acts as its creator, for
// what they may do and nothing more: an admin outside a private incident's
// channel does not see it through their token either.
func TestMemberTokenDoesWhatTheMemberMay(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	asBob := tokenOf(t, f, f.bob, "bob-bot", "write")
	private, public := "/api/v1/incidents/"+itoa(f.private.Number), "/api/v1/incidents/"+itoa(f.public.Number)

	for _, call := range []struct{ method, path, body string }{
		{http.MethodGet, private, ""}, {http.MethodGet, private + "/timeline", ""}, {http.MethodGet, private + "/follow-ups", ""},
		{http.MethodPatch, private, `{"commander":"` + f.bob.ID + `"}`},
		{http.MethodPost, private + "/updates", `{"known":"x"}`},
	} {
		status, body := apiCall(t, f, asBob, call.method, call.path, call.body)
		require.Equal(t, http.StatusNotFound, status, "%s %s: %s", call.method, call.path, body)
		require.NotContains(t, body, "payroll")
	}
	status, body := apiCall(t, f, asBob, http.MethodGet, "/api/v1/incidents", "")
	require.Equal(t, http.StatusOK, status, body)
	require.NotContains(t, body, "payroll")
	require.Contains(t, body, "checkout is down")

	status, body = apiCall(t, f, asBob, http.MethodPatch, public, `{"severity":"P2"}`)
	require.Equal(t, http.StatusForbidden, status, "bob is not the IC: %s", body)
	require.Contains(t, body, "You may not change the severity")

	status, body = apiCall(t, f, asBob, http.MethodPost, "/api/v1/incidents", `{"title":"search is slow","severity":"P3"}`)
	require.Equal(t, http.StatusCreated, status, body)
	var inc struct {
		DeclaredBy string `json:"declared_by"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &inc))
	require.Equal(t, f.bob.ID, inc.DeclaredBy, "recorded as bob's, who made the token")
	got, err := f.store.GetIncident(context.Background(), f.private.ID)
	require.NoError(t, err)
	require.Equal(t, f.private.Commander, got.Commander)
}

// TestTokenChangesAreAttributedToTheToken: what a token changes is logged
// with the token (its id and name) as well as the person, so "done through
// the API token grafana" can be told from the same person's own doing.
func TestTokenChangesAreAttributedToTheToken(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	f := setup(t, withLog(&logs))
	admin := f.browser()
	admin.signIn(f.alice)
	token := createToken(t, admin, "grafana", "write", "")
	stored, err := f.access.ListAPITokens(context.Background())
	require.NoError(t, err)
	require.Len(t, stored, 1)

	status, body := apiCall(t, f, token, http.MethodPatch, "/api/v1/incidents/"+itoa(f.private.Number), `{"severity":"P1"}`)
	require.Equal(t, http.StatusOK, status, body)
	status, body = apiCall(t, f, token, http.MethodGet, "/api/v1/incidents/"+itoa(f.private.Number), "")
	require.Equal(t, http.StatusOK, status, body)

	var changes []map[string]any
	require.Eventually(t, func() bool {
		changes = changes[:0]
		for _, rec := range logs.records(t) {
			if rec["msg"] == "API change" {
				changes = append(changes, rec)
			}
		}
		return len(changes) > 0
	}, 5*time.Second, 10*time.Millisecond)
	require.Len(t, changes, 1, "a read is not a change")
	rec := changes[0]
	require.Equal(t, "grafana", rec["token_name"])
	require.EqualValues(t, stored[0].ID, rec["token"])
	require.Equal(t, f.alice.ID, rec["user"])
	require.Equal(t, http.MethodPatch, rec["method"])
	require.Equal(t, "/api/v1/incidents/"+itoa(f.private.Number), rec["path"])
	require.EqualValues(t, http.StatusOK, rec["status"])
}

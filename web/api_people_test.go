package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// TestAPICommanderMustBeAColleague: the IC's integration names as the new
// IC, or as a new incident's IC, an id that is no person of the workspace:
// one nobody has (a typo), the bot itself, Slackbot, a deactivated person,
// a person of another workspace. Each is refused naming commander, and the
// incident keeps its IC; a person of the workspace is taken.
func TestAPICommanderMustBeAColleague(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t, withAdmin("U0BOB"))
	gone := f.slack.AddUser(slackfake.User{ID: "U0GONE", Name: "gone", RealName: "Gone Person", Deleted: true})
	admin := f.browser()
	admin.signIn(f.alice)
	ic := createToken(t, admin, "sync", "write", f.alice.ID)
	for _, target := range []string{"U0NOBODY", f.slack.BotUserID(), "USLACKBOT", gone.ID, f.eve.ID} {
		inc := f.openIncident(t, "handover to "+strings.ToLower(target))
		status, body := apiCall(t, f, ic, http.MethodPatch, "/api/v1/incidents/"+itoa(inc.Number), `{"commander":"`+target+`","severity":"P2"}`)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", target, body)
		require.Contains(t, body, `The field \"commander\" must name an active person of this Slack workspace`, target)
		got, err := f.store.GetIncident(ctx, inc.ID)
		require.NoError(t, err)
		require.Equal(t, f.alice.ID, got.Commander, "%s: the incident keeps its IC", target)
		require.Equal(t, incident.P1, got.Severity, "%s: nothing of the request is made", target)

		status, body = apiCall(t, f, ic, http.MethodPost, "/api/v1/incidents", `{"title":"db down","severity":"P3","commander":"`+target+`"}`)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", target, body)
	}
	inc := f.openIncident(t, "handover to bob")
	status, body := apiCall(t, f, ic, http.MethodPatch, "/api/v1/incidents/"+itoa(inc.Number), `{"commander":"`+f.bob.ID+`"}`)
	require.Equal(t, http.StatusOK, status, body)
}

// TestTokenNameIsOneLineOfPlainText: a token's name is said on the
// timeline lines the token writes, so a name with a line break, a terminal
// escape or a character that reverses the text after it is refused when the
// token is created, and no token is made.
func TestTokenNameIsOneLineOfPlainText(t *testing.T) {
	t.Parallel()
	for name, tokName := range map[string]string{
		"new line": "sync”)\n12:03 Bob Bystander resolved the incident (“x",
		"escape":   "sync\x1b[2J",
		"rlo":      "sync\u202edesrever",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, withAdmin("U0BOB"))
			admin := f.browser()
			admin.signIn(f.alice)
			_, page := admin.get("/admin/tokens")
			resp, body := admin.post("/admin/tokens", map[string][]string{"csrf_token": {csrfFrom(t, page)}, "name": {tokName}, "scope": {"write"}})
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
			require.Contains(t, body, "token name")
			toks, err := f.access.ListAPITokens(context.Background())
			require.NoError(t, err)
			require.Empty(t, toks)
		})
	}
}

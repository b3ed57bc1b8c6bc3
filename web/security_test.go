package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// TestHiddenIncidentAnswersLikeAMissingOne: asking for a private incident
// one may not see answers exactly as asking for one that does not exist,
// on the pages and in the API, so the answer cannot tell that it exists.
func TestHiddenIncidentAnswersLikeAMissingOne(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	alice, bob := f.browser(), f.browser()
	alice.signIn(f.alice)
	bob.signIn(f.bob)
	hidden, missing := itoa(f.private.Number), "999"
	message := regexp.MustCompile(`id="error-message">([^<]*)<`)

	for _, suffix := range []string{"", "/timeline.csv", "/postmortem.md"} {
		resp, page := bob.get("/incidents/" + hidden + suffix)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		gotHidden := message.FindStringSubmatch(page)
		resp, page = bob.get("/incidents/" + missing + suffix)
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		gotMissing := message.FindStringSubmatch(page)
		require.NotNil(t, gotHidden)
		require.NotNil(t, gotMissing)
		require.Equal(t, "Incident INC-"+hidden+" was not found.", gotHidden[1], suffix)
		require.Equal(t, "Incident INC-"+missing+" was not found.", gotMissing[1], "a missing incident says the same: %s", suffix)
	}

	token := tokenOf(t, f, f.bob, "bob's dashboards", "write")
	var refusal struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	for _, call := range []struct{ method, path, body string }{
		{http.MethodGet, "", ""}, {http.MethodGet, "/timeline", ""}, {http.MethodGet, "/follow-ups", ""},
		{http.MethodPatch, "", `{"severity":"P1"}`},
	} {
		var got []string
		for _, n := range []string{hidden, missing} {
			status, body := apiCall(t, f, token, call.method, "/api/v1/incidents/"+n+call.path, call.body)
			require.Equal(t, http.StatusNotFound, status, body)
			require.NoError(t, json.Unmarshal([]byte(body), &refusal))
			got = append(got, refusal.Error.Code+": "+refusal.Error.Message)
		}
		require.Equal(t, "not_found: Incident INC-"+hidden+" was not found.", got[0], call.method+" "+call.path)
		require.Equal(t, "not_found: Incident INC-"+missing+" was not found.", got[1], call.method+" "+call.path)
	}
}

// TestOpenRedirectByControlCharactersRefused: browsers drop tabs and
// newlines from a URL and read a backslash as a slash, so "/\t/evil" and
// "/\t\\evil" leave the site once they reach the Location header.
func TestOpenRedirectByControlCharactersRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.browser()
	b.signIn(f.alice)
	for _, next := range []string{"/\t/evil.example/", "/\t\\evil.example/", "/\n/evil.example/", "/\r/evil.example/", "/%09/x\\\\evil", "\\/evil.example/", "/\\evil.example/"} {
		resp := b.roundTrip("/login?next=" + url.QueryEscape(next))
		require.Equal(t, http.StatusFound, resp.StatusCode, "%q", next)
		require.Equal(t, "/incidents", resp.Header.Get("Location"), "%q", next)
	}
	resp := b.roundTrip("/login?next=" + url.QueryEscape("/incidents/1?x=y"))
	require.Equal(t, "/incidents/1?x=y", resp.Header.Get("Location"), "a path on the site is kept")

	// Through the sign-in round trip too.
	other := f.browser()
	resp, _ = other.get("/auth/start?next=" + url.QueryEscape("/\t/evil.example/"))
	authorize, _ := url.Parse(resp.Header.Get("Location"))
	form := url.Values{"user_id": {f.alice.ID}}
	for k, v := range authorize.Query() {
		form[k] = v
	}
	consent, _ := http.NewRequest(http.MethodPost, f.slack.BaseURL()+"/openid/connect/authorize", strings.NewReader(form.Encode()))
	consent.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ = other.do(consent)
	callback, _ := url.Parse(resp.Header.Get("Location"))
	resp = other.roundTrip(callback.RequestURI())
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.Equal(t, "/incidents", resp.Header.Get("Location"))
}

// roundTrip sends one GET with the browser's cookies and returns the
// answer as it came, without reading its Location (Go's client refuses to
// parse one with a control character, which a browser follows).
func (b *browser) roundTrip(path string) *http.Response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.f.srv.URL+path, nil)
	require.NoError(b.t, err)
	for _, c := range b.client.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(b.t, err)
	resp.Body.Close()
	if u, err := url.Parse(b.f.srv.URL); err == nil {
		b.client.Jar.SetCookies(u, resp.Cookies())
	}
	return resp
}

// TestSignInRefusesAnInjectedCode: a code Slack issued to somebody else's
// sign-in (leaked from their browser history, a log or a proxy) does not
// sign in whoever pastes it into their own callback with their own state:
// the sign-in's nonce must come back in the code's id_token.
func TestSignInRefusesAnInjectedCode(t *testing.T) {
	t.Parallel()
	f := setup(t)

	// Alice signs in; her callback URL, with its code, leaks before her
	// browser uses it.
	victim := f.browser()
	resp, _ := victim.get("/auth/start")
	authorize, _ := url.Parse(resp.Header.Get("Location"))
	form := url.Values{"user_id": {f.alice.ID}}
	for k, v := range authorize.Query() {
		form[k] = v
	}
	consent, _ := http.NewRequest(http.MethodPost, f.slack.BaseURL()+"/openid/connect/authorize", strings.NewReader(form.Encode()))
	consent.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ = victim.do(consent)
	leaked, _ := url.Parse(resp.Header.Get("Location"))
	code := leaked.Query().Get("code")
	require.NotEmpty(t, code)

	// The attacker starts a sign-in of their own and feeds the code to it.
	attacker := f.browser()
	resp, _ = attacker.get("/auth/start")
	own, _ := url.Parse(resp.Header.Get("Location"))
	resp, _ = attacker.get("/auth/callback?" + url.Values{"code": {code}, "state": {own.Query().Get("state")}}.Encode())
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.Equal(t, "/login?error=nonce", resp.Header.Get("Location"))
	resp, _ = attacker.get("/incidents")
	require.Equal(t, http.StatusFound, resp.StatusCode, "no session was opened")
	require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "/login"))
}

// TestAPIUpdateWithBadInputChangesNothing: an update whose fields are not
// all valid is refused with 400 before any of them is applied.
func TestAPIUpdateWithBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	f := setup(t)
	admin := f.browser()
	admin.signIn(f.alice)
	write := createToken(t, admin, "alertmanager", "write", "")
	status, body := apiCall(t, f, write, http.MethodPost, "/api/v1/incidents", `{"title":"queue backlog","severity":"P3"}`)
	require.Equal(t, http.StatusCreated, status, body)
	var inc struct {
		Number int64 `json:"number"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &inc))
	path := "/api/v1/incidents/" + itoa(inc.Number)

	for _, tc := range []struct{ body, want string }{
		{`{"severity":"P1","status":"sideways"}`, `Unknown status`},
		{`{"severity":"P1","commander":"@bob"}`, `commander must be a Slack user id`},
		{`{"status":"investigating","severity":"P9"}`, `Unknown severity`},
		{`{"commander":"` + f.bob.ID + `","severity":"P0"}`, `Unknown severity`},
	} {
		status, body := apiCall(t, f, write, http.MethodPatch, path, tc.body)
		require.Equal(t, http.StatusBadRequest, status, body)
		require.Contains(t, body, tc.want, tc.body)
		got, err := f.store.GetIncidentByNumber(context.Background(), inc.Number)
		require.NoError(t, err)
		require.Equal(t, incident.P3, got.Severity, "nothing changed: %s", tc.body)
		require.Equal(t, incident.StatusDeclared, got.Status, "nothing changed: %s", tc.body)
		require.Equal(t, f.alice.ID, got.Commander, "nothing changed: %s", tc.body)
	}
}

// TestTokenActsOnlyForAnActivePerson: a token acts for a person of the
// workspace; asking for one acting as an id that is no Slack user, a
// deactivated person or a bot is refused (as acting as anyone but its
// creator is), and a token whose person is deactivated later stops working.
func TestTokenActsOnlyForAnActivePerson(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	gone := f.slack.AddUser(slackfake.User{ID: "U0GONE", Name: "gone", RealName: "Gone Person", Deleted: true})
	robot := f.slack.AddUser(slackfake.User{ID: "U0ROBOT", Name: "robot", IsBot: true})
	admin := f.browser()
	admin.signIn(f.alice)

	for _, actAs := range []string{"U0NOBODY", "U><!channel>", "Ubot", gone.ID, robot.ID} {
		_, page := admin.get("/admin/tokens")
		resp, page := admin.post("/admin/tokens", url.Values{"csrf_token": {csrfFrom(t, page)}, "name": {"x"}, "scope": {"read"}, "act_as": {actAs}})
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s: %s", actAs, page)
		require.Contains(t, page, `id="token-problem"`, actAs)
	}
	tokens, err := f.access.ListAPITokens(context.Background())
	require.NoError(t, err)
	require.Empty(t, tokens, "no token was made")

	asBob := tokenOf(t, f, f.bob, "bob's dashboards", "read")
	status, body := apiCall(t, f, asBob, http.MethodGet, "/api/v1/incidents", "")
	require.Equal(t, http.StatusOK, status, body)

	// Bob leaves and is deactivated in Slack: within minutes his token
	// stops working.
	bob := f.bob
	bob.Deleted = true
	f.slack.AddUser(bob)
	f.clock.Advance(11 * time.Minute)
	status, body = apiCall(t, f, asBob, http.MethodGet, "/api/v1/incidents", "")
	require.Equal(t, http.StatusUnauthorized, status, body)
	require.Contains(t, body, "invalid_token")
	require.NotContains(t, body, "checkout is down")
}

// TestGuestMetricsReadTheirChannelsOnce: the metrics a guest sees count
// only the incidents whose channels they are in, and, as the list does,
// the page reads the guest's channels once rather than the members of
// every incident's channel.
func TestGuestMetricsReadTheirChannelsOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	guest := f.slack.AddUser(slackfake.User{ID: "U0GUEST", Name: "gus", RealName: "Gus Guest", Guest: true})
	room := f.slack.AddChannel(slackfake.Channel{Name: "inc-partner-api", Members: []string{f.slack.BotUserID(), guest.ID}})
	_, err := f.store.CreateIncident(ctx, incidenttest.NewIncident(func(i *incident.Incident) {
		i.Title, i.Severity, i.Service, i.ChannelID, i.DeclaredAt = "partner API returns 502", incident.P2, "checkout", room.ID, t0.Add(-time.Hour)
	}))
	require.NoError(t, err)
	for i := range 20 {
		ch := f.slack.AddChannel(slackfake.Channel{Name: "inc-other-" + itoa(int64(i)), Members: []string{f.slack.BotUserID(), f.alice.ID}})
		_, err := f.store.CreateIncident(ctx, incidenttest.NewIncident(func(inc *incident.Incident) {
			inc.Title, inc.Severity, inc.Service, inc.ChannelID, inc.DeclaredAt = "other", incident.P3, "checkout", ch.ID, t0.Add(-3*time.Hour)
		}))
		require.NoError(t, err)
	}
	b := f.browser()
	b.signIn(guest)
	before := len(f.slack.CallsTo("conversations.members"))
	resp, page := b.get("/reports/metrics?period=7d")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, page, `id="incident-count">1<`, "only the guest's own incident is counted")
	require.Equal(t, before, len(f.slack.CallsTo("conversations.members")), "no channel's members are read one by one")
	_, csv := b.get("/reports/metrics.csv?period=7d")
	require.Contains(t, csv, "overall,all,incidents,1")
}

// TestAPIRefusesOverlongFieldsBeforeChanging: an idempotency key longer
// than a database index takes, or an update whose summary the lifecycle
// would refuse, is answered 400 with nothing declared or changed.
func TestAPIRefusesOverlongFieldsBeforeChanging(t *testing.T) {
	t.Parallel()
	f := setup(t)
	admin := f.browser()
	admin.signIn(f.alice)
	write := createToken(t, admin, "alertmanager", "write", "")
	before, err := f.store.ListIncidents(context.Background(), incident.IncidentFilter{})
	require.NoError(t, err)

	status, body := apiCall(t, f, write, http.MethodPost, "/api/v1/incidents",
		`{"title":"queue backlog","severity":"P3","idempotency_key":"`+strings.Repeat("k", 5000)+`"}`)
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Contains(t, body, "idempotency_key")
	after, err := f.store.ListIncidents(context.Background(), incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, after, len(before), "nothing was declared")

	status, body = apiCall(t, f, write, http.MethodPatch, "/api/v1/incidents/"+itoa(f.private.Number),
		`{"severity":"P1","status":"resolved","summary":"`+strings.Repeat("s", 3001)+`"}`)
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Contains(t, body, "summary")
	got, err := f.store.GetIncident(context.Background(), f.private.ID)
	require.NoError(t, err)
	require.Equal(t, incident.P2, got.Severity, "nothing changed")
	require.Equal(t, f.private.Status, got.Status, "nothing changed")
}

// TestDeactivatedPersonIsSignedOut: a person deactivated in Slack loses the
// web view within minutes, not when their session would have expired.
func TestDeactivatedPersonIsSignedOut(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.browser()
	b.signIn(f.bob)
	resp, _ := b.get("/incidents")
	require.Equal(t, http.StatusOK, resp.StatusCode)

	bob := f.bob
	bob.Deleted = true
	f.slack.AddUser(bob)
	f.clock.Advance(11 * time.Minute)
	resp, page := b.get("/incidents")
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "/login"))
	require.NotContains(t, page, "checkout is down")
}

// TestBearerSchemeIsCaseInsensitive: an API token is taken whatever the
// case of the scheme's name (RFC 9110, 11.1).
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	f := setup(t)
	admin := f.browser()
	admin.signIn(f.alice)
	token := createToken(t, admin, "dashboards", "read", "")
	send := func(authorization string) int {
		req, err := http.NewRequest(http.MethodGet, f.srv.URL+"/api/v1/incidents", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", authorization)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, scheme := range []string{"bearer ", "BEARER ", "Bearer  "} {
		require.Equal(t, http.StatusOK, send(scheme+token), scheme)
	}
	require.Equal(t, http.StatusUnauthorized, send("Basic "+token))
}

// TestAPIAnswersJSONForWhatItLacks: a path the API lacks, a method a path
// does not take, and a body with more than one JSON value get a JSON error
// the client can read, and change nothing.
func TestAPIAnswersJSONForWhatItLacks(t *testing.T) {
	t.Parallel()
	f := setup(t)
	admin := f.browser()
	admin.signIn(f.alice)
	write := createToken(t, admin, "writer", "write", "")
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{http.MethodGet, "/api/v1/nothing-here", "", http.StatusNotFound, `"not_found"`},
		{http.MethodDelete, "/api/v1/incidents", "", http.StatusMethodNotAllowed, `"method_not_allowed"`},
		{http.MethodPost, "/api/v1/incidents", `{"title":"queue backlog","severity":"P3"}{"title":"second","severity":"P1"}`, http.StatusBadRequest, "more than one JSON value"},
		{http.MethodPost, "/api/v1/incidents", `{"title":"queue backlog","severity":"P3"} trailing`, http.StatusBadRequest, "more than one JSON value"},
	} {
		status, body := apiCall(t, f, write, tc.method, tc.path, tc.body)
		require.Equal(t, tc.status, status, "%s %s: %s", tc.method, tc.path, body)
		require.Contains(t, body, tc.code, "%s %s", tc.method, tc.path)
		require.True(t, strings.HasPrefix(strings.TrimSpace(body), "{"), "a JSON answer: %s", body)
	}
	incs, err := f.store.ListIncidents(context.Background(), incident.IncidentFilter{})
	require.NoError(t, err)
	for _, inc := range incs {
		require.NotEqual(t, "queue backlog", inc.Title, "a body with two values declared nothing")
	}
}

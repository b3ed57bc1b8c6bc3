package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/metrics"
	"github.com/firebreakhq/firebreak/web"
)

// t0 is "now" in these tests.
var t0 = time.Date(2026, time.March, 30, 12, 0, 0, 0, time.UTC)

// fixture is a web server on a memory store, signing in through the fake
// Slack's Sign in with Slack.
type fixture struct {
	t      testing.TB
	srv    *httptest.Server
	slack  *slackfake.Server
	store  *incidenttest.MemStore
	access *incidenttest.MemAccessStore
	clock  *incidenttest.Clock
	web    *web.Server
	svc    *incident.Service
	queue  *incidenttest.Queue // the service's jobs; a test runs them
	chat   *bot.Chat

	alice, bob, eve slackfake.User // alice is an admin and in the private channel; eve is from another workspace
	private         *incident.Incident
	public          *incident.Incident
	drill           *incident.Incident
}

const (
	privateChannel = "C0PRIVATE"
	commanderGroup = "S0COMMANDERS" // alice only
)

// setup starts the web server; each option edits its configuration first.
func setup(t testing.TB, opts ...func(*web.Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: incidenttest.NewClock(t0)}
	f.slack = slackfake.New(slackfake.WithClock(f.clock.Now))
	t.Cleanup(f.slack.Close)
	f.alice = f.slack.AddUser(slackfake.User{ID: "U0ALICE", Name: "alice", RealName: "Alice Admin", Email: "alice@example.com"})
	f.bob = f.slack.AddUser(slackfake.User{ID: "U0BOB", Name: "bob", RealName: "Bob Bystander", Email: "bob@example.com"})
	f.eve = f.slack.AddUser(slackfake.User{ID: "U0EVE", Name: "eve", RealName: "Eve Elsewhere", TeamID: "T0OTHER"})
	f.slack.AddChannel(slackfake.Channel{ID: privateChannel, Name: "inc-secret", Private: true, Members: []string{f.slack.BotUserID(), f.alice.ID}})

	f.store = incidenttest.NewMemStore(f.clock)
	f.access = incidenttest.NewMemAccessStore(f.clock)
	ctx := context.Background()
	mk := func(edit func(*incident.Incident)) *incident.Incident {
		inc, err := f.store.CreateIncident(ctx, incidenttest.NewIncident(edit))
		require.NoError(t, err)
		return inc
	}
	f.public = mk(func(i *incident.Incident) {
		i.Title, i.Severity, i.Service, i.DeclaredAt = "checkout is down", incident.P1, "checkout", t0.Add(-48*time.Hour)
		i.Commander, i.DeclaredBy = f.alice.ID, f.alice.ID
		ack, res := t0.Add(-48*time.Hour+5*time.Minute), t0.Add(-47*time.Hour)
		i.AcknowledgedAt, i.ResolvedAt, i.Status = &ack, &res, incident.StatusResolved
	})
	f.private = mk(func(i *incident.Incident) {
		i.Title, i.Severity, i.Private, i.ChannelID, i.DeclaredAt = "payroll data exposure", incident.P2, true, privateChannel, t0.Add(-24*time.Hour)
		i.Service = "payroll"
	})
	f.drill = mk(func(i *incident.Incident) {
		i.Title, i.Severity, i.Drill, i.DeclaredAt = "game day: database failover", incident.P3, true, t0.Add(-2*time.Hour)
		i.Service = "checkout"
	})
	require.NoError(t, f.store.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: f.public.ID, Kind: incident.EventDeclared,
		Actor: f.alice.ID, At: f.public.DeclaredAt, Text: "Alice declared INC-1", Key: true}))
	due := t0.Add(-24 * time.Hour)
	require.NoError(t, f.store.AddActionItem(ctx, &incident.ActionItem{IncidentID: f.public.ID, Text: "add an alert on pool saturation",
		Owner: f.bob.ID, DueOn: &due, CreatedAt: t0.Add(-46 * time.Hour)}))

	policy := incident.DefaultPolicy()
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout"}, "payroll": {Key: "payroll", Name: "Payroll"}}
	policy.CommanderGroup = f.slack.AddUserGroup(slackfake.UserGroup{ID: commanderGroup, Handle: "incident-commanders", Users: []string{f.alice.ID}}).ID
	api := slack.New(f.slack.BotToken(), slack.OptionAPIURL(f.slack.URL()))
	q := incidenttest.NewQueue()
	f.store.SetScheduler(q)
	f.chat = bot.NewChat(api, policy, bot.WithChatClock(f.clock))
	svc := incident.NewService(incident.ServiceConfig{Store: f.store, Scheduler: q, Chat: f.chat.Roles(), Policy: policy, Clock: f.clock})
	svc.RegisterJobs(q)
	f.svc, f.queue = svc, q

	f.srv = httptest.NewUnstartedServer(nil)
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	cfg := web.Config{
		Reader: f.store, Incidents: svc, Access: f.access, Metrics: metrics.NewService(f.store, policy, f.clock), Policy: policy,
		Slack: api, SlackAPIURL: f.slack.URL(), AuthorizeURL: f.slack.BaseURL() + "/openid/connect/authorize",
		ClientID: slackfake.DefaultClientID, ClientSecret: slackfake.DefaultClientSecret,
		PublicURL: f.srv.URL, Admins: []string{f.alice.ID}, Clock: f.clock,
		Postmortem: func(context.Context, int64) (string, error) {
			return "# Postmortem\n\n<script>alert(1)</script>\n\nThe **pool** was exhausted.", nil
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	w, err := web.New(cfg)
	require.NoError(t, err)
	f.web = w
	f.srv.Config.Handler = w.Handler()
	return f
}

// browser is a cookie-keeping client that does not follow redirects, so
// each step of a flow can be checked.
type browser struct {
	t      testing.TB
	f      *fixture
	client *http.Client
}

func (f *fixture) browser() *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(f.t, err)
	return &browser{t: f.t, f: f, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.client.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp, string(body)
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	target := path
	if strings.HasPrefix(path, "/") {
		target = b.f.srv.URL + path
	}
	req, err := http.NewRequest(http.MethodGet, target, nil)
	require.NoError(b.t, err)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values, headers ...string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.f.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// signIn goes through Sign in with Slack as user and returns where the
// callback sent the browser.
func (b *browser) signIn(user slackfake.User) string {
	b.t.Helper()
	resp, _ := b.get("/auth/start?next=/reports/metrics")
	require.Equal(b.t, http.StatusFound, resp.StatusCode)
	authorize, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(b.t, err)
	require.Equal(b.t, "/openid/connect/authorize", authorize.Path)
	q := authorize.Query()
	require.Equal(b.t, b.f.slack.TeamID(), q.Get("team"), "the consent page is steered to the bot's workspace")
	require.Equal(b.t, b.f.srv.URL+"/auth/callback", q.Get("redirect_uri"))

	// The consent page, where the person picks themselves.
	resp, page := b.get(authorize.String())
	require.Equal(b.t, http.StatusOK, resp.StatusCode)
	require.Contains(b.t, page, "signin-"+user.ID)
	form := url.Values{"user_id": {user.ID}}
	for k, v := range q {
		form[k] = v
	}
	consent, err := http.NewRequest(http.MethodPost, b.f.slack.BaseURL()+"/openid/connect/authorize", strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	consent.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ = b.do(consent)
	require.Equal(b.t, http.StatusFound, resp.StatusCode)

	resp, _ = b.get(resp.Header.Get("Location"))
	require.Equal(b.t, http.StatusFound, resp.StatusCode)
	return resp.Header.Get("Location")
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrfFrom(t testing.TB, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	require.NotNil(t, m, "the page has a CSRF field")
	return m[1]
}

func TestSignedOutIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.browser()
	for _, path := range []string{"/", "/incidents", "/incidents/1", "/reports/metrics", "/reports/metrics.csv", "/incidents/1/timeline.csv", "/admin/tokens"} {
		resp, body := b.get(path)
		require.Equal(t, http.StatusFound, resp.StatusCode, path)
		require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "/login?next="), path)
		require.NotContains(t, body, "checkout is down", path)
	}
	resp, _ := b.post("/logout", url.Values{})
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	resp, body := b.get("/login")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "Sign in with Slack")
	require.NotContains(t, body, "checkout is down")

	resp, _ = b.get("/api/v1/incidents")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
}

func TestSignInWithSlack(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.browser()
	require.Equal(t, "/reports/metrics", b.signIn(f.alice), "back to the page that was asked for")

	u, _ := url.Parse(f.srv.URL)
	var session *http.Cookie
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "firebreak_session" {
			session = c
		}
	}
	require.NotNil(t, session)
	_, err := f.access.GetSession(context.Background(), session.Value)
	incidenttest.RequireCode(t, err, incident.ENOTFOUND) // only the hash is stored

	resp, body := b.get("/incidents")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "INC-1")
	require.Contains(t, body, "checkout is down")
	require.Contains(t, body, "Alice Admin", "names come from Slack")
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")

	// The session expires.
	f.clock.Advance(web.DefaultSessionTTL + time.Minute)
	resp, _ = b.get("/incidents")
	require.Equal(t, http.StatusFound, resp.StatusCode)
}

func TestSessionCookieAttributes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.browser()
	resp, _ := b.get("/auth/start")
	login := resp.Cookies()[0]
	require.Equal(t, "firebreak_login", login.Name)
	require.True(t, login.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, login.SameSite)

	// Walk the rest by hand to see the Set-Cookie of the callback.
	authorize, _ := url.Parse(resp.Header.Get("Location"))
	form := url.Values{"user_id": {f.alice.ID}}
	for k, v := range authorize.Query() {
		form[k] = v
	}
	consent, _ := http.NewRequest(http.MethodPost, f.slack.BaseURL()+"/openid/connect/authorize", strings.NewReader(form.Encode()))
	consent.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ = b.do(consent)
	resp, _ = b.get(resp.Header.Get("Location"))
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "firebreak_session" {
			session = c
		}
	}
	require.NotNil(t, session)
	require.True(t, session.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, session.SameSite)
	require.Equal(t, "/", session.Path)
	require.False(t, session.Secure, "plain http in this test; an https PUBLIC_URL makes it Secure")
}

func TestSecureCookiesOverHTTPS(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ts := httptest.NewTLSServer(nil)
	t.Cleanup(ts.Close)
	api := slack.New(f.slack.BotToken(), slack.OptionAPIURL(f.slack.URL()))
	w, err := web.New(web.Config{Reader: f.store, Incidents: f.svc, Access: f.access, Metrics: metrics.NewService(f.store, incident.DefaultPolicy(), f.clock),
		Slack: api, SlackAPIURL: f.slack.URL(), AuthorizeURL: f.slack.BaseURL() + "/openid/connect/authorize",
		ClientID: slackfake.DefaultClientID, ClientSecret: slackfake.DefaultClientSecret, PublicURL: ts.URL, Clock: f.clock})
	require.NoError(t, err)
	ts.Config.Handler = w.Handler()
	client := ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(ts.URL + "/auth/start")
	require.NoError(t, err)
	resp.Body.Close()
	login := resp.Cookies()[0]
	require.True(t, login.Secure)
	// A sibling subdomain must not plant its own sign-in's state, nonce and
	// next (login CSRF), so the login cookie is host-only too.
	require.Equal(t, "__Host-firebreak_login", login.Name)
	require.Equal(t, "/", login.Path)

	authorize, _ := url.Parse(resp.Header.Get("Location"))
	form := url.Values{"user_id": {f.alice.ID}}
	for k, v := range authorize.Query() {
		form[k] = v
	}
	resp, err = client.PostForm(f.slack.BaseURL()+"/openid/connect/authorize", form)
	require.NoError(t, err)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, resp.Header.Get("Location"), nil)
	req.AddCookie(&http.Cookie{Name: login.Name, Value: login.Value})
	resp, err = client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	var names []string
	for _, c := range resp.Cookies() {
		names = append(names, c.Name)
		if c.Name == "__Host-firebreak_session" {
			require.True(t, c.Secure)
			require.True(t, c.HttpOnly)
			require.Equal(t, "/", c.Path)
		}
	}
	require.Contains(t, names, "__Host-firebreak_session")
}

func TestSignInFromAnotherWorkspaceIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.browser()
	require.Equal(t, "/login?error=workspace", b.signIn(f.eve))
	resp, _ := b.get("/incidents")
	require.Equal(t, http.StatusFound, resp.StatusCode, "no session was opened")
	_, body := b.get("/login?error=workspace")
	require.Contains(t, body, "another workspace")
}

func TestSignInStateMustMatch(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.browser()
	resp, _ := b.get("/auth/start")
	require.Equal(t, http.StatusFound, resp.StatusCode)
	resp, _ = b.get("/auth/callback?code=anything&state=forged")
	require.Equal(t, "/login?error=state", resp.Header.Get("Location"))

	// Without the login cookie (another browser) the callback is refused too.
	other := f.browser()
	resp, _ = other.get("/auth/callback?code=anything&state=forged")
	require.Equal(t, "/login?error=expired", resp.Header.Get("Location"))

	// Cancel on the consent page comes back as denied.
	resp, _ = b.get("/auth/start")
	authorize, _ := url.Parse(resp.Header.Get("Location"))
	form := url.Values{"cancel": {"1"}}
	for k, v := range authorize.Query() {
		form[k] = v
	}
	consent, _ := http.NewRequest(http.MethodPost, f.slack.BaseURL()+"/openid/connect/authorize", strings.NewReader(form.Encode()))
	consent.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ = b.do(consent)
	resp, _ = b.get(resp.Header.Get("Location"))
	require.Equal(t, "/login?error=denied", resp.Header.Get("Location"))
}

func TestOpenRedirectRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.browser()
	resp, _ := b.get("/auth/start?next=//evil.example/")
	authorize, _ := url.Parse(resp.Header.Get("Location"))
	form := url.Values{"user_id": {f.alice.ID}}
	for k, v := range authorize.Query() {
		form[k] = v
	}
	consent, _ := http.NewRequest(http.MethodPost, f.slack.BaseURL()+"/openid/connect/authorize", strings.NewReader(form.Encode()))
	consent.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ = b.do(consent)
	resp, _ = b.get(resp.Header.Get("Location"))
	require.Equal(t, "/incidents", resp.Header.Get("Location"))
}

func TestPrivateIncidentHiddenFromNonMembers(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	alice, bob := f.browser(), f.browser()
	alice.signIn(f.alice)
	bob.signIn(f.bob)
	path := "/incidents/" + itoa(f.private.Number)

	_, list := alice.get("/incidents")
	require.Contains(t, list, "payroll data exposure")
	resp, page := alice.get(path)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, page, "payroll data exposure")

	_, list = bob.get("/incidents")
	require.NotContains(t, list, "payroll data exposure")
	require.Contains(t, list, "checkout is down")
	for _, p := range []string{path, path + "/timeline.csv", path + "/postmortem.md"} {
		resp, page = bob.get(p)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, p)
		require.NotContains(t, page, "payroll", p)
	}
	_, csv := bob.get("/reports/metrics.csv?period=7d&service=payroll")
	require.Contains(t, csv, "overall,all,incidents,0", "a non-member's numbers leave the private incident out")
	_, csv = alice.get("/reports/metrics.csv?period=7d&service=payroll")
	require.Contains(t, csv, "overall,all,incidents,1")

	// And in the API, through a token acting as bob.
	token := tokenOf(t, f, f.bob, "bob's dashboards", "read")
	status, body := apiCall(t, f, token, http.MethodGet, "/api/v1/incidents/"+itoa(f.private.Number), "")
	require.Equal(t, http.StatusNotFound, status)
	require.NotContains(t, body, "payroll")
	status, body = apiCall(t, f, token, http.MethodGet, "/api/v1/incidents/"+itoa(f.private.Number)+"/timeline", "")
	require.Equal(t, http.StatusNotFound, status, body)
	status, body = apiCall(t, f, token, http.MethodGet, "/api/v1/incidents", "")
	require.Equal(t, http.StatusOK, status)
	require.NotContains(t, body, "payroll")
	require.Contains(t, body, "checkout is down")

	aliceToken := createToken(t, alice, "alice's", "read", "")
	status, body = apiCall(t, f, aliceToken, http.MethodGet, "/api/v1/incidents/"+itoa(f.private.Number), "")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "payroll data exposure")
}

func TestCSRFRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.browser()
	b.signIn(f.alice)
	_, page := b.get("/incidents")
	token := csrfFrom(t, page)

	resp, body := b.post("/logout", url.Values{})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "no token")
	require.Contains(t, body, "This form has expired")
	resp, _ = b.post("/logout", url.Values{"csrf_token": {"forged"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "a wrong token")
	resp, _ = b.post("/admin/tokens", url.Values{"name": {"x"}, "scope": {"write"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "no token on token creation either")
	tokens, err := f.access.ListAPITokens(context.Background())
	require.NoError(t, err)
	require.Empty(t, tokens)

	// A cross-site form post carrying a stolen token is refused by the
	// browser's own Sec-Fetch-Site report.
	resp, _ = b.post("/logout", url.Values{"csrf_token": {token}}, "Sec-Fetch-Site", "cross-site")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	resp, _ = b.get("/incidents")
	require.Equal(t, http.StatusOK, resp.StatusCode, "still signed in after the refusals")

	resp, _ = b.post("/logout", url.Values{"csrf_token": {token}}, "Sec-Fetch-Site", "same-origin")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = b.get("/incidents")
	require.Equal(t, http.StatusFound, resp.StatusCode, "signed out")
}

// createToken creates an API token through the admin page and returns
// its secret, read from the page that shows it once.
func createToken(t *testing.T, admin *browser, name, scope, actAs string) string {
	t.Helper()
	_, page := admin.get("/admin/tokens")
	resp, page := admin.post("/admin/tokens", url.Values{"csrf_token": {csrfFrom(t, page)}, "name": {name}, "scope": {scope}, "act_as": {actAs}})
	require.Equal(t, http.StatusCreated, resp.StatusCode, page)
	m := regexp.MustCompile(`id="token-secret">(fbk_[A-Za-z0-9_-]+)<`).FindStringSubmatch(page)
	require.NotNil(t, m, page)
	return m[1]
}

func apiCall(t *testing.T, f *fixture, token, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func itoa(n int64) string { return jsonNumber(n) }

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestTokenScopes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	admin := f.browser()
	admin.signIn(f.alice)
	read := createToken(t, admin, "grafana", "read", "")
	write := createToken(t, admin, "alertmanager", "write", "")

	stored, err := f.access.ListAPITokens(context.Background())
	require.NoError(t, err)
	require.Len(t, stored, 2)
	for _, tok := range stored {
		require.NotContains(t, []string{read, write}, tok.Hash, "only hashes are stored")
		require.True(t, strings.HasPrefix(read, tok.Prefix) || strings.HasPrefix(write, tok.Prefix))
	}

	declare := `{"title":"search is slow","severity":"P2","service":"checkout","idempotency_key":"alert-123"}`
	status, body := apiCall(t, f, read, http.MethodGet, "/api/v1/incidents", "")
	require.Equal(t, http.StatusOK, status, body)
	status, body = apiCall(t, f, read, http.MethodPost, "/api/v1/incidents", declare)
	require.Equal(t, http.StatusForbidden, status, "a read token cannot declare")
	require.Contains(t, body, "insufficient_scope")
	status, _ = apiCall(t, f, read, http.MethodPatch, "/api/v1/incidents/1", `{"status":"closed"}`)
	require.Equal(t, http.StatusForbidden, status, "nor update")

	status, body = apiCall(t, f, write, http.MethodPost, "/api/v1/incidents", declare)
	require.Equal(t, http.StatusCreated, status, body)
	var inc struct {
		Number     int64  `json:"number"`
		Status     string `json:"status"`
		DeclaredBy string `json:"declared_by"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &inc))
	require.Equal(t, f.alice.ID, inc.DeclaredBy, "changes are recorded as the token's user")
	status, _ = apiCall(t, f, write, http.MethodPost, "/api/v1/incidents", declare)
	require.Equal(t, http.StatusOK, status, "the same idempotency key declares once")

	status, body = apiCall(t, f, write, http.MethodPatch, "/api/v1/incidents/"+itoa(inc.Number), `{"status":"mitigated","severity":"P1"}`)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `"status":"mitigated"`)
	require.Contains(t, body, `"severity":"P1"`)
	status, body = apiCall(t, f, write, http.MethodPatch, "/api/v1/incidents/"+itoa(inc.Number), `{"status":"declared"}`)
	require.Equal(t, http.StatusConflict, status, body)
	status, body = apiCall(t, f, write, http.MethodPatch, "/api/v1/incidents/"+itoa(inc.Number), `{"colour":"red"}`)
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Contains(t, body, "Unknown field")
	status, _ = apiCall(t, f, read, http.MethodGet, "/api/v1/metrics?period=30d", "")
	require.Equal(t, http.StatusOK, status)

	// Revoked tokens stop working at once.
	_, page := admin.get("/admin/tokens")
	var readID int64
	for _, tok := range stored {
		if strings.HasPrefix(read, tok.Prefix) {
			readID = tok.ID
		}
	}
	resp, _ := admin.post("/admin/tokens/"+itoa(readID)+"/revoke", url.Values{"csrf_token": {csrfFrom(t, page)}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	status, body = apiCall(t, f, read, http.MethodGet, "/api/v1/incidents", "")
	require.Equal(t, http.StatusUnauthorized, status)
	require.Contains(t, body, "invalid_token")
	status, _ = apiCall(t, f, "fbk_made-up", http.MethodGet, "/api/v1/incidents", "")
	require.Equal(t, http.StatusUnauthorized, status)

	// Only admins manage tokens.
	bob := f.browser()
	bob.signIn(f.bob)
	resp, _ = bob.get("/admin/tokens")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	_, page = bob.get("/incidents")
	resp, _ = bob.post("/admin/tokens", url.Values{"csrf_token": {csrfFrom(t, page)}, "name": {"x"}, "scope": {"write"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// TestAPIDeclareNamesICByThePermissionModel: a token acts as its user, and
// naming someone else as IC at declare follows the rule for naming an IC
// while nobody holds the role: only the commander group may.
func TestAPIDeclareNamesICByThePermissionModel(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	admin := f.browser()
	admin.signIn(f.alice)
	asAlice := createToken(t, admin, "alice-bot", "write", "")
	asBob := tokenOf(t, f, f.bob, "bob-bot", "write")

	var inc struct {
		Number     int64  `json:"number"`
		DeclaredBy string `json:"declared_by"`
		Commander  string `json:"commander"`
	}
	var refusal struct {
		Error struct{ Code, Message string } `json:"error"`
	}

	status, body := apiCall(t, f, asBob, http.MethodPost, "/api/v1/incidents",
		`{"title":"search is slow","severity":"P2","commander":"`+f.alice.ID+`"}`)
	require.Equal(t, http.StatusForbidden, status, body)
	require.NoError(t, json.Unmarshal([]byte(body), &refusal))
	require.Equal(t, incident.EFORBIDDEN, refusal.Error.Code)
	require.Contains(t, refusal.Error.Message, "You may not name someone else as the Incident Commander")
	require.Contains(t, refusal.Error.Message, "only the commander group may", "says why")
	require.Contains(t, refusal.Error.Message, "Who can: members of "+commanderGroup, "and who can")
	list, err := f.store.ListIncidents(context.Background(), incident.IncidentFilter{})
	require.NoError(t, err)
	for _, i := range list {
		require.NotEqual(t, "search is slow", i.Title, "nothing is declared")
	}

	for _, who := range []string{commanderGroup, "@alice", "<@U0ALICE>", "bot"} {
		status, body = apiCall(t, f, asAlice, http.MethodPost, "/api/v1/incidents", `{"title":"search is slow","severity":"P2","commander":"`+who+`"}`)
		require.Equal(t, http.StatusBadRequest, status, "%s is not a person: %s", who, body)
		require.Contains(t, body, "commander must be a Slack user id")
	}

	status, body = apiCall(t, f, asBob, http.MethodPost, "/api/v1/incidents",
		`{"title":"search is slow","severity":"P2","commander":"`+f.bob.ID+`"}`)
	require.Equal(t, http.StatusCreated, status, "naming yourself is taking the role: %s", body)
	require.NoError(t, json.Unmarshal([]byte(body), &inc))
	require.Equal(t, f.bob.ID, inc.DeclaredBy, "the token's user is the declarer")
	require.Equal(t, f.bob.ID, inc.Commander)

	status, body = apiCall(t, f, asAlice, http.MethodPost, "/api/v1/incidents",
		`{"title":"search is down","severity":"P1","commander":"`+f.bob.ID+`"}`)
	require.Equal(t, http.StatusCreated, status, "the commander group names anyone: %s", body)
	require.NoError(t, json.Unmarshal([]byte(body), &inc))
	require.Equal(t, f.alice.ID, inc.DeclaredBy)
	require.Equal(t, f.bob.ID, inc.Commander)
}

// TestAPIUpdateAuthorizedAsInSlack: an update through the API passes the
// permission checks of the token's user, as the same change in Slack does.
func TestAPIUpdateAuthorizedAsInSlack(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	admin := f.browser()
	admin.signIn(f.alice)
	asBob := tokenOf(t, f, f.bob, "bob-bot", "write")
	path := "/api/v1/incidents/" + itoa(f.public.Number)

	for _, tc := range []struct{ body, want string }{
		{`{"severity":"P2"}`, "You may not change the severity: only the Incident Commander or the commander group may. Who can: the Incident Commander (" + f.alice.ID + ") or members of " + commanderGroup + "."},
		{`{"status":"closed"}`, "You may not change the status"},
		{`{"commander":"` + f.bob.ID + `"}`, "taking over without their handover or the commander group needs your confirmation in the incident's channel"},
	} {
		status, body := apiCall(t, f, asBob, http.MethodPatch, path, tc.body)
		require.Equal(t, http.StatusForbidden, status, body)
		require.Contains(t, body, tc.want, tc.body)
	}
	status, body := apiCall(t, f, asBob, http.MethodPatch, path, `{"commander":"`+commanderGroup+`"}`)
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Contains(t, body, "commander must be a Slack user id")
	got, err := f.store.GetIncident(context.Background(), f.public.ID)
	require.NoError(t, err)
	require.Equal(t, f.alice.ID, got.Commander)
	require.Equal(t, incident.P1, got.Severity)
	require.Equal(t, incident.StatusResolved, got.Status)
}

func TestListFiltersAndDrills(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.browser()
	b.signIn(f.alice)
	_, page := b.get("/incidents")
	require.NotContains(t, page, "game day", "drills are left out by default")
	_, page = b.get("/incidents?drills=include")
	require.Contains(t, page, "game day")
	_, page = b.get("/incidents?severity=P1")
	require.Contains(t, page, "checkout is down")
	require.NotContains(t, page, "payroll data exposure")
	_, page = b.get("/incidents?status=open")
	require.NotContains(t, page, "checkout is down")
	require.Contains(t, page, "payroll data exposure")
	_, page = b.get("/incidents?service=payroll")
	require.Contains(t, page, "payroll data exposure")
	require.NotContains(t, page, "checkout is down")
	_, page = b.get("/incidents?from=2026-03-29")
	require.Contains(t, page, "payroll data exposure")
	require.NotContains(t, page, "checkout is down")
	_, page = b.get("/incidents?to=2026-03-28")
	require.Contains(t, page, "checkout is down")
	require.NotContains(t, page, "payroll data exposure")
	resp, page := b.get("/incidents?severity=P9")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, page, "Unknown severity")
}

func TestIncidentPage(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.browser()
	b.signIn(f.alice)
	resp, page := b.get("/incidents/1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, want := range []string{"INC-1 checkout is down", "Alice declared INC-1", `class="key"`, "add an alert on pool saturation",
		"Bob Bystander", `class="overdue"`, "<strong>pool</strong>", "/incidents/1/postmortem.md", "/incidents/1/timeline.csv"} {
		require.Contains(t, page, want)
	}
	require.NotContains(t, page, "<script>alert(1)</script>", "raw HTML in the draft is dropped")
	resp, _ = b.get("/incidents/999")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = b.get("/incidents/abc")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, md := b.get("/incidents/1/postmortem.md")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, md, "The **pool** was exhausted.")
	resp, csv := b.get("/incidents/1/timeline.csv")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, csv, "declared,U0ALICE,true,Alice declared INC-1")
}

func TestMetricsPageAndCSV(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.browser()
	b.signIn(f.alice)
	resp, page := b.get("/reports/metrics?period=7d")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, page, `id="incident-count">2<`, "the resolved P1 and the private P2; the drill is left out")
	require.Contains(t, page, `id="mtta">5m<`)
	require.Contains(t, page, `id="mttr">1h<`)
	require.Contains(t, page, "<svg")
	require.Contains(t, page, "Incidents per week")
	_, page = b.get("/reports/metrics?period=7d&drills=include")
	require.Contains(t, page, `id="incident-count">3<`)

	resp, csv := b.get("/reports/metrics.csv?period=7d")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
	for _, row := range []string{"section,key,measure,value", "overall,all,incidents,2", "severity,P1,mttr_mean_seconds,3600",
		"severity,P1,mtta_mean_seconds,300", "compliance,status_page_10m,applicable,1", "follow_ups,overdue,count,1"} {
		require.Contains(t, csv, row)
	}
	resp, _ = b.get("/reports/metrics?period=forever")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestReportCSVNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	r := metrics.Report{ByService: []metrics.Group{{Key: "=HYPERLINK(\"x\")"}}}
	out := string(web.ReportCSV(r))
	require.Contains(t, out, `service,"'=HYPERLINK`)
	require.True(t, bytes.HasPrefix([]byte(out), []byte("section,key,measure,value\n")))
}

// TestGuestSeesOnlyTheirIncidents: a guest of the workspace signed in to
// the web view lists and opens only the incidents whose channels they are
// in, as Slack shows them only those channels.
func TestGuestSeesOnlyTheirIncidents(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	guest := f.slack.AddUser(slackfake.User{ID: "U0GUEST", Name: "gus", RealName: "Gus Guest", Email: "gus@partner.example", Guest: true})
	room := f.slack.AddChannel(slackfake.Channel{Name: "inc-partner-api", Members: []string{f.slack.BotUserID(), guest.ID}})
	theirs, err := f.store.CreateIncident(ctx, incidenttest.NewIncident(func(i *incident.Incident) {
		i.Title, i.Severity, i.Service, i.ChannelID, i.DeclaredAt = "partner API returns 502", incident.P2, "checkout", room.ID, t0.Add(-time.Hour)
	}))
	require.NoError(t, err)
	b := f.browser()
	b.signIn(guest)

	_, list := b.get("/incidents")
	require.Contains(t, list, "partner API returns 502")
	require.NotContains(t, list, "checkout is down", "a guest lists an incident whose channel they are not in")
	resp, _ := b.get("/incidents/" + itoa(theirs.Number))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, page := b.get("/incidents/" + itoa(f.public.Number))
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.NotContains(t, page, "checkout is down")

	// A member of the workspace still sees every public incident.
	bob := f.browser()
	bob.signIn(f.bob)
	_, list = bob.get("/incidents")
	require.Contains(t, list, "checkout is down")
	require.Contains(t, list, "partner API returns 502")
}

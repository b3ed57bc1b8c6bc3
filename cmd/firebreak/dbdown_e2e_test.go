package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/integrations/changehook"
	"github.com/firebreakhq/firebreak/integrations/launchdarkly"
	"github.com/firebreakhq/firebreak/integrations/unleash/unleashfake"
)

// Secrets of the inbound webhooks in the database-down tests.
const (
	downLDSecret      = "ld-webhook-secret"
	downUnleashSecret = "unleash-webhook-secret"
	downGrafanaToken  = "grafana-bearer-token"
)

// probe is one inbound request of the database-down tests: send answers
// with the status and body, slack marks Slack's 3-second rule.
type probe struct {
	family string
	name   string
	slack  bool
	send   func(ctx context.Context) (int, string, error)
}

// downWorld is a bot on PostgreSQL behind a proxy the test hangs and cuts,
// with every inbound endpoint turned on.
type downWorld struct {
	t       *testing.T
	world   *demoWorld
	b       *botInstance
	proxy   *dbProxy
	dsn     string       // straight to PostgreSQL, past the proxy
	client  *http.Client // signed in to the web view as an admin
	token   string       // an API write token
	channel slackfake.Channel
	panel   slackfake.Message
	views   map[string]slackfake.View // opened while the database answered
}

func newDownWorld(t *testing.T) *downWorld {
	t.Helper()
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := newDBProxy(t, u.Host)
	world, cleanup, err := newDemoWorld(t.TempDir(), nopWriter{})
	require.NoError(t, err)
	t.Cleanup(cleanup)
	env := reliabilityEnv(t, world, `
alerts:
  rules:
    - name: checkout-errors
      match: {alertname: HighErrorRate, service: checkout}
      service: checkout
      severity: P1
    - name: grafana-checkout
      match: {alertname: Checkout errors, team: payments}
      service: checkout
      severity: P2
`)
	addr := freeAddr(t)
	for k, v := range map[string]string{
		"CHANGES_WEBHOOK_SECRET":      changesSecret,
		"ALERTMANAGER_WEBHOOK_TOKEN":  amToken,
		"GRAFANA_WEBHOOK_TOKEN":       downGrafanaToken,
		"GITHUB_API_URL":              world.gh.URL(),
		"GITHUB_TOKEN":                world.gh.Token(),
		"GITHUB_WEBHOOK_SECRET":       demoGHSecret,
		"LAUNCHDARKLY_WEBHOOK_SECRET": downLDSecret,
		"UNLEASH_WEBHOOK_SECRET":      downUnleashSecret,
		"HTTP_ADDR":                   addr,
		"PUBLIC_URL":                  "http://" + addr,
		"SLACK_CLIENT_ID":             slackfake.DefaultClientID,
		"SLACK_CLIENT_SECRET":         slackfake.DefaultClientSecret,
		"SLACK_AUTHORIZE_URL":         world.slack.BaseURL() + "/openid/connect/authorize",
		"WEB_ADMINS":                  "U0ALICE",
	} {
		env[k] = v
	}
	b := startBot(t, botOptions{mode: "http", slack: world.slack, databaseURL: proxy.through(dsn), env: env})
	w := &downWorld{t: t, world: world, b: b, proxy: proxy, dsn: dsn}

	_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P1 --service=checkout Checkout fails")
	require.Contains(t, text, "Declaring INC-1")
	require.Eventually(t, func() bool { return warRoomDone(world.slack, "Checkout fails") }, 30*time.Second, 50*time.Millisecond)
	for _, c := range world.slack.Channels() {
		if strings.HasSuffix(c.Name, "-checkout-fails") {
			w.channel = c
		}
	}
	for _, m := range world.slack.Messages(w.channel.ID) {
		if len(buttonValues(m, "ic_claim")) > 0 {
			w.panel = m
		}
	}
	w.signIn()
	w.views = map[string]slackfake.View{}
	incID := panelIncidentID(t, w.panel)
	for action, callback := range map[string]string{"update_open": "update", "severity_open": "severity", "roles_open": "roles", "resolve": "resolve"} {
		cb := slackfake.BlockActions("U0ALICE", w.channel.ID, "", &slack.BlockAction{ActionID: action, Value: incID})
		_, err := b.driver.Interaction(context.Background(), b.base+"/slack/interactions", cb)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			for _, v := range world.slack.OpenViews() {
				if v.CallbackID == callback && v.UserID == "U0ALICE" {
					w.views[callback] = v
					return true
				}
			}
			return false
		}, 10*time.Second, 20*time.Millisecond, "the %s form opens", callback)
	}
	return w
}

// signIn goes through Sign in with Slack over plain HTTP, as a browser
// does, and makes an API token as the admin.
func (w *downWorld) signIn() {
	t := w.t
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	w.client = &http.Client{Jar: jar, Timeout: 20 * time.Second}
	resp, err := w.client.Get(w.b.base + "/auth/start?next=%2Fincidents")
	require.NoError(t, err)
	resp.Body.Close()
	consent := resp.Request.URL // the fake Slack's consent page
	require.Contains(t, consent.Path, "/openid/connect/authorize")
	form := consent.Query()
	form.Set("user_id", "U0ALICE")
	resp, err = w.client.PostForm(consent.Scheme+"://"+consent.Host+"/openid/connect/authorize", form)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Contains(t, resp.Request.URL.Path, "/incidents")

	resp, err = w.client.Get(w.b.base + "/admin/tokens")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(string(body))
	require.NotNil(t, csrf, string(body))
	resp, err = w.client.PostForm(w.b.base+"/admin/tokens", url.Values{"name": {"probe"}, "scope": {"write"}, "csrf_token": {csrf[1]}})
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	w.token = regexp.MustCompile(`fbk_[A-Za-z0-9_\-]+`).FindString(string(body))
	require.NotEmpty(t, w.token, string(body))
}

// do sends req and returns the status and the body.
func do(client *http.Client, req *http.Request) (int, string, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

// noRedirect is a client that shows redirects rather than following them.
func noRedirect(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// probes lists one request of every inbound kind. n makes the ids of
// this round's deliveries its own, so a round after the database is back
// redelivers exactly those of an earlier round with the same n.
func (w *downWorld) probes(n int) []probe {
	b, d := w.b, w.b.driver
	ch := w.channel.ID
	incID := panelIncidentID(w.t, w.panel)
	command := func(text string) func(ctx context.Context) (int, string, error) {
		return func(ctx context.Context) (int, string, error) {
			r, err := d.SlashCommand(ctx, b.base+"/slack/commands", slack.SlashCommand{Command: "/incident", Text: text, UserID: "U0ALICE", ChannelID: ch})
			if err != nil {
				return 0, "", err
			}
			return r.StatusCode, string(r.Body), nil
		}
	}
	click := func(actionID, value string) func(ctx context.Context) (int, string, error) {
		return func(ctx context.Context) (int, string, error) {
			cb := slackfake.BlockActions("U0ALICE", ch, "", &slack.BlockAction{ActionID: actionID, Value: value})
			r, err := d.Interaction(ctx, b.base+"/slack/interactions", cb)
			if err != nil {
				return 0, "", err
			}
			return r.StatusCode, string(r.Body), nil
		}
	}
	event := func(typ string, inner map[string]any) func(ctx context.Context) (int, string, error) {
		inner["type"] = typ
		return func(ctx context.Context) (int, string, error) {
			r, err := d.Event(ctx, b.base+"/slack/events", inner, fmt.Sprintf("Ev%s%d", strings.ToUpper(strings.ReplaceAll(typ, "_", "")), n))
			if err != nil {
				return 0, "", err
			}
			return r.StatusCode, string(r.Body), nil
		}
	}
	post := func(path string, body []byte, header map[string]string) func(ctx context.Context) (int, string, error) {
		return func(ctx context.Context) (int, string, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+path, bytes.NewReader(body))
			if err != nil {
				return 0, "", err
			}
			req.Header.Set("Content-Type", "application/json")
			for k, v := range header {
				req.Header.Set(k, v)
			}
			return do(http.DefaultClient, req)
		}
	}
	get := func(client *http.Client, path, token string) func(ctx context.Context) (int, string, error) {
		return func(ctx context.Context) (int, string, error) {
			base := b.base
			if path == "/readyz" {
				base = b.admin
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
			if err != nil {
				return 0, "", err
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			return do(client, req)
		}
	}
	ts := time.Now()
	msgTS := fmt.Sprintf("%d.%06d", ts.Unix(), n)
	firing, err := os.ReadFile("../../integrations/alerting/testdata/alertmanager_v4.json")
	require.NoError(w.t, err)
	grafana, err := os.ReadFile("../../integrations/alerting/testdata/grafana.json")
	require.NoError(w.t, err)
	ld, err := os.ReadFile("../../integrations/launchdarkly/testdata/flag_turned_on_in_test.json")
	require.NoError(w.t, err)
	ld = bytes.Replace(ld, []byte(`"_id": "65f1c2d9a7b3e80b2c4d1e77"`), fmt.Appendf(nil, `"_id": "65f1c2d9a7b3e80b2c4d%04d"`, n), 1)
	ghDeploy, err := os.ReadFile("../../integrations/github/testdata/deployment_status_failure.json")
	require.NoError(w.t, err)
	change, err := json.Marshal(map[string]any{"id": fmt.Sprintf("deploy-%d", n), "kind": "deploy", "service": "checkout",
		"summary": fmt.Sprintf("Deploy checkout %d", n), "actor": "ci", "environment": "production"})
	require.NoError(w.t, err)
	changeTS := strconv.FormatInt(ts.Unix(), 10)
	callbackJar, _ := cookiejar.New(nil)

	return []probe{
		{"slash", "declare", true, command(fmt.Sprintf("declare P3 --service=checkout Probe %d", n))},
		{"slash", "list", true, command("list")},
		{"slash", "status", true, command("status investigating")},
		{"slash", "update", true, command(fmt.Sprintf("update probe update %d", n))},
		{"slash", "note", true, command(fmt.Sprintf("note probe note %d", n))},
		{"slash", "followup", true, command("followup add probe follow-up")},
		{"slash", "postmortem", true, command("postmortem")},
		{"slash", "metrics", true, command("metrics")},
		{"slash", "help", true, command("help")},
		{"block_actions", "ic_claim", true, click("ic_claim", incID)},
		{"block_actions", "update_open", true, click("update_open", incID)},
		{"block_actions", "severity_open", true, click("severity_open", incID)},
		{"block_actions", "roles_open", true, click("roles_open", incID)},
		{"block_actions", "resolve", true, click("resolve", incID)},
		{"block_actions", "page_oncall", true, click("page_oncall", incID)},
		{"block_actions", "what_changed", true, click("what_changed", incID)},
		{"block_actions", "nag_snooze", true, click("nag_snooze", incID)},
		{"view_submission", "update", true, w.submit("update", map[string]map[string]slack.BlockAction{"update_known": {"update_known": {Value: fmt.Sprintf("probe form update %d", n)}}})},
		{"view_submission", "severity", true, w.submit("severity", map[string]map[string]slack.BlockAction{"severity": {"severity": {SelectedOption: slack.OptionBlockObject{Value: "P2"}}}})},
		{"view_submission", "roles", true, w.submit("roles", nil)},
		{"view_submission", "resolve", true, w.submit("resolve", nil)},
		{"events", "message", true, event("message", map[string]any{"channel": ch, "user": "U0ALICE", "text": fmt.Sprintf("probe message %d", n), "ts": msgTS})},
		{"events", "reaction_added", true, event("reaction_added", map[string]any{"user": "U0ALICE", "reaction": "pushpin", "item": map[string]any{"type": "message", "channel": ch, "ts": msgTS}, "event_ts": msgTS})},
		{"events", "reaction_removed", true, event("reaction_removed", map[string]any{"user": "U0ALICE", "reaction": "pushpin", "item": map[string]any{"type": "message", "channel": ch, "ts": msgTS}, "event_ts": msgTS})},
		{"events", "pin_added", true, event("pin_added", map[string]any{"user": "U0ALICE", "channel_id": ch, "item": map[string]any{"type": "message", "channel": ch, "message": map[string]any{"ts": msgTS, "text": "pinned"}}, "event_ts": msgTS})},
		{"events", "pin_removed", true, event("pin_removed", map[string]any{"user": "U0ALICE", "channel_id": ch, "item": map[string]any{"type": "message", "channel": ch, "message": map[string]any{"ts": msgTS, "text": "pinned"}}, "event_ts": msgTS})},
		{"events", "member_joined_channel", true, event("member_joined_channel", map[string]any{"user": "U0BOB", "channel": ch, "channel_type": "C", "event_ts": msgTS})},
		{"events", "app_home_opened", true, event("app_home_opened", map[string]any{"user": "U0ALICE", "channel": "D0ALICE", "tab": "home", "event_ts": msgTS})},
		{"events", "url_verification", true, func(ctx context.Context) (int, string, error) {
			r, err := d.URLVerification(ctx, b.base+"/slack/events", "challenge-"+strconv.Itoa(n))
			if err != nil {
				return 0, "", err
			}
			return r.StatusCode, string(r.Body), nil
		}},
		{"webhooks", "pagerduty", false, func(ctx context.Context) (int, string, error) {
			resp, err := w.world.pd.SendWebhook(ctx, b.base+"/webhooks/pagerduty", demoPDSecret, "incident.acknowledged", w.world.pd.Incidents()[0].ID, "Bob Roe")
			if err != nil {
				return 0, "", err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body), nil
		}},
		{"webhooks", "github", false, func(ctx context.Context) (int, string, error) {
			var payload map[string]any
			if err := json.Unmarshal(ghDeploy, &payload); err != nil {
				return 0, "", err
			}
			payload["deployment_status"].(map[string]any)["id"] = 9000 + n
			code, err := w.world.gh.SendWebhook(ctx, b.base+"/webhooks/github", demoGHSecret, "deployment_status", payload)
			return code, "", err
		}},
		{"webhooks", "launchdarkly", false, post("/webhooks/launchdarkly", ld, map[string]string{launchdarkly.SignatureHeader: launchdarkly.Sign(ld, downLDSecret)})},
		{"webhooks", "unleash", false, func(ctx context.Context) (int, string, error) {
			code, err := unleashfake.SendWebhook(ctx, http.DefaultClient, b.base+"/webhooks/unleash", downUnleashSecret, unleashfake.Event{
				ID: int64(500 + n), Type: "feature-environment-disabled", CreatedBy: "bob@example.com", CreatedAt: ts,
				Project: "default", Environment: "production", FeatureName: "fast_refunds", Data: map[string]any{"name": "fast_refunds"}})
			return code, "", err
		}},
		{"webhooks", "alertmanager", false, post("/webhooks/alertmanager", firing, map[string]string{"Authorization": "Bearer " + amToken})},
		{"webhooks", "grafana", false, post("/webhooks/grafana", grafana, map[string]string{"Authorization": "Bearer " + downGrafanaToken})},
		{"webhooks", "changehook", false, post("/webhooks/changes", change, map[string]string{
			changehook.TimestampHeader: changeTS, changehook.SignatureHeader: changehook.Sign(changesSecret, ts.Unix(), change)})},
		{"api", "GET /api/v1/incidents", false, get(http.DefaultClient, "/api/v1/incidents", w.token)},
		{"api", "GET /api/v1/incidents/1", false, get(http.DefaultClient, "/api/v1/incidents/1", w.token)},
		{"api", "POST /api/v1/incidents", false, func(ctx context.Context) (int, string, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+"/api/v1/incidents",
				strings.NewReader(fmt.Sprintf(`{"title":"API probe %d","severity":"P4","service":"checkout"}`, n)))
			if err != nil {
				return 0, "", err
			}
			req.Header.Set("Authorization", "Bearer "+w.token)
			req.Header.Set("Content-Type", "application/json")
			return do(http.DefaultClient, req)
		}},
		{"web", "/", false, get(noRedirect(w.client.Jar), "/", "")},
		{"web", "/incidents", false, get(w.client, "/incidents", "")},
		{"web", "/incidents/1", false, get(w.client, "/incidents/1", "")},
		{"web", "/auth/callback", false, func(ctx context.Context) (int, string, error) {
			// The sign-in starts before the database goes (its state is a
			// cookie) is not what this measures: the callback is.
			c := noRedirect(callbackJar)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/auth/start", nil)
			resp, err := c.Do(req)
			if err != nil {
				return 0, "", err
			}
			resp.Body.Close()
			consent, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				return 0, "", err
			}
			form := consent.Query()
			form.Set("user_id", "U0ALICE")
			req, _ = http.NewRequestWithContext(ctx, http.MethodPost, consent.Scheme+"://"+consent.Host+"/openid/connect/authorize", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err = c.Do(req)
			if err != nil {
				return 0, "", err
			}
			resp.Body.Close()
			req, _ = http.NewRequestWithContext(ctx, http.MethodGet, resp.Header.Get("Location"), nil)
			return do(c, req)
		}},
		{"health", "/healthz", false, get(http.DefaultClient, "/healthz", "")},
		{"health", "/readyz", false, get(http.DefaultClient, "/readyz", "")},
	}
}

// submit sends one of the forms opened while the database answered.
func (w *downWorld) submit(callback string, values map[string]map[string]slack.BlockAction) func(ctx context.Context) (int, string, error) {
	return func(ctx context.Context) (int, string, error) {
		cb, err := slackfake.ViewSubmission("U0ALICE", w.views[callback], values)
		if err != nil {
			return 0, "", err
		}
		r, err := w.b.driver.Interaction(ctx, w.b.base+"/slack/interactions", cb)
		if err != nil {
			return 0, "", err
		}
		return r.StatusCode, string(r.Body), nil
	}
}

// told counts the private answers to U0ALICE that say the database is
// not answering.
func (w *downWorld) told() int {
	n := 0
	for _, p := range w.world.slack.AllResponsePosts() {
		if strings.Contains(p.Text, "database is not answering") && p.ResponseType == "ephemeral" {
			n++
		}
	}
	for _, c := range w.world.slack.Channels() {
		for _, e := range w.world.slack.Ephemerals(c.ID) {
			if e.User == "U0ALICE" && strings.Contains(e.Text, "database is not answering") {
				n++
			}
		}
	}
	return n
}

// answer is what one probe got, and how long it took.
type answer struct {
	status int
	body   string
	err    error
	took   time.Duration
	// toldIn is how long after the request the person was told the
	// database is not answering; 0 when they were not within 3 seconds.
	toldIn time.Duration
}

// run sends every probe and returns what each got: those whose answer is
// all there is to see at once, as senders send them, then the buttons and
// forms in turn, each watched for the person being told.
func (w *downWorld) run(probes []probe) map[string]answer {
	out := map[string]answer{}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, p := range probes {
		if p.family == "block_actions" || p.family == "view_submission" {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			status, body, err := p.send(ctx)
			a := answer{status: status, body: body, err: err, took: time.Since(start)}
			mu.Lock()
			out[p.family+" "+p.name] = a
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, p := range probes {
		if p.family != "block_actions" && p.family != "view_submission" {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		before := w.told()
		start := time.Now()
		status, body, err := p.send(ctx)
		cancel()
		a := answer{status: status, body: body, err: err, took: time.Since(start)}
		for time.Since(start) < 3*time.Second && a.toldIn == 0 {
			if w.told() > before {
				a.toldIn = time.Since(start)
			}
			time.Sleep(5 * time.Millisecond)
		}
		out[p.family+" "+p.name] = a
	}
	return out
}

// TestEveryEndpointWithTheDatabaseDown: with PostgreSQL hung, then
// refusing connections, every inbound endpoint answers in bounded time:
// Slack's within its 3 seconds (a slash command with the bot's own
// sentence), webhooks and the API with a 5xx, never a 200 for what was
// not stored; /healthz answers and /readyz says not ready.
func TestEveryEndpointWithTheDatabaseDown(t *testing.T) {
	t.Parallel()
	w := newDownWorld(t)
	probes := w.probes(1)
	for _, mode := range []struct {
		name string
		mode int32
	}{{"hung", proxyHang}, {"refusing", proxyCut}} {
		w.proxy.set(mode.mode)
		got := w.run(probes)
		worst := map[string]time.Duration{}
		for _, p := range probes {
			a := got[p.family+" "+p.name]
			worst[p.family] = max(worst[p.family], a.took)
			t.Logf("database %s: %-14s %-24s %3d in %5s %.120q told in %s %v", mode.name, p.family, p.name, a.status, a.took.Round(time.Millisecond), a.body, a.toldIn.Round(time.Millisecond), a.err)
			if a.err != nil {
				t.Errorf("database %s: %s: %v", mode.name, p.name, a.err)
				continue
			}
			switch {
			case p.name == "/healthz":
				require.Equal(t, http.StatusOK, a.status)
			case p.name == "url_verification", p.name == "help":
				require.Equal(t, http.StatusOK, a.status, p.name)
			case p.family == "slash":
				// A declare refused by the database says its own
				// sentence: nothing was saved, try again.
				if !strings.Contains(a.body, "database is not answering") && !strings.Contains(a.body, "could not be saved; try again") {
					t.Errorf("database %s: /incident %s answered %q, not the bot's own sentence", mode.name, p.name, a.body)
				}
			case p.family == "view_submission" && strings.Contains(a.body, `"response_action":"errors"`) && strings.Contains(a.body, "database is not answering"):
				// The form stays open, with what was written, and says so.
			case p.family == "block_actions", p.family == "view_submission":
				if a.status != http.StatusOK || a.toldIn == 0 {
					t.Errorf("database %s: %s answered %d and the person was not told within 3 s that the database is not answering", mode.name, p.name, a.status)
				}
			case p.name == "/":
				// A redirect to the list, which needs no database.
			default:
				if a.status < 500 {
					t.Errorf("database %s: %s answered %d %q: something not stored is not answered below 5xx", mode.name, p.name, a.status, a.body)
				}
			}
			limit := 12 * time.Second
			if p.slack {
				limit = 3 * time.Second
			}
			if a.took >= limit {
				t.Errorf("database %s: %s answered in %s, over %s", mode.name, p.name, a.took.Round(time.Millisecond), limit)
			}
		}
		fams := make([]string, 0, len(worst))
		for f := range worst {
			fams = append(fams, f)
		}
		sort.Strings(fams)
		for _, f := range fams {
			t.Logf("database %s: worst answer of %s: %s", mode.name, f, worst[f].Round(time.Millisecond))
		}
	}

	// Back: the senders deliver again what was refused, and each is
	// taken once; what was answered "nothing was changed" was not.
	w.proxy.set(proxyPass)
	for _, p := range probes {
		if p.family != "webhooks" && p.family != "events" {
			continue
		}
		for range 2 { // a redelivery, then the sender's own duplicate
			require.Eventually(t, func() bool {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				status, _, err := p.send(ctx)
				return err == nil && status == http.StatusOK
			}, 20*time.Second, 200*time.Millisecond, "%s is taken once the database is back", p.name)
		}
	}
	db, err := pgx.Connect(context.Background(), w.dsn)
	require.NoError(t, err)
	defer db.Close(context.Background())
	count := func(query string, args ...any) int {
		var n int
		require.NoError(t, db.QueryRow(context.Background(), query, args...).Scan(&n))
		return n
	}
	t.Logf("changes recorded once back: %d", count(`SELECT count(*) FROM change_events`))
	require.Zero(t, count(`SELECT count(*) FROM (SELECT source, external_id FROM change_events GROUP BY 1, 2 HAVING count(*) > 1) d`), "no change twice")
	require.Equal(t, 1, count(`SELECT count(*) FROM change_events WHERE external_id = 'deploy-1'`), "the redelivered change is recorded once")
	require.Zero(t, count(`SELECT count(*) FROM incidents WHERE title IN ('Probe 1', 'API probe 1')`), "what was answered 'nothing was changed' was not declared")
	require.Eventually(t, func() bool {
		return strings.Contains(messagesText(w.world.slack, w.channel.ID), "Acknowledged by Bob Roe")
	}, 20*time.Second, 50*time.Millisecond, "the redelivered acknowledgement is shown")
	time.Sleep(time.Second)
	require.Equal(t, 1, strings.Count(messagesText(w.world.slack, w.channel.ID), "Acknowledged by Bob Roe"), "and shown once")
	require.LessOrEqual(t, count(`SELECT count(*) FROM timeline_events WHERE text LIKE '%probe message 1%'`), 1, "the redelivered message is on the timeline once at most")
}

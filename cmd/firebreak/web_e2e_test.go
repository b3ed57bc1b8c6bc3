package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// chromiumPath finds the browser for the web tests: CHROME_PATH, or
// Debian's chromium. Under CI a missing browser fails the test (.ci/run
// installs it); elsewhere the test is skipped.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found: install Debian's chromium package (.ci/run does) or set CHROME_PATH")
	}
	t.Skip("no Chromium found; install Debian's chromium package or set CHROME_PATH")
	return ""
}

// artifactsDir is where the screenshots go: $ARTIFACTS_DIR, or a new
// temporary directory that is kept for a look afterwards.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		var err error
		dir, err = os.MkdirTemp("", "firebreak-screenshots-")
		require.NoError(t, err)
	}
	dir = filepath.Join(dir, "web")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	t.Logf("screenshots in %s", dir)
	return dir
}

// page is one headless Chromium tab.
type page struct {
	t   *testing.T
	ctx context.Context
	dir string
}

func newBrowser(t *testing.T, dir string) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first run starts the browser, with no deadline: a deadline on it
	// would end the whole browser.
	require.NoError(t, chromedp.Do(ctx), "start Chromium")
	return &page{t: t, ctx: ctx, dir: dir}
}

// run runs browser steps with a deadline, so a missing element fails the
// test instead of hanging it.
func (p *page) run(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	require.NoError(p.t, chromedp.Do(ctx, steps...))
}

// value runs one action that returns a value, with a deadline.
func value[T any](p *page, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	require.NoError(p.t, err)
	return v
}

func (p *page) text(sel string) string {
	p.t.Helper()
	p.run(chromedp.WaitVisible(chromedp.CSS(sel)))
	return value(p, chromedp.Text(chromedp.CSS(sel)))
}

func (p *page) location() string {
	p.t.Helper()
	return value(p, chromedp.Location())
}

func (p *page) screenshot(name string) {
	p.t.Helper()
	buf := value(p, chromedp.FullScreenshot(100)) // 100 makes a PNG
	require.NoError(p.t, os.WriteFile(filepath.Join(p.dir, name+".png"), buf, 0o644))
}

// signIn goes through Sign in with Slack in the browser: the sign-in
// page, the fake Slack's consent page, and back.
func (p *page) signIn(base, userID string) {
	p.t.Helper()
	p.run(chromedp.Navigate(base+"/incidents"), chromedp.WaitVisible(chromedp.CSS("#sign-in-with-slack")))
	require.Contains(p.t, p.location(), "/login?next=")
	p.run(chromedp.Click(chromedp.CSS("#sign-in-with-slack")), chromedp.WaitVisible(chromedp.CSS("#signin-"+userID)))
	require.Contains(p.t, p.text("h1"), "Sign in to")
	p.screenshot("consent-" + userID)
	p.run(chromedp.Click(chromedp.CSS("#signin-"+userID)), chromedp.WaitVisible(chromedp.CSS("#incidents")))
	require.Equal(p.t, base+"/incidents", p.location())
}

func (p *page) signOut() {
	p.t.Helper()
	p.run(chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS("#sign-in-with-slack")))
}

// TestWebInBrowser runs the real program and drives its web view in
// headless Chromium: Sign in with Slack through the fake's OpenID Connect
// endpoints, the incident list, an incident page, the metrics page, a
// private incident hidden from a non-member, an API token made on the
// admin page and used; screenshots of each page are kept as artifacts.
func TestWebInBrowser(t *testing.T) {
	t.Parallel()
	dir := artifactsDir(t)
	browser := newBrowser(t, dir)

	fake := seededSlack(t)
	for _, id := range []string{"U0ALICE", "U0BOB", "U0CAROL"} {
		u, _ := fake.User(id)
		u.RealName = strings.ToUpper(u.Name[:1]) + u.Name[1:] + " Example"
		fake.AddUser(u)
	}
	// Bob is in the commander group, so he may take the IC role himself;
	// claiming it is the incident's acknowledgement.
	fake.AddUserGroup(slackfake.UserGroup{ID: "S0ICS", Handle: "incident-commanders", Users: []string{"U0BOB"}})
	policyPath := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(policyPath, []byte(strings.Replace(e2ePolicy, "commander_group: S0LEADS", "commander_group: S0ICS", 1)), 0o600))
	addr := freeAddr(t)
	base := "http://" + addr
	b := startBot(t, botOptions{mode: "http", slack: fake, env: map[string]string{
		"POLICY_FILE":         policyPath,
		"HTTP_ADDR":           addr,
		"PUBLIC_URL":          base,
		"SLACK_CLIENT_ID":     slackfake.DefaultClientID,
		"SLACK_CLIENT_SECRET": slackfake.DefaultClientSecret,
		"SLACK_AUTHORIZE_URL": fake.BaseURL() + "/openid/connect/authorize",
		"WEB_ADMINS":          "U0ALICE",
	}})

	// Two incidents run from Slack: a public P1, acknowledged, mitigated
	// and resolved; and a private P2 that Alice is not part of.
	_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P1 --service=checkout Checkout is down!")
	require.Contains(t, text, "Declaring INC-1")
	day := time.Now().UTC().Format("2006-01-02")
	ch := waitChannel(t, fake, "inc-"+day+"-checkout-is-down")
	_, text = b.command("http", "U0BOB", ch.ID, "ic")
	require.Contains(t, text, "Incident Commander")
	_, text = b.command("http", "U0BOB", ch.ID, "update Payments fail at the last step; rolling back the 14:02 deploy.")
	require.NotContains(t, text, "not allowed")
	_, text = b.command("http", "U0BOB", ch.ID, "followup add an alert on connection pool saturation <@U0BOB> "+time.Now().AddDate(0, 0, 7).Format("2006-01-02"))
	_ = text
	_, text = b.command("http", "U0BOB", ch.ID, "status mitigated")
	require.Contains(t, text, "Mitigated")
	_, text = b.command("http", "U0BOB", ch.ID, "resolve rolled back the deploy")
	require.Contains(t, text, "is now resolved")

	_, text = b.command("http", "U0CAROL", "C0GENERAL", "declare P2 --private Payroll export leaked")
	require.Contains(t, text, "INC-2")
	private := waitChannel(t, fake, "inc-"+day+"-payroll-export-leaked")
	require.True(t, private.Private)
	require.NotContains(t, private.Members, "U0ALICE")

	// Signed out: the pages send the browser to sign in.
	browser.run(chromedp.Navigate(base+"/reports/metrics"), chromedp.WaitVisible(chromedp.CSS("#sign-in-with-slack")))
	require.Contains(t, browser.location(), "/login?next=%2Freports%2Fmetrics")
	browser.screenshot("login")

	// Alice signs in and sees the list.
	browser.signIn(base, "U0ALICE")
	require.Equal(t, "Alice Example", browser.text("#signed-in-as"))
	list := browser.text("#incidents")
	require.Contains(t, list, "INC-1")
	require.Contains(t, list, "Checkout is down!")
	require.Contains(t, list, "resolved")
	require.NotContains(t, list, "Payroll", "the private incident is hidden from a non-member")
	browser.screenshot("list")

	// The incident page.
	browser.run(chromedp.Click(chromedp.CSS(`a[href="/incidents/1"]`)), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	require.Contains(t, browser.text("#incident-title"), "INC-1 Checkout is down!")
	require.Equal(t, "resolved", browser.text("#status"))
	timeline := browser.text("#timeline")
	require.Contains(t, timeline, "declared INC-1")
	require.Contains(t, timeline, "resolved the incident")
	keyEvents := value(browser, chromedp.Evaluate[int](`document.querySelectorAll("#timeline li.key").length`))
	require.Positive(t, keyEvents, "key events are highlighted")
	require.Contains(t, browser.text("#facts"), "Bob Example", "the Incident Commander, by name")
	require.Contains(t, browser.text("#updates"), "rolling back the 14:02 deploy")
	browser.screenshot("incident")

	// The private incident's page is not found for Alice.
	browser.run(chromedp.Navigate(base+"/incidents/2"), chromedp.WaitVisible(chromedp.CSS("#error-message")))
	require.NotContains(t, browser.text("main"), "Payroll")
	browser.screenshot("private-hidden")

	// The metrics page, with its charts and the CSV link.
	browser.run(chromedp.Navigate(base+"/reports/metrics?period=30d"), chromedp.WaitVisible(chromedp.CSS("#weekly-chart svg")))
	require.Equal(t, "1", browser.text("#incident-count"))
	require.NotEqual(t, "—", browser.text("#mttr"))
	require.NotEqual(t, "—", browser.text("#mtta"))
	bars := value(browser, chromedp.Evaluate[int](`document.querySelectorAll("#weekly-chart svg rect[fill]").length`))
	require.Positive(t, bars)
	csvHref := value(browser, chromedp.AttributeValue(chromedp.CSS("#csv"), "href")).Value
	require.Contains(t, csvHref, "/reports/metrics.csv?period=30d")
	browser.screenshot("metrics")

	// An admin makes a write token; it is shown once.
	browser.run(chromedp.Navigate(base+"/admin/tokens"), chromedp.WaitVisible(chromedp.CSS(`input[name="name"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "alertmanager"),
		chromedp.SetValue(chromedp.CSS(`select[name="scope"]`), "write"),
		chromedp.Click(chromedp.CSS("#create-token")), chromedp.WaitVisible(chromedp.CSS("#token-secret")))
	secret := strings.TrimSpace(browser.text("#token-secret"))
	require.True(t, strings.HasPrefix(secret, "fbk_"), secret)
	require.Contains(t, browser.text("#tokens"), "alertmanager")
	browser.screenshot("tokens")

	api := func(method, path, body string) (int, string) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+secret)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(out)
	}
	status, _ := api(http.MethodGet, "/api/v1/incidents/2", "")
	require.Equal(t, http.StatusNotFound, status, "the token acts as Alice, who is not in the private channel")
	status, body := api(http.MethodPost, "/api/v1/incidents", `{"title":"Search latency climbing","severity":"P3","service":"checkout"}`)
	require.Equal(t, http.StatusCreated, status, body)
	var declared struct {
		Key string `json:"key"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &declared))
	require.Equal(t, "INC-3", declared.Key)
	waitChannel(t, fake, "inc-"+day+"-search-latency-climbing")
	status, body = api(http.MethodGet, "/api/v1/metrics?period=30d", "")
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `"incidents":2`)

	// Slack answers /incident metrics with the same numbers.
	_, text = b.command("http", "U0ALICE", "C0GENERAL", "metrics 30d")
	require.Contains(t, text, "Incident metrics, last 30d")
	require.Contains(t, text, "2 incidents")
	require.Contains(t, text, base+"/reports/metrics?period=30d")
	_, text = b.command("http", "U0CAROL", "C0GENERAL", "metrics 30d")
	require.Contains(t, text, "3 incidents", "Carol is in the private incident's channel, so it counts for her")
	_, text = b.command("http", "U0ALICE", "C0GENERAL", "metrics 30d checkout")
	require.Contains(t, text, "service checkout")
	_, text = b.command("http", "U0ALICE", "C0GENERAL", "metrics 30d nosuch")
	require.Contains(t, text, "Unknown service")

	// Prometheus: time to acknowledge and to resolve, by severity.
	require.Equal(t, 1.0, b.metric("firebreak_incident_time_to_resolve_seconds_count", `severity="P1"`))
	require.Equal(t, 1.0, b.metric("firebreak_incident_time_to_acknowledge_seconds_count", `severity="P1"`))

	// Alice signs out; Carol, in the private channel, sees INC-2.
	browser.run(chromedp.Navigate(base+"/incidents"), chromedp.WaitVisible(chromedp.CSS("#incidents")))
	browser.signOut()
	browser.signIn(base, "U0CAROL")
	require.Contains(t, browser.text("#incidents"), "Payroll export leaked")
	browser.run(chromedp.Navigate(base+"/incidents/2"), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	require.Contains(t, browser.text("#incident-title"), "Payroll export leaked")
	browser.screenshot("private-member")

	for _, name := range []string{"login", "list", "incident", "metrics", "private-hidden", "tokens", "private-member"} {
		info, err := os.Stat(filepath.Join(dir, name+".png"))
		require.NoError(t, err)
		require.Greater(t, info.Size(), int64(1000), fmt.Sprintf("%s screenshot", name))
	}
}

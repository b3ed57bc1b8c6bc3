package main

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// BenchmarkSlashCommandAck measures how long the bot takes to acknowledge a
// signed slash command over HTTP on loopback, with 200 requests in flight,
// on the embedded SQLite database and on PostgreSQL. Each request is
// verified, recorded against replay, parsed and answered, as in production.
// It reports p50 and p99 in milliseconds.
//
//	go test ./cmd/firebreak -run '^$' -bench SlashCommandAck -benchtime 4000x
func BenchmarkSlashCommandAck(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		for _, text := range []string{"help", "list"} {
			for _, concurrency := range []int{50, 200, 1000} {
				b.Run(fmt.Sprintf("%s/%s/c%d", db, text, concurrency), func(b *testing.B) {
					o := botOptions{mode: "http", env: map[string]string{"LOG_LEVEL": "error"}}
					if db == "postgres" {
						o.databaseURL = pgtest.MigratedDSN(b)
					}
					benchAck(b, startBot(b, o), text, concurrency)
				})
			}
		}
	}
}

// BenchmarkIncidentsPerMinute declares incidents against the fake Slack,
// counts the Web API calls each war room costs per method, and reports how
// many incidents per minute fit in Slack's tier limits as the fake enforces
// them (slackfake.MethodTiers), and which method binds first.
//
//	go test ./cmd/firebreak -run '^$' -bench IncidentsPerMinute -benchtime 5x
func BenchmarkIncidentsPerMinute(b *testing.B) {
	fake := slackfake.New(slackfake.WithChatWritePublic())
	b.Cleanup(fake.Close)
	for _, u := range []string{"U0ALICE", "U0BOB", "U0CAROL"} {
		fake.AddUser(slackfake.User{ID: u, Name: strings.ToLower(u[2:]), Email: strings.ToLower(u[2:]) + "@example.com"})
	}
	fake.AddChannel(slackfake.Channel{ID: "C0GENERAL", Name: "general", Members: []string{fake.BotUserID()}})
	fake.AddChannel(slackfake.Channel{ID: "C0INCIDENTS", Name: "incidents", Members: []string{fake.BotUserID()}})
	bot := startBot(b, botOptions{mode: "http", slack: fake, env: map[string]string{"LOG_LEVEL": "error", "POLICY_FILE": writePolicyFile(b, `
channels: {broadcast: "#incidents", dashboard: "https://grafana.example.com"}
services:
  checkout: {name: Checkout, responders: [U0BOB, carol@example.com], runbook: "https://runbooks.example.com/checkout"}
`)}})
	require := func(ok bool, format string, args ...any) {
		if !ok {
			b.Fatalf(format, args...)
		}
	}
	// Warm the caches (auth.test, the broadcast channel's id) first.
	_, text := bot.command("http", "U0ALICE", "C0GENERAL", "declare P2 --service=checkout warm up")
	require(strings.Contains(text, "Declaring"), "declare: %s", text)
	waitReadyRoom(b, fake, "warm up")
	fake.Reset()

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		title := fmt.Sprintf("load %d", i)
		_, text := bot.command("http", "U0ALICE", "C0GENERAL", "declare P2 --service=checkout "+title)
		require(strings.Contains(text, "Declaring"), "declare: %s", text)
		waitReadyRoom(b, fake, title)
	}
	b.StopTimer()
	perMethod := map[string]float64{}
	for _, c := range fake.Calls() {
		perMethod[c.Method] += 1 / float64(b.N)
	}
	best, binding := 1e9, ""
	for method, calls := range perMethod {
		limit, ok := slackfake.MethodTiers[method]
		if !ok || calls == 0 {
			continue
		}
		if n := float64(limit) / calls; n < best {
			best, binding = n, method
		}
	}
	b.ReportMetric(best, "incidents/min")
	b.Logf("Slack calls per incident: %v; the first limit reached is %s (%d/min)", perMethod, binding, slackfake.MethodTiers[binding])
}

func waitReadyRoom(b *testing.B, fake *slackfake.Server, title string) {
	name := fmt.Sprintf("inc-%s-%s", time.Now().UTC().Format("2006-01-02"), strings.ReplaceAll(title, " ", "-"))
	require.Eventually(b, func() bool {
		ch, ok := fake.Channel(name)
		return ok && len(ch.Pins) == 1 && ch.Topic != "" && len(ch.Bookmarks) == 2 && announced(fake, title)
	}, 30*time.Second, 5*time.Millisecond, "war room %s not ready after 30s", name)
}

func benchAck(b *testing.B, bot *botInstance, text string, concurrency int) {
	transport := &http.Transport{MaxIdleConns: concurrency, MaxIdleConnsPerHost: concurrency}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		next      atomic.Int64
		failures  atomic.Int64
		wg        sync.WaitGroup
	)
	b.ResetTimer()
	for w := 0; w < concurrency; w++ {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				body := url.Values{"command": {"/incident"}, "text": {text}, "user_id": {fmt.Sprintf("U%06d", i)},
					"channel_id": {"C0GENERAL"}, "team_id": {"T0"}, "trigger_id": {fmt.Sprintf("trig.%d", i)}}.Encode()
				req, _ := http.NewRequest(http.MethodPost, bot.base+"/slack/commands", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				bot.driver.Sign(req.Header, []byte(body))
				start := time.Now()
				resp, err := client.Do(req)
				d := time.Since(start)
				if err != nil || resp.StatusCode != http.StatusOK {
					failures.Add(1)
				}
				if resp != nil {
					resp.Body.Close()
				}
				mu.Lock()
				latencies = append(latencies, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if f := failures.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, b.N)
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[int(float64(len(latencies)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkDeclareToReady declares incidents against a fake Slack that adds
// 100 ms to every Web API call, and measures the time from the slash
// command to a ready war room: channel created, topic set, responders
// invited, bookmarks added, control panel posted and pinned, and the
// incident announced. It reports the time and its ratio to the injected
// latency: the number of Slack round trips on the critical path.
//
//	go test ./cmd/firebreak -run '^$' -bench DeclareToReady -benchtime 10x
func BenchmarkDeclareToReady(b *testing.B) {
	const latency = 100 * time.Millisecond
	fake := slackfake.New(slackfake.WithChatWritePublic())
	b.Cleanup(fake.Close)
	for _, u := range []string{"U0ALICE", "U0BOB", "U0CAROL"} {
		fake.AddUser(slackfake.User{ID: u, Name: strings.ToLower(u[2:]), Email: strings.ToLower(u[2:]) + "@example.com"})
	}
	fake.AddChannel(slackfake.Channel{ID: "C0GENERAL", Name: "general", Members: []string{fake.BotUserID()}})
	fake.AddChannel(slackfake.Channel{ID: "C0INCIDENTS", Name: "incidents", Members: []string{fake.BotUserID()}})
	bot := startBot(b, botOptions{mode: "http", slack: fake, env: map[string]string{
		"POLICY_FILE": writePolicyFile(b, `
channels: {broadcast: "#incidents", dashboard: "https://grafana.example.com"}
services:
  checkout: {name: Checkout, responders: [U0BOB, carol@example.com], runbook: "https://runbooks.example.com/checkout"}
`), "LOG_LEVEL": "error"}})
	// Let the startup auth.test and the auth.test of the chat adapter
	// happen before latency is injected.
	fake.SetLatency("", latency)

	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		title := fmt.Sprintf("checkout outage %d", i)
		start := time.Now()
		_, text := bot.command("http", "U0ALICE", "C0GENERAL", "declare P1 --service=checkout "+title)
		if !strings.Contains(text, "Declaring") {
			b.Fatalf("declare failed: %s", text)
		}
		name := fmt.Sprintf("inc-%s-%s", time.Now().UTC().Format("2006-01-02"), strings.ReplaceAll(title, " ", "-"))
		require.Eventually(b, func() bool {
			ch, ok := fake.Channel(name)
			return ok && len(ch.Pins) == 1 && ch.Topic != "" && len(ch.Bookmarks) == 2 && len(ch.Members) >= 4 && announced(fake, title)
		}, 30*time.Second, 2*time.Millisecond, "war room %s not ready after 30s", name)
		total += time.Since(start)
	}
	b.StopTimer()
	avg := total / time.Duration(b.N)
	b.ReportMetric(float64(avg.Milliseconds()), "ms/declare")
	b.ReportMetric(float64(avg)/float64(latency), "round-trips")
	b.ReportMetric(float64(len(fake.Calls()))/float64(b.N), "slack-calls/declare")
}

func announced(fake *slackfake.Server, title string) bool {
	for _, m := range fake.Messages("C0INCIDENTS") {
		if strings.Contains(m.Text, title) || strings.Contains(string(m.Blocks), title) {
			return true
		}
	}
	return false
}

func writePolicyFile(t testing.TB, content string) string {
	t.Helper()
	path := t.TempDir() + "/policy.yaml"
	if err := writeFile(path, content); err != nil {
		t.Fatal(err)
	}
	return path
}

// BenchmarkDeclareToPage measures a P1 declare, from the slash command to
// the PagerDuty incident that carries the runbook and the channel's link,
// with 100 ms added to every Slack call: the page waits for the channel
// (at most 5 seconds) so the person paged can open it from the phone.
//
//	go test ./cmd/firebreak -run '^$' -bench DeclareToPage -benchtime 10x
func BenchmarkDeclareToPage(b *testing.B) {
	const latency = 100 * time.Millisecond
	fake := slackfake.New(slackfake.WithChatWritePublic())
	b.Cleanup(fake.Close)
	fake.AddUser(slackfake.User{ID: "U0ALICE", Name: "alice", Email: "alice@example.com"})
	fake.AddChannel(slackfake.Channel{ID: "C0GENERAL", Name: "general", Members: []string{fake.BotUserID()}})
	pd := pdfake.New()
	b.Cleanup(pd.Close)
	pd.AddEscalationPolicy("PEP1", "Checkout")
	pd.AddService(pdfake.Service{ID: "PSVC1", Name: "Checkout", EscalationPolicyID: "PEP1"})
	pd.AddUser(pdfake.User{ID: "PUBOT", Name: "firebreak", Email: "bot@example.com"})
	pd.AddUser(pdfake.User{ID: "PUBOB", Name: "Bob Roe", Email: "bob@example.com"})
	pd.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 1, UserID: "PUBOB", Schedule: "Primary"})
	bot := startBot(b, botOptions{mode: "http", slack: fake, env: map[string]string{
		"POLICY_FILE": writePolicyFile(b, `
services:
  checkout: {name: Checkout, runbook: "https://runbooks.example.com/checkout", pagerduty: {service_id: PSVC1}}
`), "LOG_LEVEL": "error",
		"PAGERDUTY_API_URL": pd.URL(), "PAGERDUTY_EVENTS_URL": pd.EventsURL(), "PAGERDUTY_TOKEN": pd.Token(),
		"PAGERDUTY_FROM_EMAIL": "bot@example.com"}})
	fake.SetLatency("", latency)

	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		_, text := bot.command("http", "U0ALICE", "C0GENERAL", fmt.Sprintf("declare P1 --service=checkout checkout outage %d", i))
		if !strings.Contains(text, "Declaring") {
			b.Fatalf("declare failed: %s", text)
		}
		require.Eventually(b, func() bool { return len(pd.Incidents()) > i }, 30*time.Second, 2*time.Millisecond, "no page after 30s")
		total += time.Since(start)
		if d := pd.Incidents()[i].Details; !strings.Contains(d, "app_redirect?channel=") {
			b.Fatalf("the page has no channel link: %q", d)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((total / time.Duration(b.N)).Milliseconds()), "ms/page")
}

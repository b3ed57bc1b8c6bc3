package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// BenchmarkSlashCommandAck measures how long the bot takes to acknowledge a
// signed slash command over HTTP on loopback, with 50, 200 and 1,000
// requests in flight over kept-alive connections, on the embedded SQLite
// database and on PostgreSQL. Each request is verified, recorded against
// replay, parsed and answered, as in production. In the same run a minimal
// handler that only checks the signature and answers (the limit of the
// machine and the HTTP stack) is measured the same way, in blocks that take
// turns with the bot's (ackPair), and the bot/limit ratios of p50 and p99
// are reported with the CPU time per request of each.
//
//	go test ./cmd/firebreak -run '^$' -bench SlashCommandAck -benchtime 20000x
func BenchmarkSlashCommandAck(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		for _, text := range []string{"help", "list"} {
			for _, concurrency := range []int{50, 200, 1000} {
				b.Run(fmt.Sprintf("%s/%s/c%d", db, text, concurrency), func(b *testing.B) {
					o := botOptions{mode: "http", slack: loadWorkspace(b), env: map[string]string{"LOG_LEVEL": "error"}}
					if db == "postgres" {
						o.databaseURL = pgtest.MigratedDSN(b)
					}
					bot := startBot(b, o)
					limit := startLimitHandler(b)
					b.ResetTimer()
					lim, got := ackPair(b, bot.driver, limit.URL, bot.base+"/slack/commands", text, concurrency)
					b.StopTimer()
					b.ReportMetric(got.p50, "p50-ms")
					b.ReportMetric(got.p99, "p99-ms")
					b.ReportMetric(got.max, "max-ms")
					b.ReportMetric(got.cpu, "cpu-us/req")
					if db == "postgres" {
						// PostgreSQL's CPU meanwhile; during the limit's blocks,
						// what the idle bot's background work costs it.
						b.ReportMetric(got.dbCPU, "db-cpu-us/req")
						b.ReportMetric(lim.dbCPU, "limit-db-cpu-us/req")
					}
					b.ReportMetric(got.refused, "refused-frac")
					b.ReportMetric(lim.p50, "limit-p50-ms")
					b.ReportMetric(lim.p99, "limit-p99-ms")
					b.ReportMetric(lim.cpu, "limit-cpu-us/req")
					b.ReportMetric(got.p50/lim.p50, "p50-ratio")
					b.ReportMetric(got.p99/lim.p99, "p99-ratio")
				})
			}
		}
	}
}

// BenchmarkSlashCommandOpenLoop sends signed slash commands at a fixed rate
// (100 and 500 per second), whatever the answers' latency, and reports the
// p99 of the acknowledgement: `help`, `list` with 1,000 open incidents
// (paged output) and a declare, on SQLite and PostgreSQL.
//
//	go test ./cmd/firebreak -run '^$' -bench SlashCommandOpenLoop -benchtime 1000x
func BenchmarkSlashCommandOpenLoop(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			o := botOptions{mode: "http", slack: loadWorkspace(b), env: map[string]string{"LOG_LEVEL": "error"},
				process: os.Getenv("BENCH_BOT_PROCESS") == "1"}
			if db == "postgres" {
				o.databaseURL = pgtest.MigratedDSN(b)
			}
			bot := startBot(b, o)
			seedOpenIncidents(b, bot, 1000)
			for _, text := range []string{"help", "list", "declare"} {
				for _, rate := range []int{100, 500} {
					b.Run(fmt.Sprintf("%s/r%d", text, rate), func(b *testing.B) {
						waits, waited := poolWaits(bot)
						sched := schedLatencies()
						got := openLoop(b, bot, text, rate)
						if bot.pid == 0 {
							// The bot's own queueing for a core, when it
							// runs in this process.
							b.ReportMetric(schedP99(sched, schedLatencies()), "sched-p99-ms")
						}
						waits2, waited2 := poolWaits(bot)
						b.ReportMetric((waits2-waits)/float64(b.N), "dbwaits/op")
						b.ReportMetric((waited2-waited)*1000/float64(b.N), "dbwait-ms/op")
						b.ReportMetric(got.p50, "p50-ms")
						b.ReportMetric(got.p99, "p99-ms")
						b.ReportMetric(got.max, "max-ms")
						b.ReportMetric(got.refused, "refused-frac")
						b.ReportMetric(got.cores, "cpu-cores")
					})
				}
			}
		})
	}
}

// poolWaits returns how many times the bot waited for a database
// connection, and for how many seconds in all: database/sql's waits on
// SQLite, pgx's pool's on PostgreSQL (database/sql borrows from it without
// a limit of its own, so it never waits there).
func poolWaits(bot *botInstance) (waits, seconds float64) {
	waits = bot.metricSum("go_sql_wait_count_total") + bot.metricSum("pgxpool_empty_acquire")
	seconds = bot.metricSum("go_sql_wait_duration_seconds_total") + bot.metricSum("pgxpool_empty_acquire_wait_time_ns")/1e9
	return waits, seconds
}

// schedLatencies reads the Go runtime's histogram of how long goroutines
// waited for a core once ready to run.
func schedLatencies() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64Histogram()
}

// schedP99 is the 99th percentile, in milliseconds, of the waits counted
// between two readings of schedLatencies (the upper bound of its bucket,
// or the lower of the last):
// the process's own queueing for a core during a run, which shows when a
// tail comes from the bot's other work rather than from the database.
func schedP99(before, after *metrics.Float64Histogram) float64 {
	var total uint64
	for i := range after.Counts {
		total += after.Counts[i] - before.Counts[i]
	}
	var seen uint64
	for i := range after.Counts {
		seen += after.Counts[i] - before.Counts[i]
		if total > 0 && float64(seen) >= 0.99*float64(total) {
			if upper := after.Buckets[i+1]; !math.IsInf(upper, 1) {
				return upper * 1000
			}
			return after.Buckets[i] * 1000
		}
	}
	return 0
}

// seedOpenIncidents declares n incidents through the bot, so that `list`
// pages through them.
func seedOpenIncidents(b *testing.B, bot *botInstance, n int) {
	b.Helper()
	client := keepAliveClient(50)
	var wg sync.WaitGroup
	var next atomic.Int64
	var failed atomic.Int64
	for w := 0; w < 50; w++ {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				if _, err := postCommand(client, bot.driver, bot.base+"/slack/commands", fmt.Sprintf("declare P3 seeded incident %d", i), i); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	require.Zero(b, failed.Load(), "seeding declares failed")
	_, text := bot.command("http", "U0ALICE", "C0GENERAL", "list")
	require.Contains(b, text, "seeded incident", "list shows the seeded incidents")
	b.Logf("list over %d open incidents answers %d bytes: %.200s … %s", n, len(text), text, text[max(0, len(text)-200):])
	start := time.Now()
	runs := waitJobsQuiet(b, bot)
	b.Logf("the %d war rooms' jobs (%.0f runs) finished %s after seeding", n, runs, time.Since(start).Round(100*time.Millisecond))
}

// waitJobsQuiet waits until the bot's job engine has run nothing for two
// seconds (the work the seeding declares scheduled is done, and what is left
// waits for a later time), so that a measurement sees a bot with 1,000 open
// incidents rather than one still building 1,000 war rooms. It returns the
// number of job runs counted.
func waitJobsQuiet(b *testing.B, bot *botInstance) float64 {
	b.Helper()
	last, quietSince := -1.0, time.Now()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		n := bot.metricSum("firebreak_jobs_total")
		if n != last {
			last, quietSince = n, time.Now()
		} else if time.Since(quietSince) >= 2*time.Second {
			return n
		}
		time.Sleep(250 * time.Millisecond)
	}
	b.Fatalf("the job engine was still running jobs 5 minutes after seeding (%.0f runs)", last)
	return 0
}

// ackFigures are one run's figures: latency percentiles in milliseconds,
// CPU microseconds per request (the process's, and PostgreSQL's when it
// runs on this machine), the fraction refused, and the cores the whole
// process (bot, fakes and load) kept busy.
type ackFigures struct{ p50, p99, max, cpu, dbCPU, refused, cores float64 }

func keepAliveClient(concurrency int) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: concurrency, MaxIdleConnsPerHost: concurrency, IdleConnTimeout: time.Minute}}
}

// triggers numbers every command of the process, so that no two are the same
// request to the replay check.
var triggers atomic.Int64

// loadUsers is how many people the load sends commands as: U000000 to
// U004999.
const loadUsers = 5000

// loadWorkspace is a fake Slack whose workspace has the people the load
// sends commands as, so that the bot knows them from its read of
// users.list, as it knows a real workspace's people, rather than asking
// users.info about each.
func loadWorkspace(t testing.TB) *slackfake.Server {
	fake := slackfake.New(slackfake.WithChatWritePublic())
	t.Cleanup(fake.Close)
	for i := range loadUsers {
		fake.AddUser(slackfake.User{ID: fmt.Sprintf("U%06d", i), Name: fmt.Sprintf("responder%d", i)})
	}
	return fake
}

// postCommand sends one signed slash command and reads the whole answer, so
// that the connection goes back to the pool.
func postCommand(client *http.Client, driver *slackfake.Driver, target, text string, i int64) (time.Duration, error) {
	return postCommandAs(client, driver, target, text, fmt.Sprintf("U%06d", i%loadUsers))
}

// postCommandAs sends one signed slash command from user and reads the
// whole answer.
func postCommandAs(client *http.Client, driver *slackfake.Driver, target, text, user string) (time.Duration, error) {
	d, _, err := postCommandBody(client, driver, target, text, user)
	return d, err
}

// postCommandBody sends one signed slash command from user and returns the
// answer's body.
func postCommandBody(client *http.Client, driver *slackfake.Driver, target, text, user string) (time.Duration, string, error) {
	var answer string
	d, err := postCommandRead(client, driver, target, text, user, func(b []byte) { answer = string(b) })
	return d, answer, err
}

// answers holds the buffers the load reads answers into, so that the load
// costs the same whatever the size of the answer it reads.
var answers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// postCommandRead sends one signed slash command from user and hands the
// answer's body to read, which must not keep it.
func postCommandRead(client *http.Client, driver *slackfake.Driver, target, text, user string, read func([]byte)) (time.Duration, error) {
	body := url.Values{"command": {"/incident"}, "text": {text}, "user_id": {user},
		"channel_id": {"C0GENERAL"}, "team_id": {slackfake.DefaultTeamID}, "trigger_id": {fmt.Sprintf("trig.%d", triggers.Add(1))}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	driver.Sign(req.Header, []byte(body))
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return time.Since(start), err
	}
	buf := answers.Get().(*bytes.Buffer)
	defer answers.Put(buf)
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	d := time.Since(start)
	_ = resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	read(buf.Bytes())
	return d, err
}

// ackPair sends b.N signed commands to each of two targets (the limit
// handler and the bot) with concurrency requests in flight over kept-alive
// connections. The requests go in blocks, the targets taking turns in the
// order limit, bot, bot, limit, limit, bot, bot, limit, so that both meet
// the same moments of a shared machine: a stall of the machine during one
// target's run would otherwise land on that target alone and swing the
// ratio between runs. Each target is warmed first with a block that is not
// counted (connections opened, caches filled).
func ackPair(b *testing.B, driver *slackfake.Driver, limitURL, botURL, text string, concurrency int) (lim, got ackFigures) {
	limit := newClosedLoop(driver, limitURL, text, concurrency)
	bot := newClosedLoop(driver, botURL, text, concurrency)
	defer limit.client.CloseIdleConnections()
	defer bot.client.CloseIdleConnections()
	warm := 2 * concurrency
	limit.block(warm)
	bot.block(warm)
	limit.reset()
	bot.reset()
	order := []*closedLoop{limit, bot, bot, limit, limit, bot, bot, limit}
	perTarget := len(order) / 2
	for i, l := range order {
		// The first of a target's blocks takes what does not divide evenly.
		n := b.N / perTarget
		if i < 2 {
			n += b.N % perTarget
		}
		l.block(n)
	}
	return limit.figures(b), bot.figures(b)
}

// closedLoop is one target of a closed-loop run and what its requests
// measured so far.
type closedLoop struct {
	driver            *slackfake.Driver
	client            *http.Client
	target, text      string
	concurrency       int
	latencies         []time.Duration
	cpu, dbCPU        time.Duration
	sent              int64
	failures, refused atomic.Int64
}

func newClosedLoop(driver *slackfake.Driver, target, text string, concurrency int) *closedLoop {
	return &closedLoop{driver: driver, client: keepAliveClient(concurrency), target: target, text: text, concurrency: concurrency}
}

// block sends n commands with the loop's concurrency in flight and adds
// their latencies, and the process's CPU time meanwhile, to the loop's.
func (l *closedLoop) block(n int) {
	var (
		mu   sync.Mutex
		next atomic.Int64
		wg   sync.WaitGroup
	)
	cpu0, db0 := processCPU(), postgresCPU()
	for w := 0; w < l.concurrency; w++ {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				d, err := postCommandRead(l.client, l.driver, l.target, l.text, fmt.Sprintf("U%06d", (l.sent+i)%loadUsers), func(answer []byte) {
					if refusal(answer) {
						l.refused.Add(1)
					}
				})
				if err != nil {
					l.failures.Add(1)
				}
				mu.Lock()
				l.latencies = append(l.latencies, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	l.cpu += processCPU() - cpu0
	l.dbCPU += postgresCPU() - db0
	l.sent += int64(n)
}

// reset forgets what the loop measured (after a warm-up), but not its
// failures.
func (l *closedLoop) reset() {
	l.latencies, l.cpu, l.dbCPU = l.latencies[:0], 0, 0
	l.refused.Store(0)
}

// figures are the percentiles, CPU per request and refused fraction of
// what the loop measured; a failed request fails the benchmark.
func (l *closedLoop) figures(b *testing.B) ackFigures {
	n := len(l.latencies)
	if f := l.failures.Load(); f > 0 {
		b.Fatalf("%d requests to %s failed", f, l.target)
	}
	f := percentiles(l.latencies)
	f.cpu = float64(l.cpu.Microseconds()) / float64(n)
	f.dbCPU = float64(l.dbCPU.Microseconds()) / float64(n)
	f.refused = float64(l.refused.Load()) / float64(n)
	return f
}

// openLoop sends b.N signed commands at rate per second, each on its own
// schedule whatever the latency of the others.
func openLoop(b *testing.B, bot *botInstance, text string, rate int) ackFigures {
	client := keepAliveClient(512)
	defer client.CloseIdleConnections()
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		failures  atomic.Int64
		refused   atomic.Int64
		wg        sync.WaitGroup
	)
	interval := time.Second / time.Duration(rate)
	cpu0 := botCPU(bot)
	start := time.Now()
	base := time.Now().UnixNano()
	for i := 0; i < b.N; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		cmd := text
		if text == "declare" {
			cmd = fmt.Sprintf("declare P3 open loop %d %d", base, i)
		}
		wg.Go(func() {
			d, err := postCommandRead(client, bot.driver, bot.base+"/slack/commands", cmd, fmt.Sprintf("U%06d", i%loadUsers), func(answer []byte) {
				if refusal(answer) {
					refused.Add(1)
				}
			})
			if err != nil {
				if failures.Add(1) == 1 {
					b.Logf("%s: %v", cmd, err)
				}
			}
			mu.Lock()
			latencies = append(latencies, d)
			mu.Unlock()
		})
	}
	wg.Wait()
	if f := failures.Load(); f > 0 {
		b.Fatalf("%d of %d requests failed", f, b.N)
	}
	f := percentiles(latencies)
	f.refused = float64(refused.Load()) / float64(b.N)
	f.cores = float64(botCPU(bot)-cpu0) / float64(time.Since(start))
	return f
}

// botCPU returns the user and system CPU time the bot has used: its
// process's when it runs in one of its own, else this process's (the load
// generator and the fake Slack included).
func botCPU(bot *botInstance) time.Duration {
	if bot.pid == 0 {
		return processCPU()
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", bot.pid))
	if err != nil {
		return 0
	}
	// The fields after the command, which is in parentheses and may
	// hold spaces: utime and stime are the 12th and 13th, in clock ticks
	// (100 a second on Linux).
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// refusal reports whether a command's answer is the bot's own refusal
// rather than the command's result: overloaded, or the database not
// answering within the acknowledgement deadline.
func refusal(answer []byte) bool {
	// Both sentences are short answers of their own: a long answer (help's
	// is 2.5 KB) is never one, and is not searched.
	return len(answer) <= maxRefusal &&
		(bytes.Contains(answer, []byte("overloaded right now")) || bytes.Contains(answer, []byte("not answering right now")))
}

// maxRefusal is longer than either refusal as JSON.
const maxRefusal = 512

func percentiles(latencies []time.Duration) ackFigures {
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[int(float64(len(latencies)-1)*p)].Microseconds()) / 1000
	}
	return ackFigures{p50: pct(0.50), p99: pct(0.99), max: float64(latencies[len(latencies)-1].Microseconds()) / 1000}
}

// processCPU returns the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postgresCPU returns the user and system CPU time PostgreSQL's processes
// on this machine have used, those that exited included (counted to the
// postmaster that waited for them), or 0 when there are none or /proc
// cannot tell. What the bot's requests cost the database is thus counted
// when PostgreSQL shares the machine, as it does in these benchmarks.
func postgresCPU() time.Duration {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var ticks int64
	for _, d := range dirs {
		if d.Name()[0] < '0' || d.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: utime, stime, cutime and cstime are the
		// 14th to 17th fields, counted after the command's closing bracket.
		end := bytes.LastIndexByte(stat, ')')
		if end < 0 || !bytes.HasPrefix(stat, []byte(d.Name()+" (postgres)")) {
			continue
		}
		fields := strings.Fields(string(stat[end+1:]))
		if len(fields) < 15 {
			continue
		}
		for _, f := range fields[11:15] {
			n, _ := strconv.ParseInt(f, 10, 64)
			ticks += n
		}
	}
	// The kernel counts these in clock ticks, 100 a second on Linux.
	return time.Duration(ticks) * 10 * time.Millisecond
}

// startLimitHandler serves the least a slash-command endpoint must do:
// check Slack's signature with the same secret and answer with an
// ephemeral message.
func startLimitHandler(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sv, err := slack.NewSecretsVerifier(r.Header, testSigningSecret)
		if err != nil {
			http.Error(w, "unsigned", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(io.TeeReader(http.MaxBytesReader(w, r.Body, 1<<20), &sv))
		if err != nil || sv.Ensure() != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, "malformed", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"response_type": "ephemeral", "text": "ok: " + form.Get("text")})
	}))
	b.Cleanup(srv.Close)
	return srv
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

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

type readyz struct {
	Ready  bool   `json:"ready"`
	Status string `json:"status"`
	Checks map[string]struct {
		OK       bool   `json:"ok"`
		Degraded bool   `json:"degraded"`
		State    string `json:"state"`
		Error    string `json:"error"`
		Critical bool   `json:"critical"`
	} `json:"checks"`
}

func (b *botInstance) readyz() (int, readyz) {
	b.t.Helper()
	code, body := b.get("/readyz")
	var r readyz
	require.NoError(b.t, json.Unmarshal([]byte(body), &r), body)
	return code, r
}

// TestServeOnSQLite: with no DATABASE_URL the program migrates a SQLite file
// and answers /healthz, /readyz (pointed at the fake Slack) and /metrics.
func TestServeOnSQLite(t *testing.T) {
	t.Parallel()
	dbPath := filepath.Join(t.TempDir(), "bot.db")
	b := startBot(t, botOptions{mode: "http", sqlitePath: dbPath})

	require.Eventually(t, func() bool { code, _ := b.readyz(); return code == http.StatusOK }, 10*time.Second, 50*time.Millisecond)
	_, r := b.readyz()
	require.True(t, r.Ready)
	require.True(t, r.Checks["database"].OK)
	require.Equal(t, "sqlite", r.Checks["database"].State)
	require.True(t, r.Checks["slack_auth"].OK)
	require.Contains(t, r.Checks["jobs"].State, "running")
	require.True(t, r.Checks["breakers"].OK)
	require.Contains(t, r.Checks["breakers"].State, "slack=closed")

	_, metrics := b.get("/metrics")
	require.Contains(t, metrics, `firebreak_http_request_duration_seconds_bucket{code="200",route="/readyz"`)
	require.Contains(t, metrics, `firebreak_outbound_requests_total{operation="auth.test",outcome="ok",provider="slack"}`)
	require.Contains(t, metrics, "firebreak_job_queue_depth")
	_, err := os.Stat(dbPath)
	require.NoError(t, err, "the SQLite file is created")
	b.stop()

	// The schema is in place: migrate status on the same file lists every
	// migration as applied.
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"migrate", "status"}, envOf(map[string]string{"SQLITE_PATH": dbPath}), &out, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.GreaterOrEqual(t, len(lines), 11, out.String())
	for _, l := range lines[1:] {
		require.Contains(t, l, " applied ", l)
	}
	require.Contains(t, out.String(), "00001_incidents.sql")
}

// TestReadyzFailsWhenSlackAuthFails: a wrong token leaves the bot alive but
// not ready, and /readyz says why.
func TestReadyzFailsWhenSlackAuthFails(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	b := startBot(t, botOptions{mode: "http", slack: fake, env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-wrong"}})
	// Wait for the answer itself: before auth.test completes the check
	// fails too, as "pending", which is not what this test is about.
	require.Eventually(t, func() bool {
		_, r := b.readyz()
		return strings.Contains(r.Checks["slack_auth"].Error, "invalid_auth")
	}, 10*time.Second, 50*time.Millisecond)
	code, r := b.readyz()
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.False(t, r.Ready)
	require.Contains(t, r.Checks["slack_auth"].Error, "invalid_auth")
	require.True(t, r.Checks["database"].OK)
	code, _ = b.get("/healthz")
	require.Equal(t, http.StatusOK, code, "alive even when not ready")
}

// TestBadSettingExitsNonZero runs the real binary with a bad setting.
func TestBadSettingExitsNonZero(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = []string{"FIREBREAK_RUN_MAIN=1", "SLACK_BOT_TOKEN=xoxb-1", "SLACK_APP_TOKEN=xapp-1", "HTTP_ADDR=eighty", "JOB_WORKERS=many"}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, string(out))
	require.Equal(t, 1, exit.ExitCode())
	require.Contains(t, string(out), "HTTP_ADDR")
	require.Contains(t, string(out), "JOB_WORKERS")
	require.NotContains(t, string(out), "xoxb-1", "secrets are not echoed")

	cmd = exec.Command(os.Args[0], "serve")
	cmd.Env = []string{"FIREBREAK_RUN_MAIN=1"}
	out, err = cmd.CombinedOutput()
	require.ErrorAs(t, err, &exit)
	// A first run with nothing set says how to start.
	require.Contains(t, string(out), "SLACK_BOT_TOKEN (xoxb-...) and SLACK_APP_TOKEN (xapp-...)")
	require.Contains(t, string(out), "firebreak demo")
	require.NotContains(t, string(out), "SLACK_BOT_TOKEN: required")

	cmd = exec.Command(os.Args[0], "version")
	cmd.Env = []string{"FIREBREAK_RUN_MAIN=1"}
	out, err = cmd.CombinedOutput()
	require.NoError(t, err)
	require.Contains(t, string(out), "firebreak ")
}

func TestHelpOverHTTP(t *testing.T) {
	t.Parallel()
	b := startBot(t, botOptions{mode: "http"})
	_, text := b.command("http", "U0ALICE", "C0GENERAL", "help")
	require.Contains(t, text, "/incident declare P1 checkout is down")
	require.Contains(t, text, "/incident help")
	_, text = b.command("http", "U0ALICE", "C0GENERAL", "")
	require.Contains(t, text, "/incident help", "no text shows the help")
	_, text = b.command("http", "U0ALICE", "C0GENERAL", "frobnicate")
	require.Contains(t, text, "Unknown command `/incident frobnicate`")
}

func TestHelpOverSocketMode(t *testing.T) {
	t.Parallel()
	b := startBot(t, botOptions{mode: "socket"})
	_, text := b.command("socket", "U0ALICE", "C0GENERAL", "help")
	require.Contains(t, text, "/incident declare P1 checkout is down")
	code, _ := b.get("/slack/commands")
	require.Equal(t, http.StatusNotFound, code, "no Slack HTTP endpoints in Socket Mode")
	code, _ = b.get("/healthz")
	require.Equal(t, http.StatusOK, code, "health is served in Socket Mode too")
}

// TestForgedStaleAndReplayedRequests: each is rejected with 401 and leaves
// no trace: no Slack call, no job, no incident.
func TestForgedStaleAndReplayedRequests(t *testing.T) {
	t.Parallel()
	b := startBot(t, botOptions{mode: "http"})
	ctx := context.Background()
	// The program's own calls at start: auth.test, then its read of the
	// workspace's people.
	require.Eventually(t, func() bool {
		for _, c := range b.slack.CallsTo("users.list") {
			if c.OK() {
				return true
			}
		}
		return false
	}, 5*time.Second, 20*time.Millisecond)
	b.slack.Reset()

	declare := slack.SlashCommand{Command: "/incident", Text: "declare P1 checkout is down", UserID: "U0MALLORY", ChannelID: "C0GENERAL"}
	for name, opt := range map[string]slackfake.RequestOption{
		"wrong secret": slackfake.WrongSecret(), "stale": slackfake.StaleTimestamp(),
		"tampered": slackfake.TamperBody(), "unsigned": slackfake.Unsigned(),
	} {
		r, err := b.driver.SlashCommand(ctx, b.base+"/slack/commands", declare, opt)
		require.NoError(t, err, name)
		require.Equal(t, http.StatusUnauthorized, r.StatusCode, name)
		r, err = b.driver.Event(ctx, b.base+"/slack/events", map[string]any{"type": "message", "channel": "C1", "text": "hi", "ts": "1.0"}, "Ev"+name, opt)
		require.NoError(t, err, name)
		require.Equal(t, http.StatusUnauthorized, r.StatusCode, name)
	}
	require.Contains(t, func() string { _, body := b.get("/metrics"); return body }(), `firebreak_slack_requests_total{kind="command",outcome="unauthorized"} 4`)

	// A replay: the very same signed request sent twice.
	send := signedCommand(t, b.driver)
	require.Equal(t, http.StatusOK, send(b))
	require.Equal(t, http.StatusUnauthorized, send(b), "a replayed request is refused")

	// An oversized body is refused before anything is parsed.
	big := bytes.Repeat([]byte("x"), 2<<20)
	hb := http.Header{}
	b.driver.Sign(hb, big)
	req, _ := http.NewRequest(http.MethodPost, b.base+"/slack/commands", bytes.NewReader(big))
	req.Header = hb
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	// Give any wrongly scheduled job the time to run.
	require.Never(t, func() bool { return len(b.slack.Calls()) > 0 }, 300*time.Millisecond, 10*time.Millisecond,
		"rejected requests make no Slack call")
	_, text := b.command("http", "U0ALICE", "C0GENERAL", "list")
	require.Contains(t, text, "No open incidents", "the forged declares created nothing")
}

// TestEventsDeduplicated: Slack's retries of one event are processed once,
// over HTTP and over Socket Mode; url_verification is answered.
func TestEventsDeduplicated(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"http", "socket"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			b := startBot(t, botOptions{mode: mode})
			ctx := context.Background()
			ev := map[string]any{"type": "reaction_added", "user": "U0ALICE", "reaction": "eyes",
				"item": map[string]any{"type": "message", "channel": "C0X", "ts": "1700000000.000100"}, "event_ts": "1700000001.000000"}
			for attempt := 0; attempt < 3; attempt++ {
				var opts []slackfake.RequestOption
				if attempt > 0 {
					opts = append(opts, slackfake.Retry(attempt, "http_timeout"))
				}
				if mode == "socket" {
					_, err := b.driver.SocketEvent(ctx, ev, "Ev0DEDUPE", opts...)
					require.NoError(t, err)
				} else {
					r, err := b.driver.Event(ctx, b.base+"/slack/events", ev, "Ev0DEDUPE", opts...)
					require.NoError(t, err)
					require.Equal(t, http.StatusOK, r.StatusCode)
				}
			}
			require.Eventually(t, func() bool {
				return b.metric("firebreak_slack_events_total", `type="reaction_added"`, `outcome="duplicate"`) == 2
			}, 10*time.Second, 50*time.Millisecond)
			require.Eventually(t, func() bool {
				return b.metric("firebreak_jobs_total", `kind="slack.event"`, `outcome="completed"`) == 1
			}, 10*time.Second, 50*time.Millisecond, "the event is worked once")

			if mode == "http" {
				r, err := b.driver.URLVerification(ctx, b.base+"/slack/events", "challenge-123")
				require.NoError(t, err)
				require.Equal(t, http.StatusOK, r.StatusCode)
				require.Equal(t, "challenge-123", string(r.Body))
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// TestAdminListenerKeepsOperationsOffThePublicPort: /readyz (which names the
// database in an outage) and /metrics are served on ADMIN_ADDR only; the
// profiler only when ADMIN_PPROF is set.
func TestAdminListenerKeepsOperationsOffThePublicPort(t *testing.T) {
	t.Parallel()
	b := startBot(t, botOptions{mode: "http"})
	for _, path := range []string{"/readyz", "/metrics", "/debug/pprof/"} {
		resp, err := http.Get(b.base + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "public %s", path)
	}
	code, _ := b.get("/healthz")
	require.Equal(t, http.StatusOK, code, "load balancers can probe the public port")
	resp, err := http.Get(b.admin + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	code, _ = b.get("/debug/pprof/")
	require.Equal(t, http.StatusNotFound, code, "pprof is off by default")

	require.Eventually(t, func() bool { code, _ := b.readyz(); return code == http.StatusOK }, 10*time.Second, 20*time.Millisecond)
	_, metrics := b.get("/metrics")
	require.Contains(t, metrics, `firebreak_build_info{commit="`)
	require.Contains(t, metrics, `goversion="go`)
	require.Contains(t, metrics, `firebreak_http_request_duration_seconds_bucket{code="404",route="unmatched"`, "status codes are numeric")
	require.Contains(t, metrics, `go_sql_open_connections{db_name="firebreak"} 1`, "the database pool's figures: SQLite's one connection")
	require.Contains(t, metrics, `go_sql_wait_duration_seconds_total{db_name="firebreak"}`)

	withPprof := startBot(t, botOptions{mode: "http", env: map[string]string{"ADMIN_PPROF": "yes"}})
	code, body := withPprof.get("/debug/pprof/")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "goroutine")
	code, _ = withPprof.get("/debug/pprof/goroutine?debug=1")
	require.Equal(t, http.StatusOK, code)
}

// TestReadyzDegradedWhenSlackUnreachable: Slack being unreachable must not
// take every replica out of service; webhooks still land. A refused token
// (TestReadyzFailsWhenSlackAuthFails) does.
func TestReadyzDegradedWhenSlackUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String() + "/api/"
	require.NoError(t, ln.Close())
	b := startBot(t, botOptions{mode: "http", env: map[string]string{"SLACK_API_URL": closed}})
	var r readyz
	var code int
	require.Eventually(t, func() bool {
		code, r = b.readyz()
		return r.Checks["slack_auth"].Error != "" && r.Checks["slack_auth"].State != "pending"
	}, 20*time.Second, 50*time.Millisecond)
	require.Equal(t, http.StatusOK, code, "degraded, not unavailable")
	require.True(t, r.Ready)
	require.Equal(t, "degraded", r.Status)
	require.True(t, r.Checks["slack_auth"].Degraded)
	require.Contains(t, r.Checks["slack_auth"].Error, "connection refused", "the cause is shown")
	require.Contains(t, b.logs.String(), "connection refused", "and logged")
}

func TestReadyzFailsOnRevokedToken(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	b := startBot(t, botOptions{mode: "http", slack: fake, env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-revoked"}})
	require.Eventually(t, func() bool {
		_, r := b.readyz()
		return strings.Contains(r.Checks["slack_auth"].Error, "invalid_auth")
	}, 10*time.Second, 50*time.Millisecond)
	code, r := b.readyz()
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "unavailable", r.Status)
	require.False(t, r.Checks["slack_auth"].Degraded)
}

func TestVersionFromLdflagsOrBuildInfo(t *testing.T) {
	t.Parallel()
	info := func(main string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/firebreakhq/firebreak", Version: main}, Settings: settings}, true
		}
	}
	rel := resolveBuild("v0.1.0", "abc1234", "2026-12-03T06:00:00Z", info("(devel)"))
	require.Equal(t, buildInfo{Version: "v0.1.0", Commit: "abc1234", Date: "2026-12-03T06:00:00Z", GoVersion: "go1.26.8"}, rel, "ldflags win")

	installed := resolveBuild("", "", "", info("v0.1.0",
		debug.BuildSetting{Key: "vcs.revision", Value: "0123456789abcdef"},
		debug.BuildSetting{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
		debug.BuildSetting{Key: "vcs.modified", Value: "true"}))
	require.Equal(t, "v0.1.0", installed.Version, "go install module@v0.1.0 records the version")
	require.Equal(t, "0123456789abcdef-dirty", installed.Commit)
	require.Equal(t, "2026-12-01T10:00:00Z", installed.Date)

	dev := resolveBuild("", "", "", info("(devel)"))
	require.Equal(t, "dev", dev.Version)
	require.Equal(t, "unknown", dev.Commit)

	var out bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"version"}, envOf(nil), &out, &out))
	require.Regexp(t, `^firebreak \S+ \(commit \S+, built \S+, go\S+ \w+/\w+\)\n$`, out.String())
}

// TestHelpNeverStarts: -h on every subcommand prints its help and starts
// nothing, even with a configuration that would start the bot.
func TestHelpNeverStarts(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	env := envOf(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SQLITE_PATH": filepath.Join(t.TempDir(), "x.db")})
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"serve", "-h"}, {"serve", "--help"}, {"check", "-h"}, {"demo", "--help"},
		{"migrate", "-h"}, {"migrate", "up", "--help"}, {"healthcheck", "-h"}, {"version", "-h"}} {
		var out bytes.Buffer
		require.NoError(t, run(ctx, args, env, &out, &out), args)
		require.Contains(t, out.String(), "usage: firebreak", args)
	}
	_, err := os.Stat(filepath.Join(t.TempDir(), "x.db"))
	require.True(t, os.IsNotExist(err), "no database was created")
	require.Error(t, run(ctx, []string{"serve", "now"}, env, &bytes.Buffer{}, &bytes.Buffer{}), "stray arguments are refused")
}

func TestBooleansAreStrict(t *testing.T) {
	t.Parallel()
	base := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}
	with := func(k, v string) func(string) string {
		m := map[string]string{k: v}
		for a, b := range base {
			m[a] = b
		}
		return envOf(m)
	}
	for v, want := range map[string]bool{"true": true, "TRUE": true, "1": true, "yes": true, "false": false, "0": false, "no": false} {
		cfg, err := LoadConfig(with("GITHUB_ACTION_ITEM_ISSUES", v))
		require.NoError(t, err, v)
		require.Equal(t, want, cfg.GitHub.ActionItemIssues, v)
	}
	for _, v := range []string{"on", "y", "2", "enabled"} {
		_, err := LoadConfig(with("ADMIN_PPROF", v))
		require.ErrorContains(t, err, "ADMIN_PPROF: \""+v+"\" is not true or false")
	}
}

func TestValueAndFileBothSetIsOneError(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "token")
	require.NoError(t, writeFile(path, "xoxb-from-file\n"))
	_, err := LoadConfig(envOf(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_BOT_TOKEN_FILE": path, "SLACK_APP_TOKEN": "xapp-1"}))
	var cerr *ConfigError
	require.ErrorAs(t, err, &cerr)
	require.Len(t, cerr.Problems, 1, err.Error())
	require.Contains(t, err.Error(), "SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE are both set")
	require.NotContains(t, err.Error(), "xoxb-1")
}

func TestAdminAddrMustDifferFromHTTPAddr(t *testing.T) {
	t.Parallel()
	_, err := LoadConfig(envOf(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "HTTP_ADDR": ":9090"}))
	require.ErrorContains(t, err, "ADMIN_ADDR")
	_, err = LoadConfig(envOf(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "ADMIN_ADDR": "127.0.0.1:8080"}))
	require.ErrorContains(t, err, "the same as HTTP_ADDR")
	cfg, err := LoadConfig(envOf(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}))
	require.NoError(t, err)
	require.Equal(t, ":9090", cfg.AdminAddr)
	require.False(t, cfg.AdminPprof)
}

// TestPoolWaitsOnPostgres: on PostgreSQL database/sql borrows from pgx's
// pool with no limit of its own, so a wait for a connection shows only in
// pgx's figures. With a pool of three and 40 declares at once, /metrics
// counts waits in pgxpool_empty_acquire while go_sql_* sees none.
func TestPoolWaitsOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.MigratedDSN(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	b := startBot(t, botOptions{mode: "http", databaseURL: dsn + sep + "pool_max_conns=3"})
	_, metrics := b.get("/metrics")
	require.Contains(t, metrics, `pgxpool_max_conns{db_name="firebreak"} 3`)
	require.Contains(t, metrics, `pgxpool_empty_acquire_wait_time_ns{db_name="firebreak"}`)

	waits := b.metricSum("pgxpool_empty_acquire")
	client := keepAliveClient(40)
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range 40 {
		wg.Go(func() {
			if _, err := postCommand(client, b.driver, b.base+"/slack/commands", fmt.Sprintf("declare P3 pool wait %d", i), int64(i)); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	require.Zero(t, failed.Load(), "declares failed")
	require.Greater(t, b.metricSum("pgxpool_empty_acquire"), waits, "the declares waited for one of three connections")
	require.Greater(t, b.metricSum("pgxpool_acquire_count"), 40.0)
	require.Zero(t, b.metricSum("go_sql_wait_count_total"), "database/sql itself never waits on PostgreSQL")
}

package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestReadinessShowsSocketModeDisabled: when Slack closes the Socket Mode
// connection because Socket Mode is off in the app's settings, /readyz says
// so (the replica stays in service: a restart would not help) and the
// disconnect is counted by reason.
func TestReadinessShowsSocketModeDisabled(t *testing.T) {
	t.Parallel()
	b := startBot(t, botOptions{mode: "socket"})
	require.Eventually(t, func() bool { code, r := b.readyz(); return code == http.StatusOK && r.Checks["slack_socket_mode"].OK }, 10*time.Second, 50*time.Millisecond)
	_, r := b.readyz()
	require.Equal(t, "ok", r.Status)

	b.slack.DisconnectSockets("link_disabled")
	require.Eventually(t, func() bool { _, r := b.readyz(); return !r.Checks["slack_socket_mode"].OK }, 10*time.Second, 20*time.Millisecond)
	code, r := b.readyz()
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "degraded", r.Status)
	require.Equal(t, "link_disabled", r.Checks["slack_socket_mode"].State)
	require.Contains(t, r.Checks["slack_socket_mode"].Error, "Socket Mode is disabled for this app in its Slack settings")
	_, metrics := b.get("/metrics")
	require.Contains(t, metrics, `firebreak_slack_socket_disconnects_total{reason="link_disabled"} 1`)
}

// TestReadinessShowsSocketModeNeverConnected: a process that has not opened
// its Socket Mode connection (Slack failing apps.connections.open, the
// network down) receives nothing from Slack: /readyz says so, degraded, with
// the last attempt's cause, rather than ok. It stays in service (/serving):
// webhooks still land, and a restart would not make Slack answer (ADR 0057).
func TestReadinessShowsSocketModeNeverConnected(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.ErrorNext("apps.connections.open", 1000, "internal_error")
	env := map[string]string{
		"ADMIN_ADDR":      freeAddr(t),
		"HTTP_ADDR":       freeAddr(t),
		"SLACK_BOT_TOKEN": fake.BotToken(),
		"SLACK_APP_TOKEN": fake.AppToken(),
		"SLACK_API_URL":   fake.URL(),
		"SQLITE_PATH":     filepath.Join(t.TempDir(), "firebreak.db"),
		"LOG_FORMAT":      "json",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, &syncBuffer{})
	}()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	b := &botInstance{t: t, admin: "http://" + env["ADMIN_ADDR"], base: "http://" + env["HTTP_ADDR"]}
	var r readyz
	require.Eventually(t, func() bool {
		resp, err := http.Get(b.admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		_, r = b.readyz()
		return r.Checks["slack_socket_mode"].State == "never connected"
	}, 15*time.Second, 50*time.Millisecond)
	code, r := b.readyz()
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "degraded", r.Status)
	require.False(t, r.Checks["slack_socket_mode"].OK)
	require.Contains(t, r.Checks["slack_socket_mode"].Error, "never connected")
	require.Contains(t, r.Checks["slack_socket_mode"].Error, "internal_error")
	resp, err := http.Get(b.admin + "/serving")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the process still takes webhooks")
}

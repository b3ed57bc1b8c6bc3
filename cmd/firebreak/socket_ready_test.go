package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReadinessShowsSocketModeDisabled: when Slack closes the Socket Mode
// connection because Socket Mode is off in the app's settings, /readyz says
// so (the replica stays in service: a restart would not help) and the
// disconnect is counted by reason.
func TestReadinessShowsSocketModeDisabled(t *testing.T) {
	t.Parallel()
	b := startBot(t, botOptions{mode: "socket"})
	require.Eventually(t, func() bool { code, _ := b.readyz(); return code == http.StatusOK }, 10*time.Second, 50*time.Millisecond)
	_, r := b.readyz()
	require.True(t, r.Checks["slack_socket_mode"].OK)

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

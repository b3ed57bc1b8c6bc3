package bot

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a log sink written from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSocketModeDisconnectReasons: each time Slack closes the connection
// the reason is logged and counted, and the two that need a person say
// what to do: link_disabled that Socket Mode is off in the app's settings,
// too_many_websockets how many connections Slack allows and who shares
// them. link_disabled stays visible to the readiness check, however often
// Slack lets the client back in, until a request arrives.
func TestSocketModeDisconnectReasons(t *testing.T) {
	tr := newTransport(t)
	var logs syncBuffer
	tr.h.log = slog.New(slog.NewTextHandler(&logs, nil))
	ctx := runSocket(t, tr)
	require.NoError(t, tr.srv.WaitSocketConnected(ctx))
	count := func(reason string) float64 {
		return testutil.ToFloat64(tr.h.metrics.socketDisconnects.WithLabelValues(reason))
	}
	disconnect := func(reason string, times int) {
		t.Helper()
		tr.srv.DisconnectSockets(reason)
		require.Eventually(t, func() bool { return count(reason) == float64(times) }, 5*time.Second, time.Millisecond, reason)
		require.NoError(t, tr.srv.WaitSocketConnected(ctx), "slack-go reconnects after %s", reason)
	}

	for _, reason := range []string{"refresh_requested", "warning"} {
		disconnect(reason, 1)
		require.Contains(t, logs.String(), "level=INFO msg=\"socket mode: Slack is replacing the connection; reconnecting\" reason="+reason)
	}
	state, err := tr.h.SocketModeState(ctx)
	require.NoError(t, err, "routine refreshes are not a problem")
	require.Equal(t, "ok", state)

	disconnect("too_many_websockets", 1)
	line := logLine(t, logs.String(), "reason=too_many_websockets")
	require.Contains(t, line, "level=ERROR")
	require.Contains(t, line, "10 Socket Mode connections")
	require.Contains(t, line, "every replica")

	disconnect("link_disabled", 1)
	line = logLine(t, logs.String(), "reason=link_disabled")
	require.Contains(t, line, "level=ERROR")
	require.Contains(t, line, "Socket Mode is disabled for this app in its Slack settings")
	disconnect("link_disabled", 2)
	state, err = tr.h.SocketModeState(ctx)
	require.Equal(t, "link_disabled", state)
	require.ErrorContains(t, err, "Socket Mode is disabled for this app in its Slack settings")
	require.ErrorContains(t, err, "2 times", "reconnecting did not clear it")

	_, err = tr.driver.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "help", UserID: tr.ic.ID, ChannelID: tr.inc.ChannelID})
	require.NoError(t, err)
	state, err = tr.h.SocketModeState(ctx)
	require.NoError(t, err, "a request arrived: Socket Mode is on again")
	require.Equal(t, "ok", state)

	tr.srv.DisconnectSockets("something_new")
	require.Eventually(t, func() bool { return count("other") == 1 }, 5*time.Second, time.Millisecond, "an unknown reason is counted as other")
	require.Contains(t, logLine(t, logs.String(), "reason=something_new"), "level=WARN")
}

// logLine returns the log line containing s.
func logLine(t *testing.T, logs, s string) string {
	t.Helper()
	for line := range strings.Lines(logs) {
		if strings.Contains(line, s) {
			return line
		}
	}
	t.Fatalf("no log line with %q in:\n%s", s, logs)
	return ""
}

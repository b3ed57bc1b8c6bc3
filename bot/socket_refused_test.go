package bot

import (
	"context"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"
)

// TestSocketModeStopsWhenSlackRefusesTheAppTokenForGood: an app-level token
// without the connections:write scope is answered missing_scope by
// apps.connections.open, which slack-go would retry for ever (it stops
// only on four other codes). The transport stops at the first such answer,
// with Slack's code for the caller to name the setting; until then the
// readiness state says it never connected.
func TestSocketModeStopsWhenSlackRefusesTheAppTokenForGood(t *testing.T) {
	for _, code := range []string{"missing_scope", "not_allowed_token_type", "token_expired", "invalid_auth"} {
		t.Run(code, func(t *testing.T) {
			tr := newTransport(t)
			state, err := tr.h.SocketModeState(context.Background())
			require.Equal(t, "connecting", state)
			require.ErrorContains(t, err, "never connected")

			tr.srv.ErrorNext("apps.connections.open", 1000, code)
			api := slack.New(tr.srv.BotToken(), slack.OptionAPIURL(tr.srv.URL()), slack.OptionAppLevelToken(tr.srv.AppToken()))
			done := make(chan error, 1)
			go func() { done <- tr.h.RunSocketMode(context.Background(), api) }()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Socket Mode kept retrying a refusal no retry can fix")
			}
			require.Error(t, err)
			require.Equal(t, code, AppTokenRefusal(err))
			require.Len(t, tr.srv.CallsTo("apps.connections.open"), 1, "not tried again")
			state, err = tr.h.SocketModeState(context.Background())
			require.Equal(t, "never connected", state)
			require.ErrorContains(t, err, "never connected: 1 attempts")
			require.ErrorContains(t, err, code)
		})
	}
}

// TestSocketModeRetriesWhatARetryCanFix: Slack failing for a while
// (internal_error, a rate limit) is retried until a connection opens;
// meanwhile the readiness state says since when the process has had no
// connection, and it is ok again once one opens. A connection Slack
// replaces is not reported.
func TestSocketModeRetriesWhatARetryCanFix(t *testing.T) {
	tr := newTransport(t)
	tr.srv.ErrorNext("apps.connections.open", 2, "internal_error")
	ctx := runSocket(t, tr)
	require.NoError(t, tr.srv.WaitSocketConnected(ctx))
	require.Eventually(t, func() bool { s, _ := tr.h.SocketModeState(ctx); return s == "ok" }, 5*time.Second, 5*time.Millisecond)
	require.Len(t, tr.srv.CallsTo("apps.connections.open"), 3)

	tr.srv.DisconnectSockets("refresh_requested")
	require.NoError(t, tr.srv.WaitSocketConnected(ctx))
	require.Eventually(t, func() bool { return len(tr.srv.CallsTo("apps.connections.open")) == 4 }, 5*time.Second, 5*time.Millisecond)
	state, err := tr.h.SocketModeState(ctx)
	require.NoError(t, err, "a connection Slack replaced is not a problem")
	require.Equal(t, "ok", state)

	// Lost, and Slack failing the next attempts.
	tr.srv.ErrorNext("apps.connections.open", 3, "internal_error")
	tr.srv.DisconnectSockets("warning")
	require.Eventually(t, func() bool { s, _ := tr.h.SocketModeState(ctx); return s == "disconnected" }, 5*time.Second, 2*time.Millisecond)
	_, err = tr.h.SocketModeState(ctx)
	require.ErrorContains(t, err, "disconnected since "+tr.clock.Now().UTC().Format(time.RFC3339))
	require.ErrorContains(t, err, "internal_error")
	require.Eventually(t, func() bool { s, _ := tr.h.SocketModeState(ctx); return s == "ok" }, 10*time.Second, 5*time.Millisecond, "connected again")
}

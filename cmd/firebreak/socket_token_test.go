package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestRefusedAppTokenNamesTheSetting: in Socket Mode, an app-level token
// Slack refuses stops the bot with a message naming SLACK_APP_TOKEN and
// what it must be, not only Slack's error code.
func TestRefusedAppTokenNamesTheSetting(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	env := map[string]string{
		"ADMIN_ADDR":      freeAddr(t),
		"HTTP_ADDR":       freeAddr(t),
		"SLACK_BOT_TOKEN": fake.BotToken(),
		"SLACK_APP_TOKEN": "xapp-1-wrong",
		"SLACK_API_URL":   fake.URL(),
		"SLACK_MODE":      "socket",
		"SQLITE_PATH":     filepath.Join(t.TempDir(), "firebreak.db"),
		"LOG_FORMAT":      "json",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logs := &syncBuffer{}
	err := run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, logs)
	require.Error(t, err, "the bot stops")
	require.NotErrorIs(t, err, context.DeadlineExceeded, "%s", logs.String())
	require.Contains(t, err.Error(), "SLACK_APP_TOKEN")
	require.Contains(t, err.Error(), "invalid_auth")
	require.Contains(t, err.Error(), "connections:write")
}

// TestAppTokenWithoutConnectionsWriteNamesTheSetting: README "Create the
// Slack app" step 4 asks for an app-level token with connections:write. One
// generated with another scope is answered missing_scope by
// apps.connections.open, which slack-go would retry for ever (backoff up to
// 5 minutes), logging only "err=missing_scope". The bot stops at once with
// the sentence naming SLACK_APP_TOKEN and connections:write.
func TestAppTokenWithoutConnectionsWriteNamesTheSetting(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.ErrorNext("apps.connections.open", 1000, "missing_scope")
	env := map[string]string{
		"ADMIN_ADDR":      freeAddr(t),
		"HTTP_ADDR":       freeAddr(t),
		"SLACK_BOT_TOKEN": fake.BotToken(),
		"SLACK_APP_TOKEN": fake.AppToken(),
		"SLACK_API_URL":   fake.URL(),
		"SQLITE_PATH":     filepath.Join(t.TempDir(), "firebreak.db"),
		"LOG_FORMAT":      "json",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logs := &syncBuffer{}
	err := run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, logs)
	require.Error(t, err, "the bot stops")
	require.NotErrorIs(t, err, context.DeadlineExceeded, "%s", logs.String())
	require.Contains(t, err.Error(), "SLACK_APP_TOKEN (missing_scope)")
	require.Contains(t, err.Error(), "connections:write")
	require.Contains(t, logs.String(), "SLACK_APP_TOKEN (missing_scope)", "the log says it too")
	require.Len(t, fake.CallsTo("apps.connections.open"), 1, "a refusal no retry can fix is not retried")
	require.NotContains(t, err.Error(), "SLACK_BOT_TOKEN", "the bot token is fine")
}

// TestRefusedBotTokenNamesTheSetting: README "Run it" with a bot token Slack
// refuses (a typo, a token of another app, a revoked one): the log a person
// reads and /readyz name SLACK_BOT_TOKEN and where the right one is, as a
// refused app token names SLACK_APP_TOKEN. The log line still starts with
// "Slack auth.test failed", which alerts may match.
func TestRefusedBotTokenNamesTheSetting(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	b := startBot(t, botOptions{mode: "http", slack: fake, env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-wrong", "LOG_LEVEL": "info"}})
	require.Eventually(t, func() bool {
		_, r := b.readyz()
		return strings.Contains(r.Checks["slack_auth"].Error, "invalid_auth")
	}, 10*time.Second, 50*time.Millisecond)
	code, r := b.readyz()
	require.Equal(t, http.StatusServiceUnavailable, code)
	for _, want := range []string{"SLACK_BOT_TOKEN", "invalid_auth", "Bot User OAuth Token (xoxb-...)", "OAuth & Permissions"} {
		require.Contains(t, r.Checks["slack_auth"].Error, want)
	}
	var line string
	for l := range strings.Lines(b.logs.String()) {
		if strings.Contains(l, "Slack auth.test failed") {
			line = l
			break
		}
	}
	for _, want := range []string{"SLACK_BOT_TOKEN", "invalid_auth", "Bot User OAuth Token (xoxb-...)", "OAuth & Permissions"} {
		require.Contains(t, line, want)
	}
}

// TestBothRefusedTokensAreNamed: in Socket Mode with both tokens wrong, the
// refused app token stops the bot; its error names the bot token too, so
// the person fixes both at once.
func TestBothRefusedTokensAreNamed(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	env := map[string]string{
		"ADMIN_ADDR":      freeAddr(t),
		"HTTP_ADDR":       freeAddr(t),
		"SLACK_BOT_TOKEN": "xoxb-wrong",
		"SLACK_APP_TOKEN": "xapp-1-wrong",
		"SLACK_API_URL":   fake.URL(),
		"SQLITE_PATH":     filepath.Join(t.TempDir(), "firebreak.db"),
		"LOG_FORMAT":      "json",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	logs := &syncBuffer{}
	err := run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, logs)
	require.Error(t, err)
	require.Contains(t, err.Error(), "SLACK_APP_TOKEN (invalid_auth)")
	require.Contains(t, err.Error(), "SLACK_BOT_TOKEN was refused by Slack (invalid_auth)")
}

// TestDefaultInstanceIDTellsProcessesOnOneHostApart: without INSTANCE_ID,
// two processes on one host (which cannot share a port) get different
// ids, and a restart on the same port keeps its own.
func TestDefaultInstanceIDTellsProcessesOnOneHostApart(t *testing.T) {
	t.Parallel()
	a, b := instanceID(Config{HTTPAddr: ":8080"}), instanceID(Config{HTTPAddr: "127.0.0.1:8081"})
	require.NotEqual(t, a, b)
	require.Equal(t, a, instanceID(Config{HTTPAddr: ":8080"}), "a restart keeps its id")
	require.True(t, strings.HasSuffix(a, "-8080"), a)
	require.Equal(t, "replica-1", instanceID(Config{HTTPAddr: ":8080", InstanceID: "replica-1"}), "INSTANCE_ID wins")
}

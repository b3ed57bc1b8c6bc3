package main

import (
	"context"
	"io"
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

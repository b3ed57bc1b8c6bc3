package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestSlowAuthTestLogSaysRequestsAreRefused: Slack does not answer the
// program's first auth.test before it starts listening. The log tells the
// operator what people then see: every command, click and form is refused
// until Slack answers (ADR 0058), not taken unchecked.
func TestSlowAuthTestLogSaysRequestsAreRefused(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(slackfake.WithChatWritePublic())
	t.Cleanup(fake.Close)
	fake.SetLatency("auth.test", firstAuthWait+time.Second)
	b := startBot(t, botOptions{mode: "http", slack: fake})
	logs := b.logs.String()
	require.Contains(t, logs, "every command, click and form is refused until it does")
	require.NotContains(t, logs, "taken without checking")
}

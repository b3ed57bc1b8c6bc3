package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestShutdownFinishesRunningJobs: SIGTERM lets a running job finish within
// SHUTDOWN_TIMEOUT. A war room's setup job waiting on a slow Slack (2 s)
// when the program is told to stop completes the war room, rather than
// being cancelled and left to a retry on another replica.
func TestShutdownFinishesRunningJobs(t *testing.T) {
	t.Parallel()
	for _, process := range []bool{false, true} {
		name := "in process"
		if process {
			name = "SIGTERM to a process"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fake := slackfake.New(slackfake.WithChatWritePublic())
			t.Cleanup(fake.Close)
			b := startBot(t, botOptions{mode: "http", slack: fake, process: process})
			fake.SetLatency("conversations.create", 2*time.Second)
			creating := arrival(fake, "conversations.create")
			_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P2 drain on shutdown")
			require.Contains(t, text, "INC-1")
			await(t, creating, 10*time.Second, "the setup job to ask Slack for the channel")

			stopped := time.Now()
			b.stop() // SHUTDOWN_TIMEOUT is 10s in the harness
			took := time.Since(stopped)
			logs := b.logs.String()
			require.False(t, strings.Contains(logs, "context canceled"), "the running setup job was let finish")
			require.Len(t, fake.CallsTo("pins.add"), 1, "the war room the running job was building was completed before exit")
			require.Greater(t, took, time.Second, "the shutdown waited for the job")
			require.Less(t, took, 10*time.Second, "and no longer than it took")
			require.True(t, strings.Contains(logs, `"job engine stopped"`), "the engine stopped cleanly")
		})
	}
}

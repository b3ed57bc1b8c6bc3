package main

import (
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident/pgtest"
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

// TestShutdownWithHungDatabaseEndsWithinTimeout: with PostgreSQL hung
// (packets held, as in a network partition), the program still exits
// about SHUTDOWN_TIMEOUT after SIGTERM, rather than waiting on the
// database for ever to record its stop or to close its pools.
func TestShutdownWithHungDatabaseEndsWithinTimeout(t *testing.T) {
	t.Parallel()
	for _, process := range []bool{false, true} {
		name := "in process"
		if process {
			name = "SIGTERM to a process"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dsn := pgtest.DSN(t)
			u, err := url.Parse(dsn)
			require.NoError(t, err)
			proxy := newDBProxy(t, u.Host)
			const timeout = 3 * time.Second
			b := startBot(t, botOptions{mode: "http", databaseURL: proxy.through(dsn), process: process,
				env: map[string]string{"SHUTDOWN_TIMEOUT": timeout.String()}})
			_, text := b.command("http", "U0ALICE", "C0GENERAL", "list")
			require.NotEmpty(t, text)

			proxy.set(proxyHang)
			time.Sleep(500 * time.Millisecond)
			cancel := b.cancel
			b.cancel = nil // this test waits for the exit itself
			start := time.Now()
			cancel()
			select {
			case err := <-b.done:
				took := time.Since(start)
				t.Logf("exited %s after SIGTERM: %v", took.Round(time.Millisecond), err)
				require.Less(t, took, timeout+closeGrace+time.Second, "within SHUTDOWN_TIMEOUT and a small margin")
				if testing.Verbose() {
					for _, l := range strings.Split(b.logs.String(), "\n") {
						if strings.Contains(l, `"WARN"`) || strings.Contains(l, `"ERROR"`) || strings.Contains(l, "stop") {
							t.Logf("%.300s", l)
						}
					}
				}
			case <-time.After(timeout + 12*time.Second):
				if !process {
					buf := make([]byte, 1<<22)
					buf = buf[:runtime.Stack(buf, true)]
					for _, g := range strings.Split(string(buf), "\n\n") {
						if strings.Contains(g, "firebreak/cmd/firebreak.run(") || strings.Contains(g, "jobs.(*takeover)") {
							t.Logf("stuck: %.3000s", g)
						}
					}
				}
				proxy.set(proxyPass) // let it go, so the test's cleanup ends
				t.Errorf("still running %s after SIGTERM with SHUTDOWN_TIMEOUT=%s and the database hung", timeout+12*time.Second, timeout)
				select {
				case <-b.done:
				case <-time.After(20 * time.Second):
				}
			}
			proxy.set(proxyPass)
		})
	}
}

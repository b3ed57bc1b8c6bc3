package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// fastNags is a policy whose P1 wants an update every few seconds, so the
// real program's durable timers can be watched firing.
func fastNags(every time.Duration) string {
	return fmt.Sprintf("severities:\n  P1:\n    update_every: %s\n    respond_within: 1h\n", every)
}

func nagMessages(fake *slackfake.Server, channelID string) []string {
	var out []string
	for _, m := range fake.Messages(channelID) {
		if strings.Contains(m.Text, "needs a status update") {
			out = append(out, m.Text)
		}
	}
	return out
}

// TestNagDueDuringRestartIsPostedOnce stops the bot while a nag is due and
// starts it again on the same database: the missed nag is posted once, not
// once per missed cadence.
func TestNagDueDuringRestartIsPostedOnce(t *testing.T) {
	t.Parallel()
	const every = 4 * time.Second
	fake := seededSlack(t)
	dsn := pgtest.MigratedDSN(t)
	env := map[string]string{"POLICY_FILE": writePolicyFile(t, fastNags(every))}
	a := startBot(t, botOptions{mode: "http", slack: fake, databaseURL: dsn, env: env})
	_, text := a.command("http", "U0ALICE", "C0GENERAL", "declare P1 nag restart")
	require.Contains(t, text, "Declaring INC-1")
	ch := waitChannel(t, fake, fmt.Sprintf("inc-%s-nag-restart", time.Now().UTC().Format("2006-01-02")))
	a.stop()
	require.Empty(t, nagMessages(fake, ch.ID), "no nag before the first cadence")

	// Three cadences pass while the bot is down, and nothing nags.
	require.Never(t, func() bool { return len(nagMessages(fake, ch.ID)) > 0 }, 3*every+every/2, 100*time.Millisecond,
		"nothing nags while the bot is down")
	b := startBot(t, botOptions{mode: "http", slack: fake, databaseURL: dsn, env: env})
	require.Eventually(t, func() bool { return len(nagMessages(fake, ch.ID)) >= 1 }, 20*time.Second, 50*time.Millisecond)
	require.Never(t, func() bool { return len(nagMessages(fake, ch.ID)) > 1 }, every/2, 50*time.Millisecond,
		"one nag for the downtime, not a burst")
	b.stop()
}

// TestTwoInstancesPostEachNagOnce runs two bots on one PostgreSQL database:
// every nag is posted by exactly one of them.
func TestTwoInstancesPostEachNagOnce(t *testing.T) {
	t.Parallel()
	const every = 3 * time.Second
	fake := seededSlack(t)
	dsn := pgtest.MigratedDSN(t)
	env := map[string]string{"POLICY_FILE": writePolicyFile(t, fastNags(every))}
	a := startBot(t, botOptions{mode: "http", slack: fake, databaseURL: dsn, env: env})
	b := startBot(t, botOptions{mode: "http", slack: fake, databaseURL: dsn, env: env})
	_, text := a.command("http", "U0ALICE", "C0GENERAL", "declare P1 two replicas")
	require.Contains(t, text, "Declaring INC-1")
	ch := waitChannel(t, fake, fmt.Sprintf("inc-%s-two-replicas", time.Now().UTC().Format("2006-01-02")))

	require.Eventually(t, func() bool { return len(nagMessages(fake, ch.ID)) >= 3 }, 40*time.Second, 50*time.Millisecond)
	nags := nagMessages(fake, ch.ID)
	require.Contains(t, nags[0], "needs a status update")
	require.NotContains(t, nags[0], "Second reminder")
	require.Contains(t, nags[1], "Second reminder", "the second nag is the second rung, posted once")
	require.Contains(t, nags[2], "3 updates missed")
	require.Len(t, fake.CallsTo("conversations.create"), 1)
	// Each nag is counted by the replica that posted it: one of each level across both.
	for _, level := range []string{`level="1"`, `level="2"`} {
		require.Equal(t, 1.0, a.metric("firebreak_nags_sent_total", `severity="P1"`, level)+b.metric("firebreak_nags_sent_total", `severity="P1"`, level), level)
	}
	_, text = b.command("http", "U0ALICE", ch.ID, "update all good now")
	require.Contains(t, text, "Update posted")
	a.stop()
	b.stop()
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// TestExamplePolicyDeclaresNoDrillAtAFirstStartAfterItsSlot: the example
// policy's monthly drill (day 1, 10:00 UTC) is due at its slot. A first
// start days later does not declare it in the workspace, with the
// example's placeholder responders, at the first follow-through check: the
// period's drill is skipped, and the log names it and the next slot. Back
// within the catch-up window after the next slot, it is declared.
func TestExamplePolicyDeclaresNoDrillAtAFirstStartAfterItsSlot(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docs/policy.example.yaml")
	require.NoError(t, err)
	pol := strings.Replace(string(raw), "check_every: 5m", "check_every: 1s", 1)
	require.NotEqual(t, string(raw), pol, "the example's check_every")
	path := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(path, []byte(pol), 0o600))
	fake := slackfake.New(slackfake.WithChatWritePublic())
	t.Cleanup(fake.Close)
	clock := incidenttest.NewClock(time.Date(2026, 8, 5, 12, 0, 0, 0, time.UTC)) // a Wednesday, four days after the slot
	b := startBot(t, botOptions{mode: "http", slack: fake, clock: clock, env: map[string]string{"POLICY_FILE": path}})

	require.Eventually(t, func() bool {
		return strings.Contains(b.logs.String(), "scheduled drill monthly-checkout skipped for 2026-08")
	}, 15*time.Second, 50*time.Millisecond)
	require.Contains(t, b.logs.String(), "the next is at 2026-09-01 10:00 UTC")
	time.Sleep(2 * time.Second) // two more checks
	require.Empty(t, fake.CallsTo("conversations.create"), "nobody declared anything")

	clock.Set(time.Date(2026, 9, 1, 10, 20, 0, 0, time.UTC))
	require.Eventually(t, func() bool { return len(fake.CallsTo("conversations.create")) == 1 }, 15*time.Second, 50*time.Millisecond)
	require.Contains(t, fake.CallsTo("conversations.create")[0].Args.Get("name"), "inc-drill-")
}

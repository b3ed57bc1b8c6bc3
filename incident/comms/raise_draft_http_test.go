package comms_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/storetest"
)

// TestRaisedClockDraftCountsFromTheRaise: a P2 declared at 14:23 (no
// status page clock) raised to P1 at 15:03 starts the clock at the raise:
// the draft gives 15:13 as the deadline, as the nudge and the escalation
// count from the raise.
func TestRaisedClockDraftCountsFromTheRaise(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t, storetest.Memory, publicPages[0].open)
	ctx := context.Background()
	inc := b.declare(t, incident.P2)
	b.advance(t, 40*time.Minute, 30*time.Second, 0)
	require.Zero(t, b.said(inc, "Status page draft"), "P2 has no clock by default")

	_, err := b.core.SetSeverity(ctx, inc.ID, incident.P1, b.ic.ID)
	require.NoError(t, err)
	b.run(t)
	draft := b.message(t, inc, "Status page draft for INC-1")
	require.Contains(t, draft, "within 10 minutes, by 15:13 UTC", "the deadline counts from the raise")

	b.advance(t, 5*time.Minute+30*time.Second, 30*time.Second, 0)
	require.Equal(t, 1, b.said(inc, "5 minutes left of the 10 minutes target"))
	b.advance(t, 5*time.Minute, 30*time.Second, 0)
	require.Equal(t, 1, b.said(inc, "INC-1: 10 minutes without a status page post."))
}

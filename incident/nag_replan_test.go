package incident_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestNagLowerThenRaiseKeepsReminding: a P1 lowered to P3 long enough for
// its pending reminder to fire (and end, P3 has no cadence), then raised
// back: the reminder that is overdue by then comes at once and the ladder
// climbs on, although its due time is the one the ended timer had.
func TestNagLowerThenRaiseKeepsReminding(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 5*time.Minute)
	_, err := b.svc.SetSeverity(ctx, inc.ID, incident.P3, "U0DECL")
	require.NoError(t, err)
	advance(t, b, 10*time.Minute) // the 10-minute reminder fires while P3 and ends
	require.Empty(t, b.chat.Nags)

	_, err = b.svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
	require.NoError(t, err)
	advance(t, b, 30*time.Second)
	require.Len(t, b.chat.Nags, 1, "the overdue reminder comes at once")
	advance(t, b, 10*time.Minute)
	require.Len(t, b.chat.Nags, 2, "and the ladder climbs at P1's cadence")
}

// TestNagLowerThenRaiseMidLadderKeepsReminding: the same with the ladder
// at its third rung when the incident is lowered.
func TestNagLowerThenRaiseMidLadderKeepsReminding(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) { p.CommanderGroup = "S0ICS" })
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 30*time.Minute+30*time.Second)
	require.Len(t, b.chat.Nags, 3)
	_, err := b.svc.SetSeverity(ctx, inc.ID, incident.P3, "U0DECL")
	require.NoError(t, err)
	advance(t, b, time.Hour)
	require.Len(t, b.chat.Nags, 3, "P3 has no reminders")

	_, err = b.svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
	require.NoError(t, err)
	advance(t, b, 30*time.Second)
	require.Len(t, b.chat.Nags, 4, "the overdue fourth reminder comes at once")
	require.Contains(t, b.chat.Nags[3], "4 updates missed")
	advance(t, b, 3*time.Hour)
	require.Greater(t, len(b.chat.Nags), 5, "the ladder goes on")
}

// TestNagOverduePlannedTwiceRemindsOnce: an overdue reminder planned twice
// a few seconds apart (two changes, on two replicas or one) gets two
// timers, and says the reminder once.
func TestNagOverduePlannedTwiceRemindsOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	_, err := b.svc.SetSeverity(ctx, inc.ID, incident.P3, "U0DECL")
	require.NoError(t, err)
	advance(t, b, 20*time.Minute)

	_, err = b.svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
	require.NoError(t, err)
	b.clock.Advance(5 * time.Second) // the first timer has not run yet
	_, err = b.svc.SetSeverity(ctx, inc.ID, incident.P2, "U0DECL")
	require.NoError(t, err)
	require.Equal(t, 2, b.queue.Pending(incident.JobNag), "each plan is a timer of its own")

	advance(t, b, 30*time.Second)
	require.Len(t, b.chat.Nags, 1, "one reminder: %q", b.chat.Nags)
	advance(t, b, 14*time.Minute)
	require.Len(t, b.chat.Nags, 1, "the next one waits P2's cadence")
	advance(t, b, 2*time.Minute)
	require.Len(t, b.chat.Nags, 2)
}

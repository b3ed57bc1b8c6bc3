package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// A P1 its IC mitigated at minute 3 has had its response: at the
// response-time target (15 minutes) nobody is told it was not acknowledged
// and the backup group is not called on.
func TestMitigatedIncidentIsNotCalledUnacknowledged(t *testing.T) {
	b := setup(t, func(p *incident.Policy) { p.CommanderGroup = "S0ICS" })
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 3*time.Minute)
	_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusMitigated, "U0DECL", "")
	require.NoError(t, err)
	advance(t, b, 15*time.Minute)
	posts := strings.Join(b.chat.PostsIn(inc.ChannelID), "\n")
	require.Contains(t, posts, "mitigated")
	require.NotContains(t, posts, "has not been acknowledged")

	// The same incident still investigating is called on, as before.
	other := readyAt(t, b, incident.P1)
	advance(t, b, 16*time.Minute)
	require.Contains(t, strings.Join(b.chat.PostsIn(other.ChannelID), "\n"), "has not been acknowledged")
}

// The job engine starts timers by the database's clock; a replica whose
// clock is behind it runs the update reminder "early". The timer waits out
// the difference and reminds then, and the ladder goes on: planning itself
// again under its own key, which its own job still holds, would store
// nothing and end the reminders for good.
func TestTimerRunEarlyByThisClockStillReminds(t *testing.T) {
	b := setup(t)
	inc := readyAt(t, b, incident.P1)
	due := b.clock.Now().Add(10 * time.Minute)
	b.clock.Advance(10*time.Minute - 2*time.Second)
	b.queue.RunDue(t, due) // the engine's clock says due; this one is 2 s short
	require.Empty(t, b.chat.Nags, "not before its time by this clock")
	b.clock.Advance(2 * time.Second)
	b.queue.RunDue(t, due.Add(2*time.Second))
	require.Len(t, b.chat.Nags, 1, "the timer that ran early reminds at its time")
	for range 2 {
		b.clock.Advance(10 * time.Minute)
		b.queue.RunDue(t, b.clock.Now().Add(2*time.Second))
	}
	require.Len(t, b.chat.Nags, 3, "and the ladder goes on to its last step")
	posts := strings.Join(b.chat.PostsIn(inc.ChannelID), "\n")
	require.Contains(t, posts, "has not been acknowledged", "the response-time check ran early too, and said so at its time")
}

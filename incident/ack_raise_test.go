package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestAckCheckRaiseCountsFromTheRaise: a P3 open for two hours raised to
// P1 has P1's 15 minutes from the raise to be acknowledged, not a target
// missed the moment the P1 page goes out; when it is missed, the channel is
// told it counted from the raise.
func TestAckCheckRaiseCountsFromTheRaise(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P3)
	advance(t, b, 2*time.Hour)
	_, err := b.svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
	require.NoError(t, err)
	advance(t, b, 30*time.Second)
	require.NotContains(t, strings.Join(b.chat.PostsIn(inc.ChannelID), "\n"), "has not been acknowledged", "raised 30 seconds ago")
	advance(t, b, 14*time.Minute)
	require.NotContains(t, strings.Join(b.chat.PostsIn(inc.ChannelID), "\n"), "has not been acknowledged", "raised 14m30s ago")

	advance(t, b, time.Minute)
	posts := strings.Join(b.chat.PostsIn(inc.ChannelID), "\n")
	require.Equal(t, 1, strings.Count(posts, "has not been acknowledged"), "%s", posts)
	require.Contains(t, posts, "*INC-1 has not been acknowledged* within 15 minutes of the raise to P1 (raised 15m00s ago).")
	tl, err := b.store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	var said []string
	for _, ev := range tl {
		if ev.Kind == incident.EventAckMissed {
			said = append(said, ev.Text)
		}
	}
	require.Len(t, said, 1, "on the timeline once")
}

// TestAckCheckLoweredKeepsCountingFromTheDeclare: a P1
// lowered to P2 has been P2 or worse since its declare, so P2's hour runs
// from the declare, and says so.
func TestAckCheckLoweredKeepsCountingFromTheDeclare(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) {
		sp := p.Severities[incident.P1]
		sp.RespondWithin = 2 * time.Hour // P1's check stays out of the way
		p.Severities[incident.P1] = sp
	})
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 10*time.Minute)
	_, err := b.svc.SetSeverity(ctx, inc.ID, incident.P2, "U0DECL")
	require.NoError(t, err)
	advance(t, b, 49*time.Minute)
	require.NotContains(t, strings.Join(b.chat.PostsIn(inc.ChannelID), "\n"), "has not been acknowledged")
	advance(t, b, 2*time.Minute)
	posts := strings.Join(b.chat.PostsIn(inc.ChannelID), "\n")
	require.Contains(t, posts, "within its 1 hour target for P2 (declared 1h00m ago)")
}

// TestAckCheckLoweredPastItsTargetSaysSoAtOnce: a P2 raised to P1 and then
// lowered back after P2's hour had passed unacknowledged: the P2 target
// (counted from the declare) is missed, and is said at the lowering,
// although a check with that due time ran and ended while it was P1.
func TestAckCheckLoweredPastItsTargetSaysSoAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P2)
	advance(t, b, 50*time.Minute)
	_, err := b.svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
	require.NoError(t, err)
	advance(t, b, 11*time.Minute) // P2's check, due at the hour, ran and found P1's target ahead
	require.NotContains(t, strings.Join(b.chat.PostsIn(inc.ChannelID), "\n"), "has not been acknowledged")

	_, err = b.svc.SetSeverity(ctx, inc.ID, incident.P2, "U0DECL")
	require.NoError(t, err)
	advance(t, b, 30*time.Second)
	posts := strings.Join(b.chat.PostsIn(inc.ChannelID), "\n")
	require.Equal(t, 1, strings.Count(posts, "has not been acknowledged"), "%s", posts)
	require.Contains(t, posts, "within its 1 hour target for P2")
	advance(t, b, 10*time.Minute)
	require.Equal(t, 1, strings.Count(strings.Join(b.chat.PostsIn(inc.ChannelID), "\n"), "has not been acknowledged"), "said once")
}

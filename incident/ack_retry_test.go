package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestAckCheckSlackFailureIsRetried: Slack fails the post of the "not
// acknowledged" warning once; the check's retry posts it, calling on the
// commander group, and the timeline records it once, after it was said.
func TestAckCheckSlackFailureIsRetried(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) { p.CommanderGroup = "S0ICS" })
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 14*time.Minute+30*time.Second)
	b.chat.Mu.Lock()
	b.chat.Fail["post"] = 1
	b.chat.Fail["post_buttons"] = 1
	b.chat.Mu.Unlock()
	advance(t, b, 2*time.Minute)

	posts := strings.Join(b.chat.PostsIn(inc.ChannelID), "\n")
	require.Equal(t, 1, strings.Count(posts, "has not been acknowledged"), "said once, by the retry: %s", posts)
	require.Contains(t, posts, "<!subteam^S0ICS>, please respond.")
	tl, err := b.store.ListTimeline(context.Background(), inc.ID)
	require.NoError(t, err)
	n := 0
	for _, ev := range tl {
		if ev.Kind == incident.EventAckMissed {
			n++
		}
	}
	require.Equal(t, 1, n, "on the timeline once")

	advance(t, b, time.Hour)
	require.Equal(t, 1, strings.Count(strings.Join(b.chat.PostsIn(inc.ChannelID), "\n"), "has not been acknowledged"), "and never again")
}

// TestAckCheckSaidOncePerIncident: a check that finds the warning said
// already (a second timer of the same incident) says nothing.
func TestAckCheckSaidOncePerIncident(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 16*time.Minute)
	require.Equal(t, 1, strings.Count(strings.Join(b.chat.PostsIn(inc.ChannelID), "\n"), "has not been acknowledged"))
	// Lowered to P2 past P2's hour: its check is due at once, and finds
	// the warning said.
	advance(t, b, time.Hour)
	_, err := b.svc.SetSeverity(ctx, inc.ID, incident.P2, "U0DECL")
	require.NoError(t, err)
	advance(t, b, time.Minute)
	require.Equal(t, 1, strings.Count(strings.Join(b.chat.PostsIn(inc.ChannelID), "\n"), "has not been acknowledged"))
}

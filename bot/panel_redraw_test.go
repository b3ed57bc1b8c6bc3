package bot_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
)

// movingClock is a chat clock a test moves forward.
type movingClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *movingClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *movingClock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// panelFixture posts an incident's panel with a clock the test moves.
func panelFixture(t *testing.T) (*chatFixture, *movingClock, *incident.Incident) {
	t.Helper()
	clock := &movingClock{now: chatNow}
	f := newChatFixture(t, func(c *chatFixtureConfig) { c.opts = append(c.opts, bot.WithChatClock(clock)) })
	ch := f.botChannel(t, "inc-42")
	inc := testIncident(ch.ID)
	ts, err := f.chat.PostPanel(context.Background(), inc)
	require.NoError(t, err)
	inc.PanelTS = ts
	return f, clock, inc
}

// Every sync redraws the panel as the incident is; one whose incident has
// not changed is not edited again however much time has passed, so syncs
// spend none of chat.update's Tier 3 budget on it (and a rate limit there
// delays nothing).
func TestPanelRedrawSkippedWhenUnchanged(t *testing.T) {
	t.Parallel()
	f, clock, inc := panelFixture(t)
	for range 5 {
		clock.add(7 * time.Second)
		require.NoError(t, f.chat.UpdatePanel(context.Background(), inc)) // nothing about the incident changed
	}
	clock.add(3 * time.Hour)
	require.NoError(t, f.chat.UpdatePanel(context.Background(), inc))
	require.Equal(t, 0, len(f.srv.CallsTo("chat.update")), "an unchanged incident's panel is not edited again")
}

// A real change is drawn, once, whatever the clock says.
func TestPanelRedrawnOnceWhenARoleChanges(t *testing.T) {
	t.Parallel()
	f, clock, inc := panelFixture(t)
	ctx := context.Background()
	clock.add(time.Minute)
	inc.Roles = map[string]string{incident.RoleComms: f.carol.ID}
	for range 3 {
		require.NoError(t, f.chat.UpdatePanel(ctx, inc))
		clock.add(9 * time.Second)
	}
	require.Equal(t, 1, len(f.srv.CallsTo("chat.update")), "the new Comms lead is drawn once")
	msg, ok := f.srv.Message(inc.ChannelID, inc.PanelTS)
	require.True(t, ok)
	require.Contains(t, blockTexts(t, msg.Blocks), "*Comms*\n<@"+f.carol.ID+">")
}

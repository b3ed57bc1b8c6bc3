package followthrough_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/followthrough"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// departedChat is the chat of a workspace that someone has left: Slack
// refuses to open a direct message with a deactivated account
// (conversations.open answers user_disabled), which the bot reports as
// Slack's refusal, not as Slack being unavailable.
type departedChat struct {
	*incidenttest.Chat
	gone  string
	tries int
}

func (c *departedChat) Tell(ctx context.Context, to incident.ReplyTarget, n incident.Notice) error {
	if to.UserID == c.gone {
		c.tries++
		return incident.Errorf(incident.EINTERNAL, "Slack refused to open a direct message: Slack said user_disabled.")
	}
	return c.Chat.Tell(ctx, to, n)
}

// TestFollowUpOfSomeoneWhoLeftStillReachesTheIC: the owner of an action
// item has left the workspace. Their due-date reminder and overdue notice
// cannot reach them; the overdue escalation still reaches the IC, once,
// and the bot does not try the departed owner again at every check.
func TestFollowUpOfSomeoneWhoLeftStillReachesTheIC(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	chat := &departedChat{Chat: b.chat, gone: "U0GONE"}
	ft := followthrough.New(followthrough.Config{Store: b.store, Core: b.svc, Chat: chat, Scheduler: b.queue, Policy: b.svc.Policy(), Clock: b.clock})
	ft.RegisterJobs(b.queue)

	inc := declare(t, b, "checkout is down", incident.P2, "")
	require.Empty(t, b.queue.RunAll(t))
	due := time.Date(2026, 8, 11, 0, 0, 0, 0, time.UTC) // Tuesday
	_, err := b.capt.AddFollowUp(ctx, inc.ID, "U0DECL", "alert when pool use is over 80%", "U0GONE", &due)
	require.NoError(t, err)
	closeIncident(t, b, inc)
	require.Empty(t, b.queue.RunAll(t))

	sweep := func() []error {
		t.Helper()
		_, err := ft.Sweep(ctx)
		require.NoError(t, err)
		return b.queue.RunDue(t, b.clock.Now())
	}

	// Monday: the reminder cannot reach the owner; nothing is retried for it.
	b.clock.Set(time.Date(2026, 8, 10, 9, 0, 0, 0, time.UTC))
	require.Empty(t, sweep(), "a person who left is passed over, not a failing job")
	b.clock.Set(time.Date(2026, 8, 10, 15, 0, 0, 0, time.UTC))
	require.Empty(t, sweep())
	require.Equal(t, 1, chat.tries, "the departed owner is tried once for the reminder")

	// Wednesday: overdue; the IC hears of it although the owner cannot.
	b.clock.Set(time.Date(2026, 8, 12, 9, 30, 0, 0, time.UTC))
	require.Empty(t, sweep())
	b.clock.Set(time.Date(2026, 8, 12, 15, 30, 0, 0, time.UTC))
	require.Empty(t, sweep())
	require.Len(t, repliesContaining(b.chat, "U0DECL: :red_circle: A follow-up from "+inc.Key()), 1, "the IC's escalation, once")
	require.Equal(t, 2, chat.tries, "the departed owner is tried once for the overdue notice")
}

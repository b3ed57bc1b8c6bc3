package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/storetest"
)

// ladderAtTop is a P1 (a 10-minute cadence) on a store of kind whose
// reminder ladder has climbed to its top: three nags, the third calling
// the commander group, nobody having posted an update.
func ladderAtTop(t *testing.T, kind storetest.Kind) (bundle, incident.Store, *incident.Incident) {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	q := incidenttest.NewQueue()
	store := storetest.Open[incident.Store](t, kind, clock, q)
	policy := incident.DefaultPolicy()
	policy.CommanderGroup = "S0ICS"
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout"}}
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	b := bundle{svc: svc, chat: c, queue: q, clock: clock}

	inc := declare(t, b, "checkout is down", incident.P1, "")
	q.RunDue(t, clock.Now())
	advance(t, b, 30*time.Minute)
	require.Len(t, c.Nags, 3)
	require.Contains(t, c.Nags[2], "<!subteam^S0ICS>, please help the IC or take over", "the ladder is at its top")
	inc, err := store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Equal(t, 3, inc.NagCount)
	return b, store, inc
}

// nagDMs are the missed-update reminders the chat sent user directly.
func nagDMs(c *incidenttest.Chat, user string) []string {
	var out []string
	for _, r := range c.Replies {
		if strings.HasPrefix(r, user+": ") && strings.Contains(r, "needs a status update") {
			out = append(out, r)
		}
	}
	return out
}

// TestHandoffRestartsTheReminderLadder: a new IC has just taken over, so
// the ladder starts again for them: the first step one cadence after the
// handoff, then the DM to the new IC, then the commander group, on every
// store.
func TestHandoffRestartsTheReminderLadder(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Every {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			b, store, inc := ladderAtTop(t, kind)
			ctx := context.Background()
			advance(t, b, 5*time.Minute)
			handed, err := b.svc.AssignRole(ctx, inc.ID, incident.RoleCommander, "U0NEW", "U0DECL")
			require.NoError(t, err)
			require.Equal(t, "U0NEW", handed.Commander)
			require.Zero(t, handed.NagCount, "the ladder is back at its foot with the role change")
			due, ok := incident.NextNagAt(handed, b.svc.Policy())
			require.True(t, ok)
			require.Equal(t, b.clock.Now().Add(10*time.Minute), due, "the new IC has one cadence to post")

			advance(t, b, 9*time.Minute)
			require.Len(t, b.chat.Nags, 3, "no reminder within the new IC's first cadence")
			advance(t, b, 2*time.Minute)
			require.Len(t, b.chat.Nags, 4)
			require.Contains(t, b.chat.Nags[3], "<@U0NEW>, *INC-1 needs a status update*", "the first step again, naming the new IC")
			require.NotContains(t, b.chat.Nags[3], "Second reminder")
			require.NotContains(t, b.chat.Nags[3], "S0ICS")

			advance(t, b, 10*time.Minute)
			require.Len(t, b.chat.Nags, 5)
			require.Contains(t, b.chat.Nags[4], "Second reminder; the IC has been messaged directly")
			require.Len(t, nagDMs(b.chat, "U0NEW"), 1, "the second step messages the new IC")
			require.Len(t, nagDMs(b.chat, "U0DECL"), 1, "the former IC had their one DM before the handoff, and no other")

			advance(t, b, 10*time.Minute)
			require.Len(t, b.chat.Nags, 6)
			require.Contains(t, b.chat.Nags[5], "<!subteam^S0ICS>, please help the IC or take over")

			events, err := store.ListTimeline(ctx, inc.ID)
			require.NoError(t, err)
			var nags []string
			for _, ev := range events {
				if ev.Kind == incident.EventNag {
					nags = append(nags, ev.Text)
				}
			}
			require.Equal(t, []string{"Update nag #1", "Update nag #2", "Update nag #3", "Update nag #1", "Update nag #2", "Update nag #3"}, nags,
				"the timeline keeps every reminder, the restarted ladder's too")
		})
	}
}

// TestHandoffToTheICChangesNothing: naming the IC as IC again is refused,
// and the ladder goes on where it was.
func TestHandoffToTheICChangesNothing(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Every {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			b, _, inc := ladderAtTop(t, kind)
			ctx := context.Background()
			before, ok := incident.NextNagAt(inc, b.svc.Policy())
			require.True(t, ok)
			_, err := b.svc.AssignRole(ctx, inc.ID, incident.RoleCommander, "U0DECL", "U0DECL")
			require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
			after, err := b.svc.Get(ctx, inc.ID)
			require.NoError(t, err)
			require.Equal(t, 3, after.NagCount)
			due, ok := incident.NextNagAt(after, b.svc.Policy())
			require.True(t, ok)
			require.Equal(t, before, due, "the next reminder stays where it was")

			advance(t, b, before.Sub(b.clock.Now())+time.Minute)
			require.Len(t, b.chat.Nags, 4)
			require.Contains(t, b.chat.Nags[3], "<!subteam^S0ICS>, please help the IC or take over", "still at the top")
		})
	}
}

// TestHandoffKeepsALongerPromise: an update that promised the next one
// later than a cadence from the handoff still holds the reminder off; a
// handoff soon before a reminder was due moves it a cadence on.
func TestHandoffKeepsALongerPromise(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	b := setup(t)
	inc := readyAt(t, b, incident.P1)
	_, err := b.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Known: "stable", NextIn: 25 * time.Minute})
	require.NoError(t, err)
	advance(t, b, 2*time.Minute)
	_, err = b.svc.AssignRole(ctx, inc.ID, incident.RoleCommander, "U0NEW", "U0DECL")
	require.NoError(t, err)
	advance(t, b, 22*time.Minute)
	require.Empty(t, b.chat.Nags, "the promise holds")
	advance(t, b, 2*time.Minute)
	require.Len(t, b.chat.Nags, 1)
	require.Contains(t, b.chat.Nags[0], "<@U0NEW>")

	b = setup(t)
	inc = readyAt(t, b, incident.P1)
	advance(t, b, 9*time.Minute)
	_, err = b.svc.AssignRole(ctx, inc.ID, incident.RoleCommander, "U0NEW", "U0DECL")
	require.NoError(t, err)
	advance(t, b, 9*time.Minute)
	require.Empty(t, b.chat.Nags, "the new IC has a cadence from the handoff")
	advance(t, b, 2*time.Minute)
	require.Len(t, b.chat.Nags, 1)
}

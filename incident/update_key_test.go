package incident_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/storetest"
)

// TestUpdateWithARepeatedKeyChangesNothing: an update is one transaction of
// the incident's change, the update and its timeline event, its message's
// job and the next reminder. A second update with the same key fails at
// the update's record, after the incident was changed on the transaction;
// nothing of it remains: the status and the reminder clock are the first
// update's, no event, no message, no reminder is added. On every store.
func TestUpdateWithARepeatedKeyChangesNothing(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Every {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
			q := incidenttest.NewQueue()
			store := storetest.Open[incident.Store](t, kind, clock, q)
			policy := incident.DefaultPolicy()
			policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout"}}
			c := incidenttest.NewChat()
			c.Word = bot.NoticeText
			svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
			svc.RegisterJobs(q)
			b := bundle{svc: svc, chat: c, queue: q, clock: clock}
			ctx := context.Background()

			inc := declare(t, b, "checkout is down", incident.P2, "")
			q.RunDue(t, clock.Now())
			inc, err := store.GetIncident(ctx, inc.ID)
			require.NoError(t, err)
			require.NotEmpty(t, inc.ChannelID)
			clock.Advance(2 * time.Minute)
			first, err := svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Known: "pool exhausted", Key: "api:1:k1"})
			require.NoError(t, err)
			require.Equal(t, incident.StatusInvestigating, first.Status)
			q.RunDue(t, clock.Now())
			count := func() (updates, events, posts int) {
				us, err := store.ListStatusUpdates(ctx, inc.ID)
				require.NoError(t, err)
				evs, err := store.ListTimeline(ctx, inc.ID)
				require.NoError(t, err)
				return len(us), len(evs), len(postsContaining(c, inc.ChannelID, "pool exhausted"))
			}
			u0, e0, p0 := count()
			require.Equal(t, 1, u0)
			require.Equal(t, 1, p0, "the update is said once")

			clock.Advance(3 * time.Minute)
			again, err := svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Known: "pool exhausted", Status: incident.StatusMitigated, Key: "api:1:k1"})
			require.ErrorIs(t, err, incident.ErrUpdateRepeated)
			require.NotNil(t, again)
			require.Equal(t, incident.StatusInvestigating, again.Status, "the repeat's status change was undone with it")
			require.Equal(t, first.LastUpdateAt, again.LastUpdateAt, "the reminder clock is the first update's")
			require.Nil(t, again.MitigatedAt)
			require.Zero(t, q.Pending(incident.JobSync), "no message")
			q.RunDue(t, clock.Now())
			u1, e1, p1 := count()
			require.Equal(t, []int{u0, e0, p0}, []int{u1, e1, p1}, "no update, event or message")

			other, err := svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Known: "pool exhausted, raising it", Status: incident.StatusMitigated, Key: "api:1:k2"})
			require.NoError(t, err)
			require.Equal(t, incident.StatusMitigated, other.Status)
			_, err = svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Known: "no key, no check"})
			require.NoError(t, err)
			_, err = svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Known: "no key, no check"})
			require.NoError(t, err, "updates without a key are never taken for repeats")
			us, err := store.ListStatusUpdates(ctx, inc.ID)
			require.NoError(t, err)
			require.Len(t, us, 4)
		})
	}
}

package changes_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/storetest"
)

// A confirmed rollback is stored with its timeline line and its job in
// one transaction on every store; a second confirmation is refused as the
// same rollback and leaves nothing behind.
func TestRollbackRequestOnEveryStore(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Every {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
			q := incidenttest.NewQueue()
			store := storetest.Open[interface {
				incident.Store
				changes.Store
			}](t, kind, clock, q)
			policy := incident.DefaultPolicy()
			policy.Services = map[string]incident.ServicePolicy{
				"checkout": {Key: "checkout", Name: "Checkout", Owners: []string{"S0CHECKOUT"},
					GitHub: incident.GitHubService{Repos: []string{"acme/checkout"}, Environments: []string{"production"}}},
			}
			c := incidenttest.NewChat()
			c.Word = bot.NoticeText
			c.Users["S0CHECKOUT"] = []string{"U0DECL"}
			gh := &fakeSource{name: "GitHub"}
			deploys := &fakeRollbacker{source: "github"}
			core := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
			core.RegisterJobs(q)
			chg := changes.New(changes.Config{Store: store, Core: core, Chat: c, Scheduler: q, Policy: policy, Clock: clock,
				Sources: []incident.ChangeSource{gh}, Rollbackers: []incident.Rollbacker{deploys}, Render: bot.TimelineText})
			chg.RegisterJobs(q)
			core.Use(chg.Feature())
			b := changeBundle{core: core, chg: chg, rb: chg.Rollbacks(), chat: c, queue: q, clock: clock, github: gh, deploys: deploys}

			d := b.deploy("1", 5*time.Minute, "success")
			gh.list = []incident.ChangeEvent{d}
			inc, _, err := core.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P2, ServiceKey: "checkout",
				DeclaredBy: "U0DECL", ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}})
			require.NoError(t, err)
			require.Empty(t, q.RunAll(t))
			inc, err = store.GetIncident(ctx, inc.ID)
			require.NoError(t, err)
			value := itemOf(t, b.lastList(t, inc, 0), d.ExternalID).Value

			r, err := b.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
			require.NoError(t, err)
			require.Equal(t, 1, q.Pending(changes.JobRollback), "its job is scheduled with it")
			_, err = b.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
			require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
			require.Contains(t, incident.ErrorMessage(err), "This rollback was already requested by")
			require.Equal(t, 1, q.Pending(changes.JobRollback))
			require.Empty(t, q.RunAll(t))
			require.Equal(t, []string{"deploy:" + d.ExternalID + " by U0DECL"}, deploys.executions())

			stored, err := store.GetRollback(ctx, r.Key)
			require.NoError(t, err)
			require.Equal(t, incident.RollbackRunning, stored.Status)
			events, err := store.ListTimeline(ctx, inc.ID)
			require.NoError(t, err)
			requested := 0
			for _, ev := range events {
				if d, ok := ev.Payload.(incident.RollbackData); ok && d.Key == r.Key && d.Step == "requested" {
					requested++
				}
			}
			require.Equal(t, 1, requested, "one timeline line for the request")
		})
	}
}

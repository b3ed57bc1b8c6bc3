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
)

// deadlineStore honours the request's context as a database does: once
// it is done, every statement and commit fails. afterAdd runs once a
// rollback is stored, so a test can make the click's deadline pass right
// after that insert.
type deadlineStore struct {
	*incidenttest.MemStore
	afterAdd func()
}

func (s *deadlineStore) AddRollback(ctx context.Context, r *incident.Rollback) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.MemStore.AddRollback(ctx, r); err != nil {
		return err
	}
	if s.afterAdd != nil {
		s.afterAdd()
	}
	return nil
}

func (s *deadlineStore) UpdateRollback(ctx context.Context, id int64, fn func(*incident.Rollback) error) (*incident.Rollback, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.MemStore.UpdateRollback(ctx, id, fn)
}

func (s *deadlineStore) AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.MemStore.AddTimelineEvent(ctx, ev)
}

func (s *deadlineStore) Atomic(ctx context.Context, fn func(tx incident.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.MemStore.Atomic(ctx, func(tx incident.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return ctx.Err() // the commit
	})
}

// The confirmation form gives the request two seconds; a slow provider
// spends them planning, and the deadline passes just after the rollback is
// stored. The rollback must still run once: not be left "running" with
// nothing to run it, refusing both a second submit and Retry.
func TestRollbackConfirmedAsTheFormsDeadlinePassesRunsOnce(t *testing.T) {
	t.Parallel()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	mem := incidenttest.NewMemStore(clock)
	store := &deadlineStore{MemStore: mem}
	policy := incident.DefaultPolicy()
	policy.Services = map[string]incident.ServicePolicy{
		"checkout": {Key: "checkout", Name: "Checkout", Owners: []string{"S0CHECKOUT"},
			GitHub: incident.GitHubService{Repos: []string{"acme/checkout"}, Environments: []string{"production"}}},
	}
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	c.Users["S0CHECKOUT"] = []string{"U0DECL"}
	q := incidenttest.NewQueue()
	mem.SetScheduler(q)
	gh := &fakeSource{name: "GitHub"}
	deploys := &fakeRollbacker{source: "github"}
	core := incident.NewService(incident.ServiceConfig{Store: mem, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
	core.RegisterJobs(q)
	chg := changes.New(changes.Config{Store: store, Core: core, Chat: c, Scheduler: q, Policy: policy, Clock: clock,
		Sources: []incident.ChangeSource{gh}, Rollbackers: []incident.Rollbacker{deploys}, Render: bot.TimelineText})
	chg.RegisterJobs(q)
	core.Use(chg.Feature())
	b := changeBundle{core: core, chg: chg, rb: chg.Rollbacks(), store: mem, chat: c, queue: q, clock: clock, github: gh, deploys: deploys}

	d := b.deploy("1", 5*time.Minute, "success")
	gh.list = []incident.ChangeEvent{d}
	inc := b.open(t, incident.P2)
	value := itemOf(t, b.lastList(t, inc, 0), d.ExternalID).Value

	ctx, expire := context.WithCancel(context.Background())
	store.afterAdd = expire
	_, err := b.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
	store.afterAdd = nil
	if err != nil {
		// The form asks to submit again.
		_, err = b.rb.RequestRollback(context.Background(), inc.ID, value, "U0DECL")
		require.NoError(t, err, "a second submit starts a rollback that did not start")
	}
	require.Empty(t, b.queue.RunAll(t))
	require.Equal(t, []string{"deploy:" + d.ExternalID + " by U0DECL"}, deploys.executions(), "rolled back once")

	_, err = b.rb.RequestRollback(context.Background(), inc.ID, value, "U0DECL")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "a later submit is the same rollback")
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, deploys.executions(), 1)
}

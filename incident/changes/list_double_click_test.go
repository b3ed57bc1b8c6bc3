package changes_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/storetest"
)

// replicas is "what changed?" wired n times over one store, as n replicas
// of the program share the database, with one incident on checkout
// declared and its list posted at declare taken out of the way.
type replicas struct {
	chg   []*changes.Service
	chat  *incidenttest.Chat
	queue *incidenttest.Queue
	clock *incidenttest.Clock
	inc   *incident.Incident
}

func newReplicas(t *testing.T, kind storetest.Kind, n int) replicas {
	t.Helper()
	ctx := context.Background()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	q := incidenttest.NewQueue()
	store := storetest.Open[interface {
		incident.Store
		changes.Store
	}](t, kind, clock, q)
	policy := incident.DefaultPolicy()
	policy.Services = map[string]incident.ServicePolicy{
		"checkout": {Key: "checkout", Name: "Checkout", GitHub: incident.GitHubService{Repos: []string{"acme/checkout"}, Environments: []string{"production"}}},
	}
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	gh := &fakeSource{name: "GitHub", list: []incident.ChangeEvent{{Source: "github", ExternalID: "deployment:acme/checkout:1",
		Kind: incident.ChangeDeploy, Summary: "Deploy acme/checkout@bad0c0f to production (success)", Environment: "production",
		Ref: badSHA, OccurredAt: clock.Now().Add(-5 * time.Minute), Data: map[string]string{"repo": "acme/checkout", "state": "success"}}}}
	r := replicas{chat: c, queue: q, clock: clock}
	var core *incident.Service
	for i := range n {
		cr := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
		chg := changes.New(changes.Config{Store: store, Core: cr, Chat: c, Scheduler: q, Policy: policy, Clock: clock,
			Sources: []incident.ChangeSource{gh}, Render: bot.TimelineText})
		cr.Use(chg.Feature())
		if i == 0 {
			core = cr
			core.RegisterJobs(q)
			chg.RegisterJobs(q)
		}
		r.chg = append(r.chg, chg)
	}
	inc, _, err := core.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P2, ServiceKey: "checkout",
		DeclaredBy: "U0DECL", ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}})
	require.NoError(t, err)
	require.Empty(t, q.RunAll(t))
	require.Len(t, c.ChangeLists, 1, "the list is posted at declare")
	c.ChangeLists = nil
	r.inc = inc
	return r
}

// click asks "what changed?" for the window on replica i.
func (r replicas) click(t *testing.T, i int, window time.Duration) {
	t.Helper()
	require.NoError(t, r.chg[i].WhatChanged(context.Background(), r.inc.ID, window, "U0DECL", incident.ReplyTarget{UserID: "U0DECL"}))
}

// posted runs the jobs and returns how many lists were posted so far.
func (r replicas) posted(t *testing.T) int {
	t.Helper()
	require.Empty(t, r.queue.RunAll(t))
	return len(r.chat.ChangeLists)
}

// A double click posts one list, wherever its two clicks fall on the clock
// and whichever replicas take them: the second click is absorbed by the
// list asked for less than three seconds before it, for the same window.
// A click three seconds after the last list posted posts another, and so
// does a click for another window at once.
func TestWhatChangedDoubleClickPostsOnce(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind storetest.Kind) {
		r := newReplicas(t, kind, 2)
		// 100 ms before a whole multiple of three seconds: the two clicks
		// of a double click fall on either side of it.
		now := r.clock.Now()
		r.clock.Advance(time.Unix((now.Unix()/3+1)*3, 0).Sub(now) - 100*time.Millisecond)
		r.click(t, 0, 0)
		r.clock.Advance(200 * time.Millisecond)
		r.click(t, 1, 0)
		require.Equal(t, 1, r.posted(t), "a double click 200 ms apart posts one list")

		r.clock.Advance(2600 * time.Millisecond) // 2.8 s after the first click
		r.click(t, 0, 0)
		require.Equal(t, 1, r.posted(t), "a click 2.8 s after the list asked for is absorbed by it")

		r.clock.Advance(300 * time.Millisecond) // 3.1 s after the first click
		r.click(t, 1, 0)
		require.Equal(t, 2, r.posted(t), "three seconds on, a click is a new request")

		r.click(t, 0, 2*time.Hour)
		require.Equal(t, 3, r.posted(t), "another window is another list")
	})
}

// Clicks that reach several replicas at the same moment post one list:
// the check and the list's job are decided in one transaction, so two
// replicas never both see no recent list.
func TestWhatChangedConcurrentClicksOnReplicasPostOnce(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind storetest.Kind) {
		const n = 6
		r := newReplicas(t, kind, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = r.chg[i].WhatChanged(context.Background(), r.inc.ID, 0, "U0DECL", incident.ReplyTarget{UserID: "U0DECL"})
			})
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, 1, r.queue.Pending(changes.JobChanges), "one list is scheduled")
		require.Equal(t, 1, r.posted(t))
	})
}

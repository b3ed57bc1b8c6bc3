package paging_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/paging"
)

// blipScheduler fails the next n Schedule calls of the listed job kinds, as
// a database that stops answering (or a process killed) right after a
// change committed and before the work it set off was stored.
type blipScheduler struct {
	incident.Scheduler
	n     atomic.Int32
	kinds map[string]bool
}

func (f *blipScheduler) Schedule(ctx context.Context, j incident.Job) (bool, error) {
	if f.kinds[j.Kind] && f.n.Add(-1) >= 0 {
		return false, incident.Errorf(incident.EUNAVAILABLE, "The database is not answering.")
	}
	return f.Scheduler.Schedule(ctx, j)
}

// outboxRun raises a P3 incident to P1 and then resolves it, with paging's
// schedules failing blips times at each step and each command tried again
// by its user, and returns the pager's page and resolve requests.
func outboxRun(t *testing.T, kind storeKind, blips int32) (pages []string, resolved []string) {
	t.Helper()
	pg := newPager()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	q := incidenttest.NewQueue()
	store := openStore(t, kind, clock, q)
	policy := incident.DefaultPolicy()
	policy.BroadcastChannel = "#incidents"
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout", Responders: []string{"U0ALICE"}}}
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	blip := &blipScheduler{Scheduler: q, kinds: map[string]bool{paging.JobPage: true, paging.JobResolvePages: true}}
	p := paging.New(paging.Config{Store: store, Core: svc, Chat: incident.MarkDrills(c.Roles(), store), Pager: pg, Scheduler: blip, Policy: policy, Clock: clock,
		Installation: testInstallation})
	p.RegisterJobs(q)
	svc.Use(p.Feature())
	b := bundle{svc: svc, pg: p, store: store, chat: c, queue: q, clock: clock}
	ctx := context.Background()
	inc := readyAt(t, b, incident.P3) // a P3 pages nobody
	q.RunAll(t)
	require.Empty(t, pg.requests)

	blip.n.Store(blips)
	_, _ = svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
	got, err := store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.P1, got.Severity, "the raise committed")
	_, _ = svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL") // the user tries again
	q.RunAll(t)

	clock.Advance(time.Minute)
	blip.n.Store(blips)
	_, _ = svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "rolled back")
	got, err = store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.StatusResolved, got.Status, "the resolve committed")
	_, _ = svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "rolled back")
	q.RunAll(t)

	pg.mu.Lock()
	defer pg.mu.Unlock()
	for _, r := range pg.requests {
		pages = append(pages, r.DedupKey)
	}
	return pages, append([]string(nil), pg.resolved...)
}

// A raise to P1 pages on-call and a resolve resolves the pages even when
// the database fails right after the change committed: the change stored
// the work of its hooks with it, and that work is done exactly once.
func TestRaiseAndResolveOutliveAFailedScheduleAfterCommit(t *testing.T) {
	for _, kind := range everyStore {
		t.Run(string(kind), func(t *testing.T) {
			wantPages, wantResolved := outboxRun(t, kind, 0)
			require.NotEmpty(t, wantPages, "a P1 pages on-call")
			require.NotEmpty(t, wantResolved, "a resolve resolves the pages")

			pages, resolved := outboxRun(t, kind, 1)
			require.Equal(t, wantPages, pages, "the raise pages, once, despite the failed schedule")
			require.Equal(t, wantResolved, resolved, "the resolve resolves the pages, once, despite the failed schedule")
		})
	}
}

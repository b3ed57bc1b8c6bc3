package incident_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/storetest"
)

// hookProbe is a feature's hook that fails its first failFirst calls, as a
// hook whose database blips, and records the changes it took.
type hookProbe struct {
	mu        sync.Mutex
	failFirst int
	calls     int
	took      []incident.Change
}

func (p *hookProbe) feature() incident.Feature {
	return incident.Feature{Name: "probe", Hook: func(_ context.Context, c incident.Change) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.calls++
		if p.calls <= p.failFirst {
			return errors.New("the database is not answering")
		}
		p.took = append(p.took, c)
		return nil
	}}
}

func (p *hookProbe) taken() []incident.Change {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]incident.Change(nil), p.took...)
}

// newHookedService is one process: the core over store and q, with the
// probe's hook.
func newHookedService(store incident.Store, q *incidenttest.Queue, clock incident.Clock, probe *hookProbe) *incident.Service {
	policy := incident.DefaultPolicy()
	policy.BroadcastChannel = "#incidents"
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	svc.Use(probe.feature())
	return svc
}

// A severity change, a status update, a resolve and a close store the work
// of their hooks in their own transaction: a process that dies right after
// the commit leaves the hooks' job behind, the next process runs it, a
// hook that fails is tried again, and each hook takes each change once, as
// it was committed. A command repeated that changes nothing stores nothing
// more.
func TestChangesStoreTheWorkOfTheirHooks(t *testing.T) {
	for _, kind := range storetest.Every {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
			q := incidenttest.NewQueue()
			store := storetest.Open[incident.Store](t, kind, clock, q)
			first := &hookProbe{}
			svc := newHookedService(store, q, clock, first)
			inc, _, err := svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P3,
				DeclaredBy: "U0DECL", ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}})
			require.NoError(t, err)
			require.Empty(t, q.RunAll(t))
			require.Len(t, first.taken(), 1, "a declare is told at once")

			clock.Advance(time.Minute)
			_, err = svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
			require.NoError(t, err)
			clock.Advance(time.Minute)
			_, err = svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Known: "bad deploy", Doing: "rolling back"})
			require.NoError(t, err)
			clock.Advance(time.Minute)
			_, err = svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "rolled back")
			require.NoError(t, err)
			clock.Advance(time.Minute)
			_, err = svc.SetStatus(ctx, inc.ID, incident.StatusClosed, "U0DECL", "")
			require.NoError(t, err)
			require.Len(t, first.taken(), 1, "the process dies before any hook ran")
			require.Equal(t, 4, q.Pending(incident.JobHooks), "each change stored the work of its hooks")

			// The next process, whose hook fails once.
			next := &hookProbe{failFirst: 1}
			newHookedService(store, q, clock, next)
			require.Empty(t, q.RunAll(t))
			took := next.taken()
			require.Len(t, took, 4, "each change is taken once")
			require.Equal(t, incident.EventSeverityChanged, took[0].Kind)
			require.Equal(t, "P3", took[0].From)
			require.Equal(t, "P1", took[0].To)
			require.Equal(t, incident.P1, took[0].Incident.Severity, "the incident as the change left it")
			require.Equal(t, incident.EventUpdatePosted, took[1].Kind)
			require.NotNil(t, took[1].Update)
			require.NotZero(t, took[1].Update.ID)
			require.Equal(t, incident.EventStatusChanged, took[2].Kind)
			require.Equal(t, string(incident.StatusResolved), took[2].To)
			require.Equal(t, incident.StatusResolved, took[2].Incident.Status)
			require.Equal(t, string(incident.StatusClosed), took[3].To)
			require.Equal(t, incident.StatusClosed, took[3].Incident.Status)
			require.Equal(t, inc.ID, took[3].Incident.ID)

			// The user tries the raise again: nothing changes, nothing more
			// is stored.
			_, _ = svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
			require.Zero(t, q.Pending(incident.JobHooks))
		})
	}
}

// A change that is refused stores no work for the hooks.
func TestRefusedChangeStoresNoHooksJob(t *testing.T) {
	ctx := context.Background()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	q := incidenttest.NewQueue()
	store := storetest.Open[incident.Store](t, storetest.Memory, clock, q)
	probe := &hookProbe{}
	svc := newHookedService(store, q, clock, probe)
	inc, _, err := svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P3,
		DeclaredBy: "U0DECL", ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}})
	require.NoError(t, err)
	require.Empty(t, q.RunAll(t))
	_, err = svc.SetStatus(ctx, inc.ID, incident.StatusClosed, "U0DECL", "")
	require.Error(t, err, "an open incident is resolved before it is closed")
	require.Zero(t, q.Pending(incident.JobHooks))
}

package followthrough_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/capture"
	"github.com/firebreakhq/firebreak/incident/followthrough"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

type bundle struct {
	svc   *incident.Service
	ft    *followthrough.Service
	capt  *capture.Service
	store *incidenttest.MemStore
	chat  *incidenttest.Chat
	queue *incidenttest.Queue
	clock *incidenttest.Clock
}

func setup(t *testing.T, mutate ...func(*incident.Policy)) bundle {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	policy := incident.DefaultPolicy()
	policy.BroadcastChannel = "#incidents"
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout",
		Responders: []string{"U0ALICE", "S0TEAM", "bob@example.com"}, Runbook: "https://runbooks/checkout"}}
	for _, m := range mutate {
		m(&policy)
	}
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	c.Users["S0TEAM"] = []string{"U0CAROL", "U0DAVE"}
	c.Users["bob@example.com"] = []string{"U0BOB"}
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	ft := newFollowThrough(svc, store, q, c, policy, clock)
	capt := capture.New(capture.Config{Store: store, Chat: c, Notifier: svc, Policy: policy, Clock: clock})
	return bundle{svc: svc, ft: ft, capt: capt, store: store, chat: c, queue: q, clock: clock}
}

// newFollowThrough adds follow-through to a core, as the program does.
func newFollowThrough(core *incident.Service, store followthrough.Store, q *incidenttest.Queue, c *incidenttest.Chat, policy incident.Policy, clock incident.Clock) *followthrough.Service {
	ft := followthrough.New(followthrough.Config{Store: store, Core: core, Chat: c, Scheduler: q, Policy: policy, Clock: clock})
	core.Use(ft.Feature())
	ft.RegisterJobs(q)
	return ft
}

func declare(t *testing.T, b bundle, title string, sev incident.Severity, key string) *incident.Incident {
	t.Helper()
	inc, existed, err := b.svc.Declare(context.Background(), incident.DeclareInput{Title: title, Severity: sev, ServiceKey: "checkout",
		DeclaredBy: "U0DECL", Key: key, ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}})
	require.NoError(t, err)
	require.False(t, existed)
	return inc
}

func postsContaining(c *incidenttest.Chat, ch, sub string) []string {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	var out []string
	for _, p := range c.Posts[ch] {
		if strings.Contains(p, sub) {
			out = append(out, p)
		}
	}
	return out
}

func closeIncident(t *testing.T, b bundle, inc *incident.Incident) {
	t.Helper()
	ctx := context.Background()
	_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "fixed")
	require.NoError(t, err)
	_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusClosed, "U0DECL", "")
	require.NoError(t, err)
}

func repliesContaining(c *incidenttest.Chat, sub string) []string {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	var out []string
	for _, r := range c.Replies {
		if strings.Contains(r, sub) {
			out = append(out, r)
		}
	}
	return out
}

func TestFollowThroughRemindersOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) {
		p.FollowUps.DigestChannel = "#followups"
		p.Teams = map[string]incident.Team{"payments": {Name: "payments", Services: []string{"checkout"}, Channel: "#payments"}}
	})
	ctx := context.Background()
	// A second replica: its own Service on the same store and queue.
	other := followthrough.New(followthrough.Config{Store: b.store, Chat: b.chat, Scheduler: b.queue, Policy: b.svc.Policy(), Clock: b.clock,
		Core: incident.NewService(incident.ServiceConfig{Store: b.store, Scheduler: b.queue, Chat: b.chat.Roles(), Policy: b.svc.Policy(), Clock: b.clock})})

	inc := declare(t, b, "checkout is down", incident.P2, "")
	require.Empty(t, b.queue.RunAll(t))
	due := time.Date(2026, 8, 11, 0, 0, 0, 0, time.UTC) // Tuesday
	item, err := b.capt.AddFollowUp(ctx, inc.ID, "U0DECL", "alert when pool use is over 80%", "U0OWNER", &due)
	require.NoError(t, err)
	_, err = b.capt.AddFollowUp(ctx, inc.ID, "U0DECL", "add a query performance test", "", nil)
	require.NoError(t, err)
	closeIncident(t, b, inc) // Friday 7 August
	require.Empty(t, b.queue.RunAll(t))

	r, err := b.ft.Review(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.ReviewDraft, r.State)
	require.Equal(t, "2026-08-14", r.DueOn.Format(time.DateOnly), "five business days, the weekend skipped")
	require.Equal(t, "U0DECL", r.Owner)

	sweep := func() {
		t.Helper()
		_, err := b.ft.Sweep(ctx)
		require.NoError(t, err)
		_, err = other.Sweep(ctx)
		require.NoError(t, err)
		require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	}

	// Saturday: nothing due yet.
	b.clock.Set(time.Date(2026, 8, 8, 10, 0, 0, 0, time.UTC))
	sweep()
	require.Empty(t, repliesContaining(b.chat, "follow-up"))

	// Monday 08:00, before the reminder hour: nothing; 09:00: the owner's
	// reminder (due tomorrow) and the weekly digests, once each.
	b.clock.Set(time.Date(2026, 8, 10, 8, 0, 0, 0, time.UTC))
	sweep()
	require.Empty(t, repliesContaining(b.chat, "is due"))
	b.clock.Set(time.Date(2026, 8, 10, 9, 0, 0, 0, time.UTC))
	sweep()
	sweep()
	require.Len(t, repliesContaining(b.chat, "U0OWNER: :alarm_clock: Your follow-up from "+inc.Key()+" is due Tue 11 Aug"), 1)
	digest := postsContaining(b.chat, "#payments", "Weekly follow-ups, payments")
	require.Len(t, digest, 1)
	require.Contains(t, digest[0], "2 open, 0 overdue")
	require.Contains(t, digest[0], "alert when pool use is over 80%")
	require.Len(t, postsContaining(b.chat, "#followups", "Weekly follow-ups, all teams"), 1, "items of no team")
	require.Contains(t, postsContaining(b.chat, "#followups", "Weekly")[0], "0 open")

	// Wednesday: overdue; the owner and the IC hear it, once.
	b.clock.Set(time.Date(2026, 8, 12, 9, 30, 0, 0, time.UTC))
	sweep()
	sweep()
	require.Len(t, repliesContaining(b.chat, "U0OWNER: :red_circle: Your follow-up"), 1)
	require.Len(t, repliesContaining(b.chat, "U0DECL: :red_circle: A follow-up from "+inc.Key()), 1)
	mine, err := b.ft.Followups(ctx, incident.FollowUpFilter{Owner: "U0OWNER", Viewer: "U0OWNER"})
	require.NoError(t, err)
	require.Len(t, mine, 1)
	require.True(t, mine[0].Overdue)
	overdue, err := b.ft.Followups(ctx, incident.FollowUpFilter{OverdueOnly: true, Viewer: "U0DECL"})
	require.NoError(t, err)
	require.Len(t, overdue, 1)

	// Thursday: the review is due tomorrow; its reminder goes to the IC.
	b.clock.Set(time.Date(2026, 8, 13, 9, 0, 0, 0, time.UTC))
	sweep()
	require.Len(t, repliesContaining(b.chat, "U0DECL: :calendar: Reminder: the postmortem review of "+inc.Key()), 1)
	_, err = b.ft.SetReviewState(ctx, inc.ID, incident.ReviewInReview, "U0DECL")
	require.NoError(t, err)
	_, err = b.ft.SetReviewState(ctx, inc.ID, incident.ReviewState("bogus"), "U0DECL")
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))

	// Closing the issue marks the item done: no more reminders.
	require.NoError(t, b.ft.CompleteActionItem(ctx, inc.Key(), item.ID, "GitHub issue closed", "https://github.com/acme/checkout/issues/9"))
	require.NoError(t, b.ft.CompleteActionItem(ctx, inc.Key(), item.ID, "GitHub issue closed", ""), "twice is no change")
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(b.ft.CompleteActionItem(ctx, "INC-999", item.ID, "x", "")))
	mine, err = b.ft.Followups(ctx, incident.FollowUpFilter{Owner: "U0OWNER", Viewer: "U0OWNER"})
	require.NoError(t, err)
	require.Empty(t, mine)

	// Published: no overdue reminder the week after.
	_, err = b.ft.SetReviewState(ctx, inc.ID, incident.ReviewPublished, "U0DECL")
	require.NoError(t, err)
	b.clock.Set(time.Date(2026, 8, 17, 9, 0, 0, 0, time.UTC))
	sweep()
	require.Empty(t, repliesContaining(b.chat, "The postmortem review of "+inc.Key()+" (checkout is down) was due"))
	require.Len(t, postsContaining(b.chat, "#payments", "Weekly follow-ups, payments"), 2, "next Monday's digest")
}

func TestScheduledDrillDeclaredOncePerPeriod(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) {
		p.Drills.Schedule = []incident.DrillSchedule{{Name: "monthly-p2", Every: "monthly", Day: 10, At: 10 * time.Hour,
			Severity: incident.P2, Service: "checkout", Title: "Monthly drill: checkout returns 500s"}}
	})
	ctx := context.Background()
	sweep := func() {
		_, err := b.ft.Sweep(ctx)
		require.NoError(t, err)
		require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	}
	count := func() int {
		list, err := b.store.ListIncidents(ctx, incident.IncidentFilter{})
		require.NoError(t, err)
		return len(list)
	}
	b.clock.Set(time.Date(2026, 8, 10, 9, 59, 0, 0, time.UTC))
	sweep()
	require.Zero(t, count())
	b.clock.Set(time.Date(2026, 8, 10, 10, 0, 0, 0, time.UTC))
	sweep()
	sweep()
	b.clock.Set(time.Date(2026, 8, 20, 10, 0, 0, 0, time.UTC))
	sweep()
	require.Equal(t, 1, count(), "one drill in August")
	list, err := b.store.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.True(t, list[0].Drill)
	require.Empty(t, list[0].Commander, "whoever takes the drill's IC role claims it")
	b.clock.Set(time.Date(2026, 9, 10, 10, 5, 0, 0, time.UTC))
	sweep()
	require.Equal(t, 2, count(), "and one in September")
}

func TestFollowupsOfPrivateIncidentsStayPrivate(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) {
		p.FollowUps.DigestChannel = "#followups"
		p.Teams = map[string]incident.Team{"payments": {Name: "payments", Services: []string{"checkout"}, Channel: "#payments"}}
	})
	ctx := context.Background()
	priv, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "card numbers in the access logs", Severity: incident.P2,
		ServiceKey: "checkout", DeclaredBy: "U0DECL", Private: true, ReplyTo: incident.ReplyTarget{UserID: "U0DECL"}})
	require.NoError(t, err)
	pub := declare(t, b, "checkout is slow", incident.P3, "")
	require.Empty(t, b.queue.RunAll(t))
	due := time.Date(2026, 8, 11, 0, 0, 0, 0, time.UTC)
	_, err = b.capt.AddFollowUp(ctx, priv.ID, "U0DECL", "purge the leaked card numbers", "U0OWNER", &due)
	require.NoError(t, err)
	_, err = b.capt.AddFollowUp(ctx, pub.ID, "U0DECL", "add a latency alarm", "U0OWNER", nil)
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))

	texts := func(fs []incident.FollowUp) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Item.Text)
		}
		return out
	}
	for _, f := range []incident.FollowUpFilter{{Viewer: "U0STRANGER"}, {Viewer: "U0STRANGER", OverdueOnly: true}, {Viewer: "U0STRANGER", Owner: "U0OWNER"}} {
		got, err := b.ft.Followups(ctx, f)
		require.NoError(t, err)
		require.NotContains(t, texts(got), "purge the leaked card numbers", "%+v", f)
	}
	got, err := b.ft.Followups(ctx, incident.FollowUpFilter{Viewer: "U0DECL"})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"purge the leaked card numbers", "add a latency alarm"}, texts(got), "a member sees both")
	_, err = b.ft.Followups(ctx, incident.FollowUpFilter{})
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err), "no viewer, no list")

	// The Monday digest names the private item only by the redacted title.
	b.clock.Set(time.Date(2026, 8, 10, 9, 0, 0, 0, time.UTC))
	_, err = b.ft.Sweep(ctx)
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	digest := postsContaining(b.chat, "#payments", "Weekly follow-ups, payments")
	require.Len(t, digest, 1)
	require.Contains(t, digest[0], "2 open, 0 overdue")
	require.Contains(t, digest[0], "add a latency alarm")
	require.Contains(t, digest[0], "Private incident "+priv.Key())
	require.NotContains(t, digest[0], "purge")
	require.NotContains(t, digest[0], "card numbers")
	require.False(t, strings.Contains(digest[0], priv.Title))
}

func TestReviewStateNeedsTheICTheCommanderGroupOrTheOwner(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) { p.CommanderGroup = "S0TEAM" })
	ctx := context.Background()
	inc := declare(t, b, "checkout is down", incident.P2, "")
	require.Empty(t, b.queue.RunAll(t))
	closeIncident(t, b, inc)
	require.Empty(t, b.queue.RunAll(t))
	r, err := b.ft.Review(ctx, inc.ID)
	require.NoError(t, err)
	r.Owner = "U0WRITER"
	require.NoError(t, b.store.SaveReview(ctx, r))

	_, err = b.ft.SetReviewState(ctx, inc.ID, incident.ReviewPublished, "U0STRANGER")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "the review is run by the Incident Commander, the commander group and its owner")
	require.Contains(t, incident.ErrorMessage(err), "U0WRITER")
	r, err = b.ft.Review(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.ReviewDraft, r.State, "a refusal changes nothing")

	for _, who := range []struct{ user, state string }{{"U0WRITER", "in_review"}, {"U0CAROL", "draft"}, {"U0DECL", "published"}} {
		r, err = b.ft.SetReviewState(ctx, inc.ID, incident.ReviewState(who.state), who.user)
		require.NoError(t, err, who.user)
		require.Equal(t, incident.ReviewState(who.state), r.State)
	}
}

// flakyStore is a MemStore whose timeline writes, or sync jobs, fail on
// demand, inside a transaction as outside.
type flakyStore struct {
	*incidenttest.MemStore
	failEvents, failJobs *atomic.Bool
}

type memTx interface {
	incident.Tx
	followthrough.Store
}

type flakyTx struct {
	memTx
	failEvents, failJobs *atomic.Bool
}

var errDown = incident.Errorf(incident.EUNAVAILABLE, "The store is down.")

func (f flakyStore) AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error {
	if f.failEvents.Load() {
		return errDown
	}
	return f.MemStore.AddTimelineEvent(ctx, ev)
}

func (f flakyStore) Atomic(ctx context.Context, fn func(tx incident.Tx) error) error {
	return f.MemStore.Atomic(ctx, func(tx incident.Tx) error {
		return fn(flakyTx{memTx: tx.(memTx), failEvents: f.failEvents, failJobs: f.failJobs})
	})
}

func (f flakyTx) AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error {
	if f.failEvents.Load() {
		return errDown
	}
	return f.memTx.AddTimelineEvent(ctx, ev)
}

func (f flakyTx) Schedule(ctx context.Context, job incident.Job) (bool, error) {
	if f.failJobs.Load() && job.Kind == incident.JobSync {
		return false, errDown
	}
	return f.memTx.Schedule(ctx, job)
}

// flakySched fails sync jobs on demand.
type flakySched struct {
	incident.Scheduler
	fail *atomic.Bool
}

func (f flakySched) Schedule(ctx context.Context, job incident.Job) (bool, error) {
	if f.fail.Load() && job.Kind == incident.JobSync {
		return false, errDown
	}
	return f.Scheduler.Schedule(ctx, job)
}

// flakySetup is setup on a flakyStore, with the core's own jobs failing
// with the store's.
func flakySetup(t *testing.T) (bundle, *atomic.Bool, *atomic.Bool) {
	t.Helper()
	b := setup(t)
	failEvents, failJobs := new(atomic.Bool), new(atomic.Bool)
	store := flakyStore{MemStore: b.store, failEvents: failEvents, failJobs: failJobs}
	sched := flakySched{Scheduler: b.queue, fail: failJobs}
	b.svc = incident.NewService(incident.ServiceConfig{Store: b.store, Scheduler: sched, Chat: b.chat.Roles(), Policy: b.svc.Policy(), Clock: b.clock})
	b.svc.RegisterJobs(b.queue)
	b.ft = followthrough.New(followthrough.Config{Store: store, Core: b.svc, Chat: b.chat, Scheduler: sched, Policy: b.svc.Policy(), Clock: b.clock})
	b.svc.Use(b.ft.Feature())
	b.ft.RegisterJobs(b.queue)
	return b, failEvents, failJobs
}

func TestCompleteActionItemIsAtomic(t *testing.T) {
	t.Parallel()
	for _, fail := range []string{"timeline", "job"} {
		t.Run(fail, func(t *testing.T) {
			t.Parallel()
			b, failEvents, failJobs := flakySetup(t)
			ctx := context.Background()
			inc := declare(t, b, "checkout is down", incident.P2, "")
			require.Empty(t, b.queue.RunAll(t))
			inc, err := b.store.GetIncident(ctx, inc.ID)
			require.NoError(t, err)
			item, err := b.capt.AddFollowUp(ctx, inc.ID, "U0DECL", "alert on pool use", "U0OWNER", nil)
			require.NoError(t, err)
			require.Empty(t, b.queue.RunAll(t))
			events := func() int {
				evs, err := b.store.ListTimeline(ctx, inc.ID)
				require.NoError(t, err)
				return len(evs)
			}
			before := events()

			if fail == "timeline" {
				failEvents.Store(true)
			} else {
				failJobs.Store(true)
			}
			err = b.ft.CompleteActionItem(ctx, inc.Key(), item.ID, "GitHub issue closed", "https://github.com/acme/checkout/issues/9")
			require.Error(t, err)
			got, err := b.store.GetActionItem(ctx, item.ID)
			require.NoError(t, err)
			require.False(t, got.Done, "a failed completion leaves the item open")
			require.Empty(t, got.ExternalURL)
			require.Equal(t, before, events(), "and no event")
			require.Zero(t, b.queue.Pending(incident.JobSync), "and no line for the channel")

			failEvents.Store(false)
			failJobs.Store(false)
			require.NoError(t, b.ft.CompleteActionItem(ctx, inc.Key(), item.ID, "GitHub issue closed", "https://github.com/acme/checkout/issues/9"))
			got, err = b.store.GetActionItem(ctx, item.ID)
			require.NoError(t, err)
			require.True(t, got.Done, "the retry completes it")
			require.Equal(t, before+1, events())
			require.Equal(t, 1, b.queue.Pending(incident.JobSync))
			require.Empty(t, b.queue.RunAll(t))
			require.Len(t, postsContaining(b.chat, inc.ChannelID, "alert on pool use"), 2, "the follow-up, then its completion")
		})
	}
}

func TestSetReviewStateIsAtomic(t *testing.T) {
	t.Parallel()
	for _, fail := range []string{"timeline", "job"} {
		t.Run(fail, func(t *testing.T) {
			t.Parallel()
			b, failEvents, failJobs := flakySetup(t)
			ctx := context.Background()
			inc := declare(t, b, "checkout is down", incident.P2, "")
			require.Empty(t, b.queue.RunAll(t))
			closeIncident(t, b, inc)
			require.Empty(t, b.queue.RunAll(t))
			reviewEvents := func() int {
				evs, err := b.store.ListTimeline(ctx, inc.ID)
				require.NoError(t, err)
				n := 0
				for _, ev := range evs {
					if ev.Kind == incident.EventReview {
						n++
					}
				}
				return n
			}
			require.Equal(t, 1, reviewEvents(), "scheduled at the close")

			if fail == "timeline" {
				failEvents.Store(true)
			} else {
				failJobs.Store(true)
			}
			_, err := b.ft.SetReviewState(ctx, inc.ID, incident.ReviewInReview, "U0DECL")
			require.Error(t, err)
			r, err := b.ft.Review(ctx, inc.ID)
			require.NoError(t, err)
			require.Equal(t, incident.ReviewDraft, r.State, "a failed move leaves the review where it was")
			require.Equal(t, "bot", r.UpdatedBy)
			require.Equal(t, 1, reviewEvents(), "and no event")
			require.Zero(t, b.queue.Pending(incident.JobSync), "and no line for the channel")

			failEvents.Store(false)
			failJobs.Store(false)
			r, err = b.ft.SetReviewState(ctx, inc.ID, incident.ReviewInReview, "U0DECL")
			require.NoError(t, err)
			require.Equal(t, incident.ReviewInReview, r.State)
			require.Equal(t, 2, reviewEvents())
			require.Equal(t, 1, b.queue.Pending(incident.JobSync))
		})
	}
}

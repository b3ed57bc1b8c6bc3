package paging_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/paging"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// errKilled stands for the process being killed (SIGKILL, a crash): the
// job stops where it is, and its next attempt starts from what is stored.
var errKilled = errors.New("process killed")

// killingQueue is the test queue with the process killed right after a
// job that kill picks was handed to it (committed).
type killingQueue struct {
	*incidenttest.Queue
	mu   sync.Mutex
	kill func(incident.Job) bool
}

func (q *killingQueue) Schedule(ctx context.Context, job incident.Job) (bool, error) {
	ok, err := q.Queue.Schedule(ctx, job)
	q.mu.Lock()
	kill := q.kill
	if err == nil && kill != nil && kill(job) {
		q.kill = nil
		q.mu.Unlock()
		panic(errKilled)
	}
	q.mu.Unlock()
	return ok, err
}

// httpBundle pages through pdfake (PagerDuty's REST API) and talks to
// slackfake (Slack's Web API), both through the production clients.
type httpBundle struct {
	svc   *incident.Service
	pg    *paging.Service
	queue *killingQueue
	clock *incidenttest.Clock
	slack *slackfake.Server
	pd    *pdfake.Server
	decl  slackfake.User
	store *incidenttest.MemStore
}

// httpSetup has levels people on call in Checkout's escalation policy
// (one: a page cannot be escalated, so it is sent again with the backup).
func httpSetup(t *testing.T, levels int) httpBundle {
	t.Helper()
	return httpSetupStore(t, levels, nil)
}

// bothStores is what the core and paging both take: a store wrapped by a
// test.
type bothStores interface {
	incident.Store
	paging.Store
}

// httpSetupStore is httpSetup over the in-memory store as wrap wraps it
// (nil: as it is).
func httpSetupStore(t *testing.T, levels int, wrap func(*incidenttest.MemStore) bothStores) httpBundle {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	srv := slackfake.New(slackfake.WithClock(clock.Now))
	t.Cleanup(srv.Close)
	decl := srv.AddUser(slackfake.User{Name: "dana", Email: "dana@example.com"})
	srv.AddChannel(slackfake.Channel{Name: "incidents", Members: []string{srv.BotUserID(), decl.ID}})
	pd := pdfake.New(pdfake.WithClock(clock.Now))
	t.Cleanup(pd.Close)
	pd.AddService(pdfake.Service{ID: "PSVC1", Name: "Checkout", EscalationPolicyID: "PEP1"})
	pd.AddUser(pdfake.User{ID: "PUBOT", Name: "firebreak", Email: "bot@example.com"})
	pd.AddUser(pdfake.User{ID: "PUBOB", Name: "Bob Roe", Email: "bob@example.com"})
	pd.AddUser(pdfake.User{ID: "PUCAROL", Name: "Carol Poe", Email: "carol@example.com"})
	pd.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 1, UserID: "PUBOB", Schedule: "Primary"})
	if levels > 1 {
		pd.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 2, UserID: "PUCAROL", Schedule: "Secondary"})
	}
	q := &killingQueue{Queue: incidenttest.NewQueue()}
	store := incidenttest.NewMemStore(clock)
	store.SetScheduler(q)
	var stores bothStores = store
	if wrap != nil {
		stores = wrap(store)
	}
	policy := incident.DefaultPolicy()
	policy.BroadcastChannel = "#incidents"
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout",
		PagerDuty: incident.PagerDutyService{ServiceID: "PSVC1"}}}
	chat := bot.NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), policy, bot.WithChatClock(clock))
	svc := incident.NewService(incident.ServiceConfig{Store: stores, Scheduler: q, Chat: chat.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	client := pagerduty.New(pagerduty.Config{APIURL: pd.URL(), EventsURL: pd.EventsURL(), Token: pd.Token(), FromEmail: "bot@example.com"})
	pg := paging.New(paging.Config{Store: stores, Core: svc, Chat: incident.MarkDrills(chat.Roles(), store), Pager: client, Scheduler: q,
		Policy: policy, Clock: clock, Render: bot.NoticeText})
	pg.RegisterJobs(q)
	svc.Use(pg.Feature())
	return httpBundle{svc: svc, pg: pg, queue: q, clock: clock, slack: srv, pd: pd, decl: decl, store: store}
}

// declareP2 declares a P2 of Checkout and runs what follows, up to the
// page.
func (b httpBundle) declareP2(t *testing.T) *incident.Incident {
	t.Helper()
	ctx := context.Background()
	inc, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P2, ServiceKey: "checkout", DeclaredBy: b.decl.ID})
	require.NoError(t, err)
	b.queue.RunDue(t, b.clock.Now())
	inc, err = b.svc.Get(ctx, inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, inc.ChannelID)
	require.Len(t, b.pd.Incidents(), 1, "on-call is paged")
	return inc
}

// attempt runs one attempt of job as the job engine does, with the job's
// id and the attempt's number on the context; a kill is errKilled.
func (b httpBundle) attempt(job incident.Job, id int64, n int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if r != errKilled {
				panic(r)
			}
			err = errKilled
		}
	}()
	return b.queue.Handler(job.Kind)(incident.WithJobRun(context.Background(), id, n, 5), job.Payload)
}

func (b httpBundle) said(channel, sub string) []string {
	var out []string
	for _, m := range b.slack.Messages(channel) {
		if strings.Contains(m.Text, sub) {
			out = append(out, m.Text)
		}
	}
	return out
}

// rateLimitOnce answers the first chat.postMessage whose text holds sub
// with Slack's 429 and a Retry-After of a second.
func rateLimitOnce(srv *slackfake.Server, sub string) *int {
	var mu sync.Mutex
	limited := new(int)
	srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		mu.Lock()
		defer mu.Unlock()
		if c.Method == "chat.postMessage" && *limited == 0 && strings.Contains(c.Args.Get("text"), sub) {
			*limited++
			return slackfake.RateLimited(time.Second)
		}
		return nil
	})
	return limited
}

// TestRepageKilledAfterPagingAgainPagesOnce: nobody acknowledged the page
// within the target, and PagerDuty cannot escalate it, so the bot pages
// again with the backup; the process dies right after that page is
// planned, and the page goes out. The re-page job's retry does not count
// that page as one more reason to page, and pages nobody again: on-call
// gets one new PagerDuty incident, and the channel hears it once.
func TestRepageKilledAfterPagingAgainPagesOnce(t *testing.T) {
	t.Parallel()
	b := httpSetup(t, 1)
	inc := b.declareP2(t)
	b.clock.Advance(61 * time.Minute)
	job, ok := b.queue.Take(paging.JobRepage)
	require.True(t, ok)
	b.queue.mu.Lock()
	b.queue.kill = func(j incident.Job) bool { return j.Kind == paging.JobPage && strings.Contains(j.Key, "backup") }
	b.queue.mu.Unlock()

	require.ErrorIs(t, b.attempt(job, 801, 1), errKilled)
	b.queue.RunDue(t, b.clock.Now())
	require.Len(t, b.pd.Incidents(), 2, "the page with the backup went out")

	b.clock.Advance(20 * time.Second)
	require.NoError(t, b.attempt(job, 801, 2))
	b.queue.RunDue(t, b.clock.Now())
	require.Len(t, b.pd.Incidents(), 2, "the retry pages nobody again")
	require.Len(t, b.said(inc.ChannelID, "so I am paging again"), 1, "%q", b.said(inc.ChannelID, ""))
}

// TestRepageNoticeRateLimitedIsRetried: Slack rate limits the channel's
// notice that the bot is paging again. The job fails and its retry says
// it, once, without paging again.
func TestRepageNoticeRateLimitedIsRetried(t *testing.T) {
	t.Parallel()
	b := httpSetup(t, 1)
	inc := b.declareP2(t)
	b.clock.Advance(61 * time.Minute)
	job, ok := b.queue.Take(paging.JobRepage)
	require.True(t, ok)
	limited := rateLimitOnce(b.slack, "so I am paging again")

	err := b.attempt(job, 802, 1)
	require.Equal(t, 1, *limited)
	require.Error(t, err, "the re-page job fails, so that it is retried")
	b.queue.RunDue(t, b.clock.Now())
	require.Len(t, b.pd.Incidents(), 2)

	require.NoError(t, b.attempt(job, 802, 2))
	b.queue.RunDue(t, b.clock.Now())
	require.Len(t, b.pd.Incidents(), 2, "paged again once")
	require.Len(t, b.said(inc.ChannelID, "so I am paging again"), 1, "%q", b.said(inc.ChannelID, ""))
}

// TestEscalationNoticeRateLimitedIsRetried: the bot escalated the page in
// PagerDuty and Slack rate limits the channel's notice of it. The job
// fails and its retry says it once, without escalating again.
func TestEscalationNoticeRateLimitedIsRetried(t *testing.T) {
	t.Parallel()
	b := httpSetup(t, 2)
	inc := b.declareP2(t)
	b.clock.Advance(61 * time.Minute)
	job, ok := b.queue.Take(paging.JobRepage)
	require.True(t, ok)
	limited := rateLimitOnce(b.slack, "so I escalated it")

	err := b.attempt(job, 803, 1)
	require.Equal(t, 1, *limited)
	require.Error(t, err, "the re-page job fails, so that it is retried")
	require.NoError(t, b.attempt(job, 803, 2))
	require.Len(t, b.pd.Incidents(), 1, "nobody paged again")
	require.Len(t, b.said(inc.ChannelID, "so I escalated it"), 1, "%q", b.said(inc.ChannelID, ""))
	levels := 0
	for _, c := range b.pd.Calls() {
		if c.Method == "PUT" && strings.HasPrefix(c.Path, "/incidents") {
			levels++
		}
	}
	require.Equal(t, 1, levels, "PagerDuty was asked to escalate once")
}

// TestEscalationNoticeLostThenReassignedIsSaidOnce: the bot escalated the
// page and Slack posted the channel's notice of it, then answered 500. Before
// the retry, the page is reassigned to someone else. The retry says the
// escalation as it was recorded (to whom the bot escalated), so that it
// finds the copy that landed instead of posting a second one naming the
// new assignee.
func TestEscalationNoticeLostThenReassignedIsSaidOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := httpSetup(t, 2)
	inc := b.declareP2(t)
	b.clock.Advance(61 * time.Minute)
	job, ok := b.queue.Take(paging.JobRepage)
	require.True(t, ok)
	var mu sync.Mutex
	failed := 0
	b.slack.OnCall(func(c slackfake.Call) *slackfake.Fault {
		mu.Lock()
		defer mu.Unlock()
		if c.Method == "chat.postMessage" && failed == 0 && strings.Contains(c.Args.Get("text"), "so I escalated it") {
			failed++
			return slackfake.TookEffectThen(http.StatusInternalServerError)
		}
		return nil
	})

	require.Error(t, b.attempt(job, 804, 1), "the notice's answer was lost")
	require.Len(t, b.said(inc.ChannelID, "so I escalated it"), 1)
	page, err := b.store.FindPage(ctx, "pagerduty", b.pd.Incidents()[0].IncidentKey)
	require.NoError(t, err)
	_, err = b.store.UpdatePage(ctx, page.ID, func(p *incident.Page) error {
		p.Assignees = []string{"Dan Moe"}
		return nil
	})
	require.NoError(t, err)

	require.NoError(t, b.attempt(job, 804, 2))
	said := b.said(inc.ChannelID, "so I escalated it")
	require.Len(t, said, 1, "said once: %q", said)
	require.Contains(t, said[0], "Carol Poe")
}

// TestAckRefusalRateLimitedIsRetried: someone without an e-mail address in
// Slack clicks Acknowledge, so the page cannot be acknowledged as them;
// Slack rate limits the private answer saying so. The job fails and its
// retry gives the answer, once.
func TestAckRefusalRateLimitedIsRetried(t *testing.T) {
	t.Parallel()
	b := httpSetup(t, 1)
	ctx := context.Background()
	erin := b.slack.AddUser(slackfake.User{Name: "erin"})
	inc, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P2, ServiceKey: "checkout", DeclaredBy: erin.ID})
	require.NoError(t, err)
	b.queue.RunDue(t, b.clock.Now())
	inc, err = b.svc.Get(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, b.pd.Incidents(), 1)
	pg := b.pd.Incidents()[0]

	reply := incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: erin.ID}
	require.NoError(t, b.pg.AcknowledgePage(ctx, pg.IncidentKey, erin.ID, reply))
	job, ok := b.queue.Take(paging.JobAckPage)
	require.True(t, ok)
	b.slack.RateLimitNext("chat.postEphemeral", 1, time.Second)
	told := func() int {
		n := 0
		for _, e := range b.slack.Ephemerals(inc.ChannelID) {
			if e.User == erin.ID {
				n++
			}
		}
		return n
	}

	require.Error(t, b.attempt(job, 804, 1), "the answer was not delivered: the job is retried")
	require.Zero(t, told())
	require.NoError(t, b.attempt(job, 804, 2))
	require.Equal(t, 1, told(), "the person who clicked hears why, once")
	got, ok := b.pd.Incident(pg.ID)
	require.True(t, ok)
	require.Equal(t, "triggered", got.Status, "nothing was acknowledged as anybody else")
}

// TestAckAnswerRefusedForGoodEndsTheJob: the answer to an Acknowledge click
// cannot be delivered however often it is tried (Slack refuses the
// ephemeral and the direct message: the person was deactivated). The job
// logs it and ends, instead of failing each attempt and repeating its work.
func TestAckAnswerRefusedForGoodEndsTheJob(t *testing.T) {
	t.Parallel()
	b := httpSetup(t, 1)
	ctx := context.Background()
	erin := b.slack.AddUser(slackfake.User{Name: "erin"})
	inc, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P2, ServiceKey: "checkout", DeclaredBy: erin.ID})
	require.NoError(t, err)
	b.queue.RunDue(t, b.clock.Now())
	inc, err = b.svc.Get(ctx, inc.ID)
	require.NoError(t, err)
	pg := b.pd.Incidents()[0]
	require.NoError(t, b.pg.AcknowledgePage(ctx, pg.IncidentKey, erin.ID, incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: erin.ID}))
	job, ok := b.queue.Take(paging.JobAckPage)
	require.True(t, ok)
	b.slack.OnCall(func(c slackfake.Call) *slackfake.Fault {
		switch c.Method {
		case "chat.postEphemeral", "chat.postMessage", "conversations.open":
			return &slackfake.Fault{Error: "user_not_found"}
		}
		return nil
	})
	require.NoError(t, b.attempt(job, 805, 1), "an answer refused for good is not retried")
}

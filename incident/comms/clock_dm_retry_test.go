package comms_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/templates"
)

// escalationSetup is a P1 of a service with a status page, nobody having
// posted to it: the comms job that escalates to the IC is planned, not run.
type escalationSetup struct {
	srv      *slackfake.Server
	store    *incidenttest.MemStore
	q        *incidenttest.Queue
	inc      *incident.Incident
	decl     slackfake.User
	escalate incident.Job
}

func newEscalationSetup(t *testing.T) escalationSetup {
	t.Helper()
	ctx := context.Background()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	srv := slackfake.New(slackfake.WithClock(clock.Now))
	t.Cleanup(srv.Close)
	decl := srv.AddUser(slackfake.User{Name: "dana", Email: "dana@example.com"})
	srv.AddChannel(slackfake.Channel{Name: "incidents", Members: []string{srv.BotUserID(), decl.ID}})
	store := incidenttest.NewMemStore(clock)
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	policy := incident.DefaultPolicy()
	policy.BroadcastChannel = "#incidents"
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout",
		StatusPage: incident.StatusPageService{Components: []string{"cmp-api"}}}}
	chat := bot.NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), policy, bot.WithChatClock(clock)).Roles()
	core := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: chat, Policy: policy, Clock: clock})
	core.RegisterJobs(q)
	tmpl, err := templates.Load("")
	require.NoError(t, err)
	svc := comms.New(comms.Config{Store: store, Core: core, Chat: chat, Scheduler: q, StatusPages: []comms.StatusPage{newPage()},
		Templates: tmpl, Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	core.Use(svc.Feature())

	inc, _, err := core.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P1, ServiceKey: "checkout", DeclaredBy: decl.ID})
	require.NoError(t, err)
	clock.Advance(time.Second)
	q.RunDue(t, clock.Now())
	clock.Advance(5 * time.Minute)
	q.RunDue(t, clock.Now())
	clock.Advance(5 * time.Minute)
	inc, err = core.Get(ctx, inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, inc.ChannelID)

	var escalate incident.Job
	for _, j := range q.Jobs() {
		var p struct{ Step string }
		require.NoError(t, json.Unmarshal(j.Payload, &p))
		if j.Kind == comms.JobComms && p.Step == "escalate" {
			escalate = j
		}
	}
	require.NotEmpty(t, escalate.Payload, "the escalation is planned")
	return escalationSetup{srv: srv, store: store, q: q, inc: inc, decl: decl, escalate: escalate}
}

// TestStatusPageEscalationDirectMessageRateLimitedIsRetried: nobody posted
// to the status page within a P1's target, so the channel is told and the
// IC messaged directly; Slack rate limits the direct message. The job
// fails and its retry messages the IC, once, and says it in the channel
// once.
func TestStatusPageEscalationDirectMessageRateLimitedIsRetried(t *testing.T) {
	t.Parallel()
	f := newEscalationSetup(t)
	ctx, srv, q, inc, decl, escalate := context.Background(), f.srv, f.q, f.inc, f.decl, f.escalate
	var mu sync.Mutex
	limited := 0
	srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		mu.Lock()
		defer mu.Unlock()
		if ch, ok := srv.Channel(c.Args.Get("channel")); ok && ch.IM && c.Method == "chat.postMessage" && limited == 0 {
			limited++
			return slackfake.RateLimited(time.Second)
		}
		return nil
	})
	run := func(attempt int) error {
		return q.Handler(comms.JobComms)(incident.WithJobRun(ctx, 901, attempt, 8), escalate.Payload)
	}
	said := func(channel, sub string) int {
		n := 0
		for _, m := range srv.Messages(channel) {
			if strings.Contains(m.Text, sub) {
				n++
			}
		}
		return n
	}
	dms := func() int {
		n := 0
		for _, ch := range srv.Channels() {
			if ch.IM && len(ch.Members) > 1 && ch.Members[1] == decl.ID {
				n += said(ch.ID, inc.Key())
			}
		}
		return n
	}

	before := dms() // the nudge's, at half the target
	require.Error(t, run(1), "the direct message was not delivered: the job is retried")
	require.Equal(t, 1, limited)
	require.Equal(t, before, dms())
	require.NoError(t, run(2))
	require.Equal(t, before+1, dms(), "the IC is messaged once")
	require.Equal(t, 1, said(inc.ChannelID, "without a status page post"), "said once in the channel: %q", srv.Messages(inc.ChannelID))
}

// TestStatusPageEscalationDirectMessageRefusedIsRecorded: the IC's account
// was deactivated, so Slack refuses the direct message for good. The
// escalation is said in the channel and recorded once, instead of the job
// failing on every attempt and the postmortem losing the milestone.
func TestStatusPageEscalationDirectMessageRefusedIsRecorded(t *testing.T) {
	t.Parallel()
	f := newEscalationSetup(t)
	ctx := context.Background()
	f.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if ch, ok := f.srv.Channel(c.Args.Get("channel")); ok && ch.IM && c.Method == "chat.postMessage" {
			return &slackfake.Fault{Error: "user_not_found"}
		}
		return nil
	})
	require.NoError(t, f.q.Handler(comms.JobComms)(incident.WithJobRun(ctx, 902, 1, 8), f.escalate.Payload),
		"a direct message refused for good does not fail the step")
	events, err := f.store.ListTimeline(ctx, f.inc.ID)
	require.NoError(t, err)
	recorded := 0
	for _, ev := range events {
		if ev.Kind == incident.EventComms && strings.Contains(ev.SourceID, "escalate") {
			recorded++
		}
	}
	require.Equal(t, 1, recorded, "the escalation is on the timeline")
}

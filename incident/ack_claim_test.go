package incident_test

import (
	"context"
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
)

// timelineReads is the in-memory store telling a test each time a
// timeline is read, once armed.
type timelineReads struct {
	*incidenttest.MemStore
	mu    sync.Mutex
	reads chan struct{}
}

func (s *timelineReads) ListTimeline(ctx context.Context, id int64) ([]incident.TimelineEvent, error) {
	evs, err := s.MemStore.ListTimeline(ctx, id)
	s.mu.Lock()
	reads := s.reads
	s.mu.Unlock()
	if reads != nil {
		reads <- struct{}{}
	}
	return evs, err
}

// arm makes each read from now on send on the channel returned.
func (s *timelineReads) arm() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads = make(chan struct{}, 16)
	return s.reads
}

// ackSlack is a P1 with a commander group over the fake Slack, its
// response-time target (15 minutes) missed, and its check taken from the
// queue so that a test runs it itself.
type ackSlack struct {
	srv   *slackfake.Server
	store *timelineReads
	inc   *incident.Incident
	job   incident.Job
	run   incident.JobHandler
}

func ackSlackSetup(t *testing.T) ackSlack {
	t.Helper()
	ctx := context.Background()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	srv := slackfake.New(slackfake.WithClock(clock.Now))
	t.Cleanup(srv.Close)
	decl := srv.AddUser(slackfake.User{Name: "dana", Email: "dana@example.com"})
	store := &timelineReads{MemStore: incidenttest.NewMemStore(clock)}
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	policy := incident.DefaultPolicy()
	policy.CommanderGroup = "S0ICS"
	chat := bot.NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), policy, bot.WithChatClock(clock))
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: chat.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	inc, _, err := svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P1, DeclaredBy: decl.ID, Commander: decl.ID})
	require.NoError(t, err)
	require.Empty(t, q.RunDue(t, clock.Now()))
	inc, err = svc.Get(ctx, inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, inc.ChannelID)
	clock.Advance(15*time.Minute + time.Second)
	job, ok := q.Take(incident.JobAckCheck)
	require.True(t, ok)
	return ackSlack{srv: srv, store: store, inc: inc, job: job, run: q.Handler(incident.JobAckCheck)}
}

// attempt runs attempt n of the check as the job with id.
func (a ackSlack) attempt(id int64, n int) error {
	return a.run(incident.WithJobRun(context.Background(), id, n, 3), a.job.Payload)
}

// warnings returns the "not acknowledged" warnings in the incident's
// channel.
func (a ackSlack) warnings() []string {
	var out []string
	for _, m := range a.srv.Messages(a.inc.ChannelID) {
		if strings.Contains(m.Text, "has not been acknowledged") {
			out = append(out, m.Text)
		}
	}
	return out
}

// isWarning reports whether c posts the warning in the incident's channel.
func (a ackSlack) isWarning(c slackfake.Call) bool {
	return c.Method == "chat.postMessage" && c.Args.Get("channel") == a.inc.ChannelID && strings.Contains(c.Args.Get("text"), "has not been acknowledged")
}

// TestAckCheckTwoJobsAtOnceWarnOnce: two checks of one overdue incident
// (planned twice seconds apart, or by two replicas) run at once, and both
// read the timeline before either has posted. The warning, which calls on
// the commander group, is posted once.
func TestAckCheckTwoJobsAtOnceWarnOnce(t *testing.T) {
	t.Parallel()
	a := ackSlackSetup(t)
	reads := a.store.arm()
	// The first post waits until both checks have read the timeline.
	var hold sync.Once
	a.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if a.isWarning(c) {
			hold.Do(func() {
				for range 2 {
					select {
					case <-reads:
					case <-time.After(10 * time.Second):
						t.Error("the second check never read the timeline")
						return
					}
				}
			})
		}
		return nil
	})

	errs := make(chan error, 2)
	for _, id := range []int64{801, 802} {
		go func() { errs <- a.attempt(id, 1) }()
	}
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	got := a.warnings()
	require.Len(t, got, 1, "%q", got)
	require.Contains(t, got[0], "<!subteam^S0ICS>, please respond.")
	n := 0
	tl, err := a.store.ListTimeline(context.Background(), a.inc.ID)
	require.NoError(t, err)
	for _, ev := range tl {
		if ev.Kind == incident.EventAckMissed {
			n++
		}
	}
	require.Equal(t, 1, n, "on the timeline once")
}

// TestAckCheckFailedPostIsSaidByTheRetry: Slack fails the warning's post,
// once without posting it and once after posting it; each time the same
// check's retry says it, and it is in the channel once.
func TestAckCheckFailedPostIsSaidByTheRetry(t *testing.T) {
	t.Parallel()
	for name, fault := range map[string]*slackfake.Fault{"not posted": slackfake.ServerError(500), "posted": slackfake.TookEffectThen(500)} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := ackSlackSetup(t)
			var once sync.Once
			a.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
				var f *slackfake.Fault
				if a.isWarning(c) {
					once.Do(func() { f = fault })
				}
				return f
			})
			require.Error(t, a.attempt(901, 1))
			require.NoError(t, a.attempt(901, 2))
			got := a.warnings()
			require.Len(t, got, 1, "%q", got)
			require.Contains(t, got[0], "<!subteam^S0ICS>, please respond.")

			require.NoError(t, a.attempt(902, 1), "another check")
			require.Len(t, a.warnings(), 1, "says nothing more")
		})
	}
}

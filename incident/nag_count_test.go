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
)

// nagCounter is the metrics' observer: how often each rung was counted.
type nagCounter struct {
	mu   sync.Mutex
	sent map[int]int
}

func (c *nagCounter) NagSent(_ *incident.Incident, level int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent[level]++
}

// flakyScheduler fails the next scheduling of a job of kind once armed, as
// a database that blips between a job's post and its last write.
type flakyScheduler struct {
	*incidenttest.Queue
	mu   sync.Mutex
	fail string
}

func (s *flakyScheduler) Schedule(ctx context.Context, job incident.Job) (bool, error) {
	s.mu.Lock()
	fail := s.fail == job.Kind
	if fail {
		s.fail = ""
	}
	s.mu.Unlock()
	if fail {
		return false, errors.New("the database is not answering")
	}
	return s.Queue.Schedule(ctx, job)
}

// TestNagCountedOnceWhenItsRunIsRetried: the reminder is posted, then the
// run fails to plan the next one and is retried. The retry says it again
// (in Slack a keyed post, found instead of posted twice), plans the next
// reminder, and the reminder is counted once, not once per run.
func TestNagCountedOnceWhenItsRunIsRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	sched := &flakyScheduler{Queue: q}
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	counter := &nagCounter{sent: map[int]int{}}
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: sched, Chat: c.Roles(), Policy: incident.DefaultPolicy(), Clock: clock, Observer: counter})
	svc.RegisterJobs(q)
	inc, _, err := svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P1,
		DeclaredBy: "U0DECL", ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}})
	require.NoError(t, err)
	require.Empty(t, q.RunDue(t, clock.Now()))

	sched.mu.Lock()
	sched.fail = incident.JobNag
	sched.mu.Unlock()
	clock.Advance(10*time.Minute + 30*time.Second)
	require.Empty(t, q.RunDue(t, clock.Now()), "the retry succeeds")
	counter.mu.Lock()
	require.Equal(t, map[int]int{1: 1}, counter.sent, "counted once")
	counter.mu.Unlock()
	require.Equal(t, 1, q.Pending(incident.JobNag), "the next reminder is planned")
	got, err := store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, 1, got.NagCount)
}

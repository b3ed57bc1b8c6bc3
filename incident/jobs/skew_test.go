package jobs

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// behind is how far the clocks of the replicas in these tests are behind
// the database's.
const behind = 30 * time.Second

// TestTimerOnAReplicaBehindTheDatabaseWaitsOnce: the engine starts a
// timer when the database's clock says it is due; a replica whose clock is
// 30 s behind finds it not due yet by its own (incident.NotDue) and
// postpones it by what its clock says is left. River stamped the snooze with
// that replica's clock, so the job was due again at once by the database's:
// fetched again and again until the replica's clock caught up, each time a
// snooze spent (and, past MaxSnoozes, attempts: a re-page could be
// discarded). The wait is counted on the database's clock instead: the timer
// waits once, and fires when the replica's clock says it is due.
// A wait over 5 s is stored by River as scheduled, for its leader to make
// available by the leader's clock: 25 s late with a leader 30 s behind.
func TestTimerOnAReplicaBehindTheDatabaseWaitsOnce(t *testing.T) {
	t.Parallel()
	for _, wait := range []time.Duration{2 * time.Second, 7 * time.Second} {
		t.Run(wait.String(), func(t *testing.T) {
			t.Parallel()
			timerOnAReplicaBehind(t, wait)
		})
	}
}

func timerOnAReplicaBehind(t *testing.T, wait time.Duration) {
	eachHarness(t, func(t *testing.T, h *harness) {
		clock := skewedClock(-behind)
		opts := testOptions()
		opts.clock = clock
		e := h.newEngine(t, opts)
		var mu sync.Mutex
		var runs []time.Time // by the replica's clock
		done := make(chan struct{})
		due := clock().Add(wait)
		e.Handle("nag", func(context.Context, []byte) error {
			now := clock()
			mu.Lock()
			defer mu.Unlock()
			runs = append(runs, now)
			if now.Before(due) {
				return incident.NotDue("INC-1's update reminder", due, now)
			}
			close(done)
			return nil
		})
		start(t, e)
		_, err := e.Schedule(context.Background(), incident.Job{Kind: "nag", Key: "nag:INC-1", Urgent: true, RunAt: due})
		require.NoError(t, err)
		select {
		case <-done:
		case <-time.After(waitFor):
			t.Fatal("the timer never fired")
		}
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, runs, 2, "the timer was run %d times before it was due by the replica's clock", len(runs)-1)
		require.Less(t, runs[1].Sub(due), time.Second, "the timer fired when the replica's clock said it was due")
	})
}

// TestRetryOnAReplicaBehindTheDatabaseWaitsItsBackoff: a failed attempt is
// retried after its backoff by the database's clock, not at once because
// the replica's clock, which River stamps the retry with, is behind.
func TestRetryOnAReplicaBehindTheDatabaseWaitsItsBackoff(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		opts := testOptions()
		opts.clock = skewedClock(-behind)
		e := h.newEngine(t, opts)
		var mu sync.Mutex
		var runs []time.Time
		e.Handle("post", func(context.Context, []byte) error {
			mu.Lock()
			defer mu.Unlock()
			runs = append(runs, time.Now())
			if len(runs) == 1 {
				return errors.New("slack answered 500")
			}
			return nil
		})
		start(t, e)
		_, err := e.Schedule(context.Background(), incident.Job{Kind: "post"})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return h.states(t)["completed"] == 1 }, waitFor, tick)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, runs, 2)
		require.GreaterOrEqual(t, runs[1].Sub(runs[0]), 800*time.Millisecond, "the retry waited its backoff (1 s ±10%%)")
	})
}

// TestJobDueLaterRunsOnTimeWithALeaderBehindTheDatabase: a job scheduled
// to run later runs when the database's clock says it is due. River's
// leader made such a job available only once its own clock, less 5 s, had
// reached it: a leader 30 s behind ran it 25 s late.
func TestJobDueLaterRunsOnTimeWithALeaderBehindTheDatabase(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		opts := testOptions()
		opts.clock = skewedClock(-behind)
		e := h.newEngine(t, opts)
		ran := make(chan time.Time, 1)
		e.Handle("digest", func(context.Context, []byte) error {
			ran <- time.Now()
			return nil
		})
		start(t, e)
		due := time.Now().Add(time.Second) // by the database's clock
		_, err := e.Schedule(context.Background(), incident.Job{Kind: "digest", RunAt: due})
		require.NoError(t, err)
		select {
		case at := <-ran:
			require.Less(t, at.Sub(due), 2*time.Second, "ran %s after it was due", at.Sub(due))
			require.False(t, at.Before(due), "ran before it was due")
		case <-time.After(waitFor):
			t.Fatal("the job never ran")
		}
	})
}

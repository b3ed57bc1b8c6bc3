package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestStuckRunReturningRightAfterItsRerunCompletesDoesNotRunItAgain: River
// keeps the results it has to write keyed by job id, so the stuck run's
// late result, handed over within the same batch window as its rerun's
// "completed", replaced it; the rerun's completion was never recorded,
// and past JobTimeout and the grace the finished rerun was taken for stuck
// and the job ran a third time. Here the stuck handler returns 2 ms after
// the rerun completed.
func TestStuckRunReturningRightAfterItsRerunCompletesDoesNotRunItAgain(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		opts := testOptions()
		opts.HeartbeatInterval = 50 * time.Millisecond
		opts.JobTimeout = 500 * time.Millisecond
		e := h.newEngine(t, opts)
		e.stuckGrace = 500 * time.Millisecond
		var runs atomic.Int32
		stuckReturns := make(chan struct{})
		rerunStarted := make(chan struct{}, 1)
		rerunProceeds := make(chan struct{})
		rerunDone := make(chan struct{})
		e.Handle("page", func(ctx context.Context, _ []byte) error {
			if runs.Add(1) == 1 {
				<-stuckReturns // ignores its context
				return errors.New("the stuck run's late failure")
			}
			rerunStarted <- struct{}{}
			<-rerunProceeds
			close(rerunDone)
			return nil
		})
		start(t, e)
		_, err := e.Schedule(context.Background(), incident.Job{Kind: "page", Urgent: true, MaxAttempts: 3})
		require.NoError(t, err)
		select {
		case <-rerunStarted:
		case <-time.After(waitFor):
			t.Fatal("the stuck job never ran again")
		}
		close(rerunProceeds)
		<-rerunDone
		time.Sleep(2 * time.Millisecond)
		close(stuckReturns)
		require.Eventually(t, func() bool { return h.states(t)["completed"] == 1 }, waitFor, tick)
		// Past JobTimeout and the grace again: a rerun taken for stuck
		// would have run a third time by now.
		time.Sleep(opts.JobTimeout + e.stuckGrace + 500*time.Millisecond)
		require.Equal(t, int32(2), runs.Load(), "the job ran again after its rerun completed")
		require.Equal(t, map[string]int{"completed": 1}, h.states(t))
		require.Zero(t, e.fence.pending(), "a run is left registered")
	})
}

// TestHandlerThatReturnedIsNotStuckWhileItsResultWaits: a run stays
// registered until its result is written. A handler that returned near
// JobTimeout while the database was slow to record its result was taken
// for stuck past JobTimeout and the grace: charged a failed attempt, run
// again, its real result dropped (a second post or page). Only a handler
// that has gone on past the limit is stuck.
func TestHandlerThatReturnedIsNotStuckWhileItsResultWaits(t *testing.T) {
	t.Parallel()
	f := newFence(time.Minute, slog.New(slog.DiscardHandler))
	_, returned := f.begin(context.Background(), 1, 1)
	require.True(t, f.start(returned))
	_, hung := f.begin(context.Background(), 2, 1)
	require.True(t, f.start(hung))
	time.Sleep(20 * time.Millisecond)
	require.False(t, f.returnedRun(returned), "not abandoned")
	stuck := f.stuck(10 * time.Millisecond)
	require.Len(t, stuck, 1)
	require.Equal(t, int64(2), stuck[0].id)
	require.False(t, f.abandon(returned), "a run whose handler returned is not taken from it")
	require.True(t, f.abandon(hung))
}

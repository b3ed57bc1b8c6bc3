package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// stopPastTimeout stops e as SIGTERM does once SHUTDOWN_TIMEOUT has ended
// with a job still running: the running handlers are cancelled.
func stopPastTimeout(t *testing.T, e *Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.Error(t, e.Stop(ctx), "the stop outlasts its context: the job is still running")
}

// TestShutdownRerunIsTheNextAttempt: a handler that has started (and may
// have posted to Slack) and is cancelled by a graceful stop past
// SHUTDOWN_TIMEOUT runs again as the next attempt, on another replica or
// this one's next start: the handlers' "attempt > 1: an earlier run may have
// acted, look for what it did" checks (the announcement, the panel, the
// nags, the exports) hold, so the rerun does not post a second time. The
// interruption is no failure of the job: its maximum grows by one with it.
func TestShutdownRerunIsTheNextAttempt(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		type seen struct{ attempt, max int }
		runs := make(chan seen, 4)
		handler := func(ctx context.Context, _ []byte) error {
			a, m := incident.JobAttempt(ctx)
			runs <- seen{a, m}
			if a > 1 {
				return nil
			}
			// "posted to Slack", now waiting on a second call
			<-ctx.Done()
			return ctx.Err()
		}
		opts := testOptions()
		opts.InstanceID = "replica-a"
		e := h.newEngine(t, opts)
		e.Handle("announce", handler)
		require.NoError(t, e.Start(context.Background()))
		_, err := e.Schedule(context.Background(), incident.Job{Kind: "announce", Key: "announce:1", MaxAttempts: 3})
		require.NoError(t, err)
		first := <-runs
		stopPastTimeout(t, e)

		opts2 := testOptions()
		opts2.InstanceID = "replica-b"
		e2 := h.newEngine(t, opts2)
		e2.Handle("announce", handler)
		start(t, e2)
		var second seen
		select {
		case second = <-runs:
		case <-time.After(waitFor):
			t.Fatal("no rerun")
		}
		require.Equal(t, seen{1, 3}, first)
		require.Equal(t, seen{2, 4}, second, "the rerun is told an earlier run started and may have acted, and the interruption took none of the job's attempts")
		require.Eventually(t, func() bool { return h.states(t)["completed"] == 1 }, waitFor, tick)
	})
}

// TestShutdownDoesNotChargeTheJob: the run a shutdown cancels is not the
// job's failure. On its last attempt the job is not discarded, and on a
// late attempt it does not wait the attempt⁴ backoff: it is available again
// at once.
func TestShutdownDoesNotChargeTheJob(t *testing.T) {
	t.Parallel()
	h := postgresHarness(t)
	for _, tc := range []struct {
		name        string
		maxAttempts int
		preAttempt  int
	}{{"last attempt", 1, 0}, {"attempt 6 of 10", 10, 5}} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.db.Exec("DELETE FROM river_job")
			require.NoError(t, err)
			started := make(chan struct{}, 1)
			e := h.newEngine(t, testOptions())
			e.Handle("deploy_victim", func(ctx context.Context, _ []byte) error {
				started <- struct{}{}
				<-ctx.Done()
				return ctx.Err()
			})
			_, err = e.Schedule(context.Background(), incident.Job{Kind: "deploy_victim", MaxAttempts: tc.maxAttempts, RunAt: time.Now().Add(time.Hour)})
			require.NoError(t, err)
			_, err = h.db.Exec("UPDATE river_job SET attempt = $1, scheduled_at = now(), state = 'available'", tc.preAttempt)
			require.NoError(t, err)
			require.NoError(t, e.Start(context.Background()))
			<-started
			stopPastTimeout(t, e)
			var state string
			var attempt, maxAttempts int
			var wait float64
			require.NoError(t, h.db.QueryRow("SELECT state::text, attempt, max_attempts, extract(epoch FROM scheduled_at - now()) FROM river_job").Scan(&state, &attempt, &maxAttempts, &wait))
			require.Equal(t, "available", state, "a job interrupted by the shutdown is available again")
			require.Equal(t, tc.preAttempt+1, attempt, "the interrupted run keeps its attempt, so the rerun is the next")
			require.Equal(t, tc.maxAttempts+1, maxAttempts, "the interruption is not counted against the job's maximum")
			require.Less(t, wait, 1.0, "a job interrupted by the shutdown runs again at once")
		})
	}
}

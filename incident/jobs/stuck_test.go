package jobs

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// skewedClock is a host clock off by skew from the database's.
func skewedClock(skew time.Duration) func() time.Time {
	return func() time.Time { return time.Now().Add(skew) }
}

// TestAClockAheadLeaderRescuesNoLiveJob: River's rescuer (run by the leader
// replica) compared attempted_at, stamped with the database's clock, with
// the leader's own clock less JobTimeout and a minute: a leader whose clock
// was ahead by more than that took every running job for stuck and made it
// available while its run went on, and the job ran twice (two pages, two
// posts). Here the only replica, so the leader, runs five minutes fast, and
// the job's attempted_at is moved five minutes back too (as seen by such a
// leader), with the handler well inside its JobTimeout.
func TestAClockAheadLeaderRescuesNoLiveJob(t *testing.T) {
	t.Parallel()
	h := postgresHarness(t)
	var runs atomic.Int32
	started := make(chan struct{}, 4)
	release := make(chan struct{})
	opts := testOptions()
	opts.JobTimeout = 2 * time.Minute
	opts.clock = skewedClock(5 * time.Minute)
	e := h.newEngine(t, opts)
	e.Handle("page", func(ctx context.Context, _ []byte) error {
		runs.Add(1)
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return ctx.Err()
	})
	start(t, e)
	t.Cleanup(func() { close(release) }) // before the engine stops
	_, err := e.Schedule(context.Background(), incident.Job{Kind: "page", Key: "pd-create-INC-1"})
	require.NoError(t, err)
	<-started
	_, err = h.db.Exec("UPDATE river_job SET attempted_at = attempted_at - interval '5 minutes' WHERE state = 'running'")
	require.NoError(t, err)
	// River's rescuer runs when the leader is elected and every 30 s
	// after; the engine's own checks every heartbeat.
	select {
	case <-started:
		t.Fatalf("the job started a second run while its first still runs (runs=%d)", runs.Load())
	case <-time.After(10 * time.Second):
	}
	require.Equal(t, map[string]int{"running": 1}, h.states(t))
}

// TestStuckHandlerOnALiveReplicaRunsAgain: a handler that ignores its
// context past JobTimeout on a replica that is alive (it beats) holds its
// job for good; past JobTimeout and a grace, measured by that replica on
// its own clock from the run's start, the job is run again, charged with an
// error as a failed attempt. The stuck run's late result, when it comes
// while the rerun runs on the same replica, is not recorded over the
// rerun's.
func TestStuckHandlerOnALiveReplicaRunsAgain(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		opts := testOptions()
		opts.HeartbeatInterval = 50 * time.Millisecond
		opts.JobTimeout = 500 * time.Millisecond
		e := h.newEngine(t, opts)
		e.stuckGrace = 500 * time.Millisecond
		var runs atomic.Int32
		stuckReturns := make(chan struct{})
		rerunStarted := make(chan int, 1)
		rerunProceeds := make(chan struct{})
		e.Handle("page", func(ctx context.Context, _ []byte) error {
			if runs.Add(1) == 1 {
				<-stuckReturns // ignores its context
				return errors.New("the stuck run's late failure")
			}
			a, _ := incident.JobAttempt(ctx)
			rerunStarted <- a
			<-rerunProceeds
			return nil
		})
		start(t, e)
		_, err := e.Schedule(context.Background(), incident.Job{Kind: "page", Urgent: true, MaxAttempts: 3})
		require.NoError(t, err)
		select {
		case a := <-rerunStarted:
			require.Equal(t, 2, a, "the rerun is the next attempt")
		case <-time.After(waitFor):
			t.Fatal("the stuck job never ran again")
		}
		close(stuckReturns)
		time.Sleep(300 * time.Millisecond) // the stuck run's result reaches the completer
		close(rerunProceeds)
		require.Eventually(t, func() bool { return h.states(t)["completed"] == 1 }, waitFor, tick)
		time.Sleep(300 * time.Millisecond)
		require.Equal(t, int32(2), runs.Load(), "the stuck run's late failure was not taken for the rerun's")
		require.Equal(t, map[string]int{"completed": 1}, h.states(t))
	})
}

// TestStuckHandlerOnItsLastAttemptIsDiscarded: a handler that hangs on
// every attempt does not hold its job, nor run it, for ever.
func TestStuckHandlerOnItsLastAttemptIsDiscarded(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	opts := testOptions()
	opts.HeartbeatInterval = 50 * time.Millisecond
	opts.JobTimeout = 200 * time.Millisecond
	e := h.newEngine(t, opts)
	e.stuckGrace = 200 * time.Millisecond
	release := make(chan struct{})
	var runs atomic.Int32
	e.Handle("hang", func(context.Context, []byte) error {
		runs.Add(1)
		<-release
		return nil
	})
	start(t, e)
	t.Cleanup(func() { close(release) })
	_, err := e.Schedule(context.Background(), incident.Job{Kind: "hang", MaxAttempts: 1})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return h.states(t)["discarded"] == 1 }, waitFor, tick)
	require.Equal(t, int32(1), runs.Load())
}

// TestRunningJobALiveReplicaLostTrackOfRunsAgain: a job River shows as
// running under a replica that is alive but runs no such job (its run was
// lost) runs again once it has been running for JobTimeout and a grace, by
// the database's clock: what River's rescuer did.
func TestRunningJobALiveReplicaLostTrackOfRunsAgain(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		opts := testOptions()
		opts.InstanceID = "me"
		opts.HeartbeatInterval = 50 * time.Millisecond
		opts.JobTimeout = 500 * time.Millisecond
		e := h.newEngine(t, opts)
		e.stuckGrace = 500 * time.Millisecond
		var rec recorder
		e.Handle("work", rec.handle)
		_, err := e.Schedule(context.Background(), incident.Job{Kind: "work", Payload: []byte("lost"), RunAt: time.Now().Add(time.Hour)})
		require.NoError(t, err)
		start(t, e)
		q := "UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() - interval '2 seconds', attempted_by = ARRAY['me']"
		if !h.postgres {
			q = "UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now', 'subsec', '-2 seconds'), attempted_by = jsonb_array('me')"
		}
		_, err = h.db.Exec(q)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return rec.count("lost") == 1 }, waitFor, tick)
		require.Eventually(t, func() bool { return h.states(t)["completed"] == 1 }, waitFor, tick)
	})
}

// TestRunningJobWithNoOwnerIsTakenOver: a job left running with no owner
// at all (no instance in attempted_by) runs again on a live replica, long
// before JobTimeout.
func TestRunningJobWithNoOwnerIsTakenOver(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		opts := testOptions()
		opts.HeartbeatInterval = 50 * time.Millisecond
		opts.JobTimeout = time.Hour
		e := h.newEngine(t, opts)
		var rec recorder
		e.Handle("work", rec.handle)
		_, err := e.Schedule(context.Background(), incident.Job{Kind: "work", Payload: []byte("ownerless"), RunAt: time.Now().Add(time.Hour)})
		require.NoError(t, err)
		q := "UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now(), attempted_by = NULL"
		if !h.postgres {
			q = "UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now', 'subsec'), attempted_by = NULL"
		}
		_, err = h.db.Exec(q)
		require.NoError(t, err)
		start(t, e)
		require.Eventually(t, func() bool { return rec.count("ownerless") == 1 }, waitFor, tick)
	})
}

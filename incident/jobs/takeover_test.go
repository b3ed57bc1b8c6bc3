package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// holdJobs marks every queued job as running under owner, as River leaves
// the jobs of a process killed mid-run.
func holdJobs(t *testing.T, e *Engine, owner string) {
	t.Helper()
	q := "UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now(), attempted_by = ARRAY[$1]"
	if !e.takeover.postgres {
		q = "UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now', 'subsec'), attempted_by = jsonb_array(?)"
	}
	_, err := e.takeover.db.ExecContext(context.Background(), q, owner)
	require.NoError(t, err)
}

// TestTakeoverOfDeadInstance: a job left running by an instance that no
// longer beats runs on a live engine without waiting for JobTimeout.
func TestTakeoverOfDeadInstance(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		opts := testOptions()
		opts.InstanceID = "live"
		opts.HeartbeatInterval = 50 * time.Millisecond
		opts.JobTimeout = time.Hour // a stuck run is taken only past it
		e := h.newEngine(t, opts)
		var rec recorder
		e.Handle("work", rec.handle)
		_, err := e.Schedule(context.Background(), incident.Job{Kind: "work", Payload: []byte("orphan"), Urgent: true})
		require.NoError(t, err)
		holdJobs(t, e, "crashed-replica")
		start(t, e)
		require.Eventually(t, func() bool { return rec.count("orphan") == 1 }, waitFor, tick)
	})
}

// TestTakeoverSparesLiveInstances: only the jobs of silent instances, and
// at start this instance's own, are taken back.
func TestTakeoverSparesLiveInstances(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		opts := testOptions()
		opts.InstanceID = "me"
		e := h.newEngine(t, opts)
		e.Handle("work", (&recorder{}).handle)
		other := *e.takeover
		other.id = "alive"
		require.NoError(t, other.beat(ctx))

		_, err := e.Schedule(ctx, incident.Job{Kind: "work"})
		require.NoError(t, err)
		holdJobs(t, e, "alive")
		n, err := e.takeover.reclaim(ctx, true)
		require.NoError(t, err)
		require.Zero(t, n, "a job of a live instance must not be taken")

		holdJobs(t, e, "me")
		n, err = e.takeover.reclaim(ctx, false)
		require.NoError(t, err)
		require.Zero(t, n, "a running engine never takes its own running jobs")
		n, err = e.takeover.reclaim(ctx, true)
		require.NoError(t, err)
		require.Equal(t, 1, n, "at start, this instance's running jobs were interrupted")

		holdJobs(t, e, "alive")
		_, err = e.takeover.db.ExecContext(ctx, e.takeover.rebind("UPDATE job_instances SET seen_at_ms = seen_at_ms - 60000 WHERE id = ?"), "alive")
		require.NoError(t, err) // its last beat is a minute old
		require.NoError(t, e.takeover.beat(ctx))
		n, err = e.takeover.reclaim(ctx, false)
		require.NoError(t, err)
		require.Zero(t, n, "an engine that has just begun to beat (again) does not judge the silent")
		e.takeover.beatingSince = time.Now().Add(-e.takeover.deadAfter)
		n, err = e.takeover.reclaim(ctx, false)
		require.NoError(t, err)
		require.Equal(t, 1, n, "a silent instance's job is taken over")
		require.Equal(t, 1, h.states(t)["available"])
	})
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second, 6: 1296 * time.Second, 10: 10000 * time.Second} {
		require.Equal(t, want, retryDelay(attempt, 0, 0.5), "attempt %d", attempt)
		require.InDelta(t, float64(want)*0.9, float64(retryDelay(attempt, 0, 0)), float64(time.Millisecond))
	}
}

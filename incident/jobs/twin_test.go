package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestTwinInstanceIsRefused: two processes started with the same instance
// id would each take the other's running jobs for their own interrupted
// work and run them twice. The second to start finds the instance id's lock
// held (on SQLite at once; on PostgreSQL it then sees the first beating)
// and refuses to start, naming the setting; a job held by the first stays
// with it.
func TestTwinInstanceIsRefused(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		opts := testOptions()
		opts.InstanceID = "replica-a"
		opts.HeartbeatInterval = 50 * time.Millisecond
		first := h.newEngine(t, opts)
		var rec recorder
		first.Handle("work", rec.handle)
		start(t, first)

		opts.Registerer = prometheus.NewRegistry()
		twin := h.newEngine(t, opts)
		twin.Handle("work", rec.handle)
		_, err := twin.Schedule(context.Background(), incident.Job{Kind: "work", Payload: []byte("held"), RunAt: time.Now().Add(time.Hour)})
		require.NoError(t, err)
		holdJobs(t, twin, "replica-a")
		err = twin.Start(context.Background())
		require.ErrorIs(t, err, ErrInstanceInUse)
		require.Contains(t, err.Error(), "INSTANCE_ID")
		require.Equal(t, 1, h.states(t)["running"], "the first process's job is not taken from it")
	})
}

// TestRestartAfterACrashIsNotATwin: a process killed mid-run leaves a
// recent heartbeat; its restart with the same id finds the instance id's
// lock free and takes back its interrupted job at once, well within the
// time other replicas would wait. A clean stop leaves nothing to watch.
func TestRestartAfterACrashIsNotATwin(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		opts := testOptions()
		opts.InstanceID = "replica-b"
		opts.HeartbeatInterval = 50 * time.Millisecond
		opts.JobTimeout = time.Hour
		e := h.newEngine(t, opts)
		var rec recorder
		e.Handle("work", rec.handle)
		_, err := e.Schedule(ctx, incident.Job{Kind: "work", Payload: []byte("interrupted"), Urgent: true})
		require.NoError(t, err)
		holdJobs(t, e, "replica-b")
		// The killed life's last beat, a moment ago.
		require.NoError(t, e.takeover.beat(ctx))

		began := time.Now()
		start(t, e)
		require.Less(t, time.Since(began), e.takeover.twinWatch()+2*time.Second, "the start does not wait for a twin")
		require.Eventually(t, func() bool { return rec.count("interrupted") == 1 }, waitFor, tick)

		stopCtx, cancel := context.WithTimeout(ctx, waitFor)
		defer cancel()
		require.NoError(t, e.Stop(stopCtx))
		seen, _, ok, err := e.takeover.lastBeat(ctx)
		require.NoError(t, err)
		require.True(t, ok)
		require.Zero(t, seen, "a clean stop is recorded")
		require.NoError(t, e.takeover.checkTwin(ctx), "and nothing is watched at the next start")
		t.Cleanup(e.takeover.unlock)
		if err := e.takeover.checkTwin(ctx); errors.Is(err, ErrInstanceInUse) {
			t.Fatal("a stopped instance is no twin")
		}
	})
}

// TestRestartAfterACrashOnPostgresWatchesNothing: on PostgreSQL a killed
// process's session ends with it, and its instance id's advisory lock with
// the session: its restart finds the lock free and takes back its jobs at
// once, however recent the last beat, without watching for a twin (here
// with beats ten minutes apart, which a watch would wait out).
func TestRestartAfterACrashOnPostgresWatchesNothing(t *testing.T) {
	t.Parallel()
	h := postgresHarness(t)
	ctx := context.Background()
	opts := testOptions()
	opts.InstanceID = "replica-c"
	opts.HeartbeatInterval = 10 * time.Minute
	e := h.newEngine(t, opts)
	require.NoError(t, e.takeover.beat(ctx), "the killed life's last beat, a moment ago")
	checkCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	require.NoError(t, e.takeover.checkTwin(checkCtx), "the lock is free: nothing to watch")
	t.Cleanup(e.takeover.unlock)

	// While it runs, the lock is held: a twin would watch, and see it beat.
	twin := *e.takeover
	twin.lock = nil
	locked, err := twin.tryLock(ctx)
	require.NoError(t, err)
	require.False(t, locked)
	e.takeover.unlock()
	locked, err = twin.tryLock(ctx)
	require.NoError(t, err)
	require.True(t, locked, "released on stop")
	twin.unlock()
}

// TestLockHeldByASilentSessionIsTakenLater: a start that finds the
// instance id's lock held by a session that no longer beats (a lost host's,
// not yet ended by PostgreSQL) goes on without the lock, and takes it once
// the session ends, so that a twin started later is still seen.
func TestLockHeldByASilentSessionIsTakenLater(t *testing.T) {
	t.Parallel()
	h := postgresHarness(t)
	ctx := context.Background()
	opts := testOptions()
	opts.InstanceID = "replica-d"
	opts.HeartbeatInterval = 50 * time.Millisecond
	e := h.newEngine(t, opts)
	lost := *e.takeover
	require.NoError(t, lost.beat(ctx), "the lost host's last beat")
	locked, err := lost.tryLock(ctx)
	require.NoError(t, err)
	require.True(t, locked, "its session still holds the lock")

	start(t, e)
	probe := *e.takeover
	probe.lock = nil
	locked, err = probe.tryLock(ctx)
	require.NoError(t, err)
	require.False(t, locked)

	lost.unlock() // PostgreSQL ends the lost session
	require.Eventually(t, func() bool {
		locked, err := probe.tryLock(ctx)
		require.NoError(t, err)
		if locked {
			probe.unlock()
		}
		return !locked
	}, waitFor, tick, "the running engine takes the lock at a heartbeat")
}

// TestLockLostWithItsSessionIsTakenAgain: the instance id's advisory lock
// lives as long as the session holding it. A session the database ends
// (a restart or failover of the server, a dropped connection, an idle
// session killed by a proxy) takes the lock with it while the engine runs
// on: the engine takes it again at a heartbeat, so a twin started later
// still finds it held and is refused, instead of taking the running
// engine's jobs for its own interrupted ones.
func TestLockLostWithItsSessionIsTakenAgain(t *testing.T) {
	t.Parallel()
	h := postgresHarness(t)
	ctx := context.Background()
	opts := testOptions()
	opts.InstanceID = "replica-e"
	opts.HeartbeatInterval = 50 * time.Millisecond
	e := h.newEngine(t, opts)
	start(t, e)

	var pid int
	require.NoError(t, e.takeover.lock.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid))
	var ended bool
	require.NoError(t, e.takeover.db.QueryRowContext(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&ended))
	require.True(t, ended)
	// pg_terminate_backend only signals the session: until it has gone,
	// it still holds the lock, and a probe then would find the lock held
	// before the engine has taken it again.
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, e.takeover.db.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&n))
		return n == 0
	}, waitFor, tick, "the lock's session ends")

	probe := *e.takeover
	probe.lock = nil
	require.Eventually(t, func() bool {
		locked, err := probe.tryLock(ctx)
		require.NoError(t, err)
		if locked {
			probe.unlock()
		}
		return !locked
	}, waitFor, tick, "the running engine takes the lock again at a heartbeat")

	opts = withRegistry(opts)
	twin := h.newEngine(t, opts)
	err := twin.Start(ctx)
	if err == nil {
		_ = twin.Stop(ctx)
	}
	require.ErrorIs(t, err, ErrInstanceInUse)
}

package jobs

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestSkewedClocksTakeNoLiveJob: replicas on several hosts share one
// database but not one clock. A host whose clock is a minute ahead (or one
// that just jumped, as after an NTP step or a restored virtual machine)
// must not read the others' fresh heartbeats as a minute old and take their
// running jobs, nor one whose clock is a minute behind have its own
// heartbeats read so: the heartbeats are the database's time, not each
// writer's.
func TestSkewedClocksTakeNoLiveJob(t *testing.T) {
	t.Parallel()
	h := postgresHarness(t)
	release := make(chan struct{})
	var rec recorder
	rec.fn = func(ctx context.Context, _ int) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// Long enough that a heartbeat held up by a busy machine (the tests
	// of other packages run alongside) is not read as a dead replica.
	const deadAfter = 1500 * time.Millisecond
	skews := []time.Duration{0, time.Minute, -time.Minute}
	engines := make([]*Engine, len(skews))
	for i, skew := range skews {
		opts := testOptions()
		opts.InstanceID = fmt.Sprintf("replica-%d", i)
		opts.UrgentWorkers = 1
		opts.HeartbeatInterval = 50 * time.Millisecond
		opts.DeadAfter = deadAfter
		opts.JobTimeout = time.Hour
		e := h.newEngine(t, opts)
		e.takeover.now = func() time.Time { return time.Now().Add(skew) }
		e.Handle("work", rec.handle)
		engines[i] = e
	}
	// Each replica runs one job, its only worker busy with it.
	for i, e := range engines {
		start(t, e)
		_, err := e.Schedule(context.Background(), incident.Job{Kind: "work", Urgent: true, Payload: fmt.Appendf(nil, "job-%d", i)})
		require.NoError(t, err)
		require.Eventually(t, func() bool { return rec.total() == i+1 }, waitFor, tick)
	}
	t.Cleanup(func() { // before the engines stop
		select {
		case <-release:
		default:
			close(release)
		}
	})
	// Every replica has been beating for DeadAfter, and judged the others
	// many times.
	time.Sleep(3 * deadAfter)

	require.Equal(t, map[string]int{"running": len(engines)}, h.states(t), "every job is still in its first run, on its own replica")
	close(release)
	require.Eventually(t, func() bool { return h.states(t)["completed"] == len(engines) }, waitFor, tick)
	for i := range engines {
		require.Equal(t, 1, rec.count(fmt.Sprintf("job-%d", i)), "job-%d", i)
	}
}

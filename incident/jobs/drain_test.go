package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestStartContextEndingDoesNotStopTheEngine: the context Start is given
// bounds the start only. A process starts its engine with the context its
// signal ends, and lets the running jobs finish with Stop: the signal must
// not cancel them first, on either database.
func TestStartContextEndingDoesNotStopTheEngine(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		started := make(chan struct{})
		release := make(chan struct{})
		handlerErr := make(chan error, 1)
		e := h.newEngine(t, testOptions())
		e.Handle("slow", func(ctx context.Context, _ []byte) error {
			close(started)
			select {
			case <-release:
				handlerErr <- ctx.Err()
				return nil
			case <-ctx.Done():
				handlerErr <- ctx.Err()
				return ctx.Err()
			}
		})
		signal, stopSignal := context.WithCancel(context.Background())
		require.NoError(t, e.Start(signal))
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			_ = e.Stop(ctx)
		})
		_, err := e.Schedule(context.Background(), incident.Job{Kind: "slow"})
		require.NoError(t, err)
		<-started

		stopSignal() // SIGTERM
		require.Never(t, func() bool { return len(handlerErr) > 0 }, 300*time.Millisecond, tick,
			"the running job was cancelled by the end of Start's context")
		require.True(t, e.Running())

		stopped := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			stopped <- e.Stop(ctx)
		}()
		time.Sleep(100 * time.Millisecond)
		close(release)
		require.NoError(t, <-stopped)
		require.NoError(t, <-handlerErr, "the job finished with its context alive")
		require.Equal(t, map[string]int{"completed": 1}, h.states(t))
	})
}

// TestStopEndsWithinItsGrace: past Stop's context, a handler that ignores
// its own is given StopGrace, and the stop returns within about twice
// StopGrace after the context, not whenever the handler returns.
func TestStopEndsWithinItsGrace(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	started := make(chan struct{})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	opts := testOptions()
	opts.StopGrace = 200 * time.Millisecond
	e := h.newEngine(t, opts)
	e.Handle("deaf", func(context.Context, []byte) error {
		close(started)
		<-release
		return nil
	})
	require.NoError(t, e.Start(context.Background()))
	_, err := e.Schedule(context.Background(), incident.Job{Kind: "deaf"})
	require.NoError(t, err)
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	begun := time.Now()
	err = e.Stop(ctx)
	took := time.Since(begun)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, took, 300*time.Millisecond+2*opts.StopGrace+500*time.Millisecond, "Stop returned %s after it was called", took)
}

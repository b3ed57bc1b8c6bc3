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

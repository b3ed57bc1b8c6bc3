package gormstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// waitWaiters waits until the gate has fg foreground and bg background
// waiters.
func waitWaiters(t *testing.T, g *gate, fg, bg int) {
	t.Helper()
	require.Eventually(t, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.foreground) == fg && len(g.background) == bg
	}, 5*time.Second, time.Millisecond)
}

// admissions records the order in which waiters pass a gate.
type admissions struct {
	t     *testing.T
	g     *gate
	mu    sync.Mutex
	order []string
	wg    sync.WaitGroup
}

// enter starts a waiter that records its name once admitted, then leaves.
func (r *admissions) enter(name string, fg bool) {
	r.wg.Go(func() {
		require.NoError(r.t, r.g.acquire(context.Background(), fg))
		r.mu.Lock()
		r.order = append(r.order, name)
		r.mu.Unlock()
		r.g.release()
	})
}

func TestGateAdmitsForegroundBeforeBackground(t *testing.T) {
	t.Parallel()
	g := newGate(1)
	ctx := context.Background()
	require.NoError(t, g.acquire(ctx, false)) // a job's transaction in progress

	r := &admissions{t: t, g: g}
	r.enter("job 1", false)
	waitWaiters(t, g, 0, 1)
	r.enter("job 2", false)
	waitWaiters(t, g, 0, 2)
	r.enter("command 1", true)
	waitWaiters(t, g, 1, 2)
	r.enter("command 2", true)
	waitWaiters(t, g, 2, 2)

	g.release()
	r.wg.Wait()
	require.Equal(t, []string{"command 1", "command 2", "job 1", "job 2"}, r.order,
		"people first, each class in arrival order")
	require.Equal(t, 1, g.free, "every place returned")
}

func TestGateWaitEndsWithItsContext(t *testing.T) {
	t.Parallel()
	g := newGate(1)
	require.NoError(t, g.acquire(context.Background(), false))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := g.acquire(ctx, true)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	waitWaiters(t, g, 0, 0)

	g.release()
	require.Equal(t, 1, g.free, "the abandoned wait holds no place")
	require.NoError(t, g.acquire(context.Background(), false))
	g.release()
}

func TestGateManyWaitersNeverExceedItsPlaces(t *testing.T) {
	t.Parallel()
	g := newGate(2)
	var (
		inside, most int
		mu           sync.Mutex
		wg           sync.WaitGroup
	)
	for i := range 200 {
		wg.Go(func() {
			ctx := context.Background()
			if i%7 == 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Duration(i%3)*time.Millisecond)
				defer cancel()
			}
			if err := g.acquire(ctx, i%2 == 0); err != nil {
				return
			}
			mu.Lock()
			inside++
			most = max(most, inside)
			mu.Unlock()
			time.Sleep(100 * time.Microsecond)
			mu.Lock()
			inside--
			mu.Unlock()
			g.release()
		})
	}
	wg.Wait()
	require.LessOrEqual(t, most, 2)
	require.Equal(t, 2, g.free)
}

func TestGateLetsBackgroundThroughAFloodOfForeground(t *testing.T) {
	t.Parallel()
	g := newGate(1)
	ctx := context.Background()
	require.NoError(t, g.acquire(ctx, true))

	r := &admissions{t: t, g: g}
	r.enter("page job", false)
	waitWaiters(t, g, 0, 1)
	for i := range 10 {
		r.enter(fmt.Sprintf("command %d", i), true)
		waitWaiters(t, g, i+1, 1)
	}
	g.release()
	r.wg.Wait()
	require.Equal(t, "page job", r.order[foregroundStreak],
		"a background waiter goes after %d foreground ones: %v", foregroundStreak, r.order)
	require.Equal(t, 1, g.free)
}

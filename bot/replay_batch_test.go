package bot

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// batchDeliveries records deliveries in batches, the first of each id new.
type batchDeliveries struct {
	mu      sync.Mutex
	seen    map[string]bool
	batches int
	gate    chan struct{} // closed to let writes through
}

func (b *batchDeliveries) RecordDelivery(context.Context, incident.Delivery) (bool, error) {
	panic("a store that records batches gets batches")
}

func (b *batchDeliveries) RecordDeliveries(_ context.Context, ds []incident.Delivery) ([]bool, error) {
	<-b.gate
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batches++
	out := make([]bool, len(ds))
	for i, d := range ds {
		out[i] = !b.seen[d.ID]
		b.seen[d.ID] = true
	}
	return out, nil
}

// TestReplayRecordBatches: signatures accepted while the store is busy are
// recorded together, and one already recorded (by another replica) is
// reported as a replay.
func TestReplayRecordBatches(t *testing.T) {
	store := &batchDeliveries{seen: map[string]bool{"sig-elsewhere": true}, gate: make(chan struct{})}
	var (
		mu       sync.Mutex
		replayed []string
	)
	g := &replayGuard{deliveries: store, clock: incident.SystemClock, onReplay: func(sig string) {
		mu.Lock()
		replayed = append(replayed, sig)
		mu.Unlock()
	}}
	for i := range 100 {
		require.True(t, g.firstSeen(fmt.Sprintf("sig-%d", i)))
	}
	require.True(t, g.firstSeen("sig-elsewhere"), "new to this replica")
	require.False(t, g.firstSeen("sig-3"), "a replay to the same replica is refused at once")
	close(store.gate)
	require.Eventually(t, func() bool {
		store.mu.Lock()
		defer store.mu.Unlock()
		return len(store.seen) == 101
	}, 5*time.Second, 5*time.Millisecond)
	store.mu.Lock()
	require.LessOrEqual(t, store.batches, 3, "waiting signatures are written together")
	store.mu.Unlock()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(replayed) == 1
	}, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, []string{"sig-elsewhere"}, replayed)
}

package bot

import (
	"context"
	"fmt"
	"net/http"
	"strings"
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

// TestReplayRecordGathersWithinTheLinger: signatures arriving one by one
// within the linger go in one write, and a write never waits past it.
func TestReplayRecordGathersWithinTheLinger(t *testing.T) {
	t.Parallel()
	q := make(chan incident.Delivery, 16)
	go func() {
		for i := range 5 {
			q <- incident.Delivery{ID: fmt.Sprint(i)}
			time.Sleep(time.Millisecond)
		}
	}()
	batch := gather(q, []incident.Delivery{{ID: "first"}}, 6, time.Minute)
	require.Len(t, batch, 6, "gathered up to the batch size, without waiting out the linger")

	start := time.Now()
	batch = gather(q, []incident.Delivery{{ID: "alone"}}, 6, 30*time.Millisecond)
	require.Len(t, batch, 1)
	require.Less(t, time.Since(start), 5*time.Second, "a lone signature is written once the linger ends")

	close(q)
	require.Len(t, gather(q, nil, 6, time.Minute), 0, "a closed queue ends the gathering")
}

// TestReplayMemorySweptAtIntervals: past 100,000 signatures the in-memory
// set is swept of expired ones, but not on every request.
func TestReplayMemorySweptAtIntervals(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := incident.ClockFunc(func() time.Time { return now })
	g := &replayGuard{deliveries: &batchDeliveries{seen: map[string]bool{}, gate: make(chan struct{})}, clock: clock}
	g.seen = make(map[string]time.Time, 100_001)
	for i := range 100_000 {
		g.seen[fmt.Sprintf("old-%d", i)] = now.Add(-2 * replayWindow)
	}
	require.True(t, g.firstSeen("new-1"))
	require.Len(t, g.seen, 1, "expired signatures swept")
	for i := range 100_000 {
		g.seen[fmt.Sprintf("old-%d", i)] = now.Add(-2 * replayWindow)
	}
	require.True(t, g.firstSeen("new-2"))
	require.Len(t, g.seen, 100_002, "not swept again within the interval")
	now = now.Add(replayPrune)
	require.True(t, g.firstSeen("new-3"))
	require.Len(t, g.seen, 3, "swept once the interval passed")
}

// TestReplayKeyBeginsWithTheTime: the remembered key is the request's
// timestamp and the start of its signature, the same for a replay and
// different for another request, and keys of one second sort together.
func TestReplayKeyBeginsWithTheTime(t *testing.T) {
	t.Parallel()
	header := func(ts, sig string) http.Header {
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", ts)
		h.Set("X-Slack-Signature", "v0="+sig)
		return h
	}
	sig := strings.Repeat("ab", 32)
	key := replayKey(header("1733230000", sig))
	require.Equal(t, "1733230000:"+sig[:32], key)
	require.Equal(t, key, replayKey(header("1733230000", sig)), "a replay has the same key")
	require.NotEqual(t, key, replayKey(header("1733230001", sig)), "another timestamp is another request")
	require.NotEqual(t, key, replayKey(header("1733230000", strings.Repeat("cd", 32))))
	require.Less(t, key, replayKey(header("1733230001", strings.Repeat("00", 32))), "later requests sort after")
}

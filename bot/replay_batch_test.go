package bot

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// gatedRecords keeps replay batches in memory, each write waiting for gate.
type gatedRecords struct {
	mu      sync.Mutex
	batches []incident.ReplayBatch
	gate    chan struct{} // closed to let writes through
}

func (r *gatedRecords) RecordReplayBatch(_ context.Context, b incident.ReplayBatch) error {
	<-r.gate
	r.mu.Lock()
	defer r.mu.Unlock()
	b.ID = int64(len(r.batches)) + 1
	b.Keys = append([]string(nil), b.Keys...)
	r.batches = append(r.batches, b)
	return nil
}

func (r *gatedRecords) ReplayBatchesSince(_ context.Context, since time.Time, except string) ([]incident.ReplayBatch, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []incident.ReplayBatch
	for _, b := range r.batches {
		if b.Instance != except && !b.RecordedAt.Before(since) {
			out = append(out, b)
		}
	}
	return out, nil
}

func (r *gatedRecords) keys() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, b := range r.batches {
		n += len(b.Keys)
	}
	return n
}

// TestReplayRecordBatches: signatures accepted while the store is busy are
// recorded together, a batch a row, under this process's name.
func TestReplayRecordBatches(t *testing.T) {
	t.Parallel()
	store := &gatedRecords{gate: make(chan struct{})}
	g := &replayGuard{records: store, instance: "here", clock: incident.SystemClock}
	for i := range 100 {
		require.True(t, g.firstSeen(fmt.Sprintf("sig-%d", i)))
	}
	require.False(t, g.firstSeen("sig-3"), "a replay to the same process is refused at once")
	close(store.gate)
	require.Eventually(t, func() bool { return store.keys() == 100 }, 5*time.Second, 5*time.Millisecond)
	store.mu.Lock()
	defer store.mu.Unlock()
	require.LessOrEqual(t, len(store.batches), 3, "waiting signatures are written together")
	for _, b := range store.batches {
		require.Equal(t, "here", b.Instance)
	}
}

// TestReplayShareRefusesAndCounts: a process that reads another's batches
// refuses replays of their signatures, counts once each signature it had
// accepted too, and reads again what it has read without counting again.
func TestReplayShareRefusesAndCounts(t *testing.T) {
	t.Parallel()
	store := &gatedRecords{gate: make(chan struct{})}
	close(store.gate)
	var (
		mu       sync.Mutex
		replayed []string
	)
	a := &replayGuard{records: store, instance: "a", clock: incident.SystemClock}
	b := &replayGuard{records: store, instance: "b", clock: incident.SystemClock, onReplay: func(sig string) {
		mu.Lock()
		replayed = append(replayed, sig)
		mu.Unlock()
	}}
	require.True(t, a.firstSeen("sig-1"))
	require.True(t, a.firstSeen("sig-both"))
	require.True(t, b.firstSeen("sig-both"), "b has not read a's batch yet")
	require.Eventually(t, func() bool { return store.keys() == 3 }, 5*time.Second, 5*time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.share(ctx); close(done) }()
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		_, ok := b.seen["sig-1"]
		return ok
	}, 5*time.Second, 5*time.Millisecond, "b reads a's batch")
	require.False(t, b.firstSeen("sig-1"), "b refuses a replay of a's request once it has read a's batch")
	time.Sleep(replayPoll + 200*time.Millisecond) // a second read of the same batches
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"sig-both"}, replayed, "the signature both accepted is counted once")
	require.True(t, b.firstSeen("sig-new"), "a new request is still accepted")
}

// TestReplayRecordGathersWithinTheLinger: signatures arriving one by one
// within the linger go in one write, and a write never waits past it.
func TestReplayRecordGathersWithinTheLinger(t *testing.T) {
	t.Parallel()
	q := make(chan string, 16)
	go func() {
		for i := range 5 {
			q <- fmt.Sprint(i)
			time.Sleep(time.Millisecond)
		}
	}()
	batch := gather(q, []string{"first"}, 6, time.Minute)
	require.Len(t, batch, 6, "gathered up to the batch size, without waiting out the linger")

	start := time.Now()
	batch = gather(q, []string{"alone"}, 6, 30*time.Millisecond)
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
	g := &replayGuard{clock: clock}
	g.seen = make(map[string]seenKey, 100_001)
	for i := range 100_000 {
		g.seen[fmt.Sprintf("old-%d", i)] = seenKey{at: now.Add(-2 * replayWindow)}
	}
	require.True(t, g.firstSeen("new-1"))
	require.Len(t, g.seen, 1, "expired signatures swept")
	for i := range 100_000 {
		g.seen[fmt.Sprintf("old-%d", i)] = seenKey{at: now.Add(-2 * replayWindow)}
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

// hangingRecords is gatedRecords whose first reads hang until their
// context ends, like a database that stops answering.
type hangingRecords struct {
	*gatedRecords
	hangs atomic.Int32 // reads left to hang
}

func (h *hangingRecords) ReplayBatchesSince(ctx context.Context, since time.Time, except string) ([]incident.ReplayBatch, error) {
	if h.hangs.Add(-1) >= 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return h.gatedRecords.ReplayBatchesSince(ctx, since, except)
}

// TestReplayShareOutlivesAHangingDatabase: a read that hangs is given up
// after the read timeout, and the next reads go on.
func TestReplayShareOutlivesAHangingDatabase(t *testing.T) {
	t.Parallel()
	store := &hangingRecords{gatedRecords: &gatedRecords{gate: make(chan struct{})}}
	close(store.gate)
	store.hangs.Store(2)
	a := &replayGuard{records: store, instance: "a", clock: incident.SystemClock}
	b := &replayGuard{records: store, instance: "b", clock: incident.SystemClock, readTimeout: 50 * time.Millisecond}
	require.True(t, a.firstSeen("sig-1"))
	require.Eventually(t, func() bool { return store.keys() == 1 }, 5*time.Second, 5*time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.share(ctx)
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		_, ok := b.seen["sig-1"]
		return ok
	}, 3*replayPoll+time.Second, 5*time.Millisecond, "b reads a's batch once the database answers again")
	require.False(t, b.firstSeen("sig-1"))
	require.LessOrEqual(t, store.hangs.Load(), int32(-1), "two reads hung and were given up, a later one answered")
}

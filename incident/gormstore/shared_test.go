package gormstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// blockingRead counts its runs and waits for release before answering.
type blockingRead struct {
	runs    atomic.Int32
	started chan struct{}
	release chan struct{}
}

func newBlockingRead() *blockingRead {
	return &blockingRead{started: make(chan struct{}, 16), release: make(chan struct{})}
}

func (b *blockingRead) read(ctx context.Context) (any, error) {
	n := b.runs.Add(1)
	b.started <- struct{}{}
	select {
	case <-b.release:
		return n, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestSharedReadsShareOneReadInFlight(t *testing.T) {
	t.Parallel()
	var r sharedReads
	b := newBlockingRead()
	const n = 20
	got := make([]any, n)
	var wg sync.WaitGroup
	wg.Go(func() { got[0], _ = r.do(context.Background(), "list", b.read) })
	<-b.started
	for i := 1; i < n; i++ {
		wg.Go(func() { got[i], _ = r.do(context.Background(), "list", b.read) })
	}
	// The others join the read in flight rather than start their own.
	require.Never(t, func() bool { return b.runs.Load() > 1 }, 50*time.Millisecond, 5*time.Millisecond)
	close(b.release)
	wg.Wait()
	require.EqualValues(t, 1, b.runs.Load())
	for i := range got {
		require.EqualValues(t, 1, got[i], "caller %d", i)
	}
}

func TestSharedReadsNeverJoinAReadOlderThanAWrite(t *testing.T) {
	t.Parallel()
	var r sharedReads
	b := newBlockingRead()
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = r.do(context.Background(), "list", b.read) })
	<-b.started
	r.wrote() // a write commits while the first read is in flight
	var after any
	wg.Go(func() { after, _ = r.do(context.Background(), "list", b.read) })
	<-b.started // the caller after the write starts a read of its own
	close(b.release)
	wg.Wait()
	require.EqualValues(t, 2, b.runs.Load())
	require.EqualValues(t, 2, after)
}

func TestSharedReadsOutliveTheCallerWhoStartedThem(t *testing.T) {
	t.Parallel()
	var r sharedReads
	b := newBlockingRead()
	first, cancel := context.WithCancel(context.Background())
	var firstErr error
	var wg sync.WaitGroup
	wg.Go(func() { _, firstErr = r.do(first, "list", b.read) })
	<-b.started
	var second any
	var secondErr error
	wg.Go(func() { second, secondErr = r.do(context.Background(), "list", b.read) })
	require.Never(t, func() bool { return b.runs.Load() > 1 }, 20*time.Millisecond, 5*time.Millisecond)
	cancel() // the first caller gives up ...
	time.Sleep(10 * time.Millisecond)
	close(b.release)
	wg.Wait()
	require.True(t, errors.Is(firstErr, context.Canceled))
	require.NoError(t, secondErr, "... the read it started goes on for the one who waits")
	require.EqualValues(t, 1, second)
}

func TestSharedReadsKeysApart(t *testing.T) {
	t.Parallel()
	var r sharedReads
	b := newBlockingRead()
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = r.do(context.Background(), "open", b.read) })
	wg.Go(func() { _, _ = r.do(context.Background(), "closed", b.read) })
	<-b.started
	<-b.started
	close(b.release)
	wg.Wait()
	require.EqualValues(t, 2, b.runs.Load(), "different reads are not shared")
}

// TestSharedReadsCallerHearsItsOwnDeadline: with the database hung, a caller
// whose deadline passes gets its context's error (whose cause the
// acknowledgement path turns into its sentence), never the read's own.
func TestSharedReadsCallerHearsItsOwnDeadline(t *testing.T) {
	t.Parallel()
	hung := errors.New("the read timed out")
	for range 30 {
		var r sharedReads
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		_, err := r.do(ctx, "list", func(rctx context.Context) (any, error) {
			<-rctx.Done()
			return nil, hung
		})
		cancel()
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NotErrorIs(t, err, hung)
	}
}

// TestSharedReadsKeptForAWhile: on PostgreSQL a finished read answers again
// until a write commits here or keepFor passes, whichever comes first.
func TestSharedReadsKeptForAWhile(t *testing.T) {
	t.Parallel()
	r := sharedReads{keepFor: 200 * time.Millisecond}
	var runs atomic.Int32
	read := func(context.Context) (any, error) { return runs.Add(1), nil }
	list := func() any {
		v, err := r.do(context.Background(), "list", read)
		require.NoError(t, err)
		return v
	}
	first := list()
	for range 10 {
		if v := list(); v != first {
			// The period changed between two calls: a new read is kept.
			first = v
		}
	}
	require.LessOrEqual(t, runs.Load(), int32(2), "a kept read answers")

	before := runs.Load()
	r.wrote()
	require.NotEqual(t, first, list(), "a write here is seen at once")
	require.Equal(t, before+1, runs.Load())

	kept := list()
	require.Eventually(t, func() bool { return list() != kept }, time.Second, 10*time.Millisecond,
		"after keepFor the database is read again (another replica's writes show)")
}

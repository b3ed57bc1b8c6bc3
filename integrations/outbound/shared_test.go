package outbound_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// limitStore is a RateLimitStore in memory, shaped like the PostgreSQL
// one: Record keeps the longest wait per key and tells the listeners;
// Listen reads the limits in force, says it listens, then applies each one
// recorded. down makes every call fail; hang makes Record wait for its
// context, as a database that does not answer does.
type limitStore struct {
	mu        sync.Mutex
	rows      map[[2]string]time.Time
	listeners []chan [3]any
	down      bool
	hang      bool
	listens   int
	recorded  chan [2]string
}

func newLimitStore() *limitStore {
	return &limitStore{rows: map[[2]string]time.Time{}, recorded: make(chan [2]string, 1024)}
}

func (s *limitStore) RecordRateLimit(ctx context.Context, provider, key string, until time.Time) error {
	s.mu.Lock()
	if s.hang {
		s.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	if s.down {
		s.mu.Unlock()
		return errors.New("connection refused")
	}
	k := [2]string{provider, key}
	if until.After(s.rows[k]) {
		s.rows[k] = until
	}
	for _, l := range s.listeners {
		l <- [3]any{provider, key, s.rows[k]}
	}
	s.mu.Unlock()
	s.recorded <- k
	return nil
}

func (s *limitStore) ListenRateLimits(ctx context.Context, apply func(string, string, time.Time), listening func()) error {
	s.mu.Lock()
	s.listens++
	if s.down || s.hang {
		s.mu.Unlock()
		return errors.New("connection refused")
	}
	ch := make(chan [3]any, 64)
	s.listeners = append(s.listeners, ch)
	rows := make(map[[2]string]time.Time, len(s.rows))
	for k, v := range s.rows {
		rows[k] = v
	}
	s.mu.Unlock()
	for k, v := range rows {
		if v.After(time.Now()) {
			apply(k[0], k[1], v)
		}
	}
	listening()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case n := <-ch:
			apply(n[0].(string), n[1].(string), n[2].(time.Time))
		}
	}
}

func (s *limitStore) set(f func(s *limitStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// startShared starts sharing over store until the test ends.
func startShared(t *testing.T, store outbound.RateLimitStore) *outbound.SharedLimits {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	shared := outbound.NewSharedLimits(store, nil)
	wait := shared.Start(ctx)
	t.Cleanup(func() { cancel(); wait() })
	return shared
}

// learnt returns the keys s applies from its store, as it applies them.
func learnt(s *outbound.SharedLimits) <-chan string {
	ch := make(chan string, 64)
	outbound.OnLearnt(s, func(_, key string, _ time.Time) { ch <- key })
	return ch
}

func waitLearnt(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case k := <-ch:
		return k
	case <-time.After(5 * time.Second):
		t.Fatal("no rate limit heard within 5 s")
		return ""
	}
}

// tooMany answers 429 with Retry-After: 30.
func tooMany(_ int, w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Retry-After", "30")
	w.WriteHeader(http.StatusTooManyRequests)
}

func inJobCtx() context.Context { return incident.WithJobRun(context.Background(), 7, 1, 5) }

// A 429 one process receives holds the clients of every process sharing
// the store, a client built after it was heard included, and nothing else.
func TestSharedLimitsHoldEveryProcess(t *testing.T) {
	t.Parallel()
	store := newLimitStore()
	srv := newScripted(t, tooMany)
	policy := outbound.Policy{Provider: "slack", Operation: outbound.SlackOperation}
	a := outbound.New(policy, outbound.WithSharedLimits(startShared(t, store)))
	sharedB := startShared(t, store)
	heardB := learnt(sharedB)
	b := outbound.New(policy, outbound.WithSharedLimits(sharedB))

	resp, _, err := do(t, a, newRequest(t, inJobCtx(), http.MethodPost, srv.URL+"/api/chat.postMessage", nil))
	require.NoError(t, err)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, [2]string{"slack", "chat.postMessage"}, <-store.recorded, "A shares its 429")

	require.Equal(t, "chat.postMessage", waitLearnt(t, heardB), "B hears of it")
	var rl *outbound.RateLimitedError
	_, err = b.RoundTrip(newRequest(t, inJobCtx(), http.MethodPost, srv.URL+"/api/chat.postMessage", nil))
	require.ErrorAs(t, err, &rl, "B holds A's 429")
	require.InDelta(t, 30*time.Second, rl.Wait, float64(2*time.Second))

	late := outbound.New(policy, outbound.WithSharedLimits(sharedB))
	_, err = late.RoundTrip(newRequest(t, inJobCtx(), http.MethodPost, srv.URL+"/api/chat.postMessage", nil))
	require.ErrorAs(t, err, &rl, "a client built later holds it too")
	require.Equal(t, 1, srv.Hits(), "only A's call reached the provider")

	other := outbound.New(outbound.Policy{Provider: "github"}, outbound.WithSharedLimits(sharedB))
	resp, _, err = do(t, other, newRequest(t, inJobCtx(), http.MethodGet, srv.URL+"/api/chat.postMessage", nil))
	require.NoError(t, err, "another provider's limits are its own")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
}

// With the store hanging or down, a 429 is handed back at once, calls go
// on under the process's own gate, and a burst of 429s never waits on the
// queue.
func TestSharedLimitsNeverDelayCalls(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"hang", "down"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			store := newLimitStore()
			store.set(func(s *limitStore) { s.hang, s.down = mode == "hang", mode == "down" })
			srv := newScripted(t, tooMany)
			began := time.Now()
			c := outbound.New(outbound.Policy{Provider: "slack", Operation: outbound.SlackOperation, RateKey: outbound.SlackRateKey},
				outbound.WithSharedLimits(startShared(t, store)))
			for i := range 600 { // more than the queue holds
				req := newRequest(t, inJobCtx(), http.MethodPost, srv.URL+"/api/chat.postMessage?channel=C"+string(rune('A'+i%26))+string(rune('a'+i/26)), nil)
				resp, err := c.RoundTrip(req)
				if err == nil {
					resp.Body.Close()
				}
			}
			require.Equal(t, 600, srv.Hits(), "each channel's first call went out")
			require.Less(t, time.Since(began), 2*time.Second+time.Second, "no call waited on the store")
			var rl *outbound.RateLimitedError
			_, err := c.RoundTrip(newRequest(t, inJobCtx(), http.MethodPost, srv.URL+"/api/chat.postMessage?channel=CAa", nil))
			require.ErrorAs(t, err, &rl, "the process's own gate still holds")
		})
	}
}

// A listener that lost its connection listens again and reads the limits
// recorded meanwhile.
func TestSharedLimitsListenAgain(t *testing.T) {
	t.Parallel()
	store := newLimitStore()
	store.set(func(s *limitStore) { s.down = true })
	srv := newScripted(t, tooMany)
	shared := startShared(t, store)
	heard := learnt(shared)
	c := outbound.New(outbound.Policy{Provider: "slack", Operation: outbound.SlackOperation}, outbound.WithSharedLimits(shared))
	store.set(func(s *limitStore) {
		s.down = false
		s.rows[[2]string{"slack", "views.open"}] = time.Now().Add(time.Minute)
	})
	require.Equal(t, "views.open", waitLearnt(t, heard))
	var rl *outbound.RateLimitedError
	_, err := c.RoundTrip(newRequest(t, inJobCtx(), http.MethodPost, srv.URL+"/api/views.open", nil))
	require.ErrorAs(t, err, &rl)
	require.Zero(t, srv.Hits())
}

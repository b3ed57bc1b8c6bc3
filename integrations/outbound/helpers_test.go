package outbound_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// fakeClock is a clock that only moves when the client sleeps, so backoff
// and Retry-After waits are recorded instead of waited for.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	// onSleep, if set, runs before each sleep returns; tests use it to
	// cancel the caller's context mid-backoff.
	onSleep func()
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.sleeps = append(f.sleeps, d)
	f.now = f.now.Add(d)
	hook := f.onSleep
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	return ctx.Err()
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// scripted is an httptest server that answers the n-th request (from 1)
// with script(n, r), counts hits and keeps every request body.
type scripted struct {
	*httptest.Server
	hits   atomic.Int32
	mu     sync.Mutex
	bodies []string
}

func newScripted(t *testing.T, script func(n int, w http.ResponseWriter, r *http.Request)) *scripted {
	t.Helper()
	s := &scripted{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.hits.Add(1))
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, string(body))
		s.mu.Unlock()
		script(n, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) Hits() int { return int(s.hits.Load()) }

func (s *scripted) Bodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// statuses answers the n-th request with codes[n-1], repeating the last.
func statuses(codes ...int) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(codes[min(n, len(codes))-1])
		_, _ = io.WriteString(w, "body")
	}
}

// newClient returns a client on a fake clock with exact (jitter-free)
// backoff: 100ms, 200ms, 400ms, ...
func newClient(t *testing.T, p outbound.Policy, opts ...outbound.Option) (*outbound.Client, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	if p.Provider == "" {
		p.Provider = "pagerduty"
	}
	if p.InitialInterval == 0 {
		p.InitialInterval = 100 * time.Millisecond
	}
	base := []outbound.Option{
		outbound.WithClock(clock.Now),
		outbound.WithSleep(clock.Sleep),
		outbound.WithJitter(func(d time.Duration) time.Duration { return d }),
	}
	return outbound.New(p, append(base, opts...)...), clock
}

// do sends a request through c and reads the whole response body.
func do(t *testing.T, c *outbound.Client, req *http.Request) (*http.Response, string, error) {
	t.Helper()
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body), nil
}

func newRequest(t *testing.T, ctx context.Context, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	require.NoError(t, err)
	return req
}

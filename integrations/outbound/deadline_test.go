package outbound_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// TestRateLimitBeyondTheCallersDeadlineIsHandedBackAtOnce: a slash command
// or click must be answered within Slack's 3 seconds, so the bot gives its
// Slack calls about 1.5 s. A 429 asking for 30 s was waited out until that
// deadline passed, and the person heard "Slack did not answer in time";
// the 429 is handed back at once, its Retry-After intact, so the caller can
// say when to try again. The next call meets the closed gate and is told
// how long is left without sleeping either.
func TestRateLimitBeyondTheCallersDeadlineIsHandedBackAtOnce(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"ok":false,"error":"ratelimited"}`))
	})
	// The real clock: a deadline is wall time.
	c := outbound.New(outbound.Policy{Provider: "slack", RateKey: outbound.SlackRateKey, Retryable: func(*http.Request) bool { return true }})

	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	began := time.Now()
	resp, _, err := do(t, c, newRequest(t, ctx, http.MethodPost, srv.URL+"/api/conversations.members", strings.NewReader("channel=C1")))
	require.NoError(t, err)
	require.Less(t, time.Since(began), 500*time.Millisecond, "the 429 is handed back, not slept on until the deadline")
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	wait, ok := outbound.ParseRetryAfter(resp.Header, time.Now())
	require.True(t, ok)
	require.Equal(t, 30*time.Second, wait)
	require.Equal(t, 1, srv.Hits())

	began = time.Now()
	_, _, err = do(t, c, newRequest(t, ctx, http.MethodPost, srv.URL+"/api/conversations.members", strings.NewReader("channel=C1")))
	require.Less(t, time.Since(began), 500*time.Millisecond, "the shared wait is handed back, not slept on until the deadline")
	var limited *outbound.RateLimitedError
	require.ErrorAs(t, err, &limited)
	require.InDelta(t, 30*time.Second, limited.Wait, float64(2*time.Second))
	wait, ok = outbound.AsRetryAfter(err)
	require.True(t, ok)
	require.Greater(t, wait, 28*time.Second)
	require.Equal(t, 1, srv.Hits(), "the closed gate kept the call from Slack")
}

// TestRateLimitWithinALongDeadlineIsWaitedOut: a caller whose deadline
// leaves room for Slack's Retry-After (a job's, or a long one) still waits
// it out and calls again.
func TestRateLimitWithinALongDeadlineIsWaitedOut(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	c, clock := newClient(t, outbound.Policy{})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	resp, _, err := do(t, c, newRequest(t, ctx, http.MethodPost, srv.URL, strings.NewReader("x")))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, []time.Duration{30 * time.Second}, clock.Sleeps())
	require.Equal(t, 2, srv.Hits())
}

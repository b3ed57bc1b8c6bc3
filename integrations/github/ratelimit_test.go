package github_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// GitHub's rate limits, as "Rate limits for the REST API" documents them:
// the primary limit answers 403 or 429 with x-ratelimit-remaining 0, and
// the client waits until x-ratelimit-reset (epoch seconds); a secondary
// limit answers 403 or 429, with retry-after or without it, and then the
// client waits at least a minute. Every case waits as long as GitHub asks
// and no less, and a 403 that is not a rate limit stays a refusal.
func TestChangesWaitAsGitHubsRateLimitsAsk(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		arrange func(b bundle)
		wait    time.Duration
		message string
	}{
		{
			name:    "primary, 403",
			arrange: func(b bundle) { b.fake.PrimaryRateLimitNext(1, http.StatusForbidden, now.Add(10*time.Minute)) },
			wait:    10 * time.Minute,
			message: "GitHub is rate limiting us; trying again in 10 minutes.",
		},
		{
			name:    "primary, 429",
			arrange: func(b bundle) { b.fake.PrimaryRateLimitNext(1, http.StatusTooManyRequests, now.Add(10*time.Minute)) },
			wait:    10 * time.Minute,
			message: "GitHub is rate limiting us; trying again in 10 minutes.",
		},
		{
			name:    "secondary, 403 with retry-after",
			arrange: func(b bundle) { b.fake.SecondaryRateLimitNextWith(1, http.StatusForbidden, 45*time.Second) },
			wait:    45 * time.Second,
			message: "GitHub is rate limiting us; trying again in 45 seconds.",
		},
		{
			name: "secondary, 403 without retry-after, the primary window resetting in 5 s",
			arrange: func(b bundle) {
				b.fake.SetRateLimitWindowReset(now.Add(5 * time.Second))
				b.fake.SecondaryRateLimitNextWith(1, http.StatusForbidden, 0)
			},
			wait:    time.Minute,
			message: "GitHub is rate limiting us; trying again in 1 minute.",
		},
		{
			name: "secondary, 429 without retry-after, the primary window resetting in 50 minutes",
			arrange: func(b bundle) {
				b.fake.SetRateLimitWindowReset(now.Add(50 * time.Minute))
				b.fake.SecondaryRateLimitNextWith(1, http.StatusTooManyRequests, 0)
			},
			wait:    time.Minute,
			message: "GitHub is rate limiting us; trying again in 1 minute.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			seedProduction(b.fake)
			tt.arrange(b)

			_, err := b.client.Changes(t.Context(), checkoutService(), at(10, 0), now)
			requireCode(t, err, incident.EUNAVAILABLE)
			require.Equal(t, tt.message, incident.ErrorMessage(err))
			wait, ok := outbound.AsRetryAfter(err)
			require.True(t, ok, "the job engine waits: %v", err)
			require.Equal(t, tt.wait, wait)
			require.Len(t, b.fake.Calls(), 1, "nothing more is asked once GitHub said to wait")
		})
	}
}

// A 403 that is no rate limit (the token lacks a permission) is the
// refusal it is, not a wait.
func TestForbiddenIsNotARateLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.FailNext(1, http.StatusForbidden)
	_, err := b.client.Changes(t.Context(), checkoutService(), at(10, 0), now)
	requireCode(t, err, incident.EFORBIDDEN)
	_, ok := outbound.AsRetryAfter(err)
	require.False(t, ok)
}

// recordingSleep is the outbound client's clock and sleep in tests: a
// sleep records its wait and moves the clock on at once.
type recordingSleep struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (r *recordingSleep) Now() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.t
}

func (r *recordingSleep) Sleep(_ context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sleeps = append(r.sleeps, d)
	r.t = r.t.Add(d)
	return nil
}

// Through the shared HTTP policy with github.RetryAfter, a primary limit
// answered 429 is handed back at once with its wait instead of being sent
// again after a short backoff, and a secondary one with retry-after waits
// that long before the one retry.
func TestRetryAfterKeepsTheHTTPPolicyFromHammering(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		arrange func(b bundle)
		calls   int
		sleeps  []time.Duration
	}{
		{
			name:    "primary 429, reset in 10 minutes",
			arrange: func(b bundle) { b.fake.PrimaryRateLimitNext(1, http.StatusTooManyRequests, now.Add(10*time.Minute)) },
			calls:   1,
		},
		{
			name:    "secondary 429, retry-after 20 s",
			arrange: func(b bundle) { b.fake.SecondaryRateLimitNext(1, 20*time.Second) },
			calls:   2,
			sleeps:  []time.Duration{20 * time.Second},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sleeps := &recordingSleep{t: now}
			b := setup(t, func(c *github.Config) {
				out := outbound.New(outbound.Policy{Provider: "github", RetryAfter: github.RetryAfter},
					outbound.WithClock(sleeps.Now), outbound.WithSleep(sleeps.Sleep))
				c.HTTPClient = out.HTTPClient()
			})
			tt.arrange(b)

			_, _ = b.client.Changes(t.Context(), incident.ServicePolicy{Key: "checkout",
				GitHub: incident.GitHubService{Repos: []string{repo}}}, at(10, 0), now)
			require.Equal(t, "GET /repos/acme/checkout", b.fake.Calls()[0])
			n := 0
			for _, c := range b.fake.Calls() {
				if c == "GET /repos/acme/checkout" {
					n++
				}
			}
			require.Equal(t, tt.calls, n)
			require.Equal(t, tt.sleeps, sleeps.sleeps)
		})
	}
}

// After a secondary limit with retry-after, go-github refuses the next
// call itself, without asking GitHub, until that time: the wait reported
// is what remains of GitHub's, not the minute a secondary limit without
// retry-after gets.
func TestSecondaryLimitRememberedByTheSDKWaitsWhatRemains(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedProduction(b.fake)
	b.fake.SecondaryRateLimitNextWith(1, http.StatusForbidden, 10*time.Minute)

	_, err := b.client.Changes(t.Context(), checkoutService(), at(10, 0), now)
	wait, ok := outbound.AsRetryAfter(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, 10*time.Minute, wait)
	calls := len(b.fake.Calls())

	_, err = b.client.Changes(t.Context(), checkoutService(), at(10, 0), now)
	requireCode(t, err, incident.EUNAVAILABLE)
	require.Len(t, b.fake.Calls(), calls, "go-github did not send it")
	wait, ok = outbound.AsRetryAfter(err)
	require.True(t, ok, "%v", err)
	require.InDelta(t, float64(10*time.Minute), float64(wait), float64(5*time.Second), "got %s", wait)
}

package outbound

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// BreakerState is the state of a provider's circuit breaker. Its numeric
// value is what the breaker-state gauge exports.
type BreakerState int

// Breaker states.
const (
	BreakerClosed   BreakerState = 0 // calls go through
	BreakerHalfOpen BreakerState = 1 // a few probes go through
	BreakerOpen     BreakerState = 2 // calls fail fast
)

// String returns "closed", "half-open" or "open".
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerHalfOpen:
		return "half-open"
	case BreakerOpen:
		return "open"
	}
	return "unknown"
}

// MarshalText renders s as its String, so JSON shows "open" rather than 2.
func (s BreakerState) MarshalText() ([]byte, error) {
	return []byte(s.String()), nil
}

func fromGobreaker(s gobreaker.State) BreakerState {
	switch s {
	case gobreaker.StateHalfOpen:
		return BreakerHalfOpen
	case gobreaker.StateOpen:
		return BreakerOpen
	}
	return BreakerClosed
}

// Client applies one provider's Policy to every request sent through it. It
// is an http.RoundTripper; HTTPClient wraps it for SDKs. It is safe for
// concurrent use; create one per provider and share it.
type Client struct {
	p        Policy
	base     http.RoundTripper
	logger   *slog.Logger
	metrics  *Metrics
	registry *Registry
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	jitter   func(time.Duration) time.Duration
	breaker  *gobreaker.TwoStepCircuitBreaker[struct{}]
	gate     gate
	// shared, if set, shares the gate with the other processes.
	shared *SharedLimits
	// lastFailure is the latest failed attempt's cause ("connect:
	// connection refused", "no such host", a TLS error, "HTTP 503"), so a
	// request the open breaker rejects is logged with why it opened.
	lastFailure atomic.Value // string
}

// Option configures a Client.
type Option func(*Client)

// WithBaseTransport sets the transport that sends each attempt; the default
// is http.DefaultTransport.
func WithBaseTransport(rt http.RoundTripper) Option {
	return func(c *Client) { c.base = rt }
}

// WithLogger sets the logger for retries, give-ups and breaker changes. It
// never receives URLs, headers or bodies. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) { c.logger = l }
}

// WithMetrics records the client's requests in m, which all providers share.
func WithMetrics(m *Metrics) Option {
	return func(c *Client) { c.metrics = m }
}

// WithRegistry lists the client's breaker in r, for /readyz.
func WithRegistry(r *Registry) Option {
	return func(c *Client) { c.registry = r }
}

// WithClock sets the clock used for the elapsed-time budget, HTTP-date
// Retry-After values and latency.
func WithClock(now func() time.Time) Option {
	return func(c *Client) { c.now = now }
}

// WithSleep sets how the client waits between attempts; it must return
// ctx.Err() promptly when ctx is done. Tests pass a recorder that returns
// at once.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = sleep }
}

// New returns a Client applying p, with defaults for its zero fields.
func New(p Policy, opts ...Option) *Client {
	c := &Client{
		p:      p.withDefaults(),
		base:   http.DefaultTransport,
		logger: slog.New(slog.DiscardHandler),
		now:    time.Now,
		sleep:  sleepContext,
		jitter: fullJitter,
	}
	for _, opt := range opts {
		opt(c)
	}
	c.breaker = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        c.p.Provider,
		MaxRequests: c.p.Breaker.HalfOpenMaxRequests,
		Timeout:     c.p.Breaker.OpenTimeout,
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			return counts.ConsecutiveFailures >= c.p.Breaker.ConsecutiveFailures
		},
		IsSuccessful: func(err error) bool { return err == nil },
		IsExcluded:   func(err error) bool { return err == errBreakerExcluded },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			// gobreaker calls this with its lock held: log only, never call
			// back into the breaker.
			c.logger.Warn("outbound circuit breaker changed state",
				slog.String("provider", c.p.Provider),
				slog.String("from", fromGobreaker(from).String()),
				slog.String("to", fromGobreaker(to).String()))
		},
	})
	if c.metrics != nil {
		c.metrics.track(c)
	}
	if c.registry != nil {
		c.registry.add(c)
	}
	if c.shared != nil {
		c.shared.add(c)
	}
	return c
}

// Provider returns the Policy.Provider of c.
func (c *Client) Provider() string { return c.p.Provider }

// Policy returns c's policy with defaults applied.
func (c *Client) Policy() Policy { return c.p }

// HTTPClient returns an *http.Client whose Transport is c, to hand to an
// SDK. It sets no overall Timeout: each attempt has Policy.Timeout and the
// retries have Policy.MaxElapsed, and the caller's context bounds the rest.
func (c *Client) HTTPClient() *http.Client {
	return &http.Client{Transport: c}
}

// State returns the current state of c's circuit breaker.
func (c *Client) State() BreakerState {
	return fromGobreaker(c.breaker.State())
}

// AsRateLimited returns a *RateLimitedError for c's provider, wrapping err,
// when err carries a wait that AsRetryAfter recognises. Integrations call it
// on SDK errors so that the job engine snoozes.
func (c *Client) AsRateLimited(err error) (*RateLimitedError, bool) {
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		return rl, true
	}
	wait, ok := RetryAfterAt(err, c.now())
	if !ok {
		return nil, false
	}
	return &RateLimitedError{Provider: c.p.Provider, Name: c.p.Name, Wait: wait, Cause: err}, true
}

// CheckRateLimit returns a *RateLimitedError when resp is a 429, for
// hand-written clients that read responses themselves; its wait comes from
// Policy.RetryAfter, else Policy.MaxRetryAfter. It returns nil
// for any other response.
func (c *Client) CheckRateLimit(resp *http.Response) error {
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		return nil
	}
	wait, ok := c.p.RetryAfter(resp.Header, c.now())
	if !ok {
		wait = c.p.MaxRetryAfter
	}
	return &RateLimitedError{Provider: c.p.Provider, Name: c.p.Name, Wait: wait}
}

// sleepContext waits for d or until ctx is done, whichever comes first.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// fullJitter draws a wait uniformly from [0, ceiling], which spreads retries
// from many callers better than a wait near the ceiling.
func fullJitter(ceiling time.Duration) time.Duration {
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

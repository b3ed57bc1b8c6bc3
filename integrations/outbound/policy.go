package outbound

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// Defaults applied by New to zero fields of a Policy.
const (
	DefaultTimeout             = 10 * time.Second
	DefaultMaxAttempts         = 4
	DefaultInitialInterval     = 500 * time.Millisecond
	DefaultMaxInterval         = 10 * time.Second
	DefaultMaxElapsed          = 2 * time.Minute
	DefaultMaxRetryAfter       = 60 * time.Second
	DefaultConsecutiveFailures = 5
	DefaultOpenTimeout         = 30 * time.Second
	DefaultHalfOpenMaxRequests = 1
)

// Policy is the resilience policy of one provider. The zero value of every
// field except Provider means "use the default".
type Policy struct {
	// Provider names the remote service in metrics, logs and errors, in
	// lower case: "slack", "pagerduty", "github", ...
	Provider string
	// Name is the provider's name as people write it ("PagerDuty"), used in
	// user-safe messages. Empty means a known spelling of Provider, or
	// Provider itself.
	Name string
	// Timeout bounds one attempt, from sending the request to closing the
	// response body.
	Timeout time.Duration
	// MaxAttempts bounds the number of attempts of one request, the first
	// included.
	MaxAttempts int
	// InitialInterval is the backoff ceiling before the first retry; it
	// doubles per retry up to MaxInterval, and the actual wait is drawn
	// uniformly from [0, ceiling] (full jitter).
	InitialInterval time.Duration
	// MaxInterval caps the backoff ceiling.
	MaxInterval time.Duration
	// MaxElapsed bounds the time from the first attempt to the start of the
	// last one: a retry whose wait would cross it is not made.
	MaxElapsed time.Duration
	// MaxRetryAfter caps the Retry-After the transport waits for in
	// process. A longer one hands the 429 back to the caller at once, so a
	// durable job can snooze instead of holding a worker.
	MaxRetryAfter time.Duration
	// Retryable reports whether a request may be sent again after a 5xx, a
	// timeout or a connection error, when the remote end may have acted on
	// it. Nil means DefaultRetryable. A 429, or a connection that failed
	// before the request was sent, is always retried, since nothing was
	// processed.
	Retryable func(*http.Request) bool
	// Operation names a request in metrics, keeping label cardinality low.
	// A name set with WithOperation wins over it; an empty result falls back
	// to the HTTP method. Nil means the HTTP method. SlackOperation suits
	// the Slack Web API.
	Operation func(*http.Request) string
	// Breaker configures the provider's circuit breaker.
	Breaker BreakerPolicy
	// RetryAfter reads how long a response asks the caller to wait, and
	// whether it asks at all, for a provider whose rate-limit headers are
	// its own (LaunchDarkly's X-Ratelimit-Reset in Unix milliseconds, say).
	// Nil means ParseRetryAfter: Retry-After, then RateLimit-Reset.
	RetryAfter func(h http.Header, now time.Time) (time.Duration, bool)
	// RateKey names the rate limit a request counts against, given the
	// request and its body: a 429's Retry-After closes that key for every
	// caller of the Client until it elapses. Nil means the operation.
	// SlackRateKey suits the Slack Web API.
	RateKey func(req *http.Request, body []byte) string
}

// BreakerPolicy configures a provider's circuit breaker. Failed attempts
// (5xx, 408, timeouts, connection errors) count; 4xx, 429 and requests
// cancelled by the caller do not.
type BreakerPolicy struct {
	// ConsecutiveFailures is the number of failed attempts in a row that
	// opens the breaker.
	ConsecutiveFailures uint32
	// OpenTimeout is how long the breaker stays open before letting probes
	// through (half-open).
	OpenTimeout time.Duration
	// HalfOpenMaxRequests is the number of probes allowed while half-open;
	// that many successes in a row close the breaker, one failure opens it
	// again.
	HalfOpenMaxRequests uint32
}

// knownName spells the providers we integrate with the way their owners do.
func knownName(provider string) string { return incident.ProviderName(provider) }

// withDefaults returns p with every zero field replaced by its default.
func (p Policy) withDefaults() Policy {
	if p.Provider == "" {
		p.Provider = "unknown"
	}
	if p.Name == "" {
		p.Name = knownName(p.Provider)
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.InitialInterval <= 0 {
		p.InitialInterval = DefaultInitialInterval
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = DefaultMaxInterval
	}
	if p.MaxInterval < p.InitialInterval {
		p.MaxInterval = p.InitialInterval
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = DefaultMaxElapsed
	}
	if p.RetryAfter == nil {
		p.RetryAfter = ParseRetryAfter
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if p.Retryable == nil {
		p.Retryable = DefaultRetryable
	}
	if p.Breaker.ConsecutiveFailures == 0 {
		p.Breaker.ConsecutiveFailures = DefaultConsecutiveFailures
	}
	if p.Breaker.OpenTimeout <= 0 {
		p.Breaker.OpenTimeout = DefaultOpenTimeout
	}
	if p.Breaker.HalfOpenMaxRequests == 0 {
		p.Breaker.HalfOpenMaxRequests = DefaultHalfOpenMaxRequests
	}
	return p
}

// DefaultRetryable reports whether req is safe to send twice: its method is
// idempotent (GET, HEAD, OPTIONS, TRACE, PUT, DELETE), its context was marked
// with WithIdempotent, or it carries an Idempotency-Key or X-Idempotency-Key
// header (the same rule net/http applies to its own retries).
func DefaultRetryable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	if IsIdempotent(req.Context()) {
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}

type idempotentKey struct{}

type operationKey struct{}

// WithIdempotent marks the requests made with ctx as safe to send twice, for
// a POST the remote end deduplicates (PagerDuty Events v2 with a dedup_key,
// a Slack read method such as conversations.info).
func WithIdempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// IsIdempotent reports whether ctx was marked with WithIdempotent.
func IsIdempotent(ctx context.Context) bool {
	v, _ := ctx.Value(idempotentKey{}).(bool)
	return v
}

// WithOperation names the requests made with ctx in metrics, for example
// "incidents.create". Keep the set of names small and fixed: each one is a
// time series.
func WithOperation(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, operationKey{}, name)
}

// SlackOperation returns the Slack Web API method of req ("chat.postMessage"
// for .../api/chat.postMessage), or "" for any other URL. It never returns a
// path segment outside /api/, since a webhook or response_url path ends in a
// secret.
func SlackOperation(req *http.Request) string {
	_, method, ok := strings.Cut(req.URL.Path, "/api/")
	if !ok || method == "" || strings.Contains(method, "/") {
		return ""
	}
	return method
}

// githubResources are the literal path segments of the GitHub REST API
// the product calls; every other segment (owner, repository, ids, SHAs,
// file paths, workflow file names) is a value and stays out of the label.
var githubResources = map[string]bool{
	"repos": true, "deployments": true, "statuses": true, "pulls": true, "issues": true, "comments": true,
	"actions": true, "workflows": true, "runs": true, "dispatches": true, "git": true, "refs": true,
	"heads": true, "commits": true, "compare": true, "contents": true, "branches": true, "merges": true,
	"labels": true, "releases": true, "search": true, "user": true, "users": true, "check-runs": true,
}

// GitHubOperation names a GitHub REST request by its resource path and
// method ("repos.deployments.post", "repos.actions.workflows.dispatches.post"),
// so the operation label means the API operation for GitHub as it does for
// Slack, PagerDuty and the rest, with a bounded set of values.
func GitHubOperation(req *http.Request) string {
	path := strings.TrimPrefix(req.URL.Path, "/api/v3")
	var parts []string
	for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
		if githubResources[seg] {
			parts = append(parts, seg)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	return strings.Join(parts, ".") + "." + strings.ToLower(method)
}

// operation returns the metrics label of req.
func (p Policy) operation(req *http.Request) string {
	if op, _ := req.Context().Value(operationKey{}).(string); op != "" {
		return op
	}
	if p.Operation != nil {
		if op := p.Operation(req); op != "" {
			return op
		}
	}
	if req.Method == "" {
		return http.MethodGet
	}
	return req.Method
}

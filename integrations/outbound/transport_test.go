package outbound_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

func TestRetriesServerErrorsThenSucceeds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		codes []int
	}{
		{"500 then 200", []int{500, 200}},
		{"502, 503 then 200", []int{502, 503, 200}},
		{"408 then 200", []int{408, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, statuses(tt.codes...))
			c, clock := newClient(t, outbound.Policy{})

			resp, body, err := do(t, c, newRequest(t, t.Context(), http.MethodGet, srv.URL, nil))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, "body", body)
			require.Equal(t, len(tt.codes), srv.Hits())
			want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}[:len(tt.codes)-1]
			require.Equal(t, want, clock.Sleeps())
		})
	}
}

func TestLastServerErrorIsHandedBack(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, statuses(503))
	c, clock := newClient(t, outbound.Policy{MaxAttempts: 3})

	resp, body, err := do(t, c, newRequest(t, t.Context(), http.MethodGet, srv.URL, nil))
	require.NoError(t, err, "the SDK interprets the final response itself")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Equal(t, "body", body)
	require.Equal(t, 3, srv.Hits())
	require.Len(t, clock.Sleeps(), 2)
}

func TestRetryableRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		method   string
		ctx      func(context.Context) context.Context
		header   string
		wantHits int
	}{
		{name: "POST is not retried", method: http.MethodPost, wantHits: 1},
		{name: "PATCH is not retried", method: http.MethodPatch, wantHits: 1},
		{name: "POST marked idempotent is retried", method: http.MethodPost, ctx: outbound.WithIdempotent, wantHits: 2},
		{name: "POST with Idempotency-Key is retried", method: http.MethodPost, header: "Idempotency-Key", wantHits: 2},
		{name: "PUT is retried", method: http.MethodPut, wantHits: 2},
		{name: "DELETE is retried", method: http.MethodDelete, wantHits: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, statuses(500, 200))
			c, _ := newClient(t, outbound.Policy{})
			ctx := t.Context()
			if tt.ctx != nil {
				ctx = tt.ctx(ctx)
			}
			req := newRequest(t, ctx, tt.method, srv.URL, strings.NewReader("{}"))
			if tt.header != "" {
				req.Header.Set(tt.header, "k1")
			}

			resp, _, err := do(t, c, req)
			require.NoError(t, err)
			require.Equal(t, tt.wantHits, srv.Hits())
			if tt.wantHits == 1 {
				require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
			} else {
				require.Equal(t, http.StatusOK, resp.StatusCode)
			}
		})
	}
}

func TestCustomRetryable(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, statuses(500, 200))
	c, _ := newClient(t, outbound.Policy{
		Retryable: func(r *http.Request) bool { return outbound.SlackOperation(r) == "conversations.info" },
	})

	resp, _, err := do(t, c, newRequest(t, t.Context(), http.MethodPost, srv.URL+"/api/conversations.info", nil))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 2, srv.Hits())
}

func TestRateLimitHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	clockStart := newFakeClock().Now()
	tests := []struct {
		name       string
		retryAfter string
		wantSleep  time.Duration
	}{
		{"seconds", "7", 7 * time.Second},
		{"HTTP-date", clockStart.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{"HTTP-date in the past", clockStart.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"absent: backoff", "", 100 * time.Millisecond},
		{"unparsable: backoff", "soon", 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					if tt.retryAfter != "" {
						w.Header().Set("Retry-After", tt.retryAfter)
					}
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				w.WriteHeader(http.StatusOK)
			})
			c, clock := newClient(t, outbound.Policy{})

			// A POST: a 429 means nothing was processed, so it is always retried.
			resp, _, err := do(t, c, newRequest(t, t.Context(), http.MethodPost, srv.URL, strings.NewReader("x")))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, 2, srv.Hits())
			require.Equal(t, []time.Duration{tt.wantSleep}, clock.Sleeps())
		})
	}
}

func TestRateLimitHonoursRateLimitReset(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("RateLimit-Reset", "12")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	c, clock := newClient(t, outbound.Policy{})

	resp, _, err := do(t, c, newRequest(t, t.Context(), http.MethodGet, srv.URL, nil))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, []time.Duration{12 * time.Second}, clock.Sleeps())
}

func TestRetryAfterAboveCapHandsBack429ToSlack(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
	})
	c, clock := newClient(t, outbound.Policy{Provider: "slack", Operation: outbound.SlackOperation})
	api := slack.New("xoxb-secret", slack.OptionHTTPClient(c.HTTPClient()), slack.OptionAPIURL(srv.URL+"/api/"))

	_, _, err := api.PostMessageContext(t.Context(), "C123", slack.MsgOptionText("hello", false))
	var slackErr *slack.RateLimitedError
	require.ErrorAs(t, err, &slackErr)
	require.Equal(t, 1, srv.Hits())
	require.Empty(t, clock.Sleeps(), "a wait above the cap is not slept in process")

	wait, ok := outbound.AsRetryAfter(err)
	require.True(t, ok)
	require.Equal(t, 120*time.Second, wait)

	rl, ok := c.AsRateLimited(err)
	require.True(t, ok)
	require.Equal(t, "slack", rl.Provider)
	require.Equal(t, 120*time.Second, rl.RetryAfter())
	require.ErrorIs(t, rl, err)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(rl))
	require.Equal(t, "Slack is rate limiting us; trying again in 2 minutes.", incident.ErrorMessage(rl))
}

func TestRetryAfterBeyondElapsedBudgetHandsBack429(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	c, clock := newClient(t, outbound.Policy{MaxElapsed: 45 * time.Second})

	resp, _, err := do(t, c, newRequest(t, t.Context(), http.MethodGet, srv.URL, nil))
	require.NoError(t, err)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, 2, srv.Hits())
	require.Equal(t, []time.Duration{30 * time.Second}, clock.Sleeps())

	rl := c.CheckRateLimit(resp)
	wait, ok := outbound.AsRetryAfter(rl)
	require.True(t, ok)
	require.Equal(t, 30*time.Second, wait)
}

func TestPerAttemptTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before srv.Close, so handlers return
	c, clock := newClient(t, outbound.Policy{Timeout: 50 * time.Millisecond, MaxAttempts: 2})

	_, _, err := do(t, c, newRequest(t, t.Context(), http.MethodGet, srv.URL, nil))
	var unavailable *outbound.UnavailableError
	require.ErrorAs(t, err, &unavailable)
	require.True(t, unavailable.Timeout)
	require.Equal(t, 2, unavailable.Attempts)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, 2, srv.Hits())
	require.Len(t, clock.Sleeps(), 1)
	require.Equal(t, "PagerDuty is not responding (timed out after 2 attempts); retrying in the background.", unavailable.Message())
}

func TestTimeoutCoversTheBody(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	c, _ := newClient(t, outbound.Policy{Timeout: 50 * time.Millisecond})

	resp, err := c.HTTPClient().Do(newRequest(t, t.Context(), http.MethodGet, srv.URL, nil))
	require.NoError(t, err, "headers arrived in time")
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	require.ErrorIs(t, err, context.DeadlineExceeded, "a stalled body is cut off by the attempt's timeout")
}

func TestConnectionRefusedIsRetriedEvenForPOST(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	c, clock := newClient(t, outbound.Policy{MaxAttempts: 3})

	_, _, err = do(t, c, newRequest(t, t.Context(), http.MethodPost, "http://"+addr+"/x", strings.NewReader("x")))
	var unavailable *outbound.UnavailableError
	require.ErrorAs(t, err, &unavailable)
	require.Equal(t, 3, unavailable.Attempts)
	require.False(t, unavailable.Timeout)
	require.Len(t, clock.Sleeps(), 2)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
	require.Equal(t, "PagerDuty is not responding (connection failed after 3 attempts); retrying in the background.", incident.ErrorMessage(err))
}

func TestBodyIsReplayedOnRetry(t *testing.T) {
	t.Parallel()
	const payload = `{"incident":{"title":"db down"}}`
	tests := []struct {
		name string
		body func() io.Reader
	}{
		{"with GetBody", func() io.Reader { return strings.NewReader(payload) }},
		{"without GetBody", func() io.Reader { return struct{ io.Reader }{strings.NewReader(payload)} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, statuses(500, 502, 201))
			c, _ := newClient(t, outbound.Policy{})
			req := newRequest(t, outbound.WithIdempotent(t.Context()), http.MethodPost, srv.URL, tt.body())

			resp, _, err := do(t, c, req)
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, resp.StatusCode)
			require.Equal(t, []string{payload, payload, payload}, srv.Bodies())
		})
	}
}

func TestCallerCancelStopsRetries(t *testing.T) {
	t.Parallel()

	t.Run("during backoff", func(t *testing.T) {
		t.Parallel()
		srv := newScripted(t, statuses(500))
		c, clock := newClient(t, outbound.Policy{MaxAttempts: 10})
		ctx, cancel := context.WithCancel(t.Context())
		clock.onSleep = cancel

		_, _, err := do(t, c, newRequest(t, ctx, http.MethodGet, srv.URL, nil))
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, 1, srv.Hits())
		require.Len(t, clock.Sleeps(), 1)
	})

	t.Run("during a request", func(t *testing.T) {
		t.Parallel()
		arrived := make(chan struct{})
		release := make(chan struct{})
		srv := newScripted(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
			close(arrived)
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		t.Cleanup(func() { close(release) })
		c, clock := newClient(t, outbound.Policy{MaxAttempts: 10})
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			<-arrived
			cancel()
		}()

		_, _, err := do(t, c, newRequest(t, ctx, http.MethodGet, srv.URL, nil))
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, 1, srv.Hits())
		require.Empty(t, clock.Sleeps())
		require.Equal(t, outbound.BreakerClosed, c.State(), "a cancelled call says nothing about the provider")
	})
}

func TestBreakerOpensFailsFastAndRecovers(t *testing.T) {
	t.Parallel()
	var healthy atomic.Bool
	srv := newScripted(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if healthy.Load() {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusBadGateway)
	})
	registry := outbound.NewRegistry()
	c, _ := newClient(t, outbound.Policy{
		MaxAttempts: 1,
		Breaker:     outbound.BreakerPolicy{ConsecutiveFailures: 3, OpenTimeout: 20 * time.Millisecond},
	}, outbound.WithRegistry(registry))

	for range 3 {
		resp, _, err := do(t, c, newRequest(t, t.Context(), http.MethodGet, srv.URL, nil))
		require.NoError(t, err)
		require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	}
	require.Equal(t, outbound.BreakerOpen, c.State())
	require.Equal(t, []string{"pagerduty"}, registry.Open())

	_, _, err := do(t, c, newRequest(t, t.Context(), http.MethodGet, srv.URL, nil))
	var unavailable *outbound.UnavailableError
	require.ErrorAs(t, err, &unavailable)
	require.ErrorIs(t, err, outbound.ErrBreakerOpen)
	require.Equal(t, 3, srv.Hits(), "an open breaker does not touch the network")
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))

	require.Eventually(t, func() bool { return c.State() == outbound.BreakerHalfOpen },
		5*time.Second, 5*time.Millisecond)

	healthy.Store(true)
	resp, _, err := do(t, c, newRequest(t, t.Context(), http.MethodGet, srv.URL, nil))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 4, srv.Hits())
	require.Equal(t, outbound.BreakerClosed, c.State())
	require.Empty(t, registry.Open())
}

func TestBreakerIgnoresClientErrorsAndRateLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		code int
	}{
		{"404", http.StatusNotFound},
		{"400", http.StatusBadRequest},
		{"429", http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "3600") // above the cap: handed back at once
				w.WriteHeader(tt.code)
			})
			c, _ := newClient(t, outbound.Policy{Breaker: outbound.BreakerPolicy{ConsecutiveFailures: 2}})

			for i := range 5 {
				resp, _, err := do(t, c, newRequest(t, t.Context(), http.MethodGet, srv.URL, nil))
				if tt.code == http.StatusTooManyRequests && i > 0 {
					// The Retry-After of the first 429 holds every later
					// call back: none reaches the provider before it ends.
					var limited *outbound.RateLimitedError
					require.ErrorAs(t, err, &limited)
					require.Greater(t, limited.Wait, 59*time.Minute)
					continue
				}
				require.NoError(t, err)
				require.Equal(t, tt.code, resp.StatusCode)
			}
			require.Equal(t, outbound.BreakerClosed, c.State())
			want := 5
			if tt.code == http.StatusTooManyRequests {
				want = 1
			}
			require.Equal(t, want, srv.Hits())
		})
	}
}

func TestBreakerTripsDuringRetries(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, statuses(500))
	c, _ := newClient(t, outbound.Policy{
		MaxAttempts: 5,
		Breaker:     outbound.BreakerPolicy{ConsecutiveFailures: 2, OpenTimeout: time.Hour},
	})

	_, _, err := do(t, c, newRequest(t, t.Context(), http.MethodGet, srv.URL, nil))
	var unavailable *outbound.UnavailableError
	require.ErrorAs(t, err, &unavailable)
	require.ErrorIs(t, err, outbound.ErrBreakerOpen)
	require.Equal(t, 2, unavailable.Attempts)
	require.Equal(t, http.StatusInternalServerError, unavailable.Status)
	require.Equal(t, 2, srv.Hits())
}

func TestLogsCarryNoSecrets(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, statuses(500))
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, _ := newClient(t, outbound.Policy{MaxAttempts: 2}, outbound.WithLogger(logger))
	req := newRequest(t, t.Context(), http.MethodGet, srv.URL+"/services/T1/B2/hooksecret?token=querysecret", nil)
	req.Header.Set("Authorization", "Bearer headersecret")

	resp, _, err := do(t, c, req)
	require.NoError(t, err)
	require.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	require.Contains(t, logs.String(), "retrying")
	require.Contains(t, logs.String(), "not retrying")
	for _, secret := range []string{"hooksecret", "querysecret", "headersecret"} {
		require.NotContains(t, logs.String(), secret)
	}
}

func TestOperationLabel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
		want string
	}{
		{"Web API method", "https://slack.com/api/chat.postMessage", "chat.postMessage"},
		{"Web API method with query", "https://slack.com/api/conversations.info?channel=C1", "conversations.info"},
		{"webhook path ends in a secret", "https://hooks.slack.com/services/T1/B2/secret", ""},
		{"response_url", "https://hooks.slack.com/actions/T1/123/secret", ""},
		{"nested path under api", "https://example.com/api/v2/flags", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := newRequest(t, t.Context(), http.MethodPost, tt.url, nil)
			require.Equal(t, tt.want, outbound.SlackOperation(req))
		})
	}
}

func TestUnavailableErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  *outbound.UnavailableError
		want string
	}{
		{"5xx", &outbound.UnavailableError{Provider: "pagerduty", Status: 503, Attempts: 4},
			"PagerDuty is not responding (HTTP 503 after 4 attempts); retrying in the background."},
		{"breaker", &outbound.UnavailableError{Provider: "github", Cause: outbound.ErrBreakerOpen},
			"GitHub is not responding (it failed repeatedly, so calls are paused); retrying in the background."},
		{"single timeout", &outbound.UnavailableError{Provider: "acme", Name: "Acme Flags", Attempts: 1, Timeout: true},
			"Acme Flags is not responding (timed out); retrying in the background."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.err.Message())
			require.Equal(t, tt.want, incident.ErrorMessage(errors.Join(errors.New("page on-call"), tt.err)))
			require.NotContains(t, tt.err.Error(), "\n")
		})
	}
}

func TestCheckRateLimit(t *testing.T) {
	t.Parallel()
	c, _ := newClient(t, outbound.Policy{Provider: "unleash", MaxRetryAfter: time.Minute})
	tests := []struct {
		name     string
		code     int
		header   string
		wantWait time.Duration
		wantNil  bool
	}{
		{name: "200", code: 200, wantNil: true},
		{name: "503", code: 503, header: "5", wantNil: true},
		{name: "429 with Retry-After", code: 429, header: "300", wantWait: 5 * time.Minute},
		{name: "429 without Retry-After", code: 429, wantWait: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := &http.Response{StatusCode: tt.code, Header: http.Header{}}
			if tt.header != "" {
				resp.Header.Set("Retry-After", tt.header)
			}
			err := c.CheckRateLimit(resp)
			if tt.wantNil {
				require.NoError(t, err)
				return
			}
			var rl *outbound.RateLimitedError
			require.ErrorAs(t, err, &rl)
			require.Equal(t, "unleash", rl.Provider)
			require.Equal(t, tt.wantWait, rl.RetryAfter())
		})
	}
}

func TestDefaultsApplied(t *testing.T) {
	t.Parallel()
	p := outbound.New(outbound.Policy{Provider: "github"}).Policy()
	require.Equal(t, "GitHub", p.Name)
	require.Equal(t, outbound.DefaultTimeout, p.Timeout)
	require.Equal(t, outbound.DefaultMaxAttempts, p.MaxAttempts)
	require.Equal(t, outbound.DefaultMaxRetryAfter, p.MaxRetryAfter)
	require.Equal(t, uint32(outbound.DefaultConsecutiveFailures), p.Breaker.ConsecutiveFailures)
	require.Equal(t, outbound.DefaultOpenTimeout, p.Breaker.OpenTimeout)
	require.NotNil(t, p.Retryable)
}

func TestRetryAfterSecondsParsing(t *testing.T) {
	t.Parallel()
	// A Retry-After at exactly the cap is honoured in process.
	srv := newScripted(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", strconv.Itoa(int(outbound.DefaultMaxRetryAfter/time.Second)))
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c, clock := newClient(t, outbound.Policy{})

	resp, _, err := do(t, c, newRequest(t, t.Context(), http.MethodGet, srv.URL, nil))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, []time.Duration{outbound.DefaultMaxRetryAfter}, clock.Sleeps())
}

// TestRetryAfterIsSharedAndJobsDoNotWait: a 429's Retry-After closes its
// rate-limit key for every caller; a durable job gets the 429 back at once
// (to snooze) instead of sleeping in its worker, and no caller reaches the
// provider before the wait ends.
func TestRetryAfterIsSharedAndJobsDoNotWait(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	c, clock := newClient(t, outbound.Policy{})
	jobCtx := incident.WithJobRun(t.Context(), 42, 1, 5)

	resp, _, err := do(t, c, newRequest(t, jobCtx, http.MethodPost, srv.URL, strings.NewReader("x")))
	require.NoError(t, err)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "a job gets the 429 back")
	require.Empty(t, clock.Sleeps(), "a job never sleeps out a rate limit")

	_, _, err = do(t, c, newRequest(t, jobCtx, http.MethodPost, srv.URL, strings.NewReader("x")))
	var limited *outbound.RateLimitedError
	require.ErrorAs(t, err, &limited, "another job is held back by the shared wait")
	require.Equal(t, 7*time.Second, limited.Wait)
	wait, ok := outbound.AsRetryAfter(err)
	require.True(t, ok)
	require.Equal(t, 7*time.Second, wait)
	require.Equal(t, 1, srv.Hits())

	// An interactive caller waits the shared Retry-After out, then calls.
	resp, _, err = do(t, c, newRequest(t, t.Context(), http.MethodPost, srv.URL, strings.NewReader("x")))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, []time.Duration{7 * time.Second}, clock.Sleeps())
	require.Equal(t, 2, srv.Hits())
}

func TestSlackRateKey(t *testing.T) {
	t.Parallel()
	post := httptestRequest(t, "https://slack.com/api/chat.postMessage", "application/x-www-form-urlencoded")
	require.Equal(t, "chat.postMessage/C123", outbound.SlackRateKey(post, []byte("channel=C123&text=hi")))
	js := httptestRequest(t, "https://slack.com/api/chat.postMessage", "application/json; charset=utf-8")
	require.Equal(t, "chat.postMessage/C9", outbound.SlackRateKey(js, []byte(`{"channel":"C9","text":"hi"}`)))
	topic := httptestRequest(t, "https://slack.com/api/conversations.setTopic", "application/x-www-form-urlencoded")
	require.Equal(t, "conversations.setTopic", outbound.SlackRateKey(topic, []byte("channel=C1&topic=x")))
}

func httptestRequest(t *testing.T, u, contentType string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, nil)
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	return req
}

// TestOpenBreakerLogsTheCause: once the breaker hides the network, the log
// still says why it opened (here, the connection was refused).
func TestOpenBreakerLogsTheCause(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String() + "/"
	require.NoError(t, ln.Close())
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelInfo}))
	c, _ := newClient(t, outbound.Policy{
		MaxAttempts: 1,
		Breaker:     outbound.BreakerPolicy{ConsecutiveFailures: 2, OpenTimeout: time.Minute},
	}, outbound.WithLogger(logger))
	for range 3 {
		_, _, err := do(t, c, newRequest(t, t.Context(), http.MethodGet, closed, nil))
		require.Error(t, err)
	}
	require.Equal(t, outbound.BreakerOpen, c.State())
	mu.Lock()
	defer mu.Unlock()
	out := logs.String()
	require.Contains(t, out, "outbound request failed; not retrying")
	require.Contains(t, out, "connection refused", "each failure is logged with its cause")
	rejected := out[strings.Index(out, "rejected by open circuit breaker"):]
	require.Contains(t, rejected, "last_error=", "the rejection says why the breaker is open")
	require.Contains(t, rejected, "connection refused")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestGitHubOperation(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"POST /repos/acme/checkout/deployments":                                    "repos.deployments.post",
		"GET /repos/acme/checkout/deployments/42/statuses":                         "repos.deployments.statuses.get",
		"POST /api/v3/repos/acme/checkout/actions/workflows/deploy.yml/dispatches": "repos.actions.workflows.dispatches.post",
		"PUT /repos/acme/checkout/contents/postmortems/2026-12-03-x.md":            "repos.contents.put",
		"GET /repos/acme/checkout/compare/1a2b...9f8e":                             "repos.compare.get",
	} {
		method, p, _ := strings.Cut(path, " ")
		req, err := http.NewRequest(method, "https://api.github.com"+p, nil)
		require.NoError(t, err)
		require.Equal(t, want, outbound.GitHubOperation(req), path)
	}
}

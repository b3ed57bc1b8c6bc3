package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Outcomes label each attempt in metrics and logs.
const (
	OutcomeOK          = "ok"
	OutcomeClientError = "client_error"
	OutcomeServerError = "server_error"
	OutcomeRateLimited = "rate_limited"
	OutcomeTimeout     = "timeout"
	OutcomeError       = "error"
	OutcomeBreakerOpen = "breaker_open"
	OutcomeCanceled    = "canceled"
)

// errBreakerFailure and errBreakerExcluded carry an attempt's verdict to
// gobreaker, which only sees errors.
var (
	errBreakerFailure  = errors.New("attempt failed")
	errBreakerExcluded = errors.New("attempt not counted")
)

// drainLimit bounds how much of a discarded response body is read so its
// connection can be reused; a larger body is cheaper to drop with the
// connection.
const drainLimit = 64 << 10

// RoundTrip sends req under c's policy. It retries 5xx, 408, timeouts and
// connection errors when the request is retryable, and 429 (waiting for
// Retry-After up to Policy.MaxRetryAfter) always. After the last attempt it
// hands back the last response as is, so each SDK builds its own error
// from it; with no response (timeouts, connection errors, an open breaker)
// it returns an *UnavailableError. A cancelled ctx stops it at once with
// ctx.Err().
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	op := c.p.operation(req)
	getBody, err := replayableBody(req)
	if err != nil {
		return nil, fmt.Errorf("outbound %s: read request body: %w", c.p.Provider, err)
	}
	retryable := c.p.Retryable(req)
	key := c.rateKey(req, op, getBody)
	bo := &backoff.ExponentialBackOff{
		InitialInterval:     c.p.InitialInterval,
		RandomizationFactor: 0, // full jitter is applied on top, see fullJitter
		Multiplier:          2,
		MaxInterval:         c.p.MaxInterval,
	}
	bo.Reset()
	start := c.now()
	lastStatus := 0
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		done, err := c.breaker.Allow()
		if err != nil {
			c.metrics.request(c.p.Provider, op, OutcomeBreakerOpen)
			last, _ := c.lastFailure.Load().(string)
			c.logger.Warn("outbound request rejected by open circuit breaker",
				append(c.attrs(req, op, attempt, OutcomeBreakerOpen), slog.String("last_error", last))...)
			return nil, &UnavailableError{
				Provider: c.p.Provider, Name: c.p.Name, Status: lastStatus,
				Attempts: attempt - 1, Cause: ErrBreakerOpen,
			}
		}
		if attempt > 1 {
			c.metrics.retry(c.p.Provider, op)
		}
		// Another caller was told to wait: wait too, or, in a durable job,
		// hand the wait back so the job snoozes without holding a worker.
		if wait := c.gate.wait(key, c.now()); wait > 0 {
			done(errBreakerExcluded)
			if inJob(ctx) || wait > c.p.MaxRetryAfter {
				c.metrics.request(c.p.Provider, op, OutcomeRateLimited)
				return nil, &RateLimitedError{Provider: c.p.Provider, Name: c.p.Name, Wait: wait}
			}
			if err := c.sleep(ctx, wait); err != nil {
				return nil, err
			}
			attempt--
			continue
		}

		began := c.now()
		resp, err := c.attempt(ctx, req, getBody)
		outcome := classify(ctx, resp, err)
		c.metrics.observe(c.p.Provider, op, outcome, c.now().Sub(began))
		done(breakerVerdict(outcome))

		switch outcome {
		case OutcomeOK, OutcomeClientError:
			return resp, nil
		case OutcomeCanceled:
			if resp != nil {
				discard(resp)
			}
			return nil, ctx.Err()
		}

		if err != nil {
			c.lastFailure.Store(errAttr(err).Value.String())
		} else if resp != nil {
			c.lastFailure.Store(resp.Status)
		}
		// Decide whether, and how long, to wait before another attempt.
		var wait time.Duration
		var hinted bool
		if resp != nil {
			lastStatus = resp.StatusCode
			wait, hinted = ParseRetryAfter(resp.Header, c.now())
		}
		if outcome == OutcomeRateLimited && hinted {
			c.gate.close(key, c.now().Add(wait))
			if inJob(ctx) {
				c.logger.Debug("outbound request rate limited in a job; handing the 429 back",
					append(c.attrs(req, op, attempt, outcome), slog.Duration("retry_after", wait))...)
				return resp, nil
			}
		}
		if outcome == OutcomeRateLimited && hinted && wait > c.p.MaxRetryAfter {
			c.logger.Info("outbound request rate limited beyond the in-process cap; handing the 429 back",
				append(c.attrs(req, op, attempt, outcome), slog.Duration("retry_after", wait))...)
			return resp, nil
		}
		if !hinted || wait > c.p.MaxRetryAfter {
			wait = c.jitter(bo.NextBackOff())
		}
		mayRetry := retryable || outcome == OutcomeRateLimited || (err != nil && notSent(err))
		elapsed := c.now().Add(wait).Sub(start)
		if !mayRetry || attempt >= c.p.MaxAttempts || elapsed > c.p.MaxElapsed {
			c.logger.Warn("outbound request failed; not retrying",
				append(c.attrs(req, op, attempt, outcome), slog.Bool("retryable", mayRetry), errAttr(err))...)
			if resp != nil {
				return resp, nil
			}
			return nil, &UnavailableError{
				Provider: c.p.Provider, Name: c.p.Name, Attempts: attempt,
				Timeout: outcome == OutcomeTimeout, Cause: err,
			}
		}
		c.logger.Debug("outbound request failed; retrying",
			append(c.attrs(req, op, attempt, outcome), slog.Duration("wait", wait), errAttr(err))...)
		if resp != nil {
			discard(resp)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// attempt sends one copy of req with its own timeout. The timeout stays in
// force until the response body is closed, as http.Client.Timeout does,
// since a stalled body is as much a hang as stalled headers.
func (c *Client) attempt(ctx context.Context, req *http.Request, getBody func() (io.ReadCloser, error)) (*http.Response, error) {
	actx, cancel := context.WithTimeout(ctx, c.p.Timeout)
	r := req.Clone(actx)
	if getBody != nil {
		body, err := getBody()
		if err != nil {
			cancel()
			return nil, fmt.Errorf("replay request body: %w", err)
		}
		r.Body, r.GetBody = body, getBody
	}
	resp, err := c.base.RoundTrip(r)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// replayableBody returns a function giving a fresh copy of req's body for
// each attempt, or nil when there is no body. It closes req.Body, as a
// RoundTripper must, and buffers it once when req has no GetBody.
func replayableBody(req *http.Request) (func() (io.ReadCloser, error), error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.GetBody != nil {
		_ = req.Body.Close()
		return req.GetBody, nil
	}
	data, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	return func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, nil
}

// classify names the outcome of one attempt. A cancelled caller context
// wins over everything, so the caller's own deadline is not taken for the
// provider's slowness.
func classify(ctx context.Context, resp *http.Response, err error) string {
	if ctx.Err() != nil {
		return OutcomeCanceled
	}
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return OutcomeTimeout
		}
		return OutcomeError
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		return OutcomeRateLimited
	case code == http.StatusRequestTimeout:
		return OutcomeTimeout
	case code >= 500:
		return OutcomeServerError
	case code >= 400:
		return OutcomeClientError
	}
	return OutcomeOK
}

// breakerVerdict tells the breaker whether an attempt shows the provider
// failing. A 4xx is our mistake and a 429 is the provider working as
// designed, so neither counts; a caller's cancellation says nothing about
// the provider.
func breakerVerdict(outcome string) error {
	switch outcome {
	case OutcomeOK, OutcomeClientError:
		return nil
	case OutcomeRateLimited, OutcomeCanceled:
		return errBreakerExcluded
	}
	return errBreakerFailure
}

// notSent reports whether err shows the request never left: the dial
// failed (refused, unresolvable, timed out). Such a request is safe to
// retry whatever its method.
func notSent(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// discard drains a little of resp's body and closes it, so the connection
// can go back to the pool.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
	_ = resp.Body.Close()
}

// cancelOnClose ends an attempt's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close closes the body and releases the attempt's timer.
func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// attrs returns the log attributes of an attempt. They name the host but
// never the path or query (a webhook path or a query can hold a secret),
// nor any header.
func (c *Client) attrs(req *http.Request, op string, attempt int, outcome string) []any {
	return []any{
		slog.String("provider", c.p.Provider),
		slog.String("operation", op),
		slog.String("method", req.Method),
		slog.String("host", req.URL.Host),
		slog.Int("attempt", attempt),
		slog.String("outcome", outcome),
	}
}

// errAttr logs err without the URL that a *url.Error would repeat.
func errAttr(err error) slog.Attr {
	if err == nil {
		return slog.Attr{}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return slog.String("error", err.Error())
}

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
// Retry-After up to Policy.MaxRetryAfter, and only when the caller's
// deadline leaves time to call again after it) always. After the last attempt it
// hands back the last response as is, so each SDK builds its own error
// from it; with no response (timeouts, connection errors, an open breaker)
// it returns an *UnavailableError. A cancelled ctx stops it at once with
// ctx.Err().
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	rt, err := c.newCall(req)
	if err != nil {
		return nil, err
	}
	ctx := rt.ctx
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		done, err := c.breaker.Allow()
		if err != nil {
			return nil, c.rejected(rt, attempt)
		}
		if attempt > 1 {
			c.metrics.retry(c.p.Provider, rt.op)
		}
		// Another caller was told to wait: wait too, or, in a durable job,
		// hand the wait back so the job snoozes without holding a worker.
		if wait := c.gate.wait(rt.key, c.now()); wait > 0 {
			done(errBreakerExcluded)
			if err := c.waitAtGate(rt, wait); err != nil {
				return nil, err
			}
			attempt--
			continue
		}

		res := c.send(rt, done)
		switch res.outcome {
		case OutcomeOK, OutcomeClientError:
			return res.resp, nil
		case OutcomeCanceled:
			if res.resp != nil {
				discard(res.resp)
			}
			return nil, ctx.Err()
		}
		c.noteFailure(res)
		wait, handBack := c.retryWait(rt, attempt, res)
		if handBack {
			return res.resp, nil
		}
		if !c.retryWithin(rt, attempt, res, wait) {
			return c.giveUp(rt, attempt, res)
		}
		c.logger.Debug("outbound request failed; retrying",
			append(c.attrs(req, rt.op, attempt, res.outcome), slog.Duration("wait", wait), errAttr(res.err))...)
		if res.resp != nil {
			discard(res.resp)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// roundTrip is one RoundTrip: the request and what its attempts share.
type roundTrip struct {
	ctx       context.Context
	req       *http.Request
	op        string
	getBody   func() (io.ReadCloser, error)
	retryable bool
	// key is the request's rate-limit key in the gate.
	key   string
	bo    *backoff.ExponentialBackOff
	start time.Time
	// lastStatus is the status of the last response, for the error an
	// open breaker ends the call with.
	lastStatus int
}

func (c *Client) newCall(req *http.Request) (*roundTrip, error) {
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
	return &roundTrip{
		ctx: req.Context(), req: req, op: op, getBody: getBody, retryable: retryable,
		key: key, bo: bo, start: c.now(),
	}, nil
}

// rejected records and words a call the open breaker turns away.
func (c *Client) rejected(rt *roundTrip, attempt int) error {
	c.metrics.request(c.p.Provider, rt.op, OutcomeBreakerOpen)
	last, _ := c.lastFailure.Load().(string)
	c.logger.Warn("outbound request rejected by open circuit breaker",
		append(c.attrs(rt.req, rt.op, attempt, OutcomeBreakerOpen), slog.String("last_error", last))...)
	return &UnavailableError{
		Provider: c.p.Provider, Name: c.p.Name, Status: rt.lastStatus,
		Attempts: attempt - 1, Cause: ErrBreakerOpen,
	}
}

// waitAtGate waits out another caller's rate limit, or hands it back as a
// *RateLimitedError in a durable job, when it is longer than
// Policy.MaxRetryAfter, or when it outlasts the caller's deadline.
func (c *Client) waitAtGate(rt *roundTrip, wait time.Duration) error {
	if inJob(rt.ctx) || wait > c.p.MaxRetryAfter || pastDeadline(rt.ctx, wait) {
		c.metrics.request(c.p.Provider, rt.op, OutcomeRateLimited)
		return &RateLimitedError{Provider: c.p.Provider, Name: c.p.Name, Wait: wait}
	}
	return c.sleep(rt.ctx, wait)
}

// attemptResult is one attempt's response or error and its outcome.
type attemptResult struct {
	resp    *http.Response
	err     error
	outcome string
}

// send makes one attempt, measures it and tells the breaker its verdict.
func (c *Client) send(rt *roundTrip, done func(error)) attemptResult {
	began := c.now()
	resp, err := c.attempt(rt.ctx, rt.req, rt.getBody)
	outcome := classify(rt.ctx, resp, err)
	c.metrics.observe(c.p.Provider, rt.op, outcome, c.now().Sub(began))
	done(breakerVerdict(outcome))
	return attemptResult{resp: resp, err: err, outcome: outcome}
}

// noteFailure keeps a failed attempt's cause for the breaker's log line.
func (c *Client) noteFailure(res attemptResult) {
	if res.err != nil {
		c.lastFailure.Store(errAttr(res.err).Value.String())
	} else if res.resp != nil {
		c.lastFailure.Store(res.resp.Status)
	}
}

// retryWait decides how long to wait before another attempt: the
// response's Retry-After when it has one within Policy.MaxRetryAfter, else
// the jittered backoff. A hinted 429 also closes the gate for other
// callers, and is handed back (handBack) in a durable job, when its wait
// is beyond the cap, or when it outlasts the caller's deadline.
func (c *Client) retryWait(rt *roundTrip, attempt int, res attemptResult) (wait time.Duration, handBack bool) {
	var hinted bool
	if res.resp != nil {
		rt.lastStatus = res.resp.StatusCode
		wait, hinted = c.p.RetryAfter(res.resp.Header, c.now())
	}
	if res.outcome == OutcomeRateLimited && hinted {
		until := c.now().Add(wait)
		c.gate.close(rt.key, until)
		c.shared.publish(c.p.Provider, rt.key, until)
		if inJob(rt.ctx) {
			c.logger.Debug("outbound request rate limited in a job; handing the 429 back",
				append(c.attrs(rt.req, rt.op, attempt, res.outcome), slog.Duration("retry_after", wait))...)
			return wait, true
		}
		if wait > c.p.MaxRetryAfter {
			c.logger.Info("outbound request rate limited beyond the in-process cap; handing the 429 back",
				append(c.attrs(rt.req, rt.op, attempt, res.outcome), slog.Duration("retry_after", wait))...)
			return wait, true
		}
		if pastDeadline(rt.ctx, wait) {
			// A person waits for the answer (a command or click has
			// Slack's 3 seconds): sleeping until the deadline would only
			// turn "try again in 30 seconds" into "Slack did not answer".
			c.logger.Info("outbound request rate limited beyond the caller's deadline; handing the 429 back",
				append(c.attrs(rt.req, rt.op, attempt, res.outcome), slog.Duration("retry_after", wait))...)
			return wait, true
		}
	}
	if !hinted || wait > c.p.MaxRetryAfter {
		wait = c.jitter(rt.bo.NextBackOff())
	}
	return wait, false
}

// pastDeadline reports whether waiting wait would reach ctx's deadline, so
// that the call could not be made again in time. A context without a
// deadline has all the time there is.
func pastDeadline(ctx context.Context, wait time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return ok && wait >= time.Until(deadline)
}

// mayRetry reports whether the failed attempt may be repeated: a
// retryable request, a 429, or a request that never left.
func (rt *roundTrip) mayRetry(res attemptResult) bool {
	return rt.retryable || res.outcome == OutcomeRateLimited || (res.err != nil && notSent(res.err))
}

// retryWithin reports whether another attempt after wait stays within the
// policy's attempts and elapsed time.
func (c *Client) retryWithin(rt *roundTrip, attempt int, res attemptResult, wait time.Duration) bool {
	elapsed := c.now().Add(wait).Sub(rt.start)
	return rt.mayRetry(res) && attempt < c.p.MaxAttempts && elapsed <= c.p.MaxElapsed
}

// giveUp ends the call after its last attempt: the last response as is, or
// an *UnavailableError when there is none.
func (c *Client) giveUp(rt *roundTrip, attempt int, res attemptResult) (*http.Response, error) {
	c.logger.Warn("outbound request failed; not retrying",
		append(c.attrs(rt.req, rt.op, attempt, res.outcome), slog.Bool("retryable", rt.mayRetry(res)), errAttr(res.err))...)
	if res.resp != nil {
		return res.resp, nil
	}
	return nil, &UnavailableError{
		Provider: c.p.Provider, Name: c.p.Name, Attempts: attempt,
		Timeout: res.outcome == OutcomeTimeout, Cause: res.err,
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

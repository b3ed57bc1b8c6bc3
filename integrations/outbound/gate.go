package outbound

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/firebreakhq/firebreak/incident"
)

// gate holds, per rate-limit key, when the provider allows the next call:
// a 429's Retry-After is shared by every caller in the process (and, with
// WithSharedLimits, by the other replicas), so no
// worker calls again before it elapses.
type gate struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// wait returns how long key is still closed at now.
func (g *gate) wait(key string, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	u, ok := g.until[key]
	if !ok {
		return 0
	}
	if !now.Before(u) {
		delete(g.until, key)
		return 0
	}
	return u.Sub(now)
}

// close keeps key closed until at least until.
func (g *gate) close(key string, until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.until == nil {
		g.until = map[string]time.Time{}
	}
	if until.After(g.until[key]) {
		g.until[key] = until
	}
}

// inJob reports whether ctx runs a durable job, which snoozes on a rate
// limit instead of holding its worker while it waits.
func inJob(ctx context.Context) bool { return incident.JobID(ctx) != 0 }

// SlackRateKey is the rate-limit key of a Slack Web API request: its method,
// and for chat.postMessage also its channel, since Slack limits posting per
// channel.
func SlackRateKey(req *http.Request, body []byte) string {
	op := SlackOperation(req)
	if op != "chat.postMessage" {
		return op
	}
	return op + "/" + requestChannel(req, body)
}

// requestChannel reads the channel argument of a form or JSON request.
func requestChannel(req *http.Request, body []byte) string {
	if strings.HasPrefix(req.Header.Get("Content-Type"), "application/json") {
		return gjson.GetBytes(body, "channel").String()
	}
	if v, err := url.ParseQuery(string(body)); err == nil && v.Get("channel") != "" {
		return v.Get("channel")
	}
	return req.URL.Query().Get("channel")
}

// rateKey returns the rate-limit key of req.
func (c *Client) rateKey(req *http.Request, op string, getBody func() (io.ReadCloser, error)) string {
	if c.p.RateKey == nil {
		return op
	}
	var body []byte
	if getBody != nil {
		if rc, err := getBody(); err == nil {
			body, _ = io.ReadAll(io.LimitReader(rc, 1<<20))
			_ = rc.Close()
		}
	}
	return c.p.RateKey(req, body)
}

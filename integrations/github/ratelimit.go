package github

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// RetryAfter reads how long an answer from GitHub asks the client to wait,
// for outbound.Policy.RetryAfter: Retry-After in seconds when present,
// else, when X-RateLimit-Remaining is 0, until X-RateLimit-Reset (UTC epoch
// seconds). GitHub's rate-limit guide asks for exactly this ("you should
// not retry your request until after the time specified by the
// x-ratelimit-reset header"). It reports false for an answer that asks for
// no particular wait.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if strings.TrimSpace(h.Get("Retry-After")) != "" {
		return outbound.ParseRetryAfter(http.Header{"Retry-After": h.Values("Retry-After")}, now)
	}
	if strings.TrimSpace(h.Get("X-RateLimit-Remaining")) != "0" {
		return 0, false
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64)
	if err != nil {
		return 0, false
	}
	return max(time.Unix(secs, 0).Sub(now), 0), true
}

// rateLimitWait reports whether err is GitHub rate limiting the bot and
// how long to wait, as the rate-limit guide says: a 403 or 429 with
// retry-after waits that long; one with x-ratelimit-remaining 0 waits
// until x-ratelimit-reset; a secondary limit without either header, and
// any other 429, waits at least a minute. GitHub's answer is read here,
// not by go-github, which takes a primary limit only on 403 and reads a
// secondary limit without retry-after as lasting until the primary
// window's reset, which may be seconds away. When go-github refused to
// send the call, remembering an exhausted window or an earlier
// retry-after, there is no answer to read, and outbound.RetryAfterAt reads
// what go-github remembered, as it does for every provider's SDK errors.
func rateLimitWait(err error, now time.Time) (time.Duration, bool) {
	var (
		primary   *gh.RateLimitError
		secondary *gh.AbuseRateLimitError
		er        *gh.ErrorResponse
		resp      *http.Response
		named     bool // GitHub's message named a secondary limit
	)
	switch {
	case errors.As(err, &primary):
		resp = primary.Response
	case errors.As(err, &secondary):
		resp, named = secondary.Response, true
	case errors.As(err, &er):
		resp, named = er.Response, isSecondaryLimit(er)
	}
	if answered(resp) {
		if wait, ok := responseWait(resp, named, now); ok {
			return wait, true
		}
	}
	return outbound.RetryAfterAt(err, now)
}

// answered reports whether resp is GitHub's answer rather than the
// stand-in go-github makes when it refuses to send a call: a 403 without
// a single header.
func answered(resp *http.Response) bool {
	return resp != nil && len(resp.Header) > 0
}

// responseWait reads a 403 or 429 answer; secondary says GitHub's message
// named a secondary limit. Retry-After and the reset are GitHub's
// (RetryAfter); a secondary limit or a 429 that names no time waits
// outbound.DefaultSecondaryRateLimitWait.
func responseWait(resp *http.Response, secondary bool, now time.Time) (time.Duration, bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	if wait, ok := RetryAfter(resp.Header, now); ok {
		return wait, true
	}
	if secondary || resp.StatusCode == http.StatusTooManyRequests {
		return outbound.DefaultSecondaryRateLimitWait, true
	}
	return 0, false
}

// isSecondaryLimit reports whether GitHub's error names a secondary rate
// limit, by its message or its documentation link.
func isSecondaryLimit(er *gh.ErrorResponse) bool {
	text := strings.ToLower(er.Message + " " + er.DocumentationURL)
	return strings.Contains(text, "secondary rate limit") || strings.Contains(text, "secondary-rate-limit") ||
		strings.Contains(text, "abuse")
}

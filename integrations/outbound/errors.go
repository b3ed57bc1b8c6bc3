package outbound

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// ErrBreakerOpen is the cause of an UnavailableError returned without
// touching the network because the provider's circuit breaker is open (or
// half-open with all its probes in flight).
var ErrBreakerOpen = errors.New("circuit breaker open")

// DefaultSecondaryRateLimitWait is what AsRetryAfter reports for a GitHub
// secondary rate limit that came without a Retry-After: GitHub asks clients
// to wait at least a minute then.
const DefaultSecondaryRateLimitWait = time.Minute

// RateLimitedError reports that a provider asked us to wait before calling
// again. The job engine snoozes a job whose error has a RetryAfter method
// for that long instead of counting a failed attempt.
type RateLimitedError struct {
	// Provider is the Policy.Provider of the client that was limited.
	Provider string
	// Name is the provider's name as people write it; empty means Provider.
	Name string
	// Wait is how long the provider asked us to wait.
	Wait time.Duration
	// Cause is the SDK's own error, if any.
	Cause error
}

// Error implements the error interface.
func (e *RateLimitedError) Error() string {
	msg := fmt.Sprintf("outbound %s: rate limited, retry after %s", e.Provider, e.Wait)
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// RetryAfter returns how long to wait before calling the provider again.
func (e *RateLimitedError) RetryAfter() time.Duration { return e.Wait }

// Unwrap returns the SDK's error.
func (e *RateLimitedError) Unwrap() error { return e.Cause }

// Message returns a sentence that is safe to show to a user.
func (e *RateLimitedError) Message() string {
	return fmt.Sprintf("%s is rate limiting us; trying again in %s.", displayName(e.Name, e.Provider), humanDuration(e.Wait))
}

// As lets errors.As find an *incident.Error (EUNAVAILABLE, with Message) in
// the chain, so transports reply with the user-safe sentence.
func (e *RateLimitedError) As(target any) bool {
	if t, ok := target.(**incident.Error); ok {
		*t = incident.Errorf(incident.EUNAVAILABLE, "%s", e.Message())
		return true
	}
	return false
}

// UnavailableError reports that a provider could not be reached: its
// circuit breaker is open, or every allowed attempt timed out or failed to
// connect. A 5xx after the last attempt is handed back as the response
// itself, for the SDK to interpret; an integration that wants this error for
// it can build one with Status set.
type UnavailableError struct {
	// Provider is the Policy.Provider of the client.
	Provider string
	// Name is the provider's name as people write it; empty means Provider.
	Name string
	// Status is the HTTP status of the last response, or 0 when there was
	// none.
	Status int
	// Attempts is the number of attempts that reached the network.
	Attempts int
	// Timeout reports that the last attempt timed out.
	Timeout bool
	// Cause is ErrBreakerOpen or the last attempt's error.
	Cause error
}

// Error implements the error interface.
func (e *UnavailableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "outbound %s: unavailable", e.Provider)
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Attempts > 0 {
		fmt.Fprintf(&b, " after %d %s", e.Attempts, plural(e.Attempts, "attempt"))
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *UnavailableError) Unwrap() error { return e.Cause }

// Message returns a sentence that is safe to show to a user, such as
// "PagerDuty is not responding (HTTP 503 after 4 attempts); retrying in the
// background."
func (e *UnavailableError) Message() string {
	name := displayName(e.Name, e.Provider)
	var detail string
	switch {
	case errors.Is(e.Cause, ErrBreakerOpen):
		detail = "it failed repeatedly, so calls are paused"
	case e.Status != 0:
		detail = fmt.Sprintf("HTTP %d", e.Status)
	case e.Timeout:
		detail = "timed out"
	default:
		detail = "connection failed"
	}
	if e.Attempts > 1 {
		detail += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return fmt.Sprintf("%s is not responding (%s); retrying in the background.", name, detail)
}

// As lets errors.As find an *incident.Error (EUNAVAILABLE, with Message) in
// the chain, so transports reply with the user-safe sentence.
func (e *UnavailableError) As(target any) bool {
	if t, ok := target.(**incident.Error); ok {
		*t = incident.Errorf(incident.EUNAVAILABLE, "%s", e.Message())
		return true
	}
	return false
}

// AsRetryAfter reports how long err asks the caller to wait, recognising any
// error with a RetryAfter() time.Duration method (RateLimitedError among
// them), slack-go's *slack.RateLimitedError and go-github's
// *github.RateLimitError (until the reset time) and
// *github.AbuseRateLimitError. It reads the wall clock for GitHub's reset
// time; RetryAfterAt takes the time instead.
func AsRetryAfter(err error) (time.Duration, bool) {
	return RetryAfterAt(err, time.Now())
}

// RetryAfterAt is AsRetryAfter with now as the current time.
func RetryAfterAt(err error, now time.Time) (time.Duration, bool) {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return max(ra.RetryAfter(), 0), true
	}
	var sl *slack.RateLimitedError
	if errors.As(err, &sl) {
		return max(sl.RetryAfter, 0), true
	}
	var gh *github.RateLimitError
	if errors.As(err, &gh) {
		return max(gh.Rate.Reset.Sub(now), 0), true
	}
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) {
		if abuse.RetryAfter != nil {
			return max(*abuse.RetryAfter, 0), true
		}
		return DefaultSecondaryRateLimitWait, true
	}
	return 0, false
}

// ParseRetryAfter reads how long a response's headers ask a client to wait:
// Retry-After in seconds or as an HTTP-date, else RateLimit-Reset in seconds
// (PagerDuty and the IETF RateLimit fields use it). A date in the past means
// no wait. It reports false when h asks for no particular wait. Every
// provider package reads the header through it.
func ParseRetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
			return max(time.Duration(secs)*time.Second, 0), true
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(at.Sub(now), 0), true
		}
	}
	if v := strings.TrimSpace(h.Get("RateLimit-Reset")); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
			return max(time.Duration(secs)*time.Second, 0), true
		}
	}
	return 0, false
}

// RetryAfterOr is ParseRetryAfter with fallback for headers that ask for no
// particular wait.
func RetryAfterOr(h http.Header, now time.Time, fallback time.Duration) time.Duration {
	if wait, ok := ParseRetryAfter(h, now); ok {
		return wait
	}
	return fallback
}

func displayName(name, provider string) string {
	if name != "" {
		return name
	}
	return knownName(provider)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// humanDuration renders d for people: "45 seconds", "3 minutes", "2 hours".
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return "a moment"
	case d < time.Minute:
		n := int(d.Round(time.Second) / time.Second)
		return fmt.Sprintf("%d %s", n, plural(n, "second"))
	case d < time.Hour:
		n := int(d.Round(time.Minute) / time.Minute)
		return fmt.Sprintf("%d %s", n, plural(n, "minute"))
	default:
		n := int(d.Round(time.Hour) / time.Hour)
		return fmt.Sprintf("%d %s", n, plural(n, "hour"))
	}
}

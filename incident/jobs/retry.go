package jobs

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/tidwall/gjson"
)

// fastRetries is how many failed attempts retry quickly (1, 2, 4, 8, 16 s)
// before the backoff turns to River's attempt⁴ seconds.
const fastRetries = 5

// DefaultRetryCap is the longest wait between two attempts of a job a
// person is waiting on (Options.RetryCap): a Slack or PagerDuty blip of a
// minute, or an outbound circuit breaker open for its 30 s, spends the fast
// retries, and the next attempt must not come twenty minutes later.
const DefaultRetryCap = time.Minute

// maxCappedSpan bounds the time a capped job's attempts are spread over:
// the span of the default ten attempts. A job asking for River's 25 would
// otherwise be retried every minute for weeks.
const maxCappedSpan = 4 * time.Hour

// retryCapKey is the job metadata key that holds the cap of a job's
// backoff in milliseconds. It is written when the job is inserted, so a
// job keeps the schedule it was given (and the attempts counted for it)
// whatever the configuration of the engine that retries it.
const retryCapKey = "firebreak_retry_cap_ms"

// retryPolicy retries a failed job quickly at first, since most failures
// are transient (a 5xx, an ambiguous answer, a killed replica) and a
// half-opened war room or an unsent page cannot wait River's 16 s, 81 s,
// 256 s; then slowly, so that a provider down for an hour is still outlasted
// by the default ten attempts (about four hours in all). A job someone is
// waiting on (urgent, or of a kind in Options.RetryCapKinds) waits at most
// its cap between attempts, and was given as many more attempts as keep
// the span its MaxAttempts asked for (cappedAttempts).
type retryPolicy struct {
	// now is this host's clock, River's (Options.clock); nil is time.Now.
	now func() time.Time
}

// NextRetry implements river.ClientRetryPolicy.
func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	now := time.Now
	if p.now != nil {
		now = p.now
	}
	return now().Add(retryDelay(job.Attempt, retryCapOf(job.Metadata), rand.Float64()))
}

// retryCapOf reads a job's cap from its metadata; zero means none.
func retryCapOf(metadata []byte) time.Duration {
	if len(metadata) == 0 {
		return 0
	}
	return time.Duration(gjson.GetBytes(metadata, retryCapKey).Int()) * time.Millisecond
}

// backoff is the wait after the given failed attempt (1 for the first),
// without jitter or cap.
func backoff(attempt int) time.Duration {
	attempt = max(attempt, 1)
	var secs float64
	if attempt <= fastRetries {
		secs = math.Pow(2, float64(attempt-1))
	} else {
		secs = math.Pow(float64(attempt), 4)
	}
	return time.Duration(secs * float64(time.Second))
}

// retryDelay is the wait after the given failed attempt (1 for the first),
// at most limit when limit is positive, with ±10% jitter from r in [0, 1).
func retryDelay(attempt int, limit time.Duration, r float64) time.Duration {
	d := backoff(attempt)
	if limit > 0 {
		d = min(d, limit)
	}
	return time.Duration(float64(d) * (0.9 + 0.2*r))
}

// cappedAttempts is how many attempts a job whose waits are capped at
// limit needs to be tried for as long as attempts would last uncapped (up
// to maxCappedSpan): the setup of a war room with 8 attempts, whose last
// came about an hour after the first, keeps trying for that hour, once a
// minute rather than twice in all after its fast retries.
func cappedAttempts(attempts int, limit time.Duration) int {
	if limit <= 0 || attempts <= 1 {
		return attempts
	}
	var span time.Duration
	for a := 1; a < attempts && span < maxCappedSpan; a++ {
		span += backoff(a)
	}
	span = min(span, maxCappedSpan)
	n := 1
	for covered := time.Duration(0); covered < span; n++ {
		covered += min(backoff(n), limit)
	}
	return max(n, attempts)
}

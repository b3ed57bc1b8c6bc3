package jobs

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// fastRetries is how many failed attempts retry quickly (1, 2, 4, 8, 16 s)
// before the backoff turns to River's attempt⁴ seconds.
const fastRetries = 5

// retryPolicy retries a failed job quickly at first, since most failures
// are transient (a 5xx, an ambiguous answer, a killed replica) and a
// half-opened war room or an unsent page cannot wait River's 16 s, 81 s,
// 256 s; then slowly, so that a provider down for an hour is still outlasted
// by the default ten attempts (about four hours in all).
type retryPolicy struct{}

// NextRetry implements river.ClientRetryPolicy.
func (retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(retryDelay(job.Attempt, rand.Float64()))
}

// retryDelay is the wait after the given failed attempt (1 for the first),
// with ±10% jitter from r in [0, 1).
func retryDelay(attempt int, r float64) time.Duration {
	attempt = max(attempt, 1)
	var secs float64
	if attempt <= fastRetries {
		secs = math.Pow(2, float64(attempt-1))
	} else {
		secs = math.Pow(float64(attempt), 4)
	}
	return time.Duration(secs * (0.9 + 0.2*r) * float64(time.Second))
}

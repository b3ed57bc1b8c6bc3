package outbound

import "time"

// WithJitter replaces full jitter in tests, so backoff waits are exact.
func WithJitter(f func(time.Duration) time.Duration) Option {
	return func(c *Client) { c.jitter = f }
}

// OnLearnt calls f after s applies each rate limit heard from its store.
func OnLearnt(s *SharedLimits, f func(provider, key string, until time.Time)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.learnt = f
}

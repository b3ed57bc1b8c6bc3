package outbound

import "time"

// WithJitter replaces full jitter in tests, so backoff waits are exact.
func WithJitter(f func(time.Duration) time.Duration) Option {
	return func(c *Client) { c.jitter = f }
}

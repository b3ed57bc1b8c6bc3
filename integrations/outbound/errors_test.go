package outbound_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/outbound"
)

func TestRetryAfterAt(t *testing.T) {
	t.Parallel()
	now := newFakeClock().Now()
	abuseWait := 45 * time.Second
	tests := []struct {
		name     string
		err      error
		wantWait time.Duration
		wantOK   bool
	}{
		{"nil", nil, 0, false},
		{"plain error", errors.New("boom"), 0, false},
		{"RateLimitedError", &outbound.RateLimitedError{Provider: "slack", Wait: 3 * time.Second}, 3 * time.Second, true},
		{"slack-go, wrapped", fmt.Errorf("post message: %w", &slack.RateLimitedError{RetryAfter: 20 * time.Second}), 20 * time.Second, true},
		{"go-github primary limit", &github.RateLimitError{Rate: github.Rate{Reset: github.Timestamp{Time: now.Add(90 * time.Second)}}}, 90 * time.Second, true},
		{"go-github primary limit already reset", &github.RateLimitError{Rate: github.Rate{Reset: github.Timestamp{Time: now.Add(-time.Second)}}}, 0, true},
		{"go-github secondary limit with Retry-After", fmt.Errorf("x: %w", &github.AbuseRateLimitError{RetryAfter: &abuseWait}), abuseWait, true},
		{"go-github secondary limit without Retry-After", &github.AbuseRateLimitError{}, outbound.DefaultSecondaryRateLimitWait, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wait, ok := outbound.RetryAfterAt(tt.err, now)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.wantWait, wait)
		})
	}
}

func TestRateLimitedErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		wait time.Duration
		want string
	}{
		{500 * time.Millisecond, "GitHub is rate limiting us; trying again in a moment."},
		{time.Second, "GitHub is rate limiting us; trying again in 1 second."},
		{42 * time.Second, "GitHub is rate limiting us; trying again in 42 seconds."},
		{10 * time.Minute, "GitHub is rate limiting us; trying again in 10 minutes."},
		{3 * time.Hour, "GitHub is rate limiting us; trying again in 3 hours."},
	}
	for _, tt := range tests {
		t.Run(tt.wait.String(), func(t *testing.T) {
			t.Parallel()
			err := &outbound.RateLimitedError{Provider: "github", Wait: tt.wait}
			require.Equal(t, tt.want, err.Message())
		})
	}
}

package outbound_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/outbound"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		header http.Header
		wait   time.Duration
		ok     bool
	}{
		{"seconds", http.Header{"Retry-After": {"30"}}, 30 * time.Second, true},
		{"padded seconds", http.Header{"Retry-After": {" 5 "}}, 5 * time.Second, true},
		{"http date", http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second, true},
		{"date in the past", http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0, true},
		{"ratelimit reset", http.Header{"Ratelimit-Reset": {"12"}}, 12 * time.Second, true},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0, false},
		{"none", http.Header{}, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wait, ok := outbound.ParseRetryAfter(tc.header, now)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.wait, wait)
			fallback := time.Minute
			if !tc.ok {
				require.Equal(t, fallback, outbound.RetryAfterOr(tc.header, now, fallback))
			} else {
				require.Equal(t, tc.wait, outbound.RetryAfterOr(tc.header, now, fallback))
			}
		})
	}
}

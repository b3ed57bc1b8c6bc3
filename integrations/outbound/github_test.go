package outbound_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/outbound"
)

func TestGitHubRateLimitThroughSDK(t *testing.T) {
	t.Parallel()
	reset := newFakeClock().Now().Add(90 * time.Second)
	srv := newScripted(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"API rate limit exceeded"}`))
	})
	c, clock := newClient(t, outbound.Policy{Provider: "github"})
	gh := github.NewClient(c.HTTPClient())
	base, err := url.Parse(srv.URL + "/")
	require.NoError(t, err)
	gh.BaseURL = base

	_, _, err = gh.Repositories.ListCommits(t.Context(), "acme", "api", nil)
	var rateErr *github.RateLimitError
	require.ErrorAs(t, err, &rateErr)
	require.Equal(t, 1, srv.Hits(), "a 403 is the caller's to interpret, never retried")
	require.Empty(t, clock.Sleeps())
	require.Equal(t, outbound.BreakerClosed, c.State())

	rl, ok := c.AsRateLimited(err)
	require.True(t, ok)
	require.Equal(t, 90*time.Second, rl.RetryAfter(), "measured on the client's clock")
}

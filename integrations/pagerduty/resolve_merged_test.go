package pagerduty_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/pagerduty"
)

// Somebody merged the page's incident into another in PagerDuty, which
// resolves it there, and PagerDuty refuses the bot's resolution with
// 1019, "Incident Already Merged" (developer-docs REST-API/14-Errors.md),
// in its REST error shape. The page is resolved, at PagerDuty's time of
// it, so the job resolving an incident's pages does not fail on it.
func TestResolveAnIncidentMergedInPagerDuty(t *testing.T) {
	t.Parallel()
	b := setup(t)
	page, err := b.client.Page(t.Context(), b.request(b.rest))
	require.NoError(t, err)
	b.clock.Advance(time.Minute)
	// The merge, as far as the merged incident shows it: resolved.
	_, err = b.client.Resolve(t.Context(), *page)
	require.NoError(t, err)

	target, err := url.Parse(b.fake.URL())
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	merged := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"message":"Incident Already Merged","code":1019,"errors":[]}}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(merged.Close)
	client := pagerduty.New(pagerduty.Config{APIURL: merged.URL, Token: b.fake.Token(), FromEmail: "bot@example.com", Clock: b.clock})

	b.clock.Advance(time.Minute)
	at, err := client.Resolve(t.Context(), *page)
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Minute), at, "PagerDuty's time of the resolution")
}

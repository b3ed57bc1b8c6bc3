package web_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSignedInAnswersAreNeverStored: everything a signed-in person is
// sent (the pages, and the private incident's timeline CSV, postmortem
// Markdown and their own metrics CSV) says Cache-Control: no-store, so a
// CDN or proxy in front (Cloudflare caches .csv by default when the origin
// says nothing) never hands one person's download to another, signed in
// or not.
func TestSignedInAnswersAreNeverStored(t *testing.T) {
	t.Parallel()
	f := setup(t)
	alice := f.browser()
	alice.signIn(f.alice)
	private := "/incidents/" + itoa(f.private.Number)
	for _, path := range []string{
		"/incidents", private, private + "/timeline.csv", private + "/postmortem.md",
		"/reports/metrics", "/reports/metrics.csv?period=7d", "/admin/tokens", "/incidents/999",
	} {
		resp, _ := alice.get(path)
		require.Contains(t, []int{http.StatusOK, http.StatusNotFound}, resp.StatusCode, path)
		require.Contains(t, resp.Header.Get("Cache-Control"), "no-store", path)
	}
}

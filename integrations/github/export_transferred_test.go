package github_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// TestIssueReExportAfterTheIssueWasTransferred: the postmortem issue was
// transferred to another repository, and GitHub answers 301 for it at its
// old address. Go follows a 301 after a PATCH with a GET, whose answer (the
// moved issue, unchanged) looked like a done edit: the draft was written
// nowhere and the export said it was. The write now fails with the 301, and
// the moved issue is replaced by a new one, as a deleted one is.
func TestIssueReExportAfterTheIssueWasTransferred(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "issue", false)
	ctx := t.Context()
	ref, err := b.client.Export(ctx, postmortem("Draft."), nil)
	require.NoError(t, err)
	first := b.fake.Issues(docsRepo)[0]

	// Transferred: acme/archive holds it now, and its old address
	// redirects there.
	b.fake.AddRepo("acme/archive", "main", "")
	moved := b.fake.AddIssue("acme/archive", ghfake.Issue{Title: first.Title, Body: first.Body, State: "open"})
	target, err := url.Parse(b.fake.URL())
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	old := "/repos/acme/postmortems/issues/" + strconv.Itoa(first.Number)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == old {
			http.Redirect(w, r, b.fake.URL()+"/repos/acme/archive/issues/"+strconv.Itoa(moved), http.StatusMovedPermanently)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	client, err := github.New(github.Config{APIURL: srv.URL, Token: token, ExportRepo: docsRepo, ExportMode: "issue", Clock: b.clock})
	require.NoError(t, err)

	again, err := client.Export(ctx, postmortem("Draft, with the root cause."), &ref)
	require.NoError(t, err)
	issues := b.fake.Issues(docsRepo)
	require.Len(t, issues, 2, "a new issue replaces the moved one")
	require.Equal(t, strconv.Itoa(issues[1].Number), again.ID)
	require.Contains(t, issues[1].Body, "Draft, with the root cause.")
	archived := b.fake.Issues("acme/archive")
	require.Equal(t, first.Body, archived[0].Body, "the moved issue is left as it is")
}

package github_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github"
)

// issuesDisabled puts a GitHub whose repository docsRepo has Issues turned
// off in front of the fake: as GitHub documents for "Create an issue" ("If
// issues are disabled in the repository, the API returns a 410 Gone
// status"), opening one is answered 410 with GitHub's message, and, with
// listing too, so is the listing, as older GitHub versions answered it.
// Everything else reaches the fake.
func issuesDisabled(t *testing.T, listing bool, opts ...func(*github.Config)) bundle {
	t.Helper()
	var front *httptest.Server
	b := setup(t, append([]func(*github.Config){func(c *github.Config) {
		target, err := url.Parse(c.APIURL)
		require.NoError(t, err)
		proxy := httputil.NewSingleHostReverseProxy(target)
		front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/repos/"+docsRepo+"/issues" && (r.Method == http.MethodPost || listing) {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.WriteHeader(http.StatusGone)
				_ = json.NewEncoder(w).Encode(map[string]string{
					"message":           "Issues are disabled for this repo",
					"documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
				})
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(front.Close)
		c.APIURL = front.URL + "/"
	}}, opts...)...)
	b.fake.AddRepo(docsRepo, "main", "")
	return b
}

// A repository with Issues turned off refuses every issue the export would
// open: the export says so, and what to change, at once, instead of
// failing as an unexplained HTTP 410 that retrying cannot mend.
func TestExportToARepositoryWithIssuesDisabledSaysSo(t *testing.T) {
	t.Parallel()
	for _, listing := range []bool{false, true} {
		b := issuesDisabled(t, listing, func(c *github.Config) { c.ExportRepo, c.ExportMode = docsRepo, "issue" })
		_, err := b.client.Export(t.Context(), postmortem("Draft."), nil)
		requireCode(t, err, incident.EINVALID)
		msg := incident.ErrorMessage(err)
		require.Contains(t, msg, "Issues are turned off in "+docsRepo, "listing answered 410: %v", listing)
		require.Contains(t, msg, "pull request")
		require.NotContains(t, msg, "410")
		require.Empty(t, b.fake.Issues(docsRepo))
	}
}

// The postmortem goes in as a pull request; only the action items' issues
// are refused, and the message names them.
func TestActionItemIssuesInARepositoryWithIssuesDisabledSaySo(t *testing.T) {
	t.Parallel()
	b := issuesDisabled(t, false, func(c *github.Config) { c.ExportRepo, c.ActionItemIssues = docsRepo, true })
	ref, err := b.client.Export(t.Context(), withActionItems(postmortem("Draft.")), nil)
	requireCode(t, err, incident.EINVALID)
	msg := incident.ErrorMessage(err)
	require.Contains(t, msg, "Issues are turned off in "+docsRepo)
	require.Contains(t, msg, "action items")
	require.Contains(t, msg, "turn off the issues for action items")
	prs := b.fake.PullRequests(docsRepo)
	require.Len(t, prs, 1)
	require.Equal(t, incident.ExportRef{Target: "github", ID: "1", URL: ref.URL, Version: 1, Digest: blobSHA("Draft.")}, ref, "the pull request, returned with the error so that it is recorded")
	require.Contains(t, ref.URL, "/pull/1")
}

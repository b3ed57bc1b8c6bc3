package github_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// addNoise adds n issues by other people, newer than everything before.
func addNoise(b bundle, n int) {
	b.clock.Advance(time.Hour)
	for i := range n {
		b.fake.AddIssue(docsRepo, ghfake.Issue{Title: fmt.Sprintf("noise %d", i), User: "someone",
			Body: "Something else broke.", CreatedAt: b.clock.Now().Add(time.Duration(i) * time.Second)})
	}
}

// When GitHub will not say who the token is, the bot looks for its issues
// among every issue: past the 1,000 the listing reaches, newest first, it
// finds the postmortem's issue and the action items' issues through the
// search, by their markers, and opens none of them twice.
func TestReExportFindsTheBotsIssuesPastAThousandWithoutItsLogin(t *testing.T) {
	t.Parallel()
	refuse := &identityRefused{status: http.StatusNotFound}
	b := labelDroppingSetup(t, func(c *github.Config) { c.HTTPClient = &http.Client{Transport: refuse} })

	first, err := b.client.Export(t.Context(), withActionItems(postmortem("First draft.")), nil)
	require.NoError(t, err)
	addNoise(b, 1050)
	// An issue someone else opened with words like the marker's, which
	// the search finds too, is not taken for the postmortem's.
	b.fake.AddIssue(docsRepo, ghfake.Issue{Title: "look-alike", User: "someone", CreatedAt: at(9, 0),
		Body: "<!-- firebreak:postmortem:INC-42 x -->"})
	before := len(b.fake.Calls())

	again, err := b.client.Export(t.Context(), withActionItems(postmortem("Second draft.")), nil)
	require.NoError(t, err)
	require.Equal(t, first.ID, again.ID, "the postmortem's issue is found past the listing")
	titles := issueTitles(b.fake)
	require.Len(t, titles, 3+1050+1, "no issue opened twice")
	require.Equal(t, exportedTitles, titles[:3])
	require.True(t, strings.HasPrefix(b.fake.Issues(docsRepo)[0].Body, "Second draft."))

	var searches []string
	for _, c := range b.fake.Calls()[before:] {
		if c == "GET /search/issues" {
			searches = append(searches, c)
		}
	}
	require.Len(t, searches, 2, "one search for the postmortem, one for the action items")
}

// GitHub's search takes at most 1,000 results and 256 characters; the
// fake holds the client to both.
func TestFakeSearchLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddRepo(docsRepo, "main", "")
	addNoise(b, 1001)
	get := func(q string, page int) *http.Response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet,
			fmt.Sprintf("%ssearch/issues?q=%s&per_page=100&page=%d", b.fake.URL(), strings.ReplaceAll(q, " ", "+"), page), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { _ = resp.Body.Close() })
		return resp
	}
	require.Equal(t, http.StatusOK, get("repo:"+docsRepo+" noise", 10).StatusCode)
	require.Equal(t, http.StatusUnprocessableEntity, get("repo:"+docsRepo+" noise", 11).StatusCode)
	require.Equal(t, http.StatusUnprocessableEntity, get("repo:"+docsRepo+" "+strings.Repeat("x", 250), 1).StatusCode)
	require.Equal(t, http.StatusUnprocessableEntity, get("repo:acme/unknown noise", 1).StatusCode)
}

// GitHub's search that runs out of time answers 200 with
// "incomplete_results": true and the matches found so far, which may miss
// the postmortem's issue past the listing. The export is not taken as
// finding none and opening it twice: it fails as GitHub being unavailable
// for now, and its retry, once the search answers in full, updates the
// issue.
func TestReExportWaitsOutASearchThatTimedOut(t *testing.T) {
	t.Parallel()
	refuse := &identityRefused{status: http.StatusNotFound}
	b := labelDroppingSetup(t, func(c *github.Config) { c.HTTPClient = &http.Client{Transport: refuse} })

	first, err := b.client.Export(t.Context(), withActionItems(postmortem("First draft.")), nil)
	require.NoError(t, err)
	addNoise(b, 1050)

	b.fake.SearchTimesOutNext(1)
	_, err = b.client.Export(t.Context(), withActionItems(postmortem("Second draft.")), nil)
	require.Error(t, err)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err), "%v", err)
	require.Len(t, issueTitles(b.fake), 3+1050, "nothing opened twice")

	again, err := b.client.Export(t.Context(), withActionItems(postmortem("Second draft.")), nil)
	require.NoError(t, err)
	require.Equal(t, first.ID, again.ID)
	require.Len(t, issueTitles(b.fake), 3+1050)
}

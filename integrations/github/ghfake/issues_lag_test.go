package ghfake_test

import (
	"net/http"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// The search index lags behind the issues as GitHub's does: a new issue is
// listed at once but found by search only once the lag has passed.
func TestSearchIndexLags(t *testing.T) {
	t.Parallel()
	clock := now
	fake := ghfake.New(ghfake.WithClock(func() time.Time { return clock }))
	t.Cleanup(fake.Close)
	fake.AddRepo(repo, "main", "")
	c := client(t, fake)
	fake.SetSearchLag(time.Minute)

	_, _, err := c.Issues.Create(t.Context(), "acme", "checkout", &gh.IssueRequest{Title: gh.String("Postmortem"), Body: gh.String("marker firebreak postmortem INC-7")})
	require.NoError(t, err)
	listed, _, err := c.Issues.ListByRepo(t.Context(), "acme", "checkout", &gh.IssueListByRepoOptions{State: "all"})
	require.NoError(t, err)
	require.Len(t, listed, 1, "the listing shows a new issue at once")
	found, _, err := c.Search.Issues(t.Context(), `repo:acme/checkout is:issue in:body "firebreak postmortem INC-7"`, nil)
	require.NoError(t, err)
	require.Empty(t, found.Issues, "the search has not indexed it yet")

	clock = clock.Add(time.Minute)
	found, _, err = c.Search.Issues(t.Context(), `repo:acme/checkout is:issue in:body "firebreak postmortem INC-7"`, nil)
	require.NoError(t, err)
	require.Len(t, found.Issues, 1)
}

// Assigning an issue to a login that cannot be assigned is refused with
// GitHub's 422, naming the login; nothing is opened.
func TestUnassignableLoginIsRefused(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, ghfake.DefaultToken)
	fake.SetAssignable(repo, "octocat")

	_, _, err := c.Issues.Create(t.Context(), "acme", "checkout", &gh.IssueRequest{Title: gh.String("Fix it"), Assignees: &[]string{"stranger"}})
	require.Equal(t, http.StatusUnprocessableEntity, status(t, err))
	var er *gh.ErrorResponse
	require.ErrorAs(t, err, &er)
	require.Equal(t, []gh.Error{{Resource: "Issue", Field: "assignees", Code: "invalid"}}, er.Errors)
	require.Empty(t, fake.Issues(repo))

	is, _, err := c.Issues.Create(t.Context(), "acme", "checkout", &gh.IssueRequest{Title: gh.String("Fix it"), Assignees: &[]string{"OctoCat"}})
	require.NoError(t, err)
	require.Equal(t, "OctoCat", is.Assignees[0].GetLogin())
}

func client(t *testing.T, fake *ghfake.Server) *gh.Client {
	t.Helper()
	c := gh.NewClient(nil).WithAuthToken(ghfake.DefaultToken)
	base, err := c.BaseURL.Parse(fake.URL())
	require.NoError(t, err)
	c.BaseURL, c.UploadURL = base, base
	return c
}

// A repository with Issues turned off answers 410 Gone to opening one.
func TestIssuesDisabledAnswerGone(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, ghfake.DefaultToken)
	fake.DisableIssues(repo)
	_, _, err := c.Issues.Create(t.Context(), "acme", "checkout", &gh.IssueRequest{Title: gh.String("Fix it")})
	require.Equal(t, http.StatusGone, status(t, err))
	require.ErrorContains(t, err, "Issues are disabled for this repo")
}

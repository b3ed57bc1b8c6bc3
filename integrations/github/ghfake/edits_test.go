package ghfake_test

import (
	"net/http"
	"testing"

	gh "github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// What the postmortem export relies on to tell people's edits from its
// own, as GitHub does it: a file's sha is git's blob id of its content,
// the same on every branch and after a merge; a write from a stale sha is
// refused; a deleted branch takes its files and closes its open pull
// request; a body saved in the browser comes back with "\r\n"; and the
// issues API reads and edits a pull request as an issue.
func TestFakeKeepsWhatAnExportReadsBack(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, ghfake.DefaultToken)
	ctx := t.Context()
	main, _, err := c.Git.GetRef(ctx, "acme", "checkout", "heads/main")
	require.NoError(t, err)
	_, _, err = c.Git.CreateRef(ctx, "acme", "checkout", &gh.Reference{Ref: gh.String("refs/heads/docs"), Object: main.Object})
	require.NoError(t, err)
	opts := &gh.RepositoryContentFileOptions{Message: gh.String("add"), Content: []byte("hello"), Branch: gh.String("docs")}
	created, _, err := c.Repositories.CreateFile(ctx, "acme", "checkout", "docs/a.md", opts)
	require.NoError(t, err)
	// git hash-object of a file holding "hello".
	require.Equal(t, "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0", created.Content.GetSHA())
	require.NotEqual(t, created.Content.GetSHA(), created.GetSHA(), "the commit is not the blob")

	fake.PutFile(repo, "docs", "docs/a.md", "hello, edited")
	opts.SHA, opts.Content = created.Content.SHA, []byte("overwrite")
	_, _, err = c.Repositories.UpdateFile(ctx, "acme", "checkout", "docs/a.md", opts)
	require.Equal(t, http.StatusConflict, status(t, err), "the file moved on since its sha was read")

	pr, _, err := c.PullRequests.Create(ctx, "acme", "checkout", &gh.NewPullRequest{Title: gh.String("Docs"), Head: gh.String("docs"), Base: gh.String("main")})
	require.NoError(t, err)
	asIssue, _, err := c.Issues.Get(ctx, "acme", "checkout", pr.GetNumber())
	require.NoError(t, err)
	require.True(t, asIssue.IsPullRequest())
	_, _, err = c.Issues.Edit(ctx, "acme", "checkout", pr.GetNumber(), &gh.IssueRequest{Body: gh.String("Described.")})
	require.NoError(t, err)
	require.Equal(t, "Described.", fake.PullRequests(repo)[0].Body)

	require.NoError(t, fake.DeleteBranch(repo, "docs"))
	_, _, err = c.Git.GetRef(ctx, "acme", "checkout", "heads/docs")
	require.Equal(t, http.StatusNotFound, status(t, err))
	_, _, _, err = c.Repositories.GetContents(ctx, "acme", "checkout", "docs/a.md", &gh.RepositoryContentGetOptions{Ref: "docs"})
	require.Equal(t, http.StatusNotFound, status(t, err))
	closed, _, err := c.PullRequests.Get(ctx, "acme", "checkout", pr.GetNumber())
	require.NoError(t, err)
	require.Equal(t, "closed", closed.GetState())
	require.Nil(t, closed.MergedAt)
	require.Error(t, fake.DeleteBranch(repo, "main"), "the default branch cannot be deleted")

	n := fake.AddIssue(repo, ghfake.Issue{Title: "Postmortem", Body: "line one\nline two"})
	require.NoError(t, fake.EditIssueBody(repo, n, "line one\nline two\nline three"))
	is, _, err := c.Issues.Get(ctx, "acme", "checkout", n)
	require.NoError(t, err)
	require.Equal(t, "line one\r\nline two\r\nline three", is.GetBody())

	_, err = fake.CloseIssue(repo, n, "won't fix", "ada")
	require.Error(t, err, "not a reason GitHub closes an issue for")
}

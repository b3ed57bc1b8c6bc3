package ghfake_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

const repo = "acme/checkout"

var now = time.Date(2026, time.March, 2, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T, token string) (*ghfake.Server, *gh.Client) {
	t.Helper()
	fake := ghfake.New(ghfake.WithClock(func() time.Time { return now }))
	t.Cleanup(fake.Close)
	fake.AddRepo(repo, "main", "")
	c := gh.NewClient(nil).WithAuthToken(token)
	u, err := url.Parse(fake.URL())
	require.NoError(t, err)
	c.BaseURL, c.UploadURL = u, u
	return fake, c
}

func status(t *testing.T, err error) int {
	t.Helper()
	var er *gh.ErrorResponse
	require.True(t, errors.As(err, &er), "want an ErrorResponse, got %v", err)
	return er.Response.StatusCode
}

func TestAuthAndUnknownRepos(t *testing.T) {
	t.Parallel()
	_, bad := setup(t, "wrong")
	_, _, err := bad.Repositories.Get(t.Context(), "acme", "checkout")
	require.Equal(t, http.StatusUnauthorized, status(t, err))
	require.ErrorContains(t, err, "Bad credentials")

	_, good := setup(t, ghfake.DefaultToken)
	_, _, err = good.Repositories.Get(t.Context(), "acme", "nope")
	require.Equal(t, http.StatusNotFound, status(t, err))
	r, _, err := good.Repositories.Get(t.Context(), "acme", "checkout")
	require.NoError(t, err)
	require.Equal(t, "main", r.GetDefaultBranch())
}

func TestPaginationLinks(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, ghfake.DefaultToken)
	for i := range 5 {
		fake.AddDeployment(repo, ghfake.Deployment{SHA: "abc", Environment: "production", CreatedAt: now.Add(time.Duration(i) * time.Minute)})
	}
	ds, resp, err := c.Repositories.ListDeployments(t.Context(), "acme", "checkout", &gh.DeploymentsListOptions{ListOptions: gh.ListOptions{PerPage: 2}})
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.Equal(t, 2, resp.NextPage)
	require.Equal(t, 3, resp.LastPage)
	require.True(t, ds[0].GetCreatedAt().After(ds[1].GetCreatedAt().Time), "newest first")

	ds, resp, err = c.Repositories.ListDeployments(t.Context(), "acme", "checkout", &gh.DeploymentsListOptions{ListOptions: gh.ListOptions{PerPage: 2, Page: 3}})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Zero(t, resp.NextPage)
}

func TestDeploymentRules(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, ghfake.DefaultToken)
	fake.AddCommit(repo, "old")

	_, _, err := c.Repositories.CreateDeployment(t.Context(), "acme", "checkout", &gh.DeploymentRequest{Ref: gh.String("unknown")})
	require.Equal(t, http.StatusUnprocessableEntity, status(t, err))
	_, _, err = c.Repositories.CreateDeployment(t.Context(), "acme", "checkout", &gh.DeploymentRequest{Ref: gh.String("old")})
	require.Equal(t, http.StatusConflict, status(t, err), "auto_merge defaults to true and cannot merge main into an old commit")
	d, _, err := c.Repositories.CreateDeployment(t.Context(), "acme", "checkout", &gh.DeploymentRequest{Ref: gh.String("old"), AutoMerge: gh.Bool(false)})
	require.NoError(t, err)
	require.Equal(t, "old", d.GetSHA())

	_, _, err = c.Repositories.CreateDeploymentStatus(t.Context(), "acme", "checkout", d.GetID(), &gh.DeploymentStatusRequest{State: gh.String("done")})
	require.Equal(t, http.StatusUnprocessableEntity, status(t, err))
	_, _, err = c.Repositories.CreateDeploymentStatus(t.Context(), "acme", "checkout", d.GetID(), &gh.DeploymentStatusRequest{State: gh.String("success")})
	require.NoError(t, err)
	require.Equal(t, "success", fake.Deployments(repo)[0].Statuses[0].State)
}

func TestContentsRefsAndPulls(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, ghfake.DefaultToken)
	ctx := t.Context()
	main, _, err := c.Git.GetRef(ctx, "acme", "checkout", "heads/main")
	require.NoError(t, err)
	_, _, err = c.Git.GetRef(ctx, "acme", "checkout", "heads/docs")
	require.Equal(t, http.StatusNotFound, status(t, err))
	_, _, err = c.Git.CreateRef(ctx, "acme", "checkout", &gh.Reference{Ref: gh.String("refs/heads/docs"), Object: main.Object})
	require.NoError(t, err)
	_, _, err = c.Git.CreateRef(ctx, "acme", "checkout", &gh.Reference{Ref: gh.String("refs/heads/docs"), Object: main.Object})
	require.Equal(t, http.StatusUnprocessableEntity, status(t, err))

	// A pull request needs commits between base and head.
	_, _, err = c.PullRequests.Create(ctx, "acme", "checkout", &gh.NewPullRequest{Title: gh.String("Docs"), Head: gh.String("docs"), Base: gh.String("main")})
	require.Equal(t, http.StatusUnprocessableEntity, status(t, err))

	opts := &gh.RepositoryContentFileOptions{Message: gh.String("add"), Content: []byte("hello"), Branch: gh.String("docs")}
	created, _, err := c.Repositories.CreateFile(ctx, "acme", "checkout", "docs/a.md", opts)
	require.NoError(t, err)
	_, _, err = c.Repositories.CreateFile(ctx, "acme", "checkout", "docs/a.md", opts)
	require.Equal(t, http.StatusUnprocessableEntity, status(t, err), "updating needs the sha")
	opts.SHA = gh.String("0000")
	_, _, err = c.Repositories.UpdateFile(ctx, "acme", "checkout", "docs/a.md", opts)
	require.Equal(t, http.StatusConflict, status(t, err), "a stale sha conflicts")
	opts.SHA, opts.Content = created.Content.SHA, []byte("hello again")
	_, _, err = c.Repositories.UpdateFile(ctx, "acme", "checkout", "docs/a.md", opts)
	require.NoError(t, err)
	file, _, _, err := c.Repositories.GetContents(ctx, "acme", "checkout", "docs/a.md", &gh.RepositoryContentGetOptions{Ref: "docs"})
	require.NoError(t, err)
	text, err := file.GetContent()
	require.NoError(t, err)
	require.Equal(t, "hello again", text)
	require.Equal(t, map[string]string{"docs/a.md": "hello again"}, fake.Files(repo, "docs"))

	pr, _, err := c.PullRequests.Create(ctx, "acme", "checkout", &gh.NewPullRequest{Title: gh.String("Docs"), Head: gh.String("docs"), Base: gh.String("main")})
	require.NoError(t, err)
	_, _, err = c.PullRequests.Create(ctx, "acme", "checkout", &gh.NewPullRequest{Title: gh.String("Docs"), Head: gh.String("docs"), Base: gh.String("main")})
	require.Equal(t, http.StatusUnprocessableEntity, status(t, err))
	require.ErrorContains(t, err, "A pull request already exists for acme:docs.")
	open, _, err := c.PullRequests.List(ctx, "acme", "checkout", &gh.PullRequestListOptions{Head: "acme:docs"})
	require.NoError(t, err)
	require.Len(t, open, 1)
	require.Equal(t, pr.GetNumber(), open[0].GetNumber())
}

func TestDispatchAndRuns(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, ghfake.DefaultToken)
	ctx := t.Context()
	fake.AddWorkflow(repo, "deploy.yml", true)
	fake.AddWorkflow(repo, "ci.yml", false)

	_, err := c.Actions.CreateWorkflowDispatchEventByFileName(ctx, "acme", "checkout", "ci.yml", gh.CreateWorkflowDispatchEventRequest{Ref: "main"})
	require.Equal(t, http.StatusUnprocessableEntity, status(t, err))
	require.ErrorContains(t, err, "Workflow does not have 'workflow_dispatch' trigger")
	_, err = c.Actions.CreateWorkflowDispatchEventByFileName(ctx, "acme", "checkout", "nope.yml", gh.CreateWorkflowDispatchEventRequest{Ref: "main"})
	require.Equal(t, http.StatusNotFound, status(t, err))
	_, err = c.Actions.CreateWorkflowDispatchEventByFileName(ctx, "acme", "checkout", "deploy.yml", gh.CreateWorkflowDispatchEventRequest{Ref: "nope"})
	require.Equal(t, http.StatusUnprocessableEntity, status(t, err))

	resp, err := c.Actions.CreateWorkflowDispatchEventByFileName(ctx, "acme", "checkout", "deploy.yml",
		gh.CreateWorkflowDispatchEventRequest{Ref: "main", Inputs: map[string]any{"sha": "abc"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	d := fake.Dispatches(repo)
	require.Len(t, d, 1)

	runs, _, err := c.Actions.ListWorkflowRunsByFileName(ctx, "acme", "checkout", "deploy.yml",
		&gh.ListWorkflowRunsOptions{Event: "workflow_dispatch", Created: ">=" + now.Format(time.RFC3339)})
	require.NoError(t, err)
	require.Len(t, runs.WorkflowRuns, 1)
	require.Equal(t, "queued", runs.WorkflowRuns[0].GetStatus())
	runs, _, err = c.Actions.ListWorkflowRunsByFileName(ctx, "acme", "checkout", "deploy.yml",
		&gh.ListWorkflowRunsOptions{Created: "<" + now.Format(time.RFC3339)})
	require.NoError(t, err)
	require.Empty(t, runs.WorkflowRuns)

	require.NoError(t, fake.CompleteRun(repo, d[0].RunID, "success"))
	run, _, err := c.Actions.GetWorkflowRunByID(ctx, "acme", "checkout", d[0].RunID)
	require.NoError(t, err)
	require.Equal(t, "completed", run.GetStatus())
	require.Equal(t, "success", run.GetConclusion())
}

func TestFaults(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, ghfake.DefaultToken)
	ctx := t.Context()

	fake.FailNext(2, http.StatusServiceUnavailable)
	for range 2 {
		_, _, err := c.Repositories.Get(ctx, "acme", "checkout")
		require.Equal(t, http.StatusServiceUnavailable, status(t, err))
	}
	_, _, err := c.Repositories.Get(ctx, "acme", "checkout")
	require.NoError(t, err, "only the next two calls fail")

	reset := time.Now().Add(time.Hour).Truncate(time.Second)
	fake.RateLimitNext(1, reset)
	_, _, err = c.Repositories.Get(ctx, "acme", "checkout")
	var rl *gh.RateLimitError
	require.ErrorAs(t, err, &rl)
	require.Equal(t, reset, rl.Rate.Reset.Time)
	require.Len(t, fake.Calls(), 4)
}

// The fake records the text of every write as it arrived, refused ones
// included, so a test can read everything a client sent GitHub.
func TestTextsRecordsWhatWritesSent(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, ghfake.DefaultToken)
	ctx := t.Context()
	is, _, err := c.Issues.Create(ctx, "acme", "checkout", &gh.IssueRequest{Title: gh.String("Fix it"), Body: gh.String("cc @octocat")})
	require.NoError(t, err)
	_, _, err = c.Issues.Edit(ctx, "acme", "checkout", is.GetNumber(), &gh.IssueRequest{Body: gh.String("edited")})
	require.NoError(t, err)
	_, _, err = c.Issues.Create(ctx, "acme", "checkout", &gh.IssueRequest{Title: gh.String(""), Body: gh.String("refused")})
	require.Error(t, err)
	_, _, err = c.Repositories.CreateFile(ctx, "acme", "checkout", "docs/a.md", &gh.RepositoryContentFileOptions{
		Message: gh.String("Add a"), Content: []byte("# A\n"), Branch: gh.String("main")})
	require.NoError(t, err)

	issues, file := "POST /repos/acme/checkout/issues", "PUT /repos/acme/checkout/contents/docs/a.md"
	require.Equal(t, []ghfake.Text{
		{Call: issues, Field: "title", Text: "Fix it"},
		{Call: issues, Field: "body", Text: "cc @octocat"},
		{Call: "PATCH /repos/acme/checkout/issues/1", Field: "body", Text: "edited"},
		{Call: issues, Field: "title", Text: ""},
		{Call: issues, Field: "body", Text: "refused"},
		{Call: file, Field: "content", Text: "# A\n"},
		{Call: file, Field: "message", Text: "Add a"},
	}, fake.Texts())
}

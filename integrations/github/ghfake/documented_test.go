package ghfake_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// postDispatch sends a workflow dispatch with body over plain HTTP and
// returns the status and the raw answer.
func postDispatch(t *testing.T, fake *ghfake.Server, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		fake.URL()+"repos/acme/checkout/actions/workflows/deploy.yml/dispatches", bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+fake.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, raw
}

// return_run_details, as GitHub documents it: 200 with the run's id, API
// URL and web URL when asked; 204 with no body otherwise.
func TestDispatchReturnRunDetails(t *testing.T) {
	t.Parallel()
	fake, _ := setup(t, ghfake.DefaultToken)
	fake.AddWorkflow(repo, "deploy.yml", true)

	status, raw := postDispatch(t, fake, `{"ref":"main","return_run_details":true}`)
	require.Equal(t, http.StatusOK, status)
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got))
	d := fake.Dispatches(repo)
	require.Len(t, d, 1)
	require.True(t, d[0].ReturnedRunDetails)
	require.Equal(t, map[string]any{
		"workflow_run_id": float64(d[0].RunID),
		"run_url":         fake.URL() + "repos/acme/checkout/actions/runs/" + jsonNumber(d[0].RunID),
		"html_url":        fake.URL() + "acme/checkout/actions/runs/" + jsonNumber(d[0].RunID),
	}, got)

	for _, body := range []string{`{"ref":"main"}`, `{"ref":"main","return_run_details":false}`} {
		status, raw = postDispatch(t, fake, body)
		require.Equal(t, http.StatusNoContent, status, body)
		require.Empty(t, raw, body)
	}
	require.Len(t, fake.Dispatches(repo), 3)
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// WithLegacyDispatch is a GitHub Enterprise Server that predates the field:
// it refuses it as an unknown key, dispatching nothing, or ignores it.
func TestLegacyDispatch(t *testing.T) {
	t.Parallel()
	fake := ghfake.New(ghfake.WithLegacyDispatch(http.StatusUnprocessableEntity))
	t.Cleanup(fake.Close)
	fake.AddRepo(repo, "main", "")
	fake.AddWorkflow(repo, "deploy.yml", true)
	status, raw := postDispatch(t, fake, `{"ref":"main","return_run_details":true}`)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Contains(t, string(raw), `\"return_run_details\" is not a permitted key.`)
	require.Empty(t, fake.Dispatches(repo))
	status, _ = postDispatch(t, fake, `{"ref":"main"}`)
	require.Equal(t, http.StatusNoContent, status)

	ignoring := ghfake.New(ghfake.WithLegacyDispatch(0))
	t.Cleanup(ignoring.Close)
	ignoring.AddRepo(repo, "main", "")
	ignoring.AddWorkflow(repo, "deploy.yml", true)
	status, raw = postDispatch(t, ignoring, `{"ref":"main","return_run_details":true}`)
	require.Equal(t, http.StatusNoContent, status)
	require.Empty(t, raw)
	require.Len(t, ignoring.Dispatches(repo), 1)
}

// A success status marks the earlier successful deployments to the same
// non-production, non-transient environment inactive, unless
// auto_inactive is false, as GitHub documents for "Create a deployment
// status".
func TestSuccessMarksEarlierDeploymentsInactive(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, ghfake.DefaultToken)
	ctx := t.Context()
	ok := []ghfake.DeploymentStatus{{State: "success"}}
	staging1 := fake.AddDeployment(repo, ghfake.Deployment{SHA: "s1", Environment: "staging", CreatedAt: now.Add(-4 * time.Second), Statuses: ok})
	failed := fake.AddDeployment(repo, ghfake.Deployment{SHA: "s2", Environment: "staging", CreatedAt: now.Add(-3 * time.Second),
		Statuses: []ghfake.DeploymentStatus{{State: "failure"}}})
	prod := fake.AddDeployment(repo, ghfake.Deployment{SHA: "p1", Environment: "production", CreatedAt: now.Add(-2 * time.Second), Statuses: ok})
	qa := fake.AddDeployment(repo, ghfake.Deployment{SHA: "q1", Environment: "qa", CreatedAt: now.Add(-2 * time.Second), Statuses: ok})
	latest := func(id int64) string {
		for _, d := range fake.Deployments(repo) {
			if d.ID == id {
				return d.Statuses[len(d.Statuses)-1].State
			}
		}
		t.Fatalf("no deployment %d", id)
		return ""
	}

	d, _, err := c.Repositories.CreateDeployment(ctx, "acme", "checkout", &gh.DeploymentRequest{Ref: gh.String("main"), Environment: gh.String("staging")})
	require.NoError(t, err)
	_, _, err = c.Repositories.CreateDeploymentStatus(ctx, "acme", "checkout", d.GetID(), &gh.DeploymentStatusRequest{State: gh.String("in_progress")})
	require.NoError(t, err)
	require.Equal(t, "success", latest(staging1), "only a success supersedes")
	_, _, err = c.Repositories.CreateDeploymentStatus(ctx, "acme", "checkout", d.GetID(), &gh.DeploymentStatusRequest{State: gh.String("success")})
	require.NoError(t, err)
	require.Equal(t, "inactive", latest(staging1))
	require.Equal(t, "failure", latest(failed), "only deployments that had succeeded are marked")
	require.Equal(t, "success", latest(qa), "another environment")
	sts, _, err := c.Repositories.ListDeploymentStatuses(ctx, "acme", "checkout", staging1, nil)
	require.NoError(t, err)
	require.Equal(t, "inactive", sts[0].GetState(), "listed newest first")

	// Production deployments stay, and auto_inactive:false keeps the rest.
	p, _, err := c.Repositories.CreateDeployment(ctx, "acme", "checkout", &gh.DeploymentRequest{Ref: gh.String("main"), Environment: gh.String("production")})
	require.NoError(t, err)
	_, _, err = c.Repositories.CreateDeploymentStatus(ctx, "acme", "checkout", p.GetID(), &gh.DeploymentStatusRequest{State: gh.String("success")})
	require.NoError(t, err)
	require.Equal(t, "success", latest(prod))
	q, _, err := c.Repositories.CreateDeployment(ctx, "acme", "checkout", &gh.DeploymentRequest{Ref: gh.String("main"), Environment: gh.String("qa")})
	require.NoError(t, err)
	_, _, err = c.Repositories.CreateDeploymentStatus(ctx, "acme", "checkout", q.GetID(),
		&gh.DeploymentStatusRequest{State: gh.String("success"), AutoInactive: gh.Bool(false)})
	require.NoError(t, err)
	require.Equal(t, "success", latest(qa))
	// AddDeploymentStatus, the deploy system's way in, does the same.
	require.NoError(t, fake.AddDeploymentStatus(repo, q.GetID(), ghfake.DeploymentStatus{State: "success"}))
	require.Equal(t, "inactive", latest(qa))
}

func TestAuthenticatedUser(t *testing.T) {
	t.Parallel()
	_, c := setup(t, ghfake.DefaultToken)
	u, _, err := c.Users.Get(t.Context(), "")
	require.NoError(t, err)
	require.Equal(t, ghfake.DefaultLogin, u.GetLogin())
}

func TestAppInstallationIdentity(t *testing.T) {
	t.Parallel()
	fake := ghfake.New(ghfake.WithAppInstallation("firebreak"))
	t.Cleanup(fake.Close)
	c := gh.NewClient(nil).WithAuthToken(fake.Token())
	u, err := url.Parse(fake.URL())
	require.NoError(t, err)
	c.BaseURL, c.UploadURL = u, u
	_, _, err = c.Users.Get(t.Context(), "")
	require.Equal(t, http.StatusForbidden, status(t, err))
	require.ErrorContains(t, err, "Resource not accessible by integration")

	req, err := c.NewRequest(http.MethodPost, "graphql", map[string]string{"query": "query { viewer { login } }"})
	require.NoError(t, err)
	var out struct {
		Data struct {
			Viewer struct{ Login string } `json:"viewer"`
		} `json:"data"`
	}
	_, err = c.Do(t.Context(), req, &out)
	require.NoError(t, err)
	require.Equal(t, "firebreak[bot]", out.Data.Viewer.Login)
}

// Rate limits as "Rate limits for the REST API" describes them: a primary
// limit is a 403 or 429 with x-ratelimit-remaining 0 and x-ratelimit-reset
// in epoch seconds, no retry-after; a secondary one is a 403 or 429 whose
// retry-after may be missing while the primary counters go on.
func TestRateLimitAnswers(t *testing.T) {
	t.Parallel()
	fake, _ := setup(t, ghfake.DefaultToken)
	get := func() *http.Response {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, fake.URL()+"repos/acme/checkout", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+fake.Token())
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	reset := time.Date(2026, 3, 2, 12, 10, 0, 0, time.UTC)
	fake.PrimaryRateLimitNext(1, http.StatusTooManyRequests, reset)
	resp := get()
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "0", resp.Header.Get("X-RateLimit-Remaining"))
	require.Equal(t, "1772453400", resp.Header.Get("X-RateLimit-Reset"))
	require.Empty(t, resp.Header.Get("Retry-After"))

	window := time.Date(2026, 3, 2, 12, 0, 5, 0, time.UTC)
	fake.SetRateLimitWindowReset(window)
	fake.SecondaryRateLimitNextWith(1, http.StatusForbidden, 0)
	resp = get()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Retry-After"))
	require.NotEqual(t, "0", resp.Header.Get("X-RateLimit-Remaining"))
	require.Equal(t, "1772452805", resp.Header.Get("X-RateLimit-Reset"))

	require.Equal(t, http.StatusOK, get().StatusCode)
}

// A request GitHub carried out but answered 5xx: the dispatch took effect.
func TestFailNextWrite(t *testing.T) {
	t.Parallel()
	fake, _ := setup(t, ghfake.DefaultToken)
	fake.AddWorkflow(repo, "deploy.yml", true)
	fake.FailNextWrite(1, http.StatusBadGateway, true)
	status, _ := postDispatch(t, fake, `{"ref":"main"}`)
	require.Equal(t, http.StatusBadGateway, status)
	require.Len(t, fake.Dispatches(repo), 1, "the run started all the same")

	fake.FailNextWrite(1, http.StatusBadGateway, false)
	status, _ = postDispatch(t, fake, `{"ref":"main"}`)
	require.Equal(t, http.StatusBadGateway, status)
	require.Len(t, fake.Dispatches(repo), 1, "a write failed without acting did nothing")
	status, _ = postDispatch(t, fake, `{"ref":"main"}`)
	require.Equal(t, http.StatusNoContent, status)
}

// An issue's title is at most 256 characters and its body 65,536.
func TestIssueTextLimits(t *testing.T) {
	t.Parallel()
	_, c := setup(t, ghfake.DefaultToken)
	long := func(n int) *string { s := string(bytes.Repeat([]byte("x"), n)); return &s }
	_, _, err := c.Issues.Create(t.Context(), "acme", "checkout", &gh.IssueRequest{Title: long(257)})
	var er *gh.ErrorResponse
	require.ErrorAs(t, err, &er)
	require.Equal(t, http.StatusUnprocessableEntity, er.Response.StatusCode)
	require.Equal(t, "title is too long (maximum is 256 characters)", er.Errors[0].Message)
	_, _, err = c.Issues.Create(t.Context(), "acme", "checkout", &gh.IssueRequest{Title: long(256), Body: long(65537)})
	require.ErrorAs(t, err, &er)
	require.Equal(t, "body is too long (maximum is 65536 characters)", er.Errors[0].Message)
	_, _, err = c.Issues.Create(t.Context(), "acme", "checkout", &gh.IssueRequest{Title: long(256), Body: long(65536)})
	require.NoError(t, err)
}

// "Only users with push access can set labels for new issues. Labels are
// silently dropped otherwise." (and assignees the same), on create and on
// edit: the request succeeds and the issue comes back without them.
func TestIssueLabelsDroppedWithoutPushAccess(t *testing.T) {
	t.Parallel()
	fake := ghfake.New(ghfake.WithClock(func() time.Time { return now }), ghfake.WithoutPushAccess())
	t.Cleanup(fake.Close)
	fake.AddRepo(repo, "main", "")
	c := gh.NewClient(nil).WithAuthToken(fake.Token())
	u, err := url.Parse(fake.URL())
	require.NoError(t, err)
	c.BaseURL, c.UploadURL = u, u

	is, resp, err := c.Issues.Create(t.Context(), "acme", "checkout", &gh.IssueRequest{Title: gh.String("Follow up"),
		Body: gh.String("body"), Labels: &[]string{"incident-follow-up"}, Assignees: &[]string{"ada"}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Empty(t, is.Labels)
	require.Empty(t, is.Assignees)
	require.Equal(t, ghfake.DefaultLogin, is.GetUser().GetLogin())

	is, _, err = c.Issues.Edit(t.Context(), "acme", "checkout", is.GetNumber(), &gh.IssueRequest{Body: gh.String("edited"), Labels: &[]string{"postmortem"}})
	require.NoError(t, err)
	require.Empty(t, is.Labels)
	require.Equal(t, "edited", is.GetBody())
	require.Empty(t, fake.Issues(repo)[0].Labels)

	// With push access the labels stay.
	_, c = setup(t, ghfake.DefaultToken)
	is, _, err = c.Issues.Create(t.Context(), "acme", "checkout", &gh.IssueRequest{Title: gh.String("Follow up"), Labels: &[]string{"incident-follow-up"}})
	require.NoError(t, err)
	require.Len(t, is.Labels, 1)
}

// The creator filter lists what one login opened, issues and pull
// requests alike, whatever their labels.
func TestListIssuesByCreator(t *testing.T) {
	t.Parallel()
	fake, c := setup(t, ghfake.DefaultToken)
	mine := fake.AddIssue(repo, ghfake.Issue{Title: "mine"})
	fake.AddIssue(repo, ghfake.Issue{Title: "theirs", User: "mallory", Labels: []string{"incident-follow-up"}})
	bot := fake.AddIssue(repo, ghfake.Issue{Title: "the app's", User: "firebreak-app[bot]"})

	list := func(creator string) []int {
		t.Helper()
		issues, _, err := c.Issues.ListByRepo(t.Context(), "acme", "checkout", &gh.IssueListByRepoOptions{State: "all", Creator: creator})
		require.NoError(t, err)
		var out []int
		for _, is := range issues {
			out = append(out, is.GetNumber())
		}
		return out
	}
	require.Equal(t, []int{mine}, list(ghfake.DefaultLogin))
	require.Equal(t, []int{bot}, list("Firebreak-App[bot]"))
	require.Len(t, list(""), 3)
}

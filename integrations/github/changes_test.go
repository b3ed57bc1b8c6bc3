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
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

func externalIDs(cs []incident.ChangeEvent) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ExternalID)
	}
	return out
}

func TestChangesListsDeploysPullRequestsAndRunsInTheWindow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ids := seedProduction(b.fake)
	mergedIn, mergedBefore, mergedAfter := at(11, 0), at(9, 0), at(12, 30)
	prIn := b.fake.AddMergedPR(repo, ghfake.PullRequest{Title: "Faster checkout", User: "ada", MergedBy: "bob", MergedAt: &mergedIn, MergeCommitSHA: sha3})
	// Merged before the window but touched inside it: still not a change.
	b.fake.AddMergedPR(repo, ghfake.PullRequest{Title: "Old", User: "ada", MergedAt: &mergedBefore, UpdatedAt: at(10, 45)})
	b.fake.AddMergedPR(repo, ghfake.PullRequest{Title: "Later", User: "ada", MergedAt: &mergedAfter})
	b.fake.AddMergedPR(repo, ghfake.PullRequest{Title: "Into a release branch", User: "ada", MergedAt: &mergedIn, Base: "release"})
	b.fake.AddWorkflow(repo, "deploy.yml", true)
	b.fake.AddWorkflow(repo, "lint.yml", false)
	runIn := b.fake.AddWorkflowRun(repo, ghfake.WorkflowRun{Workflow: "deploy.yml", Conclusion: "success", HeadSHA: sha3, Actor: "grace", CreatedAt: at(11, 29)})
	b.fake.AddWorkflowRun(repo, ghfake.WorkflowRun{Workflow: "deploy.yml", Conclusion: "success", HeadSHA: sha1, CreatedAt: at(7, 0)})
	b.fake.AddWorkflowRun(repo, ghfake.WorkflowRun{Workflow: "lint.yml", Conclusion: "success", CreatedAt: at(11, 0)})

	got, err := b.client.Changes(t.Context(), checkoutService(), at(10, 0), now)
	require.NoError(t, err)

	require.Equal(t, []string{
		fmt.Sprintf("deployment:%s:%d", repo, ids[1]),
		fmt.Sprintf("pull_request:%s:%d", repo, prIn),
		fmt.Sprintf("deployment:%s:%d", repo, ids[2]),
		fmt.Sprintf("workflow_run:%s:%d", repo, runIn),
		fmt.Sprintf("deployment:%s:%d", repo, ids[3]),
	}, externalIDs(got), "oldest first by latest state; staging, out-of-window and non-default-branch changes left out")

	deploy := got[4]
	require.Equal(t, incident.ChangeEvent{
		Source:      "github",
		ExternalID:  fmt.Sprintf("deployment:%s:%d", repo, ids[3]),
		Kind:        incident.ChangeDeploy,
		Service:     "checkout",
		Summary:     "Deploy acme/checkout@3333333 to production (success)",
		Actor:       "grace",
		URL:         "https://ci.example.com/runs/77",
		Environment: "production",
		Ref:         sha3,
		OccurredAt:  at(11, 33),
		Revision:    deploy.Revision,
		Data: map[string]string{
			"deployment_id": fmt.Sprint(ids[3]), "state": "success", "repo": repo, "ref": "main", "task": "deploy",
			"started_at": "2026-03-02T11:30:00Z",
		},
	}, deploy, "a deploy happened when it reached its latest state")
	require.Positive(t, deploy.Revision, "the status id orders the deploy's states")
	require.Equal(t, "Deploy acme/checkout@4444444 to production (failure)", got[2].Summary)
	require.Equal(t, b.fake.URL()+repo+"/deployments", got[2].URL, "without a log URL, the repository's deployments page")

	pr := got[1]
	require.Equal(t, incident.ChangePullRequest, pr.Kind)
	require.Equal(t, fmt.Sprintf("Merged acme/checkout#%d into main: Faster checkout", prIn), pr.Summary)
	require.Equal(t, "bob", pr.Actor)
	require.Equal(t, sha3, pr.Ref)
	require.Equal(t, mergedIn, pr.OccurredAt)
	require.Equal(t, fmt.Sprintf("%s%s/pull/%d", b.fake.URL(), repo, prIn), pr.URL)

	run := got[3]
	require.Equal(t, incident.ChangeWorkflow, run.Kind)
	require.Equal(t, "Workflow deploy.yml run #1 on acme/checkout@3333333 (completed: success)", run.Summary)
	require.Equal(t, "grace", run.Actor)
	require.Equal(t, sha3, run.Ref)
	require.Equal(t, "success", run.Data["conclusion"])
	require.Equal(t, "completed", run.Data["status"])
	require.Equal(t, "push", run.Data["event"])
	require.Equal(t, fmt.Sprint(runIn), run.Data["run_id"])
}

func TestChangesWithoutEnvironmentsListsEveryEnvironment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ids := seedProduction(b.fake)
	svc := checkoutService()
	svc.GitHub.Environments = nil
	svc.GitHub.DeployWorkflow = ""

	got, err := b.client.Changes(t.Context(), svc, at(11, 5), now)
	require.NoError(t, err)
	require.Equal(t, []string{
		fmt.Sprintf("deployment:%s:%d", repo, ids[4]),
		fmt.Sprintf("deployment:%s:%d", repo, ids[3]),
	}, externalIDs(got))
	require.Equal(t, "staging", got[0].Environment)
}

func TestChangesWithoutReposMakesNoCalls(t *testing.T) {
	t.Parallel()
	b := setup(t)
	got, err := b.client.Changes(t.Context(), incident.ServicePolicy{Key: "billing"}, at(10, 0), now)
	require.NoError(t, err)
	require.Empty(t, got)
	require.Empty(t, b.fake.Calls())
}

func TestChangesFollowsPagination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 130 {
		merged := at(10, 0).Add(time.Duration(i) * time.Second)
		b.fake.AddMergedPR(repo, ghfake.PullRequest{Title: fmt.Sprintf("PR %d", i), User: "ada", MergedAt: &merged})
	}
	svc := checkoutService()
	svc.GitHub.DeployWorkflow = ""

	got, err := b.client.Changes(t.Context(), svc, at(10, 0), now)
	require.NoError(t, err)
	require.Len(t, got, 130)
	pulls := 0
	for _, call := range b.fake.Calls() {
		if strings.HasSuffix(call, "/pulls") {
			pulls++
		}
	}
	require.Equal(t, 2, pulls, "two pages of 100")
}

func TestChangesStopsPagingBeforeTheWindow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 250 {
		merged := at(0, 0).Add(time.Duration(i) * time.Second)
		b.fake.AddMergedPR(repo, ghfake.PullRequest{Title: "old", User: "ada", MergedAt: &merged})
	}
	svc := checkoutService()
	svc.GitHub.DeployWorkflow = ""

	got, err := b.client.Changes(t.Context(), svc, at(10, 0), now)
	require.NoError(t, err)
	require.Empty(t, got)
	require.Contains(t, b.fake.Calls(), "GET /repos/acme/checkout/pulls")
	pulls := 0
	for _, call := range b.fake.Calls() {
		if strings.HasSuffix(call, "/pulls") {
			pulls++
		}
	}
	require.Equal(t, 1, pulls, "the first page already reaches back before the window")
}

func TestChangesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		arrange func(b bundle, svc *incident.ServicePolicy)
		cfg     func(*github.Config)
		code    string
		message string
		wait    time.Duration
	}{
		{
			name:    "5xx",
			arrange: func(b bundle, _ *incident.ServicePolicy) { b.fake.FailNext(1, http.StatusBadGateway) },
			code:    incident.EUNAVAILABLE,
			message: "GitHub is not responding (HTTP 502).",
		},
		{
			name:    "unknown repository",
			arrange: func(_ bundle, svc *incident.ServicePolicy) { svc.GitHub.Repos = []string{"acme/nope"} },
			code:    incident.ENOTFOUND,
			message: "GitHub has no repository acme/nope, or the bot's token cannot see it.",
		},
		{
			name:    "unknown workflow",
			arrange: func(_ bundle, svc *incident.ServicePolicy) { svc.GitHub.DeployWorkflow = "nope.yml" },
			code:    incident.ENOTFOUND,
			message: "GitHub could not find the workflow in acme/checkout, or the bot's token cannot see the repository.",
		},
		{
			name:    "bad token",
			cfg:     func(c *github.Config) { c.Token = "ghp_wrong" },
			code:    incident.EFORBIDDEN,
			message: "GitHub rejected the bot's token (Bad credentials); ask an admin to renew it.",
		},
		{
			name:    "primary rate limit",
			arrange: func(b bundle, _ *incident.ServicePolicy) { b.fake.RateLimitNext(1, now.Add(90*time.Second)) },
			code:    incident.EUNAVAILABLE,
			message: "GitHub is rate limiting us; trying again in 2 minutes.",
			wait:    90 * time.Second,
		},
		{
			name:    "secondary rate limit",
			arrange: func(b bundle, _ *incident.ServicePolicy) { b.fake.SecondaryRateLimitNext(1, 30*time.Second) },
			code:    incident.EUNAVAILABLE,
			message: "GitHub is rate limiting us; trying again in 30 seconds.",
			wait:    30 * time.Second,
		},
		{
			name:    "timeout",
			arrange: func(b bundle, _ *incident.ServicePolicy) { b.fake.SetTimeoutMode(true) },
			cfg:     func(c *github.Config) { c.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond} },
			code:    incident.EUNAVAILABLE,
			message: "GitHub is not responding (timed out).",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts []func(*github.Config)
			if tt.cfg != nil {
				opts = append(opts, tt.cfg)
			}
			b := setup(t, opts...)
			seedProduction(b.fake)
			b.fake.AddWorkflow(repo, "deploy.yml", true)
			svc := checkoutService()
			if tt.arrange != nil {
				tt.arrange(b, &svc)
			}

			got, err := b.client.Changes(t.Context(), svc, at(10, 0), now)
			require.Nil(t, got)
			requireCode(t, err, tt.code)
			require.Equal(t, tt.message, incident.ErrorMessage(err))
			wait, ok := outbound.AsRetryAfter(err)
			require.Equal(t, tt.wait != 0, ok, "a rate limit, and only a rate limit, asks the job engine to wait")
			if tt.wait != 0 {
				require.Equal(t, tt.wait, wait)
			}
		})
	}
}

func TestChangesListsADeployUnderWayAtTheStart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddWorkflow(repo, "deploy.yml", true)
	// Created before the window's end, failed after it.
	id := b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha2, Ref: "main", Environment: "production", Creator: "ada", CreatedAt: at(11, 50),
		Statuses: []ghfake.DeploymentStatus{{State: "in_progress", CreatedAt: at(11, 51)}, {State: "failure", CreatedAt: at(12, 10)}}})
	// Created after the window: not a change before the incident.
	b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha3, Ref: "main", Environment: "production", Creator: "ada", CreatedAt: at(12, 5),
		Statuses: []ghfake.DeploymentStatus{{State: "success", CreatedAt: at(12, 8)}}})

	got, err := b.client.Changes(t.Context(), checkoutService(), at(11, 0), at(12, 0))
	require.NoError(t, err)
	require.Equal(t, []string{fmt.Sprintf("deployment:%s:%d", repo, id)}, externalIDs(got))
	require.Equal(t, "failure", got[0].Data["state"])
	require.Equal(t, at(12, 10), got[0].OccurredAt)
	require.Equal(t, "2026-03-02T11:50:00Z", got[0].Data["started_at"])
}

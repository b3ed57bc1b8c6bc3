package github_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// badDeploy lists the window's changes and returns the production deploy
// of sha3, the one to roll back.
func badDeploy(t *testing.T, b bundle, svc incident.ServicePolicy) incident.ChangeEvent {
	t.Helper()
	svc.GitHub.DeployWorkflow = "" // deploys only
	got, err := b.client.Changes(t.Context(), svc, at(11, 15), now)
	require.NoError(t, err)
	for _, c := range got {
		if c.Kind == incident.ChangeDeploy && c.Ref == sha3 && c.Environment == "production" {
			return c
		}
	}
	t.Fatalf("no production deploy of sha3 in %v", externalIDs(got))
	return incident.ChangeEvent{}
}

func TestHandles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	deploy := incident.ChangeEvent{Source: "github", Kind: incident.ChangeDeploy, ExternalID: "deployment:acme/checkout:7", Ref: sha3, Environment: "production"}
	run := incident.ChangeEvent{Source: "github", Kind: incident.ChangeWorkflow, Ref: sha3, Data: map[string]string{"repo": repo, "conclusion": "success"}}
	failedRun := incident.ChangeEvent{Source: "github", Kind: incident.ChangeWorkflow, Ref: sha3, Data: map[string]string{"repo": repo, "conclusion": "failure"}}
	pr := incident.ChangeEvent{Source: "github", Kind: incident.ChangePullRequest, Ref: sha3, Data: map[string]string{"repo": repo}}
	flag := incident.ChangeEvent{Source: "launchdarkly", Kind: incident.ChangeFlag, Ref: "new-checkout"}

	require.True(t, b.client.Handles(deploy))
	require.True(t, b.client.Handles(run))
	require.False(t, b.client.Handles(failedRun))
	require.False(t, b.client.Handles(pr))
	require.False(t, b.client.Handles(flag))
}

func TestPlan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		svc      func(*incident.ServicePolicy)
		method   string
		workflow string
		desc     string
	}{
		{
			name: "workflow by default when a deploy workflow is set", method: "workflow", workflow: "deploy.yml",
			desc: "Redeploy acme/checkout to production at 2222222 (from 3333333) by running deploy.yml.",
		},
		{
			name: "deployment without a deploy workflow", method: "deployment",
			svc:  func(s *incident.ServicePolicy) { s.GitHub.DeployWorkflow = "" },
			desc: "Redeploy acme/checkout to production at 2222222 (from 3333333) with a new GitHub deployment.",
		},
		{
			name: "deployment when the policy says so", method: "deployment",
			svc:  func(s *incident.ServicePolicy) { s.GitHub.Rollback = "deployment" },
			desc: "Redeploy acme/checkout to production at 2222222 (from 3333333) with a new GitHub deployment.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ids := seedProduction(b.fake)
			svc := checkoutService()
			bad := badDeploy(t, b, svc)
			if tt.svc != nil {
				tt.svc(&svc)
			}

			plan, err := b.client.Plan(t.Context(), bad, svc)
			require.NoError(t, err)
			require.Equal(t, incident.RollbackPlan{
				Key:         fmt.Sprintf("github:acme/checkout:production:%d:%s->%s", ids[3], sha3, sha2),
				Kind:        incident.ChangeDeploy,
				Source:      "github",
				Description: tt.desc,
				Repo:        repo,
				Environment: "production",
				FromRef:     sha3,
				ToRef:       sha2, // sha4's deployment failed, so it is skipped
				Method:      tt.method,
				Workflow:    tt.workflow,
				ChangeID:    "github:" + bad.ExternalID,
			}, plan)
		})
	}
}

func TestPlanSkipsRedeploysOfTheSameCommitAndCountsInactiveSuccesses(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha1, Environment: "production", CreatedAt: at(9, 0),
		Statuses: []ghfake.DeploymentStatus{success(at(9, 1), ""), {State: "inactive", CreatedAt: at(10, 0)}}})
	b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha3, Environment: "production", CreatedAt: at(10, 0),
		Statuses: []ghfake.DeploymentStatus{success(at(10, 1), "")}})
	b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha3, Environment: "production", CreatedAt: at(11, 30),
		Statuses: []ghfake.DeploymentStatus{success(at(11, 31), "")}})
	svc := checkoutService()
	svc.GitHub.DeployWorkflow = ""

	plan, err := b.client.Plan(t.Context(), badDeploy(t, b, svc), svc)
	require.NoError(t, err)
	require.Equal(t, sha1, plan.ToRef)
}

func TestPlanWithNothingToRollBackTo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha1, Environment: "production", CreatedAt: at(9, 0),
		Statuses: []ghfake.DeploymentStatus{{State: "failure", CreatedAt: at(9, 1)}}})
	b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha3, Environment: "production", CreatedAt: at(11, 30),
		Statuses: []ghfake.DeploymentStatus{success(at(11, 31), "")}})
	svc := checkoutService()

	_, err := b.client.Plan(t.Context(), badDeploy(t, b, svc), svc)
	requireCode(t, err, incident.EINVALID)
	require.Equal(t, "No earlier successful deployment of acme/checkout to production; nothing to roll back to.", incident.ErrorMessage(err))
}

func TestPlanRejects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	svc := checkoutService()

	_, err := b.client.Plan(t.Context(), incident.ChangeEvent{Source: "github", Kind: incident.ChangePullRequest, Ref: sha3}, svc)
	requireCode(t, err, incident.EINVALID)

	svc.GitHub.Rollback, svc.GitHub.DeployWorkflow = "workflow", ""
	deploy := incident.ChangeEvent{Source: "github", Kind: incident.ChangeDeploy, ExternalID: "deployment:acme/checkout:7", Ref: sha3, Environment: "production"}
	_, err = b.client.Plan(t.Context(), deploy, svc)
	requireCode(t, err, incident.EINVALID)
	require.Equal(t, "Service checkout rolls back with a workflow but names no deploy workflow in the policy file.", incident.ErrorMessage(err))
}

func TestPlanFromAWorkflowRunFindsItsDeployment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedProduction(b.fake)
	b.fake.AddWorkflow(repo, "deploy.yml", true)
	b.fake.AddWorkflowRun(repo, ghfake.WorkflowRun{Workflow: "deploy.yml", Conclusion: "success", HeadSHA: sha3, CreatedAt: at(11, 29)})
	svc := checkoutService()
	got, err := b.client.Changes(t.Context(), svc, at(11, 15), now)
	require.NoError(t, err)
	var run incident.ChangeEvent
	for _, c := range got {
		if c.Kind == incident.ChangeWorkflow {
			run = c
		}
	}
	require.True(t, b.client.Handles(run))

	plan, err := b.client.Plan(t.Context(), run, svc)
	require.NoError(t, err)
	require.Equal(t, "production", plan.Environment)
	require.Equal(t, sha3, plan.FromRef)
	require.Equal(t, sha2, plan.ToRef)
	require.Equal(t, "workflow", plan.Method)
}

// workflowSetup seeds the deployments and a dispatchable deploy.yml that
// declares the inputs the bot sends.
func workflowSetup(t *testing.T, opts ...ghfake.WorkflowOption) (bundle, incident.RollbackPlan) {
	t.Helper()
	b := setup(t)
	seedProduction(b.fake)
	b.fake.AddWorkflow(repo, "deploy.yml", true, append([]ghfake.WorkflowOption{ghfake.WithInputs("sha", "environment", "reason")}, opts...)...)
	svc := checkoutService()
	plan, err := b.client.Plan(t.Context(), badDeploy(t, b, svc), svc)
	require.NoError(t, err)
	return b, plan
}

func TestExecuteByWorkflowDispatch(t *testing.T) {
	t.Parallel()
	b, plan := workflowSetup(t, ghfake.WithRunNameInput("reason"))

	run, err := b.client.Execute(t.Context(), plan, "U0IC")
	require.NoError(t, err)

	dispatches := b.fake.Dispatches(repo)
	require.Len(t, dispatches, 1)
	require.Equal(t, "deploy.yml", dispatches[0].Workflow)
	require.Equal(t, "main", dispatches[0].Ref, "dispatched on the default branch")
	require.Equal(t, map[string]any{
		"sha":         sha2,
		"environment": "production",
		"reason":      fmt.Sprintf("firebreak rollback %s requested by U0IC", plan.Key),
	}, dispatches[0].Inputs)
	require.Equal(t, fmt.Sprint(dispatches[0].RunID), run.ExternalID)
	require.Equal(t, "queued", run.Status)
	require.Equal(t, fmt.Sprintf("%s%s/actions/runs/%d", b.fake.URL(), repo, dispatches[0].RunID), run.URL)
	require.Equal(t, plan, run.Plan)

	again, err := b.client.Execute(t.Context(), plan, "U0IC")
	require.NoError(t, err)
	require.Len(t, b.fake.Dispatches(repo), 1, "the same plan dispatches once")
	require.Equal(t, run.ExternalID, again.ExternalID)
}

func TestExecuteByWorkflowFindsTheRunWithoutARunName(t *testing.T) {
	t.Parallel()
	b, plan := workflowSetup(t)
	// Someone else's earlier dispatch must not be taken for ours.
	b.fake.AddWorkflowRun(repo, ghfake.WorkflowRun{Workflow: "deploy.yml", Event: "workflow_dispatch", Status: "queued", CreatedAt: now.Add(-10 * time.Minute)})

	run, err := b.client.Execute(t.Context(), plan, "U0IC")
	require.NoError(t, err)
	dispatches := b.fake.Dispatches(repo)
	require.Len(t, dispatches, 1)
	require.Equal(t, fmt.Sprint(dispatches[0].RunID), run.ExternalID)
}

func TestWorkflowProgress(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ conclusion, status string }{{"success", "succeeded"}, {"failure", "failed"}, {"cancelled", "failed"}} {
		t.Run(tt.conclusion, func(t *testing.T) {
			t.Parallel()
			b, plan := workflowSetup(t, ghfake.WithRunNameInput("reason"))
			run, err := b.client.Execute(t.Context(), plan, "U0IC")
			require.NoError(t, err)
			id := b.fake.Dispatches(repo)[0].RunID

			run, err = b.client.Progress(t.Context(), run)
			require.NoError(t, err)
			require.Equal(t, "queued", run.Status)

			require.NoError(t, b.fake.StartRun(repo, id))
			run, err = b.client.Progress(t.Context(), run)
			require.NoError(t, err)
			require.Equal(t, "in_progress", run.Status)

			require.NoError(t, b.fake.CompleteRun(repo, id, tt.conclusion))
			run, err = b.client.Progress(t.Context(), run)
			require.NoError(t, err)
			require.Equal(t, tt.status, run.Status)
			require.Contains(t, run.Detail, "deploy.yml run #1")
		})
	}
}

func TestExecuteWorkflowErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		arrange func(b bundle, plan *incident.RollbackPlan)
		code    string
		message string
	}{
		{
			name:    "not dispatchable",
			arrange: func(b bundle, _ *incident.RollbackPlan) { b.fake.AddWorkflow(repo, "deploy.yml", false) },
			code:    incident.EINVALID,
			message: "GitHub refused to dispatch workflow deploy.yml in acme/checkout: Workflow does not have 'workflow_dispatch' trigger.",
		},
		{
			name:    "unknown workflow",
			arrange: func(_ bundle, plan *incident.RollbackPlan) { plan.Workflow = "nope.yml" },
			code:    incident.ENOTFOUND,
			message: "GitHub could not find the workflow in acme/checkout, or the bot's token cannot see the repository.",
		},
		{
			name: "undeclared inputs",
			arrange: func(b bundle, _ *incident.RollbackPlan) {
				b.fake.AddWorkflow(repo, "deploy.yml", true, ghfake.WithInputs("version"))
			},
			code:    incident.EINVALID,
			message: `GitHub refused to dispatch workflow deploy.yml in acme/checkout: Unexpected inputs provided: ["environment", "reason", "sha"].`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, plan := workflowSetup(t)
			tt.arrange(b, &plan)

			_, err := b.client.Execute(t.Context(), plan, "U0IC")
			requireCode(t, err, tt.code)
			require.Equal(t, tt.message, incident.ErrorMessage(err))
			require.Empty(t, b.fake.Dispatches(repo))
		})
	}
}

func TestExecuteByDeployment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedProduction(b.fake)
	svc := checkoutService()
	svc.GitHub.Rollback = "deployment"
	plan, err := b.client.Plan(t.Context(), badDeploy(t, b, svc), svc)
	require.NoError(t, err)
	before := len(b.fake.Deployments(repo))

	run, err := b.client.Execute(t.Context(), plan, "U0IC")
	require.NoError(t, err)

	deployments := b.fake.Deployments(repo)
	require.Len(t, deployments, before+1)
	d := deployments[len(deployments)-1]
	require.Equal(t, sha2, d.SHA)
	require.Equal(t, "production", d.Environment)
	require.Equal(t, "rollback by firebreak", d.Description)
	require.Equal(t, plan.Key, d.Payload["firebreak_rollback_key"])
	require.Equal(t, fmt.Sprint(d.ID), run.ExternalID)
	require.Equal(t, "queued", run.Status)

	again, err := b.client.Execute(t.Context(), plan, "U0IC")
	require.NoError(t, err)
	require.Len(t, b.fake.Deployments(repo), before+1, "the same plan deploys once")
	require.Equal(t, run.ExternalID, again.ExternalID)

	for _, step := range []struct{ state, status string }{
		{"queued", "queued"}, {"in_progress", "in_progress"}, {"success", "succeeded"}, {"inactive", "succeeded"},
	} {
		require.NoError(t, b.fake.AddDeploymentStatus(repo, d.ID, ghfake.DeploymentStatus{State: step.state, LogURL: "https://ci.example.com/rollback"}))
		run, err = b.client.Progress(t.Context(), run)
		require.NoError(t, err)
		require.Equal(t, step.status, run.Status, "after %s", step.state)
		require.Equal(t, "https://ci.example.com/rollback", run.URL)
	}
}

func TestDeploymentProgressFailure(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedProduction(b.fake)
	svc := checkoutService()
	svc.GitHub.DeployWorkflow = ""
	plan, err := b.client.Plan(t.Context(), badDeploy(t, b, svc), svc)
	require.NoError(t, err)
	run, err := b.client.Execute(t.Context(), plan, "U0IC")
	require.NoError(t, err)
	id := b.fake.Deployments(repo)[5].ID

	require.NoError(t, b.fake.AddDeploymentStatus(repo, id, ghfake.DeploymentStatus{State: "failure", Description: "health check failed"}))
	run, err = b.client.Progress(t.Context(), run)
	require.NoError(t, err)
	require.Equal(t, "failed", run.Status)
	require.Equal(t, "The deployment is failure: health check failed", run.Detail)
}

package github_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

const dispatchCall = "POST /repos/acme/checkout/actions/workflows/deploy.yml/dispatches"

func countCalls(f *ghfake.Server, call string) int {
	n := 0
	for _, c := range f.Calls() {
		if c == call {
			n++
		}
	}
	return n
}

// legacyWorkflowSetup is workflowSetup against a GitHub whose dispatch
// predates return_run_details: it refuses the field with refuse, or
// ignores it when refuse is 0.
func legacyWorkflowSetup(t *testing.T, refuse int, opts ...ghfake.WorkflowOption) (bundle, incident.RollbackPlan) {
	t.Helper()
	b := setupFake(t, []ghfake.Option{ghfake.WithLegacyDispatch(refuse)})
	seedProduction(b.fake)
	b.fake.AddWorkflow(repo, "deploy.yml", true, append([]ghfake.WorkflowOption{ghfake.WithInputs("sha", "environment", "reason")}, opts...)...)
	svc := checkoutService()
	plan, err := b.client.Plan(t.Context(), badDeploy(t, b, svc), svc)
	require.NoError(t, err)
	return b, plan
}

// A teammate dispatched deploy.yml (a forward fix) 3 s before the bot's
// rollback dispatch, and the workflow has no run-name carrying the reason:
// GitHub's return_run_details names the bot's own run, which is the one
// the rollback follows.
func TestExecuteByWorkflowFollowsTheRunGitHubNames(t *testing.T) {
	t.Parallel()
	b, plan := workflowSetup(t)
	other := b.fake.AddWorkflowRun(repo, ghfake.WorkflowRun{Workflow: "deploy.yml", Event: "workflow_dispatch", HeadBranch: "main",
		Status: "queued", Actor: "alice", CreatedAt: now.Add(-3 * time.Second)})

	run, err := b.client.Execute(t.Context(), plan, "U0IC")
	require.NoError(t, err)
	dispatches := b.fake.Dispatches(repo)
	require.Len(t, dispatches, 1)
	require.True(t, dispatches[0].ReturnedRunDetails, "the dispatch asks for its run")
	ours := dispatches[0].RunID
	require.NotEqual(t, other, ours)
	require.Equal(t, fmt.Sprint(ours), run.ExternalID, "the rollback follows its own run, not alice's")
	require.Equal(t, fmt.Sprintf("%s%s/actions/runs/%d", b.fake.URL(), repo, ours), run.URL)
	require.Equal(t, "queued", run.Status)
	require.Equal(t, 1, countCalls(b.fake, dispatchCall))

	// Alice's run failing says nothing about the rollback.
	require.NoError(t, b.fake.CompleteRun(repo, other, "failure"))
	require.NoError(t, b.fake.CompleteRun(repo, ours, "success"))
	run, err = b.client.Progress(t.Context(), run)
	require.NoError(t, err)
	require.Equal(t, "succeeded", run.Status)
	require.Equal(t, fmt.Sprint(ours), run.ExternalID)
}

// A GitHub that does not return the run (an older GitHub Enterprise
// Server refuses the field, or one ignores it and answers 204) leaves only
// the run's title to go by: without run-name the rollback adopts no run,
// however close to its dispatch it was created, and keeps polling.
func TestExecuteByWorkflowWithoutRunDetailsAdoptsNoRunByTime(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		refuse    int
		dispatchN int // requests to the dispatch endpoint
	}{
		{name: "field refused with 422", refuse: http.StatusUnprocessableEntity, dispatchN: 2},
		{name: "field refused with 400", refuse: http.StatusBadRequest, dispatchN: 2},
		{name: "field ignored, 204", refuse: 0, dispatchN: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, plan := legacyWorkflowSetup(t, tt.refuse)
			before := b.fake.AddWorkflowRun(repo, ghfake.WorkflowRun{Workflow: "deploy.yml", Event: "workflow_dispatch", Status: "queued",
				Actor: "alice", CreatedAt: now.Add(-3 * time.Second)})

			run, err := b.client.Execute(t.Context(), plan, "U0IC")
			require.NoError(t, err)
			require.Len(t, b.fake.Dispatches(repo), 1, "a refused field dispatches nothing; the resend does")
			require.Equal(t, tt.dispatchN, countCalls(b.fake, dispatchCall))
			require.Empty(t, run.ExternalID, "no run names the rollback: none is adopted")
			require.Equal(t, "queued", run.Status)
			require.Contains(t, run.Detail, "run-name")

			// Someone else's dispatch right after ours is not ours either.
			after := b.fake.AddWorkflowRun(repo, ghfake.WorkflowRun{Workflow: "deploy.yml", Event: "workflow_dispatch", Status: "in_progress",
				Actor: "bob", CreatedAt: now.Add(2 * time.Second)})
			run, err = b.client.Progress(t.Context(), run)
			require.NoError(t, err)
			require.Empty(t, run.ExternalID, "neither run %d nor %d is the rollback's", before, after)
			require.Equal(t, "queued", run.Status)
		})
	}
}

// Without run details, a workflow with run-name shows the key in its run's
// title: that run, and only that one, is the rollback's.
func TestExecuteByWorkflowWithoutRunDetailsFindsTheRunByItsTitle(t *testing.T) {
	t.Parallel()
	b, plan := legacyWorkflowSetup(t, http.StatusUnprocessableEntity, ghfake.WithRunNameInput("reason"))
	b.fake.AddWorkflowRun(repo, ghfake.WorkflowRun{Workflow: "deploy.yml", Event: "workflow_dispatch", Status: "queued",
		Actor: "alice", CreatedAt: now.Add(-3 * time.Second)})
	// A retry of the rollback names a longer key: it is not this round's.
	b.fake.AddWorkflowRun(repo, ghfake.WorkflowRun{Workflow: "deploy.yml", Event: "workflow_dispatch", Status: "queued",
		DisplayTitle: fmt.Sprintf("firebreak rollback %s#retry1 requested by U0IC", plan.Key), CreatedAt: now.Add(-time.Second)})

	run, err := b.client.Execute(t.Context(), plan, "U0IC")
	require.NoError(t, err)
	dispatches := b.fake.Dispatches(repo)
	require.Len(t, dispatches, 1)
	require.Equal(t, fmt.Sprint(dispatches[0].RunID), run.ExternalID)
	require.True(t, strings.HasPrefix(run.Detail, "deploy.yml run #"), run.Detail)

	again, err := b.client.Execute(t.Context(), plan, "U0IC")
	require.NoError(t, err)
	require.Len(t, b.fake.Dispatches(repo), 1, "the same plan dispatches once")
	require.Equal(t, run.ExternalID, again.ExternalID)
}

// executeAsTheJobDoes runs Execute as the rollback job does: an error
// that is not a refusal (invalid, forbidden, not found) is tried again, up
// to the job's attempts.
func executeAsTheJobDoes(t *testing.T, b bundle, plan incident.RollbackPlan) (incident.RollbackRun, error) {
	t.Helper()
	var (
		run incident.RollbackRun
		err error
	)
	for range 3 {
		run, err = b.client.Execute(t.Context(), plan, "U0IC")
		switch incident.ErrorCode(err) {
		case "", incident.EINVALID, incident.EFORBIDDEN, incident.ENOTFOUND:
			return run, err
		}
	}
	return run, err
}

// GitHub started the run and then answered the dispatch 502. Without
// run-name the run's title does not name the rollback, and each retry of
// the job dispatched the workflow again, deploying twice. The bot now
// looks for the run its own login dispatched since, and follows it.
func TestExecuteByWorkflowAfterADispatchAnswered5xxDispatchesOnce(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		legacy bool
	}{
		{name: "return_run_details"},
		{name: "204 without run details", legacy: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b bundle
			var plan incident.RollbackPlan
			if tt.legacy {
				b, plan = legacyWorkflowSetup(t, 0)
			} else {
				b, plan = workflowSetup(t)
			}
			// A teammate's earlier dispatch is not the rollback's run.
			b.fake.AddWorkflowRun(repo, ghfake.WorkflowRun{Workflow: "deploy.yml", Event: "workflow_dispatch", Status: "queued",
				Actor: "alice", CreatedAt: now.Add(-3 * time.Second)})
			b.fake.FailNextWrite(1, http.StatusBadGateway, true)

			run, err := executeAsTheJobDoes(t, b, plan)
			require.NoError(t, err)
			dispatches := b.fake.Dispatches(repo)
			require.Len(t, dispatches, 1, "the workflow is dispatched once")
			require.Equal(t, 1, countCalls(b.fake, dispatchCall))
			require.Equal(t, fmt.Sprint(dispatches[0].RunID), run.ExternalID, "the rollback follows the run it started")
			require.Equal(t, "queued", run.Status)
		})
	}
}

// The dispatch was answered 502 and no run of the bot's appeared: it may
// yet appear, so the bot neither dispatches again nor waits in silence; it
// says what happened and where to look, and the round fails with its
// Retry button.
func TestExecuteByWorkflowAfterADispatchAnswered5xxWithoutARunSaysSo(t *testing.T) {
	t.Parallel()
	b, plan := workflowSetup(t)
	b.fake.FailNextWrite(1, http.StatusBadGateway, false)

	_, err := executeAsTheJobDoes(t, b, plan)
	requireCode(t, err, incident.EINVALID)
	require.Equal(t, 1, countCalls(b.fake, dispatchCall), "never dispatched twice")
	require.Equal(t, fmt.Sprintf("GitHub answered HTTP 502 to the dispatch of deploy.yml, which may have started a run all the same, "+
		"so the bot did not dispatch it again. Check %sacme/checkout/actions/workflows/deploy.yml and retry the rollback if no run started.",
		b.fake.URL()), incident.ErrorMessage(err))
}

package github_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// The deploy and the workflow run that made it are one rollback (a click
// on each rolls back once); the same commit deployed again later is
// another.
func TestPlanKeyNamesTheDeploymentRolledBack(t *testing.T) {
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
	fromRun, err := b.client.Plan(t.Context(), run, svc)
	require.NoError(t, err)
	fromDeploy, err := b.client.Plan(t.Context(), badDeploy(t, b, svc), svc)
	require.NoError(t, err)
	require.Equal(t, fromDeploy.Key, fromRun.Key, "one rollback for the deploy and its run")

	b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha3, Environment: "production", CreatedAt: at(11, 50),
		Statuses: []ghfake.DeploymentStatus{success(at(11, 51), "")}})
	got, err = b.client.Changes(t.Context(), svc, at(11, 45), now)
	require.NoError(t, err)
	var again incident.ChangeEvent
	for _, c := range got {
		if c.Kind == incident.ChangeDeploy && c.Ref == sha3 {
			again = c
		}
	}
	plan, err := b.client.Plan(t.Context(), again, svc)
	require.NoError(t, err)
	require.Equal(t, sha2, plan.ToRef)
	require.NotEqual(t, fromDeploy.Key, plan.Key, "a later deploy of the same commit is another rollback")
	require.False(t, incident.NamesKey(plan.Key, fromDeploy.Key), "neither names the other in a run's title")
	require.False(t, incident.NamesKey(fromDeploy.Key, plan.Key))
}

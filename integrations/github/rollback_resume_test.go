package github_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// A rollback created its deployment but the bot lost GitHub's answer, so
// it follows the run without the deployment's id. Progress finds the
// deployment by the plan's key, as Execute does, and follows it; before
// GitHub has it, the rollback is still waiting.
func TestDeploymentProgressFindsTheRollbackDeploymentByItsKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedProduction(b.fake)
	svc := checkoutService()
	svc.GitHub.Rollback = "deployment"
	plan, err := b.client.Plan(t.Context(), badDeploy(t, b, svc), svc)
	require.NoError(t, err)

	lost := incident.RollbackRun{Plan: plan, Status: "queued"}
	run, err := b.client.Progress(t.Context(), lost)
	require.NoError(t, err, "no deployment yet is not an error")
	require.Equal(t, "queued", run.Status)
	require.Empty(t, run.ExternalID)

	_, err = b.client.Execute(t.Context(), plan, "U0IC")
	require.NoError(t, err)
	deployments := b.fake.Deployments(repo)
	d := deployments[len(deployments)-1]
	require.NoError(t, b.fake.AddDeploymentStatus(repo, d.ID, ghfake.DeploymentStatus{State: "success", LogURL: "https://ci.example.com/rollback"}))

	run, err = b.client.Progress(t.Context(), lost)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(d.ID), run.ExternalID, "the deployment carrying the key is the rollback's")
	require.Equal(t, "succeeded", run.Status)
	require.Equal(t, "https://ci.example.com/rollback", run.URL)
}

package github_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// sha5 is a fix shipped during the incident, after the bad deploy of sha3.
var sha5 = sha("5")

// GitHub marks no earlier production deployment inactive when a newer one
// succeeds (auto_inactive spares production environments), so the deploy
// of sha3 listed at the declare still reads as a success after a fix
// replaced it: rolling it back would redeploy sha2 over the fix.
func TestPlanRefusesADeployThatANewerDeployReplaced(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		statuses []ghfake.DeploymentStatus
	}{
		{"a newer deploy succeeded", []ghfake.DeploymentStatus{{State: "in_progress", CreatedAt: at(11, 50)}, success(at(11, 52), "")}},
		{"a newer deploy is under way", []ghfake.DeploymentStatus{{State: "in_progress", CreatedAt: at(11, 50)}}},
		{"a newer deploy is queued", []ghfake.DeploymentStatus{{State: "queued", CreatedAt: at(11, 50)}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			seedProduction(b.fake)
			svc := checkoutService()
			bad := badDeploy(t, b, svc)
			fix := b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha5, Ref: "main", Environment: "production", Creator: "grace",
				CreatedAt: at(11, 50), Statuses: tt.statuses})

			_, err := b.client.Plan(t.Context(), bad, svc)
			requireCode(t, err, incident.EINVALID)
			msg := incident.ErrorMessage(err)
			require.Contains(t, msg, "3333333 is no longer what runs in production of acme/checkout")
			require.Contains(t, msg, "5555555")
			require.Contains(t, msg, "deployment "+strconv.FormatInt(fix, 10))
		})
	}
}

func TestPlanPassesOverNewerDeploysThatFailedOrNeverReported(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedProduction(b.fake)
	svc := checkoutService()
	bad := badDeploy(t, b, svc)
	b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha5, Environment: "production", CreatedAt: at(11, 40),
		Statuses: []ghfake.DeploymentStatus{{State: "failure", CreatedAt: at(11, 41)}}})
	b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha5, Environment: "production", CreatedAt: at(11, 45)})
	b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha3, Environment: "production", CreatedAt: at(11, 50),
		Statuses: []ghfake.DeploymentStatus{success(at(11, 51), "")}}) // a redeploy of the same commit

	plan, err := b.client.Plan(t.Context(), bad, svc)
	require.NoError(t, err)
	require.Equal(t, sha3, plan.FromRef)
	require.Equal(t, sha2, plan.ToRef)
}

// A plan can wait a long time for its approval or its Retry; a fix
// deployed meanwhile must not be undone by carrying it out.
func TestExecuteRefusesWhenANewerDeployReplacedTheOneRolledBack(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"workflow", "deployment"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			b, plan := workflowSetup(t, ghfake.WithRunNameInput("reason"))
			plan.Method = method
			before := len(b.fake.Deployments(repo))
			b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha5, Environment: "production", CreatedAt: at(11, 50),
				Statuses: []ghfake.DeploymentStatus{success(at(11, 52), "")}})

			_, err := b.client.Execute(t.Context(), plan, "U0IC")
			requireCode(t, err, incident.EINVALID)
			require.Contains(t, incident.ErrorMessage(err), "rolling back to 2222222 would undo that too")
			require.Empty(t, b.fake.Dispatches(repo), "nothing is dispatched")
			require.Len(t, b.fake.Deployments(repo), before+1, "no deployment is created")
		})
	}
}

// Someone who rolled back by hand already deployed the plan's commit:
// carrying the plan out deploys the same commit again and undoes nothing.
func TestExecuteGoesOnWhenThePlansCommitIsWhatRuns(t *testing.T) {
	t.Parallel()
	b, plan := workflowSetup(t, ghfake.WithRunNameInput("reason"))
	b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha2, Environment: "production", CreatedAt: at(11, 50),
		Statuses: []ghfake.DeploymentStatus{success(at(11, 52), "")}})

	_, err := b.client.Execute(t.Context(), plan, "U0IC")
	require.NoError(t, err)
	require.Len(t, b.fake.Dispatches(repo), 1)
}

package github_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// listings counts the calls that listed the repository's deployments.
func listings(calls []string) int {
	n := 0
	for _, c := range calls {
		if c == "GET /repos/"+repo+"/deployments" {
			n++
		}
	}
	return n
}

// statusReads counts the calls that read a deployment's statuses.
func statusReads(calls []string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, "GET /repos/"+repo+"/deployments/") && strings.HasSuffix(c, "/statuses") {
			n++
		}
	}
	return n
}

// One click plans a rollback with one listing of the environment's
// deployments: the same walk, newest first, finds whether a newer deploy
// took over and the earlier success to go back to, and reads each
// deployment's statuses once.
func TestPlanListsTheDeploymentsOnce(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		arrange func(b bundle)
		code    string
		to      string
	}{
		{name: "nothing newer", to: sha2},
		{
			name: "a newer deploy that failed, and a redeploy of the same commit",
			arrange: func(b bundle) {
				b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha5, Environment: "production", CreatedAt: at(11, 40),
					Statuses: []ghfake.DeploymentStatus{{State: "failure", CreatedAt: at(11, 41)}}})
				b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha3, Environment: "production", CreatedAt: at(11, 50),
					Statuses: []ghfake.DeploymentStatus{success(at(11, 51), "")}})
			},
			to: sha2,
		},
		{
			name: "a newer deploy took over",
			arrange: func(b bundle) {
				b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha5, Environment: "production", CreatedAt: at(11, 50),
					Statuses: []ghfake.DeploymentStatus{success(at(11, 52), "")}})
			},
			code: incident.EINVALID,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			seedProduction(b.fake)
			svc := checkoutService()
			bad := badDeploy(t, b, svc)
			if tt.arrange != nil {
				tt.arrange(b)
			}
			before := b.fake.Calls()

			plan, err := b.client.Plan(t.Context(), bad, svc)
			calls := b.fake.Calls()[len(before):]
			if tt.code != "" {
				requireCode(t, err, tt.code)
			} else {
				require.NoError(t, err)
				require.Equal(t, tt.to, plan.ToRef)
			}
			require.Equal(t, 1, listings(calls), "calls: %v", calls)
			reads := map[string]int{}
			for _, c := range calls {
				reads[c]++
			}
			for c, n := range reads {
				if strings.HasSuffix(c, "/statuses") {
					require.Equal(t, 1, n, "%s read once", c)
				}
			}
		})
	}
}

// Past a page the walk goes on where the newer deploys end: after 110
// failed deploys newer than the bad one (the first 50 read, as far as a
// plan looks for a deploy that took over), the earlier success is found
// on the second page of the same listing.
func TestPlanWalksOnePagedListing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedProduction(b.fake)
	svc := checkoutService()
	bad := badDeploy(t, b, svc)
	for i := range 110 {
		b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha5, Environment: "production", CreatedAt: at(11, 31).Add(time.Duration(i) * time.Second),
			Statuses: []ghfake.DeploymentStatus{{State: "failure", CreatedAt: at(11, 59)}}})
	}
	before := b.fake.Calls()

	plan, err := b.client.Plan(t.Context(), bad, svc)
	require.NoError(t, err)
	require.Equal(t, sha2, plan.ToRef)
	calls := b.fake.Calls()[len(before):]
	require.Equal(t, 2, listings(calls), "two pages of one listing: %v", calls)
	require.Equal(t, 50+2, statusReads(calls), "50 newer failures, then sha4 (failed) and sha2")
}

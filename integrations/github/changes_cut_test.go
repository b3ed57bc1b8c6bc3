package github_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// More deployments to an environment than the lister reads: it lists the
// newest and says it left the older ones out, rather than pass the newest
// for all of them.
func TestChangesSaysWhenItReadOnlyTheNewestDeployments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 60 {
		created := at(10, 0).Add(time.Duration(i) * time.Minute)
		b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha1, Ref: "main", Environment: "production", Creator: "ada", CreatedAt: created,
			Statuses: []ghfake.DeploymentStatus{success(created.Add(30*time.Second), "")}})
	}
	svc := checkoutService()
	svc.GitHub.DeployWorkflow = ""

	got, cuts, err := b.client.ChangesCut(t.Context(), svc, at(10, 0), now)
	require.NoError(t, err)
	require.Len(t, got, 50)
	require.Equal(t, at(10, 10).Add(30*time.Second), got[0].OccurredAt, "the newest 50: the ten oldest are left out")
	require.Equal(t, []incident.SourceCut{{Source: "GitHub", What: "deployments to production in acme/checkout", Read: 50}}, cuts)

	plain, err := b.client.Changes(t.Context(), svc, at(10, 0), now)
	require.NoError(t, err)
	require.Equal(t, externalIDs(got), externalIDs(plain))

	// Without environments every environment is one list.
	svc.GitHub.Environments = nil
	_, cuts, err = b.client.ChangesCut(t.Context(), svc, at(10, 0), now)
	require.NoError(t, err)
	require.Equal(t, []incident.SourceCut{{Source: "GitHub", What: "deployments in acme/checkout", Read: 50}}, cuts)
}

func TestChangesCutsNothingWhenItReadEverything(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedProduction(b.fake) // with one staging deployment
	for i := range 49 {
		created := at(10, 0).Add(time.Duration(i) * time.Second)
		b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha2, Environment: "staging", CreatedAt: created,
			Statuses: []ghfake.DeploymentStatus{success(created, "")}})
	}
	svc := checkoutService()
	svc.GitHub.Environments = []string{"production", "staging"}
	svc.GitHub.DeployWorkflow = ""
	got, cuts, err := b.client.ChangesCut(t.Context(), svc, at(10, 0), now)
	require.NoError(t, err)
	require.Len(t, got, 53, "exactly 50 staging deployments are all read")
	require.Empty(t, cuts)
}

// More merged pull requests than ten pages hold: the newest are listed,
// and the cut is said.
func TestChangesSaysWhenItReadOnlyTheNewestPullRequests(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 1005 {
		merged := at(10, 0).Add(time.Duration(i) * time.Second)
		b.fake.AddMergedPR(repo, ghfake.PullRequest{Title: fmt.Sprintf("PR %d", i), User: "ada", MergedAt: &merged})
	}
	svc := checkoutService()
	svc.GitHub.DeployWorkflow = ""
	got, cuts, err := b.client.ChangesCut(t.Context(), svc, at(10, 0), now)
	require.NoError(t, err)
	require.Len(t, got, 1000)
	require.Equal(t, []incident.SourceCut{{Source: "GitHub", What: "pull requests merged into main in acme/checkout", Read: 1000}}, cuts)
}

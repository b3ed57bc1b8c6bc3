package github_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// GitHub marks the earlier deployment to a non-production environment
// inactive when a later one succeeds. The earlier deploy did not change in
// the window: it is not listed as a change at the time it was superseded,
// it reads as the success it was, and it cannot be rolled back.
func TestSupersededDeploymentIsNotANewChange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	old := b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha1, Ref: "main", Environment: "staging", Creator: "ada", CreatedAt: at(9, 0),
		Statuses: []ghfake.DeploymentStatus{success(at(9, 5), "https://ci.example.com/runs/1")}})
	bob := b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha2, Ref: "main", Environment: "staging", Creator: "bob", CreatedAt: at(11, 10)})
	// The deploy system reports bob's success; GitHub marks ada's inactive.
	require.NoError(t, b.fake.AddDeploymentStatus(repo, bob, success(at(11, 12), "")))
	sts := b.fake.Deployments(repo)[0].Statuses
	require.Equal(t, "inactive", sts[len(sts)-1].State, "the fake auto-inactivates as GitHub does")
	svc := incident.ServicePolicy{Key: "checkout", GitHub: incident.GitHubService{Repos: []string{repo}, Environments: []string{"staging"}}}

	got, err := b.client.Changes(t.Context(), svc, at(11, 0), at(11, 30))
	require.NoError(t, err)
	require.Len(t, got, 1, "only bob's deploy happened in the window: %v", externalIDs(got))
	require.Equal(t, "bob", got[0].Actor)
	require.True(t, b.client.Handles(got[0]))

	got, err = b.client.Changes(t.Context(), svc, at(8, 0), at(11, 30))
	require.NoError(t, err)
	require.Len(t, got, 2)
	ada := got[0]
	require.Equal(t, "ada", ada.Actor)
	require.Equal(t, at(9, 5), ada.OccurredAt, "listed when it succeeded, not when it was superseded")
	require.Equal(t, "success", ada.Data["state"])
	require.Equal(t, "Deploy acme/checkout@1111111 to staging (success)", ada.Summary)
	require.Equal(t, "https://ci.example.com/runs/1", ada.URL)

	// A deploy reported as inactive is not one to roll back.
	inactive := ada
	inactive.Data = map[string]string{"state": "inactive", "repo": repo, "deployment_id": "1"}
	require.False(t, b.client.Handles(inactive))

	// GitHub's deployment_status webhook for the inactive status is not
	// a change either.
	rec := &sinkRecorder{}
	hook := webhookServer(t, hookSecret, rec)
	payload, err := b.fake.DeploymentStatusPayload(repo, old)
	require.NoError(t, err)
	status, err := ghfake.SendWebhook(t.Context(), hook, hookSecret, "deployment_status", payload)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, rec.got())
}

// A deployment only ever marked inactive reads as inactive at its
// creation, not as a change when it was marked, and is not rolled back.
func TestDeploymentOnlyEverInactive(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha1, Environment: "staging", Creator: "ada", CreatedAt: at(9, 0),
		Statuses: []ghfake.DeploymentStatus{{State: "inactive", CreatedAt: at(11, 12)}}})
	svc := incident.ServicePolicy{Key: "checkout", GitHub: incident.GitHubService{Repos: []string{repo}, Environments: []string{"staging"}}}

	got, err := b.client.Changes(t.Context(), svc, at(11, 0), at(11, 30))
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = b.client.Changes(t.Context(), svc, at(8, 0), at(11, 30))
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, at(9, 0), got[0].OccurredAt)
	require.Equal(t, "inactive", got[0].Data["state"])
	require.False(t, b.client.Handles(got[0]))
}

package github_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// A deployment that has no status yet is delivered as a deployment event:
// it is the same pending change the API lists.
func TestWebhookDeploymentMatchesTheAPIsChange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.fake.AddDeployment(repo, ghfake.Deployment{SHA: sha3, Ref: "main", Environment: "production", Creator: "grace", CreatedAt: at(11, 40)})
	rec := &sinkRecorder{}
	hook := webhookServer(t, hookSecret, rec)
	payload, err := b.fake.DeploymentPayload(repo, id)
	require.NoError(t, err)

	status, err := ghfake.SendWebhook(t.Context(), hook, hookSecret, "deployment", payload, ghfake.WithDelivery("d-7"))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)

	got := rec.got()
	require.Len(t, got, 1)
	fromHook := got[0]
	require.Equal(t, "d-7", fromHook.Data["delivery"])
	delete(fromHook.Data, "delivery")
	svc := checkoutService()
	svc.GitHub.DeployWorkflow = "" // deploys only
	listed, err := b.client.Changes(t.Context(), svc, at(11, 30), now)
	require.NoError(t, err)
	require.Len(t, listed, 1)
	listed[0].Service = ""
	require.Equal(t, listed[0], fromHook, "the webhook and the API report the same change")
	require.Equal(t, "pending", fromHook.Data["state"])
	require.Equal(t, at(11, 40), fromHook.OccurredAt)
	require.Zero(t, fromHook.Revision, "any status replaces it")
}

// GitHub's documented deployment payload, then the deployment's statuses,
// through the webhook into the service as the program wires them: one
// change, first pending, then at its latest state; the deployment event
// delivered late changes nothing.
func TestWebhookDeploymentFixtureThenStatusesIsOneChange(t *testing.T) {
	t.Parallel()
	clock := incidenttest.NewClock(time.Date(2026, 3, 2, 11, 30, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	policy := incident.DefaultPolicy()
	policy.Services["checkout"] = incident.ServicePolicy{Key: "checkout", Name: "Checkout", GitHub: incident.GitHubService{
		Repos: []string{"acme/checkout"}, Environments: []string{"production"}}}
	svc := changes.New(changes.Config{Store: store, Core: incident.NewService(incident.ServiceConfig{Store: store, Policy: policy, Clock: clock}),
		Policy: policy, Clock: clock})
	sink := func(ctx context.Context, c incident.ChangeEvent) error {
		if err := svc.RecordChange(ctx, c); incident.ErrorCode(err) != incident.ECONFLICT {
			return err
		}
		return nil
	}
	srv := httptest.NewServer(github.NewWebhookHandler(hookSecret, sink, nil))
	t.Cleanup(srv.Close)
	send := func(event, fixture string) {
		t.Helper()
		body, err := os.ReadFile(filepath.Join("testdata", fixture))
		require.NoError(t, err)
		status, err := ghfake.SendWebhook(t.Context(), srv.URL, hookSecret, event, body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, fixture)
	}
	from, to := clock.Now().Add(-time.Hour), clock.Now()
	list := func() []incident.ChangeEvent {
		t.Helper()
		got, err := store.ListChangeEvents(t.Context(), "checkout", from, to)
		require.NoError(t, err)
		return got
	}

	send("deployment", "deployment_created.json")
	got := list()
	require.Len(t, got, 1, "a deployment with no status yet is a change")
	require.Equal(t, "deployment:acme/checkout:145988746", got[0].ExternalID)
	require.Equal(t, "pending", got[0].Data["state"])
	require.Equal(t, "Deploy acme/checkout@f95f852 to production (pending)", got[0].Summary)
	require.Equal(t, time.Date(2026, 3, 2, 10, 50, 2, 0, time.UTC), got[0].OccurredAt)
	require.Equal(t, "grace", got[0].Actor)

	send("deployment_status", "deployment_status_pending.json")
	send("deployment_status", "deployment_status_failure.json")
	send("deployment", "deployment_created.json") // late or redelivered
	got = list()
	require.Len(t, got, 1, "its statuses update the change, not add to it")
	require.Equal(t, "failure", got[0].Data["state"])
	require.Equal(t, int64(209916977), got[0].Revision)
}

func TestWebhookRejectsAMalformedDeployment(t *testing.T) {
	t.Parallel()
	rec := &sinkRecorder{}
	hook := webhookServer(t, hookSecret, rec)
	status, err := ghfake.SendWebhook(t.Context(), hook, hookSecret, "deployment", map[string]any{"action": "created"})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, status)
	require.Empty(t, rec.got())
}

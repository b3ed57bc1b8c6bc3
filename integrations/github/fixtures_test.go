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

// TestWebhookFixturesBecomeTheServicesChanges feeds deliveries in GitHub's
// documented shapes (testdata/) through the webhook handler into the
// service, as the program wires them, and reads back what "what changed?"
// would list for checkout in the half hour before 11:30.
func TestWebhookFixturesBecomeTheServicesChanges(t *testing.T) {
	t.Parallel()
	clock := incidenttest.NewClock(time.Date(2026, 3, 2, 11, 30, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	policy := incident.DefaultPolicy()
	policy.Services["checkout"] = incident.ServicePolicy{Key: "checkout", Name: "Checkout", GitHub: incident.GitHubService{
		Repos: []string{"acme/checkout"}, Environments: []string{"production"}, DeployWorkflow: "deploy.yml"}}
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

	send("deployment_status", "deployment_status_pending.json")
	send("deployment_status", "deployment_status_in_progress.json")
	send("workflow_run", "workflow_run_deploy_in_progress.json")
	send("workflow_run", "workflow_run_test_completed.json")
	send("deployment_status", "deployment_status_failure.json")
	send("workflow_run", "workflow_run_deploy_completed.json")
	send("deployment_status", "deployment_status_github_pages.json")
	// GitHub does not promise order: an earlier state arriving late
	// changes nothing.
	send("deployment_status", "deployment_status_in_progress.json")
	send("workflow_run", "workflow_run_deploy_in_progress.json")

	from, to := clock.Now().Add(-30*time.Minute), clock.Now()
	got, err := store.ListChangeEvents(t.Context(), "checkout", from, to)
	require.NoError(t, err)
	require.Len(t, got, 2, "one deploy and one run of the deploy workflow: %v", got)

	run, deploy := got[0], got[1]
	require.Equal(t, "deployment:acme/checkout:145988746", deploy.ExternalID)
	require.Equal(t, "failure", deploy.Data["state"], "the deploy reads as its last state")
	require.Equal(t, "Deploy acme/checkout@f95f852 to production (failure)", deploy.Summary)
	require.Equal(t, time.Date(2026, 3, 2, 11, 12, 9, 0, time.UTC), deploy.OccurredAt,
		"created at 10:50, before the window, and failed inside it")
	require.Equal(t, int64(209916977), deploy.Revision)

	require.Equal(t, "workflow_run:acme/checkout:8812345", run.ExternalID, "one change per run, not per status")
	require.Equal(t, "Workflow deploy.yml run #412 on acme/checkout@f95f852 (completed: failure)", run.Summary)
	require.Equal(t, time.Date(2026, 3, 2, 11, 12, 15, 0, time.UTC), run.OccurredAt, "a run counts when it completed")

	all, err := store.ListChangeEvents(t.Context(), "", from.Add(-time.Hour), to)
	require.NoError(t, err)
	require.Len(t, all, 2, "the test workflow's run and the GitHub Pages deploy are nobody's change")
}

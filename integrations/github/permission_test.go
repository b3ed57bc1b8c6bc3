package github_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// A token without the permission a write needs is refused with 403
// "Resource not accessible by integration" (or "... by personal access
// token"), which names no permission. The channel is told which one the
// bot's token lacks, on which repository, so an admin can grant it.
func TestRefusalsForAMissingPermissionNameIt(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		fake    []ghfake.Option
		method  string
		message string
	}{
		{
			name:   "dispatch, app installation",
			fake:   []ghfake.Option{ghfake.WithAppInstallation("firebreak"), ghfake.WithoutPermission("actions")},
			method: "workflow",
			message: "GitHub refused to dispatch workflow deploy.yml in acme/checkout: Resource not accessible by integration. " +
				"The bot's GitHub token needs the Actions: write permission on acme/checkout.",
		},
		{
			name:   "deployment, personal access token",
			fake:   []ghfake.Option{ghfake.WithoutPermission("deployments")},
			method: "deployment",
			message: "GitHub refused to create a deployment in acme/checkout: Resource not accessible by personal access token. " +
				"The bot's GitHub token needs the Deployments: write permission on acme/checkout.",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupFake(t, tt.fake)
			seedProduction(b.fake)
			b.fake.AddWorkflow(repo, "deploy.yml", true, ghfake.WithInputs("sha", "environment", "reason"))
			svc := checkoutService()
			svc.GitHub.Rollback = tt.method
			plan, err := b.client.Plan(t.Context(), badDeploy(t, b, svc), svc)
			require.NoError(t, err)

			_, err = b.client.Execute(t.Context(), plan, "U0IC")
			requireCode(t, err, incident.EFORBIDDEN)
			require.Equal(t, tt.message, incident.ErrorMessage(err))
			require.Empty(t, b.fake.Dispatches(repo))
		})
	}
}

// An archived export repository refuses every write; the channel is told
// so, not that the bot may lack a permission.
func TestExportToAnArchivedRepository(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"pr", "issue"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			b := exportSetup(t, mode, true)
			b.fake.ArchiveRepo(docsRepo)
			_, err := b.client.Export(t.Context(), postmortem("# INC-42\n"), nil)
			requireCode(t, err, incident.EFORBIDDEN)
			require.Equal(t, "acme/postmortems is archived on GitHub, so it takes no new postmortems; unarchive it or set another export repository.",
				incident.ErrorMessage(err))
			require.Empty(t, b.fake.Issues(docsRepo))
			require.Empty(t, b.fake.PullRequests(docsRepo))
		})
	}
}

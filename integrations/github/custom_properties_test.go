package github_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// everyPropertyType is what GitHub gives as a repository's custom_properties
// when the organization defines one of each type: a string, a true_false
// and a single_select property's value is a string, a multi_select one's an
// array of strings, and an unset one is null ("Get all custom property
// values for a repository", docs.github.com/rest/repos/custom-properties).
func everyPropertyType() map[string]any {
	return map[string]any{
		"team":        "payments",
		"pci":         "true",
		"tier":        "tier-1",
		"owners":      []string{"payments", "sre"},
		"cost_center": nil,
	}
}

// The repositories of an organization that uses custom properties, a
// multi_select one among them, are read like any other: go-github v60 reads
// every value as a string, so GitHub's answer for such a repository (or a
// workflow run, which carries it) failed to decode, and the changes list,
// the rollback plan and the postmortem export all failed for it.
func TestRepositoriesWithCustomPropertiesOfEveryType(t *testing.T) {
	t.Parallel()
	t.Run("changes", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.SetCustomProperties(repo, everyPropertyType())
		seedProduction(b.fake)
		b.fake.AddWorkflow(repo, "deploy.yml", true)
		b.fake.AddWorkflowRun(repo, ghfake.WorkflowRun{Workflow: "deploy.yml", Conclusion: "success", HeadSHA: sha3, Actor: "grace", CreatedAt: at(11, 29)})
		got, err := b.client.Changes(t.Context(), checkoutService(), at(10, 0), now)
		require.NoError(t, err)
		require.Len(t, got, 4, "three deploys and the deploy workflow's run")
	})
	t.Run("rollback plan", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.fake.SetCustomProperties(repo, everyPropertyType())
		seedProduction(b.fake)
		svc := checkoutService()
		plan, err := b.client.Plan(t.Context(), badDeploy(t, b, svc), svc)
		require.NoError(t, err)
		require.Equal(t, sha2, plan.ToRef)
	})
	t.Run("export", func(t *testing.T) {
		t.Parallel()
		b := exportSetup(t, "", false)
		b.fake.SetCustomProperties(docsRepo, everyPropertyType())
		ref, err := b.client.Export(t.Context(), postmortem("# INC-42\n\nFirst draft.\n"), nil)
		require.NoError(t, err)
		require.NotEmpty(t, ref.ID)
		require.Len(t, b.fake.PullRequests(docsRepo), 1)
	})
}

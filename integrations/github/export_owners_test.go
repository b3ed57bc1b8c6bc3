package github_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// An action item's issue names its owner as the chat does, not by a Slack
// id, and is assigned to the owner's GitHub login where the policy maps
// one. A login GitHub will not assign (422 on the field assignees) opens
// the issue unassigned, saying so, rather than not at all. The login is
// named, not mentioned: being assigned notifies its owner.
func TestExportActionItemIssuesNameAndAssignOwners(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "issue", true)
	b.fake.SetAssignable(docsRepo, "ada-l")
	doc := postmortem("Draft.")
	doc.ActionItems = []incident.ActionItem{
		{ID: 1, Text: "Add a canary for checkout", Owner: "U0ADA"},
		{ID: 2, Text: "Page on 5xx rate", Owner: "U0BOB"},
		{ID: 3, Text: "Write the runbook", Owner: "U0CY"},
	}
	doc.OwnerNames = map[string]string{"U0ADA": "Ada Lovelace", "U0BOB": "Bob Martin"}
	doc.GitHubLogins = map[string]string{"U0ADA": "ada-l", "U0BOB": "bobby"}

	ref, err := b.client.Export(t.Context(), doc, nil)
	require.NoError(t, err)
	_, err = b.client.Export(t.Context(), doc, &ref)
	require.NoError(t, err)

	byTitle := map[string]ghfake.Issue{}
	for _, is := range b.fake.Issues(docsRepo) {
		_, dup := byTitle[is.Title]
		require.False(t, dup, "one issue for %q", is.Title)
		byTitle[is.Title] = is
	}
	require.Len(t, byTitle, 4)

	canary := byTitle["Add a canary for checkout"]
	require.Contains(t, canary.Body, "Owner: Ada Lovelace (@"+zwsp+"ada-l)")
	require.Equal(t, []string{"ada-l"}, canary.Assignees)

	page := byTitle["Page on 5xx rate"]
	require.Contains(t, page.Body, "Owner: Bob Martin (@"+zwsp+"bobby)")
	require.Contains(t, page.Body, "GitHub would not assign this issue to @"+zwsp+"bobby")
	require.Empty(t, page.Assignees)
	require.Contains(t, b.logs.String(), "cannot be assigned")

	runbook := byTitle["Write the runbook"]
	require.Contains(t, runbook.Body, "Owner: Slack user U0CY", "an owner whose name is unknown is named by the id")
	require.Empty(t, runbook.Assignees)
	for _, is := range []ghfake.Issue{canary, page} {
		require.False(t, strings.Contains(is.Body, "U0ADA") || strings.Contains(is.Body, "U0BOB"), "no Slack id in %q", is.Body)
	}
}

package github_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	gh "github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/github"
)

// Issue mode: the team edits the postmortem issue's body on GitHub; a
// re-export reads the body first and leaves the edited issue alone.
func TestIssueReExportLeavesTheTeamsEdits(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "issue", false)
	ctx := t.Context()
	ref, err := b.client.Export(ctx, postmortem("Draft."), nil)
	require.NoError(t, err)
	issues := b.fake.Issues(docsRepo)
	require.Len(t, issues, 1)
	require.True(t, strings.HasPrefix(ref.Digest, "sha256:"), ref.Digest)

	// A person edits the body through the API, as an integration would.
	client := gh.NewClient(nil).WithAuthToken(token)
	client.BaseURL, err = url.Parse(b.fake.URL())
	require.NoError(t, err)
	team := issues[0].Body + "\n\n## Root cause (agreed)\n\nThe order-history query had no index."
	_, _, err = client.Issues.Edit(ctx, "acme", "postmortems", issues[0].Number, &gh.IssueRequest{Body: gh.String(team)})
	require.NoError(t, err)

	_, err = b.client.Export(ctx, postmortem("Draft, with a follow-up."), &ref)
	requireLeftAlone(t, err, fmt.Sprintf("The postmortem issue #%d was edited on GitHub since the last export", issues[0].Number),
		"delete the issue", fmt.Sprintf("/issues/%d", issues[0].Number))
	require.Equal(t, team, b.fake.Issues(docsRepo)[0].Body, "the team's edit stands")
	require.Len(t, b.fake.Issues(docsRepo), 1)
}

// Opened in GitHub's editor and saved unchanged, the body comes back with
// "\r\n" line endings: it is still the bot's, and a re-export updates it.
// A real edit in the editor is the team's.
func TestIssueReExportAfterABrowserSave(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "issue", false)
	ctx := t.Context()
	ref, err := b.client.Export(ctx, postmortem("# INC-42\n\nDraft.\n\n- one\n- two"), nil)
	require.NoError(t, err)
	is := b.fake.Issues(docsRepo)[0]
	require.NoError(t, b.fake.EditIssueBody(docsRepo, is.Number, is.Body))
	require.Contains(t, b.fake.Issues(docsRepo)[0].Body, "\r\n")

	again, err := b.client.Export(ctx, postmortem("# INC-42\n\nDraft.\n\n- one\n- two\n- three"), &ref)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(b.fake.Issues(docsRepo)[0].Body, "# INC-42\n\nDraft.\n\n- one\n- two\n- three"))

	require.NoError(t, b.fake.EditIssueBody(docsRepo, is.Number, "Rewritten by the team.\n\n"+b.fake.Issues(docsRepo)[0].Body))
	_, err = b.client.Export(ctx, postmortem("# INC-42\n\nDraft 3."), &again)
	requireLeftAlone(t, err)
	require.True(t, strings.HasPrefix(b.fake.Issues(docsRepo)[0].Body, "Rewritten by the team."))
}

// The export's record points at a pull request (the export mode was
// changed to issues since): GitHub reads a pull request as an issue too,
// and the bot must not write the postmortem into its description.
func TestIssueExportAfterAPullRequestExportOpensAnIssue(t *testing.T) {
	t.Parallel()
	b := exportSetup(t, "pr", false)
	ref, err := b.client.Export(t.Context(), postmortem("Draft."), nil)
	require.NoError(t, err)

	issues := setup(t, func(c *github.Config) { c.APIURL, c.ExportRepo, c.ExportMode = b.fake.URL(), docsRepo, "issue" })
	got, err := issues.client.Export(t.Context(), postmortem("Draft."), &ref)
	require.NoError(t, err)
	require.NotEqual(t, ref.ID, got.ID)
	require.Len(t, b.fake.Issues(docsRepo), 1)
	require.NotContains(t, b.fake.PullRequests(docsRepo)[0].Body, "Draft.")
}

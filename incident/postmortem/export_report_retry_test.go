package postmortem_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// TestRefusedExportIsReportedAfterASlackFailure: GitHub refuses the export
// (the repository is archived, so a retry cannot help) and Slack fails the
// channel's notice of the refusal. The job is not cancelled with the
// notice unsaid: it is retried, and the channel hears of the refusal once,
// with its Retry button.
func TestRefusedExportIsReportedAfterASlackFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := githubExport(t, func(f *ghfake.Server) { f.ArchiveRepo("acme/postmortems") }, nil)
	q, chat, pm, inc := g.q, g.chat, g.pm, g.inc
	chat.Mu.Lock()
	chat.Fail["buttons"] = 1
	chat.Mu.Unlock()
	require.NoError(t, pm.Export(ctx, inc.ID, "github", alice, incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: alice}))
	q.RunAll(t)

	var failures []string
	for _, p := range chat.PostsIn(inc.ChannelID) {
		if strings.HasPrefix(p, ":warning: *Exporting") {
			failures = append(failures, p)
		}
	}
	require.Len(t, failures, 1, "the refusal is said once: %q", chat.PostsIn(inc.ChannelID))
	require.Contains(t, failures[0], "Retry export to")
	require.Empty(t, g.fake.PullRequests("acme/postmortems"))
}

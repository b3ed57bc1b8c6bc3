package postmortem_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// flakyItems is the GitHub exporter whose action items' issues fail for a
// while after the postmortem itself is out (GitHub answering 502 to the
// issue's creation), as an export partly done: the postmortem's reference
// comes back with the error.
type flakyItems struct {
	incident.Exporter
	fails int
}

func (f *flakyItems) Export(ctx context.Context, doc incident.PostmortemDoc, prev *incident.ExportRef) (incident.ExportRef, error) {
	ref, err := f.Exporter.Export(ctx, doc, prev)
	if err == nil && f.fails > 0 {
		f.fails--
		return ref, incident.Errorf(incident.EUNAVAILABLE, "GitHub answered 502 Bad Gateway to an action item's issue.")
	}
	return ref, err
}

// An export whose action items fail twice and then go through is one
// export: its link is said once in the channel, not again at each retry of
// the job, and the failure once while it is retried.
func TestExportRetriedSaysItsLinkOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := githubExport(t, nil, func(e incident.Exporter) incident.Exporter { return &flakyItems{Exporter: e, fails: 2} })
	fake, q, chat, pm, inc, clock := g.fake, g.q, g.chat, g.pm, g.inc, g.clock
	require.NoError(t, pm.Export(ctx, inc.ID, "github", alice, incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: alice}))
	require.Empty(t, q.RunAll(t), "the third attempt goes through")

	require.Len(t, fake.PullRequests("acme/postmortems"), 1)
	var links, failures []string
	for _, p := range chat.PostsIn(inc.ChannelID) {
		switch {
		case strings.HasPrefix(p, ":page_facing_up:"):
			links = append(links, p)
		case strings.HasPrefix(p, ":warning: *Exporting"):
			failures = append(failures, p)
		}
	}
	require.Len(t, links, 1, "the link is said once: %q", links)
	require.Contains(t, links[0], "exported the INC-1 postmortem in GitHub")
	require.Len(t, failures, 1, "the failure is said once while retried: %q", failures)
	require.Len(t, chat.Bookmarks[inc.ChannelID], 1)

	// A later export asked for anew is said again.
	clock.Advance(2 * time.Minute)
	require.NoError(t, pm.Export(ctx, inc.ID, "github", alice, incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: alice}))
	require.Empty(t, q.RunAll(t))
	n := 0
	for _, p := range chat.PostsIn(inc.ChannelID) {
		if strings.HasPrefix(p, ":page_facing_up:") {
			n++
		}
	}
	require.Equal(t, 2, n)
}

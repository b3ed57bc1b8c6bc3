package postmortem_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/postmortem"
)

// postmortemFile is the file the GitHub export writes for the incident of
// githubExport.
const postmortemFile = "postmortems/2026-03-14-checkout-fails-for-card-payments.md"

// links counts the posts in the channel that say where the postmortem went.
func links(g githubExportRun) []string {
	var out []string
	for _, p := range g.chat.PostsIn(g.inc.ChannelID) {
		if strings.HasPrefix(p, ":page_facing_up:") {
			out = append(out, p)
		}
	}
	return out
}

// note records a key note on the incident's timeline, as /incident note does.
func note(t *testing.T, g githubExportRun, text string) {
	t.Helper()
	require.NoError(t, g.store.AddTimelineEvent(context.Background(), &incident.TimelineEvent{IncidentID: g.inc.ID, Kind: incident.EventNote,
		Actor: dev, At: g.clock.Now(), Key: true, Text: text}))
}

// An export asked for again once the first is done, in the same clock
// minute (a note was added, the draft changed), exports again: the file is
// updated and the channel is told, rather than the request being dropped
// while the person was told "Exporting ...".
func TestExportAgainInTheSameMinuteExports(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := githubExport(t, nil, nil)
	reply := incident.ReplyTarget{ChannelID: g.inc.ChannelID, UserID: alice}
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply))
	require.Empty(t, g.q.RunAll(t))
	require.Len(t, links(g), 1)

	g.clock.Advance(20 * time.Second)
	note(t, g, "The order-history query had no index.")
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply))
	require.Equal(t, 1, g.q.Pending(postmortem.JobExport), "the second export is scheduled")
	require.Empty(t, g.q.RunAll(t))
	require.Contains(t, g.fake.Files("acme/postmortems", "postmortem/inc-1")[postmortemFile], "The order-history query had no index.")
	said := links(g)
	require.Len(t, said, 2)
	require.Contains(t, said[1], "<@"+alice+"> updated the INC-1 postmortem in GitHub")

	// Asked for again at the very same instant, unchanged: still an
	// export of its own, as the person asked.
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply))
	require.Empty(t, g.q.RunAll(t))
	require.Len(t, links(g), 3)
	ref, err := g.store.GetExport(ctx, g.inc.ID, "github")
	require.NoError(t, err)
	require.Equal(t, 3, ref.Version)
}

// A double click (the button twice, or the command and the button) exports
// once, and the second request is told so, not told that it is exporting.
// The export that waits publishes the draft as it is when it starts: a
// note added between the click and the start is in it.
func TestDoubleClickExportsOnceAndSaysSo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := githubExport(t, nil, nil)
	reply := incident.ReplyTarget{ChannelID: g.inc.ChannelID, UserID: alice}
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply))
	g.clock.Advance(400 * time.Millisecond)
	err := g.pm.Export(ctx, g.inc.ID, "github", alice, reply)
	require.ErrorIs(t, err, postmortem.ErrExportUnderWay)
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Equal(t, "An export of INC-1's postmortem to github is already under way; its link will be posted here. If no link comes within a minute, ask again.", incident.ErrorMessage(err))
	require.Equal(t, 1, g.q.Pending(postmortem.JobExport), "one export")

	note(t, g, "Rolled back at 14:40.")
	require.Empty(t, g.q.RunAll(t))
	require.Contains(t, g.fake.Files("acme/postmortems", "postmortem/inc-1")[postmortemFile], "Rolled back at 14:40.")
	require.Len(t, links(g), 1)
	require.Len(t, g.fake.PullRequests("acme/postmortems"), 1)
}

// duringExport runs once, when the export reaches the exporter, what is
// set in during: a request made while an export runs.
type duringExport struct {
	incident.Exporter
	during *func()
}

func (d *duringExport) Export(ctx context.Context, doc incident.PostmortemDoc, prev *incident.ExportRef) (incident.ExportRef, error) {
	if f := *d.during; f != nil {
		*d.during = nil
		f()
	}
	return d.Exporter.Export(ctx, doc, prev)
}

// An export asked for while an earlier one runs (its draft is composed,
// and misses what changed since) is one of its own: it runs once the first
// is done and publishes the draft as it is then.
func TestExportAskedForWhileTheFirstRunsExportsAfterIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var during func()
	g := githubExport(t, nil, func(e incident.Exporter) incident.Exporter { return &duringExport{Exporter: e, during: &during} })
	reply := incident.ReplyTarget{ChannelID: g.inc.ChannelID, UserID: alice}
	var asked error
	during = func() {
		note(t, g, "Pool size raised to 40.")
		asked = g.pm.Export(ctx, g.inc.ID, "github", alice, reply)
	}
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply))
	first, ok := g.q.Take(postmortem.JobExport)
	require.True(t, ok)
	require.NoError(t, g.q.Handler(postmortem.JobExport)(ctx, first.Payload))
	require.NoError(t, asked, "a request while the first runs is not its double click")
	require.NotContains(t, g.fake.Files("acme/postmortems", "postmortem/inc-1")[postmortemFile], "Pool size raised to 40.")

	require.Empty(t, g.q.RunAll(t))
	require.Contains(t, g.fake.Files("acme/postmortems", "postmortem/inc-1")[postmortemFile], "Pool size raised to 40.",
		"the second export ran after the first, with the note")
	said := links(g)
	require.Len(t, said, 2)
	require.Contains(t, said[1], "updated the INC-1 postmortem in GitHub")
}

// A requested export that has not started holds off others for 20 seconds
// at most: a request after that schedules its own.
func TestExportNotStartedHoldsOffOthersForTwentySeconds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := githubExport(t, nil, nil)
	reply := incident.ReplyTarget{ChannelID: g.inc.ChannelID, UserID: alice}
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply))
	g.clock.Advance(19 * time.Second)
	require.ErrorIs(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply), postmortem.ErrExportUnderWay)
	g.clock.Advance(time.Second)
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply))
	require.Equal(t, 2, g.q.Pending(postmortem.JobExport))
	require.Empty(t, g.q.RunAll(t))
	require.Len(t, g.fake.PullRequests("acme/postmortems"), 1)
}

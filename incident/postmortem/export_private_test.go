package postmortem_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// A private incident's channel is named after its title
// (inc-2026-03-14-acme-orion-merger), so a message that links the channel
// quotes the title in another form: the exported postmortem shows neither.
func TestExportOfPrivateIncidentRedactsTheChannelName(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	ctx := context.Background()
	inc, _, err := f.svc.Declare(ctx, incident.DeclareInput{Title: "Acme Orion merger", Severity: incident.P1, ServiceKey: "checkout",
		DeclaredBy: alice, Key: "cmd:private-channel", Private: true})
	require.NoError(t, err)
	require.Empty(t, f.queue.RunAll(t))
	inc, err = f.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Contains(t, inc.ChannelName, "orion", "the channel is named after the title")

	link := "<#" + inc.ChannelID + "|" + inc.ChannelName + ">"
	ts := f.say(t, inc.ChannelID, time.Minute, incident.CapturedMessage{User: alice, Text: "Keep everything about this in " + link + ", nowhere else."})
	require.NoError(t, f.capt.CapturePin(ctx, inc.ChannelID, ts, alice))
	// Slack's newer clients link a channel with an empty label.
	ts = f.say(t, inc.ChannelID, time.Minute, incident.CapturedMessage{User: bob, Text: "Joined #" + inc.ChannelName + " from the page"})
	require.NoError(t, f.capt.CapturePin(ctx, inc.ChannelID, ts, alice))
	_, err = f.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: alice, Known: "Discussed in " + link + ".", Doing: "Containing it."})
	require.NoError(t, err)

	reply := incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: alice}
	for _, target := range []string{"confluence", "github"} {
		require.NoError(t, f.pm.Export(ctx, inc.ID, target, alice, reply))
	}
	require.Empty(t, f.queue.RunAll(t))

	pages := f.exp.conf.Pages()
	require.Len(t, pages, 1)
	require.Contains(t, pages[0].Body, "Keep everything about this in #")
	require.NotContains(t, strings.ToLower(pages[0].Body), "orion")
	prs := f.exp.gh.PullRequests(f.exp.docsRepo)
	require.Len(t, prs, 1)
	for name, md := range f.exp.gh.Files(f.exp.docsRepo, prs[0].Head) {
		require.Contains(t, md, "Keep everything about this in #", name)
		require.NotContains(t, strings.ToLower(md), "orion", name)
	}
}

package postmortem_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/postmortem"
)

// Exporting sends the whole timeline out of Slack: someone who can merely
// see the incident is refused with a sentence saying who can, and nothing
// is scheduled; the IC and the review's owner export.
func TestExportIsForTheIncidentsLeads(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	ctx := context.Background()
	inc, _ := f.replay(t)
	reply := incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: dev}

	err := f.pm.Export(ctx, inc.ID, "github", dev, reply)
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "You may not export the postmortem")
	require.Contains(t, incident.ErrorMessage(err), "Who can: the Incident Commander ("+alice+")")
	_, ok := f.queue.Take(postmortem.JobExport)
	require.False(t, ok, "no export was scheduled")

	// The review's owner exports.
	require.NoError(t, f.store.SaveReview(ctx, &incident.Review{IncidentID: inc.ID, State: incident.ReviewDraft, Owner: dev,
		DueOn: f.clock.Now(), CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}))
	require.NoError(t, f.pm.Export(ctx, inc.ID, "github", dev, reply))
	require.NoError(t, f.pm.Export(ctx, inc.ID, "confluence", alice, reply), "the IC exports")
	_, ok = f.queue.Take(postmortem.JobExport)
	require.True(t, ok)
}

// Without the permission model wired in, the policy alone decides: the IC
// exports, someone with no role in the incident does not.
func TestExportWithoutCoreDecidesOnThePolicy(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	ctx := context.Background()
	inc, _ := f.replay(t)
	pm := postmortem.New(postmortem.Config{Store: f.store, Chat: f.chat, Scheduler: f.queue, Exporters: f.exp.list,
		Renderer: mustTemplates(t), Clock: f.clock})
	reply := incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: alice}
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(pm.Export(ctx, inc.ID, "github", dev, reply)))
	require.NoError(t, pm.Export(ctx, inc.ID, "github", alice, reply))
}

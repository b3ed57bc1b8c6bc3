package incident_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestPostUpdateMovesTheStatusOnlyForWhoMaySetIt: posting a status update
// is anyone's, moving the incident's status is the IC's or the commander
// group's (ActSetStatus), whichever way it is asked for. An update by
// someone else that would move the status is refused and stores nothing;
// one that leaves it as it is posts; the IC's moves it.
func TestPostUpdateMovesTheStatusOnlyForWhoMaySetIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := declare(t, b, "checkout is down", incident.P1, "cmd:status-by-update")
	require.Empty(t, b.queue.RunAll(t))
	cur, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.StatusInvestigating, cur.Status)

	_, err = b.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0BYSTANDER", Known: "looks fine to me", Status: incident.StatusMitigated})
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err), "%v", err)
	got, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.StatusInvestigating, got.Status, "a bystander's update does not mitigate the incident")
	updates, err := b.store.ListStatusUpdates(ctx, inc.ID)
	require.NoError(t, err)
	require.Empty(t, updates)

	_, err = b.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0BYSTANDER", Known: "still broken for EU", Status: incident.StatusInvestigating})
	require.NoError(t, err, "an update that leaves the status as it is posts")

	_, err = b.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Known: "failover done", Status: incident.StatusMitigated})
	require.NoError(t, err)
	got, err = b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.StatusMitigated, got.Status, "the IC's update mitigates it")
}

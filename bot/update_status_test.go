package bot

import (
	"context"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestUpdateFormMovesTheStatusOnlyForWhoMaySetIt: the update form's status
// is a change of status, which only the IC or the commander group may make
// (as `/incident status mitigated` is). Someone else posting an update
// through the form cannot mark the incident mitigated with it: the form
// says why, on the status field, and nothing is posted. Their update that
// leaves the status as it is posts as before, and the IC's moves it.
func TestUpdateFormMovesTheStatusOnlyForWhoMaySetIt(t *testing.T) {
	tr := newTransport(t)
	ctx := context.Background()
	values := func(status incident.Status) map[string]map[string]slack.BlockAction {
		return map[string]map[string]slack.BlockAction{
			blockUpdateStatus: {blockUpdateStatus: {SelectedOption: slack.OptionBlockObject{Value: string(status)}}},
			blockUpdateKnown:  {blockUpdateKnown: {Value: "Error rate back to baseline."}},
		}
	}

	// The command refuses them; the form must too.
	r := tr.command(t, tr.other.ID, tr.inc.ChannelID, "status mitigated")
	require.Contains(t, string(r.Body), "only the Incident Commander")

	tr.click(t, tr.other.ID, ActionPostUpdate)
	errs := formErrors(t, tr.submit(t, tr.other.ID, tr.openedView(t, ViewUpdate), values(incident.StatusMitigated)))
	require.Contains(t, errs[blockUpdateStatus], "You may not change the status")
	require.Contains(t, errs[blockUpdateStatus], "only the Incident Commander or the commander group may")
	require.Equal(t, incident.StatusInvestigating, tr.incident(t).Status, "a bystander's update marked the incident mitigated")
	updates, err := tr.store.ListStatusUpdates(ctx, tr.inc.ID)
	require.NoError(t, err)
	require.Empty(t, updates, "the refused update was posted")

	tr.click(t, tr.other.ID, ActionPostUpdate)
	require.Nil(t, formErrors(t, tr.submit(t, tr.other.ID, tr.openedView(t, ViewUpdate), values(incident.StatusInvestigating))),
		"an update that leaves the status as it is")
	require.Equal(t, incident.StatusInvestigating, tr.incident(t).Status)
	updates, err = tr.store.ListStatusUpdates(ctx, tr.inc.ID)
	require.NoError(t, err)
	require.Len(t, updates, 1)
	require.Equal(t, tr.other.ID, updates[0].Author)

	tr.click(t, tr.ic.ID, ActionPostUpdate)
	require.Nil(t, formErrors(t, tr.submit(t, tr.ic.ID, tr.openedView(t, ViewUpdate), values(incident.StatusMitigated))))
	require.Equal(t, incident.StatusMitigated, tr.incident(t).Status, "the IC's update moves the status")
}

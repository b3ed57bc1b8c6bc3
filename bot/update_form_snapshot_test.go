package bot

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// updateFormValues are the update form's fields as Slack submits them:
// the status select with the option it shows (initial_option, when the
// person did not touch it) and what we know.
func updateFormValues(status incident.Status) map[string]map[string]slack.BlockAction {
	return map[string]map[string]slack.BlockAction{
		blockUpdateStatus: {blockUpdateStatus: {SelectedOption: slack.OptionBlockObject{Value: string(status)}}},
		blockUpdateKnown:  {blockUpdateKnown: {Value: "Error rate back to baseline."}},
	}
}

// The update form shows the status as it was when it opened, and Slack
// submits that untouched value with the rest. A form left open while the
// incident was marked mitigated must not put it back to investigating: the
// IC opens "Post update" while investigating; meanwhile the incident is
// marked mitigated; the IC submits without touching the status.
func TestStaleUpdateFormLeavesALaterStatusAlone(t *testing.T) {
	tr := newTransport(t)
	ctx := context.Background()
	require.Equal(t, incident.StatusInvestigating, tr.incident(t).Status)
	tr.click(t, tr.ic.ID, ActionPostUpdate)
	v := tr.openedView(t, ViewUpdate)

	_, err := tr.svc.SetStatus(ctx, tr.inc.ID, incident.StatusMitigated, tr.ic.ID, "")
	require.NoError(t, err)

	require.Nil(t, formErrors(t, tr.submit(t, tr.ic.ID, v, updateFormValues(incident.StatusInvestigating))))
	inc := tr.incident(t)
	require.Equal(t, incident.StatusMitigated, inc.Status, "a status the IC did not touch undid a later change")
	require.NotNil(t, inc.MitigatedAt)
	updates, err := tr.store.ListStatusUpdates(ctx, tr.inc.ID)
	require.NoError(t, err)
	require.Len(t, updates, 1, "the update itself is posted")
	events, err := tr.store.ListTimeline(ctx, tr.inc.ID)
	require.NoError(t, err)
	for _, e := range events {
		if d, ok := e.Payload.(incident.StatusChangedData); ok {
			require.NotEqual(t, incident.StatusMitigated, d.From, "the status went back: %s", e.Text)
		}
	}
}

// A status the person did change is applied when nobody changed it since
// the form opened, and when it already is what they chose there is nothing
// to change.
func TestUpdateFormStatusTheIChoseIsApplied(t *testing.T) {
	tr := newTransport(t)
	ctx := context.Background()
	tr.click(t, tr.ic.ID, ActionPostUpdate)
	require.Nil(t, formErrors(t, tr.submit(t, tr.ic.ID, tr.openedView(t, ViewUpdate), updateFormValues(incident.StatusMitigated))))
	require.Equal(t, incident.StatusMitigated, tr.incident(t).Status)

	// Opened while mitigated, set back to investigating by the IC, while
	// someone else did the same meanwhile: both agree, the update posts.
	tr.click(t, tr.ic.ID, ActionPostUpdate)
	v := tr.openedView(t, ViewUpdate)
	_, err := tr.svc.SetStatus(ctx, tr.inc.ID, incident.StatusInvestigating, tr.ic.ID, "")
	require.NoError(t, err)
	require.Nil(t, formErrors(t, tr.submit(t, tr.ic.ID, v, updateFormValues(incident.StatusInvestigating))))
	require.Equal(t, incident.StatusInvestigating, tr.incident(t).Status)
	updates, err := tr.store.ListStatusUpdates(ctx, tr.inc.ID)
	require.NoError(t, err)
	require.Len(t, updates, 2)
}

// A status the person changed, where the status changed too since the
// form opened (to something other than their choice), is a conflict: it
// is answered on the status field, saying what the status is now, the form
// stays open, and nothing is posted or changed.
func TestUpdateFormStatusChangeOverALaterChangeIsAConflict(t *testing.T) {
	tr := newTransport(t)
	ctx := context.Background()
	tr.click(t, tr.ic.ID, ActionPostUpdate)
	v := tr.openedView(t, ViewUpdate)

	_, err := tr.svc.SetStatus(ctx, tr.inc.ID, incident.StatusResolved, tr.ic.ID, "Rolled back.")
	require.NoError(t, err)

	r := tr.submit(t, tr.ic.ID, v, updateFormValues(incident.StatusMitigated))
	errs := formErrors(t, r)
	require.Len(t, errs, 1, "%s", r.Body)
	msg := errs[blockUpdateStatus]
	require.Contains(t, msg, "changed to Resolved since you opened this form", msg)
	got, ok := tr.srv.View(v.ID)
	require.True(t, ok && got.Open, "the form stays open")
	require.Empty(t, got.ErrorKeysNotInput)

	require.Equal(t, incident.StatusResolved, tr.incident(t).Status)
	updates, err := tr.store.ListStatusUpdates(ctx, tr.inc.ID)
	require.NoError(t, err)
	require.Empty(t, updates, "nothing of a form with a conflict is posted")
}

// An update form whose private_metadata does not say the status it showed
// (opened by an older version of the bot) cannot tell an untouched status
// from a choice: one that would move the status is answered on the status
// field, to be opened again; one that leaves it as it is posts.
func TestUpdateFormWithoutItsStatusIsOpenedAgainToMoveIt(t *testing.T) {
	tr := newTransport(t)
	ctx := context.Background()
	oldForm := func() slackfake.View {
		tr.click(t, tr.ic.ID, ActionPostUpdate)
		v := tr.openedView(t, ViewUpdate)
		old, _ := json.Marshal(modalMeta{IncidentID: tr.inc.ID})
		sealed := tr.h.kit.seals.seal(slack.ModalViewRequest{CallbackID: ViewUpdate, PrivateMetadata: string(old)}, tr.ic.ID)
		var view map[string]any
		require.NoError(t, json.Unmarshal(v.JSON, &view))
		view["private_metadata"] = sealed.PrivateMetadata
		var err error
		v.JSON, err = json.Marshal(view)
		require.NoError(t, err)
		return v
	}

	errs := formErrors(t, tr.submit(t, tr.ic.ID, oldForm(), updateFormValues(incident.StatusMitigated)))
	require.Contains(t, errs[blockUpdateStatus], "open it again")
	require.Equal(t, incident.StatusInvestigating, tr.incident(t).Status)

	require.Nil(t, formErrors(t, tr.submit(t, tr.ic.ID, oldForm(), updateFormValues(incident.StatusInvestigating))))
	require.Equal(t, incident.StatusInvestigating, tr.incident(t).Status)
	updates, err := tr.store.ListStatusUpdates(ctx, tr.inc.ID)
	require.NoError(t, err)
	require.Len(t, updates, 1)
}

package bot_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestUpdateNoticeRedrawsInPlace: an alert proposal posted with its
// buttons (in a channel named as the policy names it) is redrawn with
// chat.update as its group grows, keeping its buttons; a redraw that
// changes nothing calls Slack not at all.
func TestUpdateNoticeRedrawsInPlace(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t)
	ch := f.botChannel(t, "checkout")
	ctx := context.Background()
	buttons := []incident.Button{{Action: incident.ActionAlertDeclare, Text: "Declare P1", Value: "7", Style: "danger"},
		{Action: incident.ActionAlertDismiss, Text: "Not an incident", Value: "7"}}
	n := incident.Notice{Kind: incident.NoticeAlertProposal, Actor: "alertmanager", Buttons: buttons,
		Values: map[string]string{"severity": "P1", "title": "HighErrorRate", "source": "Alertmanager", "service": "Checkout", "label": "critical"}}
	ts, err := f.chat.Roles().Notify(ctx, "#checkout", n)
	require.NoError(t, err)

	n.Values["alerts"], n.Values["firing"] = "3", "2"
	require.NoError(t, f.chat.Roles().UpdateNotice(ctx, "#checkout", ts, n))
	require.NoError(t, f.chat.Roles().UpdateNotice(ctx, "#checkout", ts, n)) // unchanged
	require.Len(t, f.srv.CallsTo("chat.update"), 1, "an unchanged redraw is not sent")
	msgs := f.srv.Messages(ch.ID)
	require.Len(t, msgs, 1)
	require.Equal(t, ts, msgs[0].TS)
	require.Contains(t, msgs[0].Text, "2 of 3 alerts of this rule still firing.")
	require.Contains(t, string(msgs[0].Blocks), incident.ActionAlertDeclare, "the buttons stay")

	err = f.chat.Roles().UpdateNotice(ctx, "#checkout", "1700000000.000001", n)
	require.Error(t, err, "a message that is not there")
}

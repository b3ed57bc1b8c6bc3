package bot

import (
	"strconv"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestUnknownButtonFormOrShortcutIsAnswered: a button, form or message
// shortcut the bot has no handler for (an older version's message or
// form, a shortcut added to the app's settings only) changes nothing and
// tells the person so: on the form, which stays open with what they wrote,
// and only to them for a button or a shortcut, rather than nothing at all.
func TestUnknownButtonFormOrShortcutIsAnswered(t *testing.T) {
	tr := newTransport(t)
	before := *tr.incident(t)
	toldOf := func(what string) bool {
		for _, e := range tr.srv.Ephemerals(tr.inc.ChannelID) {
			if e.User == tr.ic.ID && strings.Contains(e.Text, "This "+what+" is not one this version of the bot knows") {
				return true
			}
		}
		return false
	}

	tr.interact(t, slackfake.BlockActions(tr.ic.ID, tr.inc.ChannelID, tr.inc.PanelTS,
		&slack.BlockAction{ActionID: "incident_close_v0", Value: strconv.FormatInt(tr.inc.ID, 10)}))
	require.True(t, toldOf("button"), "the person who clicked is told")

	cb := slack.InteractionCallback{Type: slack.InteractionTypeMessageAction, CallbackID: "summarise_thread",
		User: slack.User{ID: tr.ic.ID}, Channel: slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: tr.inc.ChannelID}}},
		Message: slack.Message{Msg: slack.Msg{Text: "pool exhausted", User: tr.other.ID, Timestamp: "1786112000.000100"}}}
	tr.interact(t, &cb)
	require.True(t, toldOf("shortcut"), "the person who used the shortcut is told")

	tr.click(t, tr.ic.ID, ActionPostUpdate)
	v := tr.openedView(t, ViewUpdate)
	sub, err := slackfake.ViewSubmission(tr.ic.ID, v, map[string]map[string]slack.BlockAction{
		blockUpdateKnown: {blockUpdateKnown: {Value: "Payments fail for 4% of users."}}})
	require.NoError(t, err)
	sub.View.CallbackID = "update_v0"
	errs := formErrors(t, tr.interact(t, sub))
	require.Len(t, errs, 1, "the form says it was not taken")
	require.Contains(t, errs[blockUpdateStatus], "This form is not one this version of the bot knows")
	require.Contains(t, errs[blockUpdateStatus], "/incident help")

	after := tr.incident(t)
	require.Equal(t, before.Status, after.Status)
	require.Equal(t, before.LastUpdateAt, after.LastUpdateAt)
	require.Equal(t, before.Commander, after.Commander)
}

package capture_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// Slackbot's posts (a /remind firing, its canned answers) come as a user's
// message from USLACKBOT. They are kept on the timeline attributed to
// Slackbot, as another app's are, so that the postmortem does not count
// Slackbot as a responder; its tombstone of a deleted thread parent still
// marks the parent deleted. Live and read back.
func TestSlackbotIsAnAppNotAPerson(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind)
		ctx := context.Background()
		inc := openIncident(t, b)
		ts := func(sec int) string { return slackTS(inc, sec) }

		require.NoError(t, b.capt.CaptureMessage(ctx, incident.CapturedMessage{ChannelID: inc.ChannelID, TS: ts(10), User: "USLACKBOT",
			Text: "Reminder: check the checkout dashboards."}))
		require.NoError(t, b.capt.CaptureMessage(ctx, incident.CapturedMessage{ChannelID: inc.ChannelID, TS: ts(20), User: "U0ALICE",
			Text: "pool exhausted"}))
		b.chat.Messages[inc.ChannelID] = []incident.ChatMessage{
			{TS: ts(10), User: "USLACKBOT", Text: "Reminder: check the checkout dashboards."},
			{TS: ts(20), User: "U0ALICE", Text: "pool exhausted"},
			{TS: ts(30), User: "USLACKBOT", Text: "Reminder: post a status update."},
		}
		_, err := b.capt.Backfill(ctx, inc.ID)
		require.NoError(t, err)

		got := messages(t, b, inc.ID)
		require.Len(t, got, 3)
		for _, sec := range []int{10, 30} {
			ev := got[ts(sec)]
			require.Equal(t, "Slackbot", ev.Actor, "+%ds", sec)
			require.Equal(t, "Slackbot", msgData(ev).App)
			require.Empty(t, msgData(ev).User, "not a person's message")
		}
		require.Equal(t, "U0ALICE", got[ts(20)].Actor)
	})
}

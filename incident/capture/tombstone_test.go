package capture_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// Deleting a thread's parent leaves a tombstone in its place: Slack sends
// a message_changed whose message is
//
//	{"type":"message","subtype":"tombstone","text":"This message was deleted.","user":"USLACKBOT",
//	 "hidden":true,"ts":"<the parent's ts>","thread_ts":"<the parent's ts>","reply_count":1,...}
//
// and conversations.history keeps that tombstone in the parent's place. The
// transport hands both on as the message with user USLACKBOT and that
// text. It is a deletion, not an edit by Slackbot: the timeline marks the
// message deleted and keeps what it said, as for message_deleted.
func TestDeletedThreadParentIsADeletionNotAnEdit(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind)
		ctx := context.Background()
		inc := openIncident(t, b)
		ts := func(sec int) string { return slackTS(inc, sec) }
		capture := captureIn(t, b, inc)
		tombstone := func(sec int) incident.CapturedMessage {
			return incident.CapturedMessage{TS: ts(sec), ThreadTS: ts(sec), User: "USLACKBOT", Text: "This message was deleted.",
				Subtype: incident.SubtypeChanged}
		}

		capture(incident.CapturedMessage{TS: ts(10), User: "U0ALICE", Text: "rolling back the 14:02 deploy"})
		capture(incident.CapturedMessage{TS: ts(11), ThreadTS: ts(10), User: "U0BOB", Text: "go"})
		capture(tombstone(10))
		capture(tombstone(10)) // redelivered

		got := messages(t, b, inc.ID)
		parent := got[ts(10)]
		require.Equal(t, "rolling back the 14:02 deploy", parent.Text, "the text is kept for the record")
		require.Equal(t, "U0ALICE", parent.Actor)
		require.Equal(t, incident.MessageData{User: "U0ALICE", TS: ts(10), Deleted: true}, parent.Payload)
		require.Equal(t, "go", got[ts(11)].Text)

		// A parent deleted before the bot saw it: the timeline knows a
		// message was deleted there, not what it said nor that Slackbot
		// said anything; its late delivery does not bring it back.
		capture(tombstone(20))
		capture(incident.CapturedMessage{TS: ts(20), User: "U0CAROL", Text: "draining eu-west-1"})
		got = messages(t, b, inc.ID)
		require.True(t, msgData(got[ts(20)]).Deleted)
		require.NotEqual(t, "USLACKBOT", got[ts(20)].Actor)
		require.NotEqual(t, "This message was deleted.", got[ts(20)].Text)

		// Read back from the history, the tombstones change nothing, and
		// one for a parent never seen is no Slackbot message either.
		b.chat.Messages[inc.ChannelID] = []incident.ChatMessage{
			{TS: ts(10), ThreadTS: ts(10), User: "USLACKBOT", Text: "This message was deleted."},
			{TS: ts(11), ThreadTS: ts(10), User: "U0BOB", Text: "go"},
			{TS: ts(20), ThreadTS: ts(20), User: "USLACKBOT", Text: "This message was deleted."},
			{TS: ts(30), ThreadTS: ts(30), User: "USLACKBOT", Text: "This message was deleted."},
			{TS: ts(31), ThreadTS: ts(30), User: "U0DAVE", Text: "error rate is back to 0.1%"},
		}
		before := messages(t, b, inc.ID)
		_, err := b.capt.Backfill(ctx, inc.ID)
		require.NoError(t, err)
		got = messages(t, b, inc.ID)
		require.Equal(t, before[ts(10)], got[ts(10)])
		require.Equal(t, before[ts(20)], got[ts(20)])
		require.Equal(t, "error rate is back to 0.1%", got[ts(31)].Text)
		if unseen, ok := got[ts(30)]; ok {
			require.True(t, msgData(unseen).Deleted)
			require.NotEqual(t, "USLACKBOT", unseen.Actor)
			require.NotEqual(t, "This message was deleted.", unseen.Text)
		}

		// Slackbot's own messages (a /remind) are still messages.
		capture(incident.CapturedMessage{TS: ts(40), User: "USLACKBOT", Text: "Reminder: post an update."})
		require.Equal(t, "Reminder: post an update.", messages(t, b, inc.ID)[ts(40)].Text)
	})
}

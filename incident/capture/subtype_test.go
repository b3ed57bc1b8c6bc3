package capture_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// Slack keeps system messages in a channel's history beside what people
// say, told apart by their subtype
// (https://docs.slack.dev/reference/events/message): "<@U0EVE> has joined
// the channel" is a channel_join, a topic change a channel_topic, a pin a
// pinned_item, an app added a bot_add. Live capture ignores them by
// subtype; read back from the history (the catch-up after downtime, the
// postmortem's backfill) they are ignored by the same rule, so no join
// line reads on the timeline as if someone had said it.
func TestSystemMessagesAreNotConversation(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind)
		ctx := context.Background()
		inc := openIncident(t, b)
		ts := func(sec int) string { return slackTS(inc, sec) }

		system := []incident.ChatMessage{
			{TS: ts(1), Subtype: "channel_join", User: "U0EVE", Text: "<@U0EVE> has joined the channel"},
			{TS: ts(2), Subtype: "channel_leave", User: "U0FRED", Text: "<@U0FRED> has left the channel"},
			{TS: ts(3), Subtype: "channel_topic", User: "U0ALICE", Text: "<@U0ALICE> set the channel topic: SEV2 checkout"},
			{TS: ts(4), Subtype: "channel_purpose", User: "U0ALICE", Text: "<@U0ALICE> set the channel purpose: war room"},
			{TS: ts(5), Subtype: "channel_name", User: "U0ALICE", Text: `<@U0ALICE> has renamed the channel from "inc-1" to "inc-1-checkout"`},
			{TS: ts(6), Subtype: "pinned_item", User: "U0ALICE", Text: "<@U0ALICE> pinned a message to this channel."},
			{TS: ts(7), Subtype: "bot_add", User: "U0ALICE", App: "B0GH", Text: "added an integration to this channel: <https://x.slack.com/services/B0GH|github>"},
			{TS: ts(8), Subtype: "channel_archive", User: "U0ALICE", Text: "<@U0ALICE> archived the channel"},
		}
		said := []incident.ChatMessage{
			{TS: ts(20), User: "U0ALICE", Text: "checkout returns 500s"},
			{TS: ts(21), Subtype: "thread_broadcast", ThreadTS: ts(20), User: "U0BOB", Text: "rolling back"},
			{TS: ts(22), Subtype: "file_share", User: "U0CAROL", Text: "the error graph"},
			{TS: ts(23), Subtype: "me_message", User: "U0DAVE", Text: "is paging the DBA"},
			{TS: ts(24), Subtype: "bot_message", App: "PagerDuty", Text: "Incident triggered"},
		}

		// Live, each system message is delivered as a message event with
		// its subtype, and ignored.
		for _, m := range system {
			require.NoError(t, b.capt.CaptureMessage(ctx, incident.CapturedMessage{ChannelID: inc.ChannelID, TS: m.TS, User: m.User,
				Text: m.Text, Subtype: m.Subtype}))
		}
		require.Empty(t, messages(t, b, inc.ID))

		// A key reaction on the join leaves a placeholder; read back, the
		// join is in the history, so it was not deleted.
		require.NoError(t, b.capt.CaptureReaction(ctx, inc.ChannelID, ts(1), "pushpin", "U0ALICE"))

		b.chat.Messages[inc.ChannelID] = append(append([]incident.ChatMessage{}, system...), said...)
		added, err := b.capt.Backfill(ctx, inc.ID)
		require.NoError(t, err)
		require.Equal(t, len(said), added, "only what people and apps said is added")

		got := messages(t, b, inc.ID)
		for _, m := range system[1:] {
			require.NotContains(t, got, m.TS, "%s read back from the history", m.Subtype)
		}
		require.False(t, msgData(got[ts(1)]).Deleted, "a message still in the history is not deleted")
		require.Empty(t, got[ts(1)].Text, "the join's text is no message of anyone's")
		for _, m := range said {
			require.Equal(t, m.Text, got[m.TS].Text, "%q (%s)", m.Text, m.Subtype)
		}
		require.Equal(t, "PagerDuty", got[ts(24)].Actor)

		// Again: nothing new.
		added, err = b.capt.Backfill(ctx, inc.ID)
		require.NoError(t, err)
		require.Zero(t, added)
	})
}

// A deleted thread parent's tombstone is recognised by its subtype, live
// (the message inside message_changed) and read back, whatever its text
// and author say; the text-based check stays for a transport that does
// not pass the subtype on.
func TestTombstoneRecognisedBySubtype(t *testing.T) {
	t.Parallel()
	b := setupOn(t, storeMemory)
	ctx := context.Background()
	inc := openIncident(t, b)
	ts := func(sec int) string { return slackTS(inc, sec) }
	capture := captureIn(t, b, inc)

	capture(incident.CapturedMessage{TS: ts(10), User: "U0ALICE", Text: "rolling back the 14:02 deploy"})
	capture(incident.CapturedMessage{TS: ts(11), ThreadTS: ts(10), User: "U0BOB", Text: "go"})
	capture(incident.CapturedMessage{TS: ts(10), ThreadTS: ts(10), Subtype: incident.SubtypeChanged, MessageSubtype: incident.SubtypeTombstone,
		User: "USLACKBOT", Text: "Ce message a été supprimé."})
	got := messages(t, b, inc.ID)
	require.Equal(t, "rolling back the 14:02 deploy", got[ts(10)].Text, "the tombstone is no edit")
	require.True(t, msgData(got[ts(10)]).Deleted)

	// Deleting the last reply removes the tombstone too: Slack sends a
	// message_deleted whose previous message is the tombstone. It is no
	// Slackbot line either.
	capture(incident.CapturedMessage{TS: ts(30), Subtype: incident.SubtypeDeleted, MessageSubtype: incident.SubtypeTombstone,
		User: "USLACKBOT", Text: "This message was deleted."})
	if gone, ok := messages(t, b, inc.ID)[ts(30)]; ok {
		require.True(t, msgData(gone).Deleted)
		require.NotEqual(t, "USLACKBOT", gone.Actor)
		require.Empty(t, gone.Text)
	}

	// Read back: a tombstone with no author nor text is still one.
	b.chat.Messages[inc.ChannelID] = []incident.ChatMessage{
		{TS: ts(10), Subtype: incident.SubtypeTombstone, User: "USLACKBOT", Text: "Ce message a été supprimé."},
		{TS: ts(11), ThreadTS: ts(10), User: "U0BOB", Text: "go"},
		{TS: ts(40), Subtype: incident.SubtypeTombstone},
		{TS: ts(41), ThreadTS: ts(40), User: "U0DAVE", Text: "error rate is back to 0.1%"},
	}
	before := messages(t, b, inc.ID)
	_, err := b.capt.Backfill(ctx, inc.ID)
	require.NoError(t, err)
	got = messages(t, b, inc.ID)
	require.Equal(t, before[ts(10)], got[ts(10)])
	if unseen, ok := got[ts(40)]; ok {
		require.True(t, msgData(unseen).Deleted)
		require.Empty(t, unseen.Text)
	}
	require.Equal(t, "error rate is back to 0.1%", got[ts(41)].Text)
}

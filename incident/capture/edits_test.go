package capture_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// Slack does not deliver events in order, and a retry can arrive long
// after the events that followed it. Each message_changed carries the
// edit's time (message.edited.ts) and the history's messages carry the
// last one (edited.ts): the timeline keeps the newest edit, and an older
// one, or the message as it read before any edit (an unfurl delivered
// late), changes nothing.
func TestEditsOutOfOrderKeepTheNewest(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind)
		ctx := context.Background()
		inc := openIncident(t, b)
		ts := func(sec int) string { return slackTS(inc, sec) }
		capture := captureIn(t, b, inc)
		edit := func(sec int, user, text string, editedAt int) incident.CapturedMessage {
			m := incident.CapturedMessage{TS: ts(sec), User: user, Text: text, Subtype: incident.SubtypeChanged}
			if editedAt > 0 {
				m.Edited, m.EditedTS = true, ts(editedAt)
			}
			return m
		}

		// Two edits delivered newest first, then the older one's retry
		// and an unfurl of the message as first sent.
		capture(incident.CapturedMessage{TS: ts(10), User: "U0ALICE", Text: "checkout returns 500s"})
		capture(edit(10, "U0ALICE", "checkout returns 500s for cards and wallets", 30))
		capture(edit(10, "U0ALICE", "checkout returns 500s for cards", 20))
		capture(edit(10, "U0ALICE", "checkout returns 500s for cards", 20))
		capture(edit(10, "U0ALICE", "checkout returns 500s", 0))
		got := messages(t, b, inc.ID)
		require.Equal(t, "checkout returns 500s for cards and wallets", got[ts(10)].Text)
		require.Equal(t, incident.MessageData{User: "U0ALICE", TS: ts(10), Edited: true, EditedTS: ts(30)}, got[ts(10)].Payload)

		// An edit back to the text first sent is an edit too: the older
		// edit delivered after it does not win.
		capture(incident.CapturedMessage{TS: ts(40), User: "U0BOB", Text: "pool at 100%"})
		capture(edit(40, "U0BOB", "pool at 100%", 50))
		capture(edit(40, "U0BOB", "pool at 10%", 45))
		got = messages(t, b, inc.ID)
		require.Equal(t, "pool at 100%", got[ts(40)].Text)
		require.Equal(t, ts(50), msgData(got[ts(40)]).EditedTS)

		// The original missed: the newest edit stores the message, the
		// older edit and the late original change nothing.
		capture(edit(60, "U0CAROL", "draining eu-west-1 and eu-central-1", 70))
		capture(edit(60, "U0CAROL", "draining eu-west-1", 65))
		capture(incident.CapturedMessage{TS: ts(60), User: "U0CAROL", Text: "draining"})
		got = messages(t, b, inc.ID)
		require.Equal(t, "draining eu-west-1 and eu-central-1", got[ts(60)].Text)
		require.Equal(t, ts(70), msgData(got[ts(60)]).EditedTS)

		// A pin that overtook the message, then its edits out of order.
		require.NoError(t, b.capt.CapturePin(ctx, inc.ChannelID, ts(80), "U0ALICE"))
		capture(edit(80, "U0DAVE", "rolled back to 9f8e7d6, verifying", 90))
		capture(edit(80, "U0DAVE", "rolled back to 9f8e7d6", 85))
		got = messages(t, b, inc.ID)
		require.Equal(t, "rolled back to 9f8e7d6, verifying", got[ts(80)].Text)
		require.True(t, got[ts(80)].Key)

		// Read back: a history read before the newest edit was captured
		// live (the catch-up racing the events) does not undo it; a newer
		// edit in the history is taken.
		b.chat.Messages[inc.ChannelID] = []incident.ChatMessage{
			{TS: ts(10), User: "U0ALICE", Text: "checkout returns 500s for cards", Edited: true, EditedTS: ts(20)},
			{TS: ts(40), User: "U0BOB", Text: "pool at 100%"},
			{TS: ts(60), User: "U0CAROL", Text: "draining eu-west-1 and eu-central-1, done", Edited: true, EditedTS: ts(95)},
			{TS: ts(80), User: "U0DAVE", Text: "rolled back to 9f8e7d6, verifying", Edited: true, EditedTS: ts(90)},
		}
		_, err := b.capt.Backfill(ctx, inc.ID)
		require.NoError(t, err)
		got = messages(t, b, inc.ID)
		require.Equal(t, "checkout returns 500s for cards and wallets", got[ts(10)].Text)
		require.Equal(t, ts(30), msgData(got[ts(10)]).EditedTS)
		require.Equal(t, "pool at 100%", got[ts(40)].Text)
		require.Equal(t, "draining eu-west-1 and eu-central-1, done", got[ts(60)].Text)
		require.Equal(t, ts(95), msgData(got[ts(60)]).EditedTS)

		// And a late live edit older than the one read back changes nothing.
		capture(edit(60, "U0CAROL", "draining eu-west-1 and eu-central-1", 70))
		require.Equal(t, "draining eu-west-1 and eu-central-1, done", messages(t, b, inc.ID)[ts(60)].Text)
	})
}

// A message read back for the first time keeps its edit's time, so a
// late live edit older than it changes nothing.
func TestBackfilledEditKeepsItsTime(t *testing.T) {
	t.Parallel()
	b := setupOn(t, storeMemory)
	ctx := context.Background()
	inc := openIncident(t, b)
	ts := func(sec int) string { return slackTS(inc, sec) }

	b.chat.Messages[inc.ChannelID] = []incident.ChatMessage{
		{TS: ts(10), User: "U0ALICE", Text: "EU only", Edited: true, EditedTS: ts(30)},
	}
	added, err := b.capt.Backfill(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, 1, added)
	require.NoError(t, b.capt.CaptureMessage(ctx, incident.CapturedMessage{ChannelID: inc.ChannelID, TS: ts(10), User: "U0ALICE",
		Text: "EU and US", Subtype: incident.SubtypeChanged, Edited: true, EditedTS: ts(20)}))
	got := messages(t, b, inc.ID)[ts(10)]
	require.Equal(t, "EU only", got.Text)
	require.Equal(t, incident.MessageData{User: "U0ALICE", TS: ts(10), Edited: true, EditedTS: ts(30), Backfilled: true}, got.Payload)
}

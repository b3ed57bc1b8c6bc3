package capture_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// A message captured live and deleted while the bot was away (the
// message_deleted event missed) is no longer in the channel's history: the
// catch-up marks it deleted, so the postmortem does not quote it. Only what
// the read covered counts: a reply in a thread started before the read's
// oldest was not read back, and stays as captured.
func TestBackfillMarksMessagesDeletedWhileAway(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind)
		ctx := context.Background()
		inc := openIncident(t, b)
		ts := func(sec int) string { return slackTS(inc, sec) }
		capture := captureIn(t, b, inc)

		capture(incident.CapturedMessage{TS: ts(10), User: "U0ALICE", Text: "checkout returns 500s"})
		capture(incident.CapturedMessage{TS: ts(20), User: "U0BOB", Text: "the API key is sk_live_123"})
		capture(incident.CapturedMessage{TS: ts(30), User: "U0CAROL", Text: "looking at the pool"})
		capture(incident.CapturedMessage{TS: ts(31), ThreadTS: ts(30), User: "U0BOB", Text: "pool at 100%"})
		capture(incident.CapturedMessage{TS: ts(32), ThreadTS: ts(30), User: "U0ALICE", Text: "it's Bob's deploy"})
		capture(incident.CapturedMessage{TS: ts(40), ThreadTS: ts(-3600), User: "U0ALICE", Text: "same as last week"})

		b.chat.Messages[inc.ChannelID] = []incident.ChatMessage{
			{TS: ts(10), User: "U0ALICE", Text: "checkout returns 500s"},
			{TS: ts(30), User: "U0CAROL", Text: "looking at the pool"},
			{TS: ts(31), ThreadTS: ts(30), User: "U0BOB", Text: "pool at 100%"},
		}
		added, err := b.capt.Backfill(ctx, inc.ID)
		require.NoError(t, err)
		require.Zero(t, added)

		got := messages(t, b, inc.ID)
		for sec, deleted := range map[int]bool{10: false, 20: true, 30: false, 31: false, 32: true, 40: false} {
			require.Equal(t, deleted, msgData(got[ts(sec)]).Deleted, "message at +%ds deleted", sec)
		}
		require.Equal(t, "the API key is sk_live_123", got[ts(20)].Text, "the record keeps what it said")

		// A second catch-up changes nothing.
		added, err = b.capt.Backfill(ctx, inc.ID)
		require.NoError(t, err)
		require.Zero(t, added)
		require.Equal(t, got, messages(t, b, inc.ID))
	})
}

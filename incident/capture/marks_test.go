package capture_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// A message is a key event while one pin or key reaction remains on it.
// Slack times each add and removal (event_ts) and delivers them in no set
// order, retrying late: whatever order they come in, the message ends as
// the last of them left it.
func TestKeyMarksFollowTheLastEvent(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind)
		ctx := context.Background()
		inc := openIncident(t, b)
		ts := func(sec int) string { return slackTS(inc, sec) }
		at := func(sec int) string { return fmt.Sprintf("%d.000100", inc.DeclaredAt.Unix()+int64(sec)) }
		capture := captureIn(t, b, inc)
		mark := func(km incident.KeyMark) {
			t.Helper()
			km.ChannelID = inc.ChannelID
			require.NoError(t, b.capt.CaptureMark(ctx, km))
		}
		react := func(msg int, user string, removed bool, when int) {
			t.Helper()
			mark(incident.KeyMark{TS: ts(msg), Reaction: "pushpin", User: user, Removed: removed, EventTS: at(when)})
		}
		key := func(msg int) bool {
			t.Helper()
			return messages(t, b, inc.ID)[ts(msg)].Key
		}

		// Two :pushpin:s; one taken back, then the other.
		capture(incident.CapturedMessage{TS: ts(10), User: "U0BOB", Text: "rolled back to 9f8e7d6"})
		react(10, "U0ALICE", false, 11)
		react(10, "U0CAROL", false, 12)
		react(10, "U0ALICE", true, 13)
		require.True(t, key(10), "Carol's :pushpin: remains")
		require.Equal(t, "U0CAROL", msgData(messages(t, b, inc.ID)[ts(10)]).MarkedBy)
		react(10, "U0ALICE", true, 13) // a duplicate
		react(10, "U0CAROL", true, 14)
		require.False(t, key(10))
		require.Empty(t, msgData(messages(t, b, inc.ID)[ts(10)]).Marked)
		react(10, "U0CAROL", false, 12) // the add retried after its removal
		require.False(t, key(10), "the add is older than the removal")

		// Removed before added, both before the message itself.
		react(20, "U0ALICE", true, 22)
		react(20, "U0ALICE", false, 21)
		capture(incident.CapturedMessage{TS: ts(20), User: "U0BOB", Text: "pool at 100%"})
		got := messages(t, b, inc.ID)[ts(20)]
		require.False(t, got.Key)
		require.Equal(t, "pool at 100%", got.Text, "the placeholder the removal left is filled")

		// Taken back, then marked again: key.
		capture(incident.CapturedMessage{TS: ts(30), User: "U0BOB", Text: "flag off"})
		react(30, "U0ALICE", false, 31)
		react(30, "U0ALICE", true, 32)
		react(30, "U0ALICE", false, 33)
		require.True(t, key(30))

		// A pin and a :pushpin:: unpinned, the reaction still marks it.
		capture(incident.CapturedMessage{TS: ts(40), User: "U0BOB", Text: "root cause: pool size"})
		mark(incident.KeyMark{TS: ts(40), Pin: true, User: "U0ALICE", EventTS: at(41)})
		react(40, "U0CAROL", false, 42)
		mark(incident.KeyMark{TS: ts(40), Pin: true, User: "U0BOB", Removed: true, EventTS: at(43)})
		require.True(t, key(40))
		require.Equal(t, "reaction", msgData(messages(t, b, inc.ID)[ts(40)]).Marked)
		react(40, "U0CAROL", true, 44)
		require.False(t, key(40))

		// Other reactions mark nothing and take nothing back; the panel is
		// never a key event.
		capture(incident.CapturedMessage{TS: ts(50), User: "U0BOB", Text: "deploying fix"})
		react(50, "U0ALICE", false, 51)
		mark(incident.KeyMark{TS: ts(50), Reaction: "eyes", User: "U0ALICE", Removed: true, EventTS: at(52)})
		require.True(t, key(50))
		mark(incident.KeyMark{TS: inc.PanelTS, Pin: true, User: "U0ALICE", EventTS: at(53)})
		_, panel := messages(t, b, inc.ID)[inc.PanelTS]
		require.False(t, panel)
	})
}

// A message marked before marks were recorded (Marked and MarkedBy, no
// Marks) is unmarked when that mark is taken back.
func TestKeyMarkRecordedBeforeMarksIsTakenBack(t *testing.T) {
	t.Parallel()
	b := setupOn(t, storeMemory)
	ctx := context.Background()
	inc := openIncident(t, b)
	ts := slackTS(inc, 10)
	require.NoError(t, b.store.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventMessage, Actor: "U0BOB",
		At: incident.SlackTime(ts), Text: "rolled back", Key: true, SourceID: "msg:" + ts,
		Payload: incident.MessageData{User: "U0BOB", TS: ts, Marked: "reaction", MarkedBy: "U0ALICE"}}))
	require.NoError(t, b.capt.CaptureMark(ctx, incident.KeyMark{ChannelID: inc.ChannelID, TS: ts, Reaction: "pushpin", User: "U0ALICE",
		Removed: true, EventTS: fmt.Sprintf("%d.000000", inc.DeclaredAt.Unix()+20)}))
	require.False(t, messages(t, b, inc.ID)[ts].Key)
}

// The catch-up reads pins and reactions from the channel's history: a mark
// taken back while the bot was away is taken back, a mark it never saw is
// added, and a mark added or taken back after the read is left as it is.
func TestBackfillReconcilesKeyMarks(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind)
		ctx := context.Background()
		inc := openIncident(t, b)
		ts := func(sec int) string { return slackTS(inc, sec) }
		capture := captureIn(t, b, inc)
		now := func(d time.Duration) string {
			t := b.clock.Now().Add(d)
			return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
		}
		for sec, text := range map[int]string{10: "unpinned while away", 20: "reacted while away", 30: "pinned after the read", 40: "kept"} {
			capture(incident.CapturedMessage{TS: ts(sec), User: "U0BOB", Text: text})
		}
		mark := func(sec int, pin, removed bool, eventTS string) {
			t.Helper()
			km := incident.KeyMark{ChannelID: inc.ChannelID, TS: ts(sec), Pin: pin, User: "U0ALICE", Removed: removed, EventTS: eventTS}
			if !pin {
				km.Reaction = "pushpin"
			}
			require.NoError(t, b.capt.CaptureMark(ctx, km))
		}
		mark(10, true, false, now(-10*time.Minute))
		mark(40, false, false, now(-10*time.Minute))
		// Marked live a moment after the history was read: the history
		// does not show it yet.
		mark(30, true, false, now(30*time.Second))
		b.chat.Messages[inc.ChannelID] = []incident.ChatMessage{
			{TS: ts(10), User: "U0BOB", Text: "unpinned while away"},
			{TS: ts(20), User: "U0BOB", Text: "reacted while away", Reactions: []string{"eyes", "pushpin"}},
			{TS: ts(30), User: "U0BOB", Text: "pinned after the read"},
			{TS: ts(40), User: "U0BOB", Text: "kept", Reactions: []string{"pushpin"}},
		}
		_, err := b.capt.Backfill(ctx, inc.ID)
		require.NoError(t, err)
		got := messages(t, b, inc.ID)
		require.False(t, got[ts(10)].Key, "unpinned while the bot was away")
		require.True(t, got[ts(20)].Key, "reacted while the bot was away")
		require.True(t, got[ts(30)].Key, "pinned after the read")
		require.True(t, got[ts(40)].Key)
		require.Equal(t, "U0ALICE", msgData(got[ts(40)]).MarkedBy, "the mark the history shows is the one recorded")

		// The reaction the history showed, nobody's, is taken back by
		// the next read that no longer shows it.
		b.clock.Advance(5 * time.Minute)
		b.chat.Messages[inc.ChannelID][1].Reactions = []string{"eyes"}
		_, err = b.capt.Backfill(ctx, inc.ID)
		require.NoError(t, err)
		require.False(t, messages(t, b, inc.ID)[ts(20)].Key)
	})
}

// A pin or :pushpin: on one of the channel's system messages (a join, a
// topic change) leaves a placeholder that no message event fills, as the
// capture takes no system messages: the catch-up, which sees the message
// in the history as a system message, takes the marks off the
// placeholder, so the postmortem lists no key event without text.
func TestKeyMarkOnASystemMessageDropped(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind)
		ctx := context.Background()
		inc := openIncident(t, b)
		ts := func(sec int) string { return slackTS(inc, sec) }
		at := func(sec int) string { return fmt.Sprintf("%d.000100", inc.DeclaredAt.Unix()+int64(sec)) }
		capture := captureIn(t, b, inc)
		capture(incident.CapturedMessage{TS: ts(20), User: "U0BOB", Text: "rolled back"})
		require.NoError(t, b.capt.CaptureMark(ctx, incident.KeyMark{ChannelID: inc.ChannelID, TS: ts(10), Reaction: "pushpin",
			User: "U0ALICE", EventTS: at(11)}))
		require.NoError(t, b.capt.CaptureMark(ctx, incident.KeyMark{ChannelID: inc.ChannelID, TS: ts(20), Pin: true,
			User: "U0ALICE", EventTS: at(21)}))
		b.chat.Messages[inc.ChannelID] = []incident.ChatMessage{
			{TS: ts(10), User: "U0CAROL", Subtype: "channel_join", Text: "<@U0CAROL> has joined the channel", Reactions: []string{"pushpin"}},
			{TS: ts(20), User: "U0BOB", Text: "rolled back", Pinned: true},
		}
		_, err := b.capt.Backfill(ctx, inc.ID)
		require.NoError(t, err)
		got := messages(t, b, inc.ID)
		for src, ev := range got {
			if ev.Key {
				require.NotEmpty(t, ev.Text, "key event %s has no text", src)
			}
		}
		require.False(t, msgData(got[ts(10)]).Deleted, "the join is still in the history")
		require.True(t, got[ts(20)].Key)
	})
}

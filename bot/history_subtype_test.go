package bot_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/capture"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// The history Slack returns holds system messages beside what people say,
// each with its subtype (https://docs.slack.dev/reference/events/message):
// joins, leaves, topic, purpose and name changes, pins, apps added, and the
// tombstone of a deleted thread parent. History hands the subtype on, and
// the time of a message's last edit, so a catch-up applies the rule live
// capture applies: none of them lands on the timeline as something said.
func TestHistorySystemMessages(t *testing.T) {
	f := newChatFixture(t)
	ctx := context.Background()
	ch, err := f.chat.CreateChannel(ctx, "inc-2026-03-01-checkout", false)
	require.NoError(t, err)
	add := func(m slackfake.Message) string {
		t.Helper()
		m.Channel = ch
		stored, ok := f.srv.AddMessage(m)
		require.True(t, ok)
		return stored.TS
	}

	alice, bob := f.alice.ID, f.bob.ID
	join := add(slackfake.Message{Subtype: "channel_join", User: bob, Inviter: alice, Text: "<@" + bob + "> has joined the channel"})
	said := add(slackfake.Message{User: alice, Text: "checkout returns 500s"})
	edited := add(slackfake.Message{User: bob, Text: "pool at 100%, restarting", EditedTS: "1772366500.000000"})
	add(slackfake.Message{Subtype: "channel_topic", User: alice, Topic: "SEV1 checkout", Text: "<@" + alice + "> set the channel topic: SEV1 checkout"})
	add(slackfake.Message{Subtype: "channel_purpose", User: alice, Purpose: "war room", Text: "<@" + alice + "> set the channel purpose: war room"})
	add(slackfake.Message{Subtype: "channel_name", User: alice, OldName: "inc-1", Name: "inc-2026-03-01-checkout",
		Text: `<@` + alice + `> has renamed the channel from "inc-1" to "inc-2026-03-01-checkout"`})
	add(slackfake.Message{Subtype: "pinned_item", User: alice, Text: "<@" + alice + "> pinned a message to this channel."})
	add(slackfake.Message{Subtype: "bot_add", User: alice, BotID: "B0GH", BotLink: "<https://x.slack.com/services/B0GH|github>",
		Text: "added an integration to this channel: <https://x.slack.com/services/B0GH|github>"})
	add(slackfake.Message{Subtype: "channel_leave", User: bob, Text: "<@" + bob + "> has left the channel"})
	parent := add(slackfake.Message{Subtype: "tombstone", User: "USLACKBOT", Text: "This message was deleted."})
	reply := add(slackfake.Message{ThreadTS: parent, User: bob, Text: "rolled back"})

	msgs, err := f.chat.History(ctx, ch, chatNow.Add(-time.Hour))
	require.NoError(t, err)
	byTS := map[string]incident.ChatMessage{}
	var subtypes []string
	for _, m := range msgs {
		byTS[m.TS] = m
		if m.Subtype != "" {
			subtypes = append(subtypes, m.Subtype)
		}
	}
	require.ElementsMatch(t, []string{"channel_join", "channel_topic", "channel_purpose", "channel_name", "pinned_item", "bot_add",
		"channel_leave", "tombstone"}, subtypes)
	require.Equal(t, "channel_join", byTS[join].Subtype)
	require.Empty(t, byTS[said].Subtype)
	require.True(t, byTS[edited].Edited)
	require.Equal(t, "1772366500.000000", byTS[edited].EditedTS)
	require.Equal(t, parent, byTS[reply].ThreadTS, "the tombstone's replies are read")

	// A catch-up over this history records what people said, and only that.
	clock := incidenttest.NewClock(chatNow)
	store := incidenttest.NewMemStore(clock)
	inc, err := store.CreateIncident(ctx, &incident.Incident{Title: "checkout is down", Severity: incident.P1, Status: incident.StatusInvestigating,
		DeclaredBy: alice, Commander: alice, Roles: map[string]string{}, ChannelID: ch, DeclaredAt: chatNow.Add(-10 * time.Minute)})
	require.NoError(t, err)
	capt := capture.New(capture.Config{Store: store, Chat: f.chat, Clock: clock})
	added, err := capt.Backfill(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, 4, added, "the message, the edited one, the reply and its deleted parent")
	events, err := store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	var texts []string
	for _, ev := range events {
		if ev.Kind != incident.EventMessage {
			continue
		}
		if d, _ := ev.Payload.(incident.MessageData); d.TS == parent {
			require.True(t, d.Deleted, "the tombstone's place is a deleted message")
			require.Empty(t, ev.Text)
			continue
		}
		texts = append(texts, ev.Text)
	}
	require.ElementsMatch(t, []string{"checkout returns 500s", "pool at 100%, restarting", "rolled back"}, texts)
}

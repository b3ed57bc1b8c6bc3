package slackfake_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// System messages come back from conversations.history in the shape Slack
// documents for each subtype (https://docs.slack.dev/reference/events/message
// and its subtype pages): the subtype, the author, the generated text, and
// the subtype's own fields; a tombstone is hidden, and an edited message
// says when it was edited.
func TestHistorySystemMessageShapes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	add := func(m slackfake.Message) string {
		t.Helper()
		m.Channel = f.incident.ID
		stored, ok := f.srv.AddMessage(m)
		require.True(t, ok)
		return stored.TS
	}
	alice, bob := f.alice.ID, f.bob.ID
	join := add(slackfake.Message{Subtype: "channel_join", User: bob, Inviter: alice, Text: "<@" + bob + "> has joined the channel"})
	leave := add(slackfake.Message{Subtype: "channel_leave", User: bob, Text: "<@" + bob + "> has left the channel"})
	topic := add(slackfake.Message{Subtype: "channel_topic", User: alice, Topic: "SEV1", Text: "<@" + alice + "> set the channel topic: SEV1"})
	purpose := add(slackfake.Message{Subtype: "channel_purpose", User: alice, Purpose: "war room", Text: "<@" + alice + "> set the channel purpose: war room"})
	name := add(slackfake.Message{Subtype: "channel_name", User: alice, OldName: "inc-1", Name: "inc-1-checkout",
		Text: `<@` + alice + `> has renamed the channel from "inc-1" to "inc-1-checkout"`})
	pinned := add(slackfake.Message{Subtype: "pinned_item", User: alice, Text: "<@" + alice + "> pinned a message to this channel."})
	botAdd := add(slackfake.Message{Subtype: "bot_add", User: alice, BotID: "B0GH", BotLink: "<https://x.slack.com/services/B0GH|github>",
		Text: "added an integration to this channel: <https://x.slack.com/services/B0GH|github>"})
	tomb := add(slackfake.Message{Subtype: "tombstone", User: "USLACKBOT", Text: "This message was deleted."})
	add(slackfake.Message{ThreadTS: tomb, User: bob, Text: "rolled back"})
	edited := add(slackfake.Message{User: alice, Text: "checkout is back", EditedTS: "1700000000.000900"})

	resp, err := http.PostForm(f.srv.URL()+"conversations.history", url.Values{"token": {f.srv.BotToken()}, "channel": {f.incident.ID}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		OK       bool             `json:"ok"`
		Messages []map[string]any `json:"messages"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.True(t, body.OK)
	byTS := map[string]map[string]any{}
	for _, m := range body.Messages {
		byTS[m["ts"].(string)] = m
	}

	require.Subset(t, byTS[join], map[string]any{"type": "message", "subtype": "channel_join", "user": bob, "inviter": alice})
	require.Subset(t, byTS[leave], map[string]any{"subtype": "channel_leave", "user": bob})
	require.NotContains(t, byTS[leave], "inviter")
	require.Subset(t, byTS[topic], map[string]any{"subtype": "channel_topic", "topic": "SEV1"})
	require.Subset(t, byTS[purpose], map[string]any{"subtype": "channel_purpose", "purpose": "war room"})
	require.Subset(t, byTS[name], map[string]any{"subtype": "channel_name", "old_name": "inc-1", "name": "inc-1-checkout"})
	require.Subset(t, byTS[pinned], map[string]any{"subtype": "pinned_item", "item_type": "C"})
	require.Subset(t, byTS[botAdd], map[string]any{"subtype": "bot_add", "bot_id": "B0GH", "bot_link": "<https://x.slack.com/services/B0GH|github>"})
	require.NotContains(t, byTS[botAdd], "app_id", "the app added is not the fake's own")
	require.Subset(t, byTS[tomb], map[string]any{"subtype": "tombstone", "hidden": true, "user": "USLACKBOT", "thread_ts": tomb})
	require.EqualValues(t, 1, byTS[tomb]["reply_count"])
	require.NotContains(t, byTS[edited], "subtype", "what a person says has no subtype")
	require.Equal(t, map[string]any{"user": alice, "ts": "1700000000.000900"}, byTS[edited]["edited"])
	for _, m := range body.Messages {
		require.NotEmpty(t, m["text"], "every message has its text")
	}
}

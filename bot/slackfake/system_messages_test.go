package slackfake_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestInviteAndTopicLeaveSystemMessages: as in Slack, each person
// conversations.invite adds leaves a channel_join message naming the
// inviter, and conversations.setTopic leaves a channel_topic message, in
// the channel's history, where a search for the bot's own posts has to
// read past them.
func TestInviteAndTopicLeaveSystemMessages(t *testing.T) {
	t.Parallel()
	f := setup(t)
	carol := f.srv.AddUser(slackfake.User{Name: "carol"})
	_, err := f.api.ForceInviteUsersToConversation(f.incident.ID, f.bob.ID, carol.ID, f.alice.ID)
	require.NoError(t, err, "alice, already in, is reported and the others invited")
	_, err = f.api.SetTopicOfConversation(f.incident.ID, "P1 · investigating")
	require.NoError(t, err)

	msgs := f.srv.Messages(f.incident.ID)
	require.Len(t, msgs, 3, "one join per person invited, and the topic")
	for i, user := range []string{f.bob.ID, carol.ID} {
		require.Equal(t, "channel_join", msgs[i].Subtype)
		require.Equal(t, user, msgs[i].User)
		require.Equal(t, f.srv.BotUserID(), msgs[i].Inviter)
	}
	require.Equal(t, "channel_topic", msgs[2].Subtype)
	require.Equal(t, "P1 · investigating", msgs[2].Topic)
	require.Equal(t, f.srv.BotUserID(), msgs[2].User)

	hist, err := f.api.GetConversationHistoryContext(context.Background(), &slack.GetConversationHistoryParameters{ChannelID: f.incident.ID})
	require.NoError(t, err)
	require.Len(t, hist.Messages, 3)
	require.Equal(t, "channel_topic", hist.Messages[0].SubType, "newest first")
	require.Equal(t, "channel_join", hist.Messages[2].SubType)
}

// TestPostMessageMetadataIsValidated: chat.postMessage takes metadata of
// the shape Slack documents (docs.slack.dev/messaging/message-metadata):
// an object with an event_type and an event_payload object; anything else
// is refused and nothing is posted.
func TestPostMessageMetadataIsValidated(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, tt := range []struct{ name, metadata, want string }{
		{"valid", `{"event_type":"firebreak_post","event_payload":{"key":"panel:7"}}`, ""},
		{"not JSON", `{"event_type":`, "invalid_metadata_format"},
		{"not an object", `["firebreak_post"]`, "invalid_metadata_format"},
		{"no event_type", `{"event_payload":{"key":"panel:7"}}`, "invalid_metadata_schema"},
		{"empty event_type", `{"event_type":"","event_payload":{}}`, "invalid_metadata_schema"},
		{"payload not an object", `{"event_type":"firebreak_post","event_payload":"panel:7"}`, "invalid_metadata_schema"},
		{"no payload", `{"event_type":"firebreak_post"}`, "invalid_metadata_schema"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.srv.Messages(f.incident.ID))
			resp, err := http.PostForm(f.srv.URL()+"chat.postMessage", url.Values{"token": {f.srv.BotToken()}, "channel": {f.incident.ID},
				"text": {"hello"}, "metadata": {tt.metadata}})
			require.NoError(t, err)
			defer func() { _ = resp.Body.Close() }()
			var body struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			require.Equal(t, tt.want, body.Error)
			require.Equal(t, tt.want == "", body.OK)
			after := len(f.srv.Messages(f.incident.ID))
			if tt.want == "" {
				require.Equal(t, before+1, after)
			} else {
				require.Equal(t, before, after, "a refused post posts nothing")
			}
		})
	}
}

package bot_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// A retried job posts where the bot may write but cannot read: the
// broadcast channel it posts to with chat:write.public without joining
// (conversations.history answers not_in_channel), and a direct message
// without im:history (missing_scope). The search for an earlier copy is
// given up and the message is posted once more, so the retry succeeds.
func TestPostOnceRetryWhereHistoryIsUnreadable(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t, func(c *chatFixtureConfig) {
		c.fakeOpts = append(c.fakeOpts, slackfake.WithChatWritePublic(), slackfake.WithoutScope("im:history"))
	})
	broadcast := f.srv.AddChannel(slackfake.Channel{Name: "incidents", Members: []string{f.alice.ID}})
	dm := f.srv.AddChannel(slackfake.Channel{ID: "D" + f.alice.ID, Private: true, Members: []string{f.srv.BotUserID(), f.alice.ID}})

	for _, tt := range []struct{ name, channel, code string }{
		{"broadcast channel not joined", broadcast.ID, "not_in_channel"},
		{"direct message without im:history", dm.ID, "missing_scope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The fake answers the lookup as Slack does.
			api := slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL()))
			_, err := api.GetConversationHistoryContext(context.Background(), &slack.GetConversationHistoryParameters{ChannelID: tt.channel})
			require.ErrorContains(t, err, tt.code)

			f.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
				if c.Method == "chat.postMessage" && c.Args.Get("channel") == tt.channel {
					return slackfake.TookEffectThen(http.StatusInternalServerError)
				}
				return nil
			})
			_, err = f.chat.Post(incident.WithJobRun(context.Background(), 7, 1, 5), tt.channel, "INC-7 resolved")
			require.Error(t, err)
			f.srv.ClearFaults()

			ts, err := f.chat.Post(incident.WithJobRun(context.Background(), 7, 2, 5), tt.channel, "INC-7 resolved")
			require.NoError(t, err, "the retry posts although it cannot look for the earlier copy")
			require.NotEmpty(t, ts)
			require.Len(t, f.srv.Messages(tt.channel), 2, "posted once more: the earlier copy could not be looked for")
		})
	}
}

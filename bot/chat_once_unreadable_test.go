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
// broadcast channel it posts to with chat:write.public without being in it
// (conversations.history answers not_in_channel) and a direct message
// without im:history (missing_scope). The bot joins the public channel
// (channels:join) and finds its earlier copy there; where it cannot join (an
// install without channels:join) or read (the direct message), the search is
// given up and the message is posted once more, so the retry succeeds.
func TestPostOnceRetryWhereHistoryIsUnreadable(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, code string
		dm, noJoin bool
		want       int
	}{
		{name: "broadcast channel not joined: joined and adopted", code: "not_in_channel", want: 1},
		{name: "broadcast channel, no channels:join", code: "not_in_channel", noJoin: true, want: 2},
		{name: "direct message without im:history", code: "missing_scope", dm: true, want: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newChatFixture(t, func(c *chatFixtureConfig) {
				c.fakeOpts = append(c.fakeOpts, slackfake.WithChatWritePublic(), slackfake.WithoutScope("im:history"))
				if tt.noJoin {
					c.fakeOpts = append(c.fakeOpts, slackfake.WithoutScope("channels:join"))
				}
			})
			channel := f.srv.AddChannel(slackfake.Channel{Name: "incidents", Members: []string{f.alice.ID}}).ID
			if tt.dm {
				channel = f.srv.AddChannel(slackfake.Channel{ID: "D" + f.alice.ID, Private: true, Members: []string{f.srv.BotUserID(), f.alice.ID}}).ID
			}
			// The fake answers the lookup as Slack does.
			api := slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL()))
			_, err := api.GetConversationHistoryContext(context.Background(), &slack.GetConversationHistoryParameters{ChannelID: channel})
			require.ErrorContains(t, err, tt.code)

			f.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
				if c.Method == "chat.postMessage" && c.Args.Get("channel") == channel {
					return slackfake.TookEffectThen(http.StatusInternalServerError)
				}
				return nil
			})
			_, err = f.chat.Post(incident.WithJobRun(context.Background(), 7, 1, 5), channel, "INC-7 resolved")
			require.Error(t, err)
			f.srv.ClearFaults()

			ts, err := f.chat.Post(incident.WithJobRun(context.Background(), 7, 2, 5), channel, "INC-7 resolved")
			require.NoError(t, err, "the retry succeeds")
			require.NotEmpty(t, ts)
			require.Len(t, f.srv.Messages(channel), tt.want)
		})
	}
}

package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// A reply through a response_url that took effect and then answered 500 is
// seen once: the transport does not send it again, and the reply does not
// try another way after an answer that does not say it failed.
func TestResponseURLReplyTookEffectThen500IsSeenOnce(t *testing.T) {
	t.Parallel()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	alice := fake.AddUser(slackfake.User{Name: "alice"})
	ch := fake.AddChannel(slackfake.Channel{Name: "general", Members: []string{alice.ID, slackfake.DefaultBotUserID}})
	url := fake.NewResponseURL(ch.ID, alice.ID)
	fake.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if c.Method == slackfake.ResponseURLMethod {
			return slackfake.TookEffectThen(http.StatusInternalServerError)
		}
		return nil
	})
	// The client as serve builds it.
	out := outbound.New(outbound.Policy{Provider: "slack", Operation: outbound.SlackOperation, Retryable: slackRetryable,
		RateKey: outbound.SlackRateKey})
	api := slack.New(fake.BotToken(), slack.OptionAPIURL(fake.URL()), slack.OptionHTTPClient(out.HTTPClient()))
	chat := bot.NewChat(api, incident.DefaultPolicy())

	_ = chat.Reply(context.Background(), incident.ReplyTarget{ResponseURL: url, ChannelID: ch.ID, UserID: alice.ID}, "Declaring INC-1")

	require.Equal(t, 1, len(fake.ResponsePosts(url)), "the response_url post is not repeated")
	require.Empty(t, fake.CallsTo("chat.postEphemeral"), "nor said again another way")
	require.Len(t, fake.Ephemerals(ch.ID), 1, "alice sees the reply once")
}

// Only Web API methods whose repetition duplicates nothing are retried;
// a post to a response_url, which has no method name, is never.
func TestSlackRetryable(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		method, url string
		want        bool
	}{
		{http.MethodPost, "https://slack.com/api/conversations.info", true},
		{http.MethodPost, "https://slack.com/api/chat.postMessage", false},
		{http.MethodPost, "https://slack.com/api/chat.postEphemeral", false},
		{http.MethodPost, "https://hooks.slack.com/commands/T0001/1234/abcd", false},
		{http.MethodPost, "https://hooks.slack.com/actions/T0001/1234/abcd", false},
		{http.MethodPost, "https://slack.example/response/T0001", false},
	} {
		req, err := http.NewRequest(tt.method, tt.url, nil)
		require.NoError(t, err)
		require.Equal(t, tt.want, slackRetryable(req), tt.url)
	}
}

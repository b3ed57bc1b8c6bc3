package slackfake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

func TestRateLimitsEnforceTiers(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	srv := slackfake.New(slackfake.WithRateLimits(), slackfake.WithClock(clock))
	t.Cleanup(srv.Close)
	api := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL()))
	ctx := context.Background()

	// conversations.create is Tier 2: 20 per minute.
	for i := 0; i < slackfake.Tier2; i++ {
		_, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-" + string(rune('a'+i))})
		require.NoError(t, err, i)
	}
	_, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-over"})
	var rl *slack.RateLimitedError
	require.True(t, errors.As(err, &rl), "the 21st call in a minute is rate limited: %v", err)
	require.Equal(t, time.Minute, rl.RetryAfter, "Retry-After says when a slot frees")

	now = now.Add(61 * time.Second)
	_, err = api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-later"})
	require.NoError(t, err, "the window slides")

	// chat.postMessage is limited per channel.
	ch, _ := srv.Channel("inc-later")
	for i := 0; i < 60; i++ {
		_, _, err := api.PostMessageContext(ctx, ch.ID, slack.MsgOptionText("x", false))
		require.NoError(t, err)
	}
	_, _, err = api.PostMessageContext(ctx, ch.ID, slack.MsgOptionText("x", false))
	require.True(t, errors.As(err, &rl))
	other, _ := srv.Channel("inc-a")
	_, _, err = api.PostMessageContext(ctx, other.ID, slack.MsgOptionText("x", false))
	require.NoError(t, err, "another channel has its own budget")
}

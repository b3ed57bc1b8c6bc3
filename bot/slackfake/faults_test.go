package slackfake_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

func TestRateLimitNext(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.srv.RateLimitNext("chat.postMessage", 2, 7*time.Second)

	for range 2 {
		_, _, err := f.api.PostMessage(f.incident.ID, slack.MsgOptionText("hi", false))
		var rl *slack.RateLimitedError
		require.ErrorAs(t, err, &rl)
		require.Equal(t, 7*time.Second, rl.RetryAfter)
	}
	_, _, err := f.api.PostMessage(f.incident.ID, slack.MsgOptionText("hi", false))
	require.NoError(t, err, "only the next two calls are limited")

	calls := f.srv.CallsTo("chat.postMessage")
	require.Len(t, calls, 3)
	require.Equal(t, http.StatusTooManyRequests, calls[0].Status)
	require.Equal(t, "ratelimited", calls[0].Error)
	require.True(t, calls[2].OK())
	require.Len(t, f.srv.Messages(f.incident.ID), 1, "limited calls change nothing")
}

func TestFailNextAndOtherMethodsUnaffected(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.srv.FailNext("chat.postMessage", 1, http.StatusServiceUnavailable)

	_, err := f.api.AuthTest()
	require.NoError(t, err)
	_, _, err = f.api.PostMessage(f.incident.ID, slack.MsgOptionText("hi", false))
	var sce slack.StatusCodeError
	require.ErrorAs(t, err, &sce)
	require.Equal(t, http.StatusServiceUnavailable, sce.Code)
	_, _, err = f.api.PostMessage(f.incident.ID, slack.MsgOptionText("hi", false))
	require.NoError(t, err)

	f.srv.FailNext("", 1, http.StatusInternalServerError)
	_, err = f.api.AuthTest()
	require.ErrorAs(t, err, &sce)
	require.Equal(t, http.StatusInternalServerError, sce.Code)

	f.srv.ErrorNext("conversations.create", 1, "restricted_action")
	_, err = f.api.CreateConversation(slack.CreateConversationParams{ChannelName: "inc-2"})
	require.Equal(t, "restricted_action", slackErr(t, err))
}

func TestFailFractionIsDeterministic(t *testing.T) {
	t.Parallel()
	pattern := func() []bool {
		f := setup(t, slackfake.WithSeed(42))
		f.srv.FailFraction("auth.test", 0.5, http.StatusBadGateway)
		var failed []bool
		for range 40 {
			_, err := f.api.AuthTest()
			failed = append(failed, err != nil)
		}
		return failed
	}
	first, second := pattern(), pattern()
	require.Equal(t, first, second)
	n := 0
	for _, failed := range first {
		if failed {
			n++
		}
	}
	require.Greater(t, n, 5)
	require.Less(t, n, 35)
}

func TestOnCallHook(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if c.Method == "chat.postMessage" && c.Args.Get("text") == "boom" {
			return slackfake.ServerError(http.StatusInternalServerError)
		}
		return nil
	})
	_, _, err := f.api.PostMessage(f.incident.ID, slack.MsgOptionText("boom", false))
	var sce slack.StatusCodeError
	require.ErrorAs(t, err, &sce)
	_, _, err = f.api.PostMessage(f.incident.ID, slack.MsgOptionText("fine", false))
	require.NoError(t, err)

	f.srv.ClearFaults()
	_, _, err = f.api.PostMessage(f.incident.ID, slack.MsgOptionText("boom", false))
	require.NoError(t, err)
}

func TestLatencyInjection(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.srv.SetLatency("conversations.create", time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := f.api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "slow"})
	require.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)

	_, err = f.api.AuthTest()
	require.NoError(t, err, "other methods are not delayed")
	require.Eventually(t, func() bool { return len(f.srv.CallsTo("conversations.create")) == 1 },
		5*time.Second, 10*time.Millisecond, "the abandoned call is recorded")
	_, found := f.srv.Channel("slow")
	require.False(t, found, "an abandoned call has no effect")
}

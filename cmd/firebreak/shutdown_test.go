package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestGracefulShutdownFinishesInFlightRequests stops the program (as
// SIGTERM does) while a slash command is being served: the request still
// gets its answer, and the program exits cleanly.
func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(slackfake.WithChatWritePublic())
	t.Cleanup(fake.Close)
	b := startBot(t, botOptions{mode: "http", slack: fake})
	// The declare form is opened on the request path; make Slack slow.
	fake.SetLatency("views.open", 700*time.Millisecond)
	opening := arrival(fake, "views.open")

	type result struct {
		r   *slackfake.Reply
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := b.driver.SlashCommand(context.Background(), b.base+"/slack/commands",
			slack.SlashCommand{Command: "/incident", Text: "declare", UserID: "U0ALICE", ChannelID: "C0GENERAL"})
		done <- result{r, err}
	}()
	await(t, opening, 10*time.Second, "the request to reach Slack") // it is in flight, waiting on Slack
	require.Empty(t, fake.Views(), "views.open has not returned yet")
	stopped := time.Now()
	b.stop() // graceful: waits for the in-flight request
	require.Greater(t, time.Since(stopped), 200*time.Millisecond, "shutdown waited for the request")

	res := <-done
	require.NoError(t, res.err)
	require.Equal(t, http.StatusOK, res.r.StatusCode, "the in-flight request was answered")
	require.Len(t, fake.OpenViews(), 1, "and its work was done")

	_, err := http.Get(b.base + "/healthz")
	require.Error(t, err, "the listener is closed after shutdown")
}

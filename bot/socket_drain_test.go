package bot

import (
	"context"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// TestSocketModeShutdownWaitsForTheAnswerToBeWritten: the answer to a
// command in flight is handed to the Socket Mode client while its
// connection is being replaced (Slack asked it to reconnect as the process
// was told to stop), so it can only be written once the new connection is
// up, well over 250 ms later. The connection stays open until it is, and
// the answer reaches Slack.
func TestSocketModeShutdownWaitsForTheAnswerToBeWritten(t *testing.T) {
	tr := newTransport(t)
	store := &hungStore{MemStore: tr.store, entered: make(chan struct{}, 16), release: make(chan struct{})}
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: tr.queue, Policy: tr.svc.Policy(), Clock: tr.clock, Chat: tr.chat.Roles()})
	api := slack.New(tr.srv.BotToken(), slack.OptionAPIURL(tr.srv.URL()), slack.OptionAppLevelToken(tr.srv.AppToken()))
	h := New(withService(Config{Slack: api, Scheduler: tr.queue, Replays: tr.store, Clock: tr.clock, AckDeadline: 2 * time.Second}, svc, tr.store, tr.chat))
	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- h.RunSocketMode(runCtx, api) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	type result struct {
		r   *slackfake.Reply
		err error
	}
	answered := make(chan result, 1)
	go func() {
		r, err := tr.driver.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "status", UserID: tr.ic.ID, ChannelID: tr.inc.ChannelID})
		answered <- result{r, err}
	}()
	<-store.entered // the command is being handled
	stop()          // SIGTERM
	tr.srv.SlowSocketConnects(700 * time.Millisecond)
	tr.srv.DisconnectSockets("refresh_requested")
	// The client has left the old connection and is opening a new one.
	require.Eventually(t, func() bool { return len(tr.srv.CallsTo("apps.connections.open")) == 2 }, 2*time.Second, time.Millisecond)
	close(store.release) // the answer is handed over while the client reconnects

	res := <-answered
	require.NoError(t, res.err, "the answer reached Slack")
	require.Contains(t, string(res.r.Body), tr.inc.Key())
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-ctx.Done():
		t.Fatal("RunSocketMode did not return after the answer was written")
	}
	require.Eventually(t, func() bool { return tr.srv.SocketConnections() == 0 }, 2*time.Second, 10*time.Millisecond, "the connection is closed")
}

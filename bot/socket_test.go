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

// runSocket serves tr's handler over Socket Mode until the test ends, and
// returns a context that fails the test if an acknowledgement never comes.
func runSocket(t *testing.T, tr *transport) context.Context {
	t.Helper()
	api := slack.New(tr.srv.BotToken(), slack.OptionAPIURL(tr.srv.URL()), slack.OptionAppLevelToken(tr.srv.AppToken()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.h.RunSocketMode(ctx, api) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	wait, stop := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(stop)
	return wait
}

// TestSocketModeStoresEventsSlackGoCannotDecode: Slack sends a user's
// profile "fields" as [] when the workspace has none, which slack-go's
// types refuse (its Socket Mode client reports error_bad_message and never
// hands the envelope on). The event is still stored and acknowledged, as
// it is over HTTP, rather than left for Slack to redeliver until it gives
// up.
func TestSocketModeStoresEventsSlackGoCannotDecode(t *testing.T) {
	tr := newTransport(t)
	ctx := runSocket(t, tr)
	before := len(tr.queue.Jobs())
	inner := []byte(`{"type":"user_change","user":{"id":"` + tr.other.ID + `","deleted":true,"profile":{"fields":[]}},"event_ts":"1700000000.000100"}`)
	r, err := tr.driver.SocketEvent(ctx, inner, "Ev0FIELDS1")
	require.NoError(t, err, "the envelope is acknowledged")
	require.NotEmpty(t, r.EnvelopeID)
	require.Len(t, tr.queue.Jobs(), before+1, "the event was stored before it was acknowledged")
}

// TestSocketModeShutdownAcknowledgesInFlight: when the process is told to
// stop, a command already being handled is still answered on the open
// connection (its work is done, and Slack shows the answer) before the
// connection closes; RunSocketMode returns once it is.
func TestSocketModeShutdownAcknowledgesInFlight(t *testing.T) {
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
	time.Sleep(100 * time.Millisecond)
	late, err := tr.driver.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "status", UserID: tr.ic.ID, ChannelID: tr.inc.ChannelID})
	require.NoError(t, err, "a command arriving while the process stops is answered")
	require.Contains(t, string(late.Body), msgRestarting, "and not run")
	close(store.release)

	res := <-answered
	require.NoError(t, res.err, "the command in flight is acknowledged")
	require.Contains(t, string(res.r.Body), tr.inc.Key(), "with its answer, not a failure")
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-ctx.Done():
		t.Fatal("RunSocketMode did not return after the in-flight command was answered")
	}
	require.Eventually(t, func() bool { return tr.srv.SocketConnections() == 0 }, 2*time.Second, 10*time.Millisecond, "the connection is closed")
}

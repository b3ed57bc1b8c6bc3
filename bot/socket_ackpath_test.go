package bot

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// hungStore is a database that does not answer: looking an incident up by
// its channel waits until the caller gives up, or until released.
type hungStore struct {
	*incidenttest.MemStore
	entered    chan struct{}
	release    chan struct{}
	foreground atomic.Bool // the last look-up was marked incident.Foreground
}

func (s *hungStore) GetIncidentByChannel(ctx context.Context, channelID string) (*incident.Incident, error) {
	s.foreground.Store(incident.IsForeground(ctx))
	s.entered <- struct{}{}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.release:
		return s.MemStore.GetIncidentByChannel(ctx, channelID)
	}
}

// socketHandler serves a change fixture's Slack over Socket Mode with a
// handler whose incident service reads from a hung store.
func socketHandler(t *testing.T, deadline time.Duration, maxInFlight int) (*transport, *hungStore, context.Context) {
	t.Helper()
	tr := newTransport(t)
	store := &hungStore{MemStore: tr.store, entered: make(chan struct{}, 16), release: make(chan struct{})}
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: tr.queue, Policy: tr.svc.Policy(), Clock: tr.clock, Chat: tr.chat.Roles()})
	api := slack.New(tr.srv.BotToken(), slack.OptionAPIURL(tr.srv.URL()), slack.OptionAppLevelToken(tr.srv.AppToken()))
	h := New(withService(Config{Slack: api, Scheduler: tr.queue, Replays: tr.store, Clock: tr.clock,
		AckDeadline: deadline, MaxInFlight: maxInFlight}, svc, tr.store, tr.chat))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // a hung acknowledgement fails the test
	done := make(chan error, 1)
	go func() { done <- h.RunSocketMode(ctx, api) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	return tr, store, ctx
}

// TestSocketModeAckDeadline: over Socket Mode, as over HTTP, a command the
// database does not answer is acknowledged within the deadline with the
// bot's own sentence.
func TestSocketModeAckDeadline(t *testing.T) {
	tr, _, ctx := socketHandler(t, 50*time.Millisecond, DefaultMaxInFlight)
	r, err := tr.driver.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "status", UserID: tr.ic.ID, ChannelID: tr.inc.ChannelID})
	require.NoError(t, err, "the command is acknowledged although the database hangs")
	require.Contains(t, string(r.Body), msgStoreDown)
}

// TestSocketModeInFlightBound: over Socket Mode, as over HTTP, a command
// beyond the in-flight bound is answered at once with the bot's own
// sentence, and the request holding the place finishes normally.
func TestSocketModeInFlightBound(t *testing.T) {
	tr, store, ctx := socketHandler(t, time.Minute, 1)
	first := make(chan *struct {
		body string
		err  error
	}, 1)
	go func() {
		r, err := tr.driver.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "status", UserID: tr.ic.ID, ChannelID: tr.inc.ChannelID})
		res := &struct {
			body string
			err  error
		}{err: err}
		if r != nil {
			res.body = string(r.Body)
		}
		first <- res
	}()
	<-store.entered // the only place is taken by a command waiting on the database

	r, err := tr.driver.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "status", UserID: tr.ic.ID, ChannelID: tr.inc.ChannelID})
	require.NoError(t, err)
	require.Contains(t, string(r.Body), msgOverloaded)

	close(store.release)
	res := <-first
	require.NoError(t, res.err)
	require.Contains(t, res.body, tr.inc.Key(), "the admitted command ran")
}

// TestSocketModeRequestsAreForeground: a request over Socket Mode reaches
// the store marked as work someone waits for, as one over HTTP does.
func TestSocketModeRequestsAreForeground(t *testing.T) {
	tr, store, ctx := socketHandler(t, time.Minute, DefaultMaxInFlight)
	close(store.release)
	_, err := tr.driver.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "status", UserID: tr.ic.ID, ChannelID: tr.inc.ChannelID})
	require.NoError(t, err)
	<-store.entered
	require.True(t, store.foreground.Load())
}

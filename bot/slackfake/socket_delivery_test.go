package slackfake_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// pickyBot is a Socket Mode client that acknowledges what ack allows and
// counts what it saw.
type pickyBot struct {
	ack  func(evt socketmode.Event) bool
	mu   sync.Mutex
	seen []socketmode.Request
}

func (b *pickyBot) run(ctx context.Context, sm *socketmode.Client) {
	for {
		select {
		case <-ctx.Done():
			return
		case evt := <-sm.Events:
			if evt.Request == nil || evt.Request.EnvelopeID == "" {
				continue
			}
			b.mu.Lock()
			b.seen = append(b.seen, *evt.Request)
			b.mu.Unlock()
			if b.ack(evt) {
				_ = sm.Ack(*evt.Request, map[string]string{"text": "done"})
			}
		}
	}
}

func (b *pickyBot) requests() []socketmode.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]socketmode.Request(nil), b.seen...)
}

// connectPicky connects n pickyBots to f's server, one connection each.
func connectPicky(t *testing.T, f *fixture, n int, ack func(socketmode.Event) bool) []*pickyBot {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var bots []*pickyBot
	for range n {
		api := slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL()), slack.OptionAppLevelToken(f.srv.AppToken()))
		sm := socketmode.New(api)
		b := &pickyBot{ack: ack}
		bots = append(bots, b)
		wg.Go(func() { _ = sm.RunContext(ctx) })
		wg.Go(func() { b.run(ctx, sm) })
	}
	require.Eventually(t, func() bool { return f.srv.SocketConnections() == n }, 10*time.Second, 5*time.Millisecond)
	return bots
}

// TestSocketModeSpreadsEnvelopesOverConnections: Slack sends each envelope to
// one of the app's open connections, not to all of them, and uses them all.
func TestSocketModeSpreadsEnvelopesOverConnections(t *testing.T) {
	t.Parallel()
	f := setup(t, slackfake.WithPingInterval(50*time.Millisecond))
	bots := connectPicky(t, f, 2, func(socketmode.Event) bool { return true })
	d := slackfake.NewDriver(f.srv, signingSecret)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for range 4 {
		r, err := d.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "status", UserID: f.alice.ID, ChannelID: f.incident.ID})
		require.NoError(t, err)
		require.JSONEq(t, `{"text":"done"}`, string(r.Body))
	}
	require.Len(t, bots[0].requests(), 2, "each connection got half")
	require.Len(t, bots[1].requests(), 2)
	conns := map[int]int{}
	for _, dl := range f.srv.SocketDeliveries() {
		conns[dl.Conn]++
	}
	require.Equal(t, map[int]int{1: 2, 2: 2}, conns, "each envelope went to one connection")
}

// TestSocketModeRedeliversUnacknowledgedEvents: an Events API envelope left
// unacknowledged is sent again, as a new envelope carrying retry_attempt and
// retry_reason and the same event; a slash command is not.
func TestSocketModeRedeliversUnacknowledgedEvents(t *testing.T) {
	t.Parallel()
	f := setup(t, slackfake.WithPingInterval(50*time.Millisecond))
	f.srv.SocketRedelivery(100*time.Millisecond, 0, 50*time.Millisecond)
	var eventsSeen atomic.Int32
	bots := connectPicky(t, f, 1, func(evt socketmode.Event) bool {
		if evt.Type == socketmode.EventTypeEventsAPI {
			return eventsSeen.Add(1) == 3 // the second retry is acknowledged
		}
		return false // commands never are
	})
	d := slackfake.NewDriver(f.srv, signingSecret)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	r, err := d.SocketEvent(ctx, map[string]any{"type": "reaction_added", "user": f.alice.ID, "reaction": "eyes",
		"item": map[string]any{"type": "message", "channel": f.incident.ID, "ts": "1700000000.000100"}}, "EvRETRY1")
	require.NoError(t, err)
	got := bots[0].requests()
	require.Len(t, got, 3)
	require.Equal(t, got[2].EnvelopeID, r.EnvelopeID, "the ack of the last attempt answered the delivery")
	for i, req := range got {
		require.Equal(t, i, req.RetryAttempt)
		if i > 0 {
			require.Equal(t, "timeout", req.RetryReason)
			require.NotEqual(t, got[i-1].EnvelopeID, req.EnvelopeID, "each attempt is a new envelope")
		}
		ev, err := slackevents.ParseEvent(req.Payload, slackevents.OptionNoVerifyToken())
		require.NoError(t, err)
		require.Equal(t, "reaction_added", ev.InnerEvent.Type, "carrying the same event")
	}

	short, stop := context.WithTimeout(ctx, 400*time.Millisecond)
	defer stop()
	_, err = d.SocketSlashCommand(short, slack.SlashCommand{Command: "/incident", Text: "status", UserID: f.alice.ID, ChannelID: f.incident.ID})
	require.ErrorIs(t, err, context.DeadlineExceeded, "a command left unanswered is not sent again")
	require.Len(t, bots[0].requests(), 4)
}

// TestSocketModeGivesUpAfterTheLastRetry: an event never acknowledged fails
// the delivery once the retries are spent.
func TestSocketModeGivesUpAfterTheLastRetry(t *testing.T) {
	t.Parallel()
	f := setup(t, slackfake.WithPingInterval(50*time.Millisecond))
	f.srv.SocketRedelivery(50*time.Millisecond, 10*time.Millisecond)
	bots := connectPicky(t, f, 1, func(socketmode.Event) bool { return false })
	d := slackfake.NewDriver(f.srv, signingSecret)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := d.SocketEvent(ctx, map[string]any{"type": "reaction_added", "user": f.alice.ID, "reaction": "eyes",
		"item": map[string]any{"type": "message", "channel": f.incident.ID, "ts": "1700000000.000100"}}, "EvNEVER1")
	require.ErrorContains(t, err, "not acknowledged after 2 attempts")
	require.Len(t, bots[0].requests(), 2)
}

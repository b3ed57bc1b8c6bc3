package slackfake_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// socketBot runs a slack-go socketmode client against the fake and acks like a bot.
type socketBot struct {
	mu     sync.Mutex
	events []string // inner event types
}

func (b *socketBot) run(ctx context.Context, sm *socketmode.Client) {
	for {
		select {
		case <-ctx.Done():
			return
		case evt := <-sm.Events:
			switch evt.Type {
			case socketmode.EventTypeSlashCommand:
				cmd := evt.Data.(slack.SlashCommand)
				_ = sm.Ack(*evt.Request, map[string]any{"response_type": "ephemeral", "text": "ack " + cmd.Text + " from " + cmd.UserName})
			case socketmode.EventTypeEventsAPI:
				ev := evt.Data.(slackevents.EventsAPIEvent)
				b.mu.Lock()
				b.events = append(b.events, ev.InnerEvent.Type)
				b.mu.Unlock()
				_ = sm.Ack(*evt.Request)
			case socketmode.EventTypeInteractive:
				ic := evt.Data.(slack.InteractionCallback)
				if ic.Type == slack.InteractionTypeViewSubmission {
					_ = sm.Ack(*evt.Request, slack.NewClearViewSubmissionResponse())
					continue
				}
				_ = sm.Ack(*evt.Request)
			}
		}
	}
}

func setupSocket(t *testing.T) (*fixture, *socketBot, *slackfake.Driver) {
	t.Helper()
	f := setup(t, slackfake.WithPingInterval(50*time.Millisecond))
	api := slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL()), slack.OptionAppLevelToken(f.srv.AppToken()))
	sm := socketmode.New(api)
	ctx, cancel := context.WithCancel(context.Background())
	b := &socketBot{}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = sm.RunContext(ctx) }()
	go func() { defer wg.Done(); b.run(ctx, sm) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	require.NoError(t, f.srv.WaitSocketConnected(wctx))
	return f, b, slackfake.NewDriver(f.srv, signingSecret)
}

func TestSocketModeSlashCommandAck(t *testing.T) {
	t.Parallel()
	f, _, d := setupSocket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	reply, err := d.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "status", UserID: f.alice.ID, ChannelID: f.incident.ID})
	require.NoError(t, err)
	require.NotEmpty(t, reply.EnvelopeID)
	require.NotEmpty(t, reply.TriggerID)
	var body map[string]string
	require.NoError(t, reply.JSON(&body))
	require.Equal(t, "ack status from alice", body["text"])

	acks := f.srv.SocketAcks()
	require.Len(t, acks, 1)
	require.Equal(t, reply.EnvelopeID, acks[0].EnvelopeID)
	require.JSONEq(t, string(reply.Body), string(acks[0].Payload))
	require.Equal(t, 1, f.srv.SocketConnections())
}

func TestSocketModeEventsAndInteractions(t *testing.T) {
	t.Parallel()
	f, b, d := setupSocket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	reply, err := d.SocketEvent(ctx, map[string]any{"type": "reaction_added", "user": f.alice.ID, "reaction": "eyes",
		"item": map[string]any{"type": "message", "channel": f.incident.ID, "ts": "1700000000.000100"}}, "Ev42", slackfake.Retry(2, "timeout"))
	require.NoError(t, err)
	require.Nil(t, reply.Body, "events are acked without a payload")
	b.mu.Lock()
	require.Equal(t, []string{"reaction_added"}, b.events)
	b.mu.Unlock()

	trigger := f.srv.NewTriggerIDFor(f.alice.ID, "", 0)
	opened, err := f.api.OpenView(trigger, modal("Declare", "declare"))
	require.NoError(t, err)
	view, _ := f.srv.View(opened.View.ID)
	payload, err := slackfake.ViewSubmission(f.alice.ID, view, nil)
	require.NoError(t, err)
	reply, err = d.SocketInteraction(ctx, payload)
	require.NoError(t, err)
	var ack map[string]any
	require.NoError(t, json.Unmarshal(reply.Body, &ack))
	require.Equal(t, "clear", ack["response_action"])
	require.Empty(t, f.srv.OpenViews(), "response_action clear closed the modal")
}

func TestSocketModeReconnectsAfterDisconnect(t *testing.T) {
	t.Parallel()
	f, _, d := setupSocket(t)
	f.srv.DisconnectSockets("refresh_requested")
	require.Eventually(t, func() bool {
		return len(f.srv.CallsTo("apps.connections.open")) >= 2 && f.srv.SocketConnections() == 1
	}, 10*time.Second, 10*time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply, err := d.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "again", UserID: f.alice.ID, ChannelID: f.incident.ID})
	require.NoError(t, err)
	require.Contains(t, string(reply.Body), "ack again")
}

func TestSocketPushTimesOutWithoutClient(t *testing.T) {
	t.Parallel()
	f := setup(t)
	d := slackfake.NewDriver(f.srv, signingSecret)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := d.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestAppsConnectionsOpenWantsAppToken(t *testing.T) {
	t.Parallel()
	f := setup(t)
	api := slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL()), slack.OptionAppLevelToken(f.srv.BotToken()))
	_, _, err := api.StartSocketModeContext(context.Background())
	require.Equal(t, "not_allowed_token_type", slackErr(t, err))

	api = slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL()), slack.OptionAppLevelToken(f.srv.AppToken()))
	_, wsURL, err := api.StartSocketModeContext(context.Background())
	require.NoError(t, err)
	require.Contains(t, wsURL, "ws://")
}

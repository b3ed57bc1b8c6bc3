package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// replica is one more bot process on tr's store and Slack, serving over
// Socket Mode until stop is called or the test ends.
type replica struct {
	h    *Handler
	stop context.CancelFunc
	done chan error
}

func startReplica(t *testing.T, tr *transport, svc *incident.Service, deadline time.Duration) *replica {
	t.Helper()
	api := slack.New(tr.srv.BotToken(), slack.OptionAPIURL(tr.srv.URL()), slack.OptionAppLevelToken(tr.srv.AppToken()))
	h := New(withService(Config{Slack: api, Scheduler: tr.queue, Replays: tr.store, Clock: tr.clock, AckDeadline: deadline}, svc, tr.store, tr.chat))
	ctx, stop := context.WithCancel(context.Background())
	r := &replica{h: h, stop: stop, done: make(chan error, 1)}
	go func() { r.done <- h.RunSocketMode(ctx, api) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-r.done)
	})
	return r
}

func (r *replica) commandsRun() float64 {
	return testutil.ToFloat64(r.h.metrics.requests.WithLabelValues("command", "ok"))
}

// TestSocketModeTwoReplicasRunEachCommandOnce: with two replicas connected,
// Slack sends each command to one of them; each command is run and
// answered once, and both replicas take their share.
func TestSocketModeTwoReplicasRunEachCommandOnce(t *testing.T) {
	tr := newTransport(t)
	a := startReplica(t, tr, tr.svc, 2*time.Second)
	b := startReplica(t, tr, tr.svc, 2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.Eventually(t, func() bool { return tr.srv.SocketConnections() == 2 }, 5*time.Second, time.Millisecond)

	const n = 6
	for range n {
		r, err := tr.driver.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "status", UserID: tr.ic.ID, ChannelID: tr.inc.ChannelID})
		require.NoError(t, err)
		require.Contains(t, string(r.Body), tr.inc.Key())
	}
	require.Equal(t, float64(n), a.commandsRun()+b.commandsRun(), "each command ran once")
	require.Equal(t, float64(n/2), a.commandsRun(), "on one replica or the other")
	require.Equal(t, float64(n/2), b.commandsRun())
	acked := map[string]int{}
	for _, ack := range tr.srv.SocketAcks() {
		acked[ack.EnvelopeID]++
	}
	require.Len(t, acked, n)
	for id, times := range acked {
		require.Equal(t, 1, times, "envelope %s acknowledged once", id)
	}
}

// TestSocketModeEventRefusedWhileStoppingIsRedelivered: a replica that is
// stopping leaves an event unacknowledged; Slack delivers it again, the
// other replica stores it, and it is stored once.
func TestSocketModeEventRefusedWhileStoppingIsRedelivered(t *testing.T) {
	tr := newTransport(t)
	tr.srv.SocketRedelivery(300*time.Millisecond, 0, 0, 0)
	hung := &hungStore{MemStore: tr.store, entered: make(chan struct{}, 16), release: make(chan struct{})}
	defer close(hung.release)
	svc := incident.NewService(incident.ServiceConfig{Store: hung, Scheduler: tr.queue, Policy: tr.svc.Policy(), Clock: tr.clock, Chat: tr.chat.Roles()})
	stopping := startReplica(t, tr, svc, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, tr.srv.WaitSocketConnected(ctx))

	// A command keeps the stopping replica busy, and its connection open.
	go func() {
		_, _ = tr.driver.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "status", UserID: tr.ic.ID, ChannelID: tr.inc.ChannelID})
	}()
	<-hung.entered
	stopping.stop()
	require.Eventually(t, func() bool {
		r, err := tr.driver.SocketSlashCommand(ctx, slack.SlashCommand{Command: "/incident", Text: "help", UserID: tr.ic.ID, ChannelID: tr.inc.ChannelID})
		return err == nil && string(r.Body) != "" && contains(r.Body, msgRestarting)
	}, 5*time.Second, 10*time.Millisecond, "the replica is stopping")

	before := len(tr.queue.Jobs())
	inner := []byte(`{"type":"user_change","user":{"id":"` + tr.other.ID + `","deleted":true},"event_ts":"1700000000.000200"}`)
	type result struct {
		r   *slackfake.Reply
		err error
	}
	delivered := make(chan result, 1)
	go func() {
		r, err := tr.driver.SocketEvent(ctx, inner, "Ev0REDELIVER")
		delivered <- result{r, err}
	}()
	require.Eventually(t, func() bool { return len(eventDeliveries(tr.srv)) == 1 }, 5*time.Second, time.Millisecond)
	require.Equal(t, 1, eventDeliveries(tr.srv)[0].Conn, "the first delivery went to the stopping replica")

	startReplica(t, tr, tr.svc, 2*time.Second)
	res := <-delivered
	require.NoError(t, res.err, "the event was acknowledged in the end")
	ds := eventDeliveries(tr.srv)
	last := ds[len(ds)-1]
	require.Equal(t, res.r.EnvelopeID, last.EnvelopeID)
	require.Equal(t, 2, last.Conn, "by the other replica")
	require.Positive(t, last.RetryAttempt)
	require.Equal(t, "timeout", last.RetryReason)
	require.Len(t, tr.queue.Jobs(), before+1, "the event was stored once")
	require.Positive(t, testutil.ToFloat64(stopping.h.metrics.requests.WithLabelValues("event", "stopping")), "the stopping replica refused it")
}

func eventDeliveries(srv *slackfake.Server) []slackfake.Delivery {
	var out []slackfake.Delivery
	for _, d := range srv.SocketDeliveries() {
		if d.Type == "events_api" {
			out = append(out, d)
		}
	}
	return out
}

func contains(body []byte, s string) bool { return strings.Contains(string(body), s) }

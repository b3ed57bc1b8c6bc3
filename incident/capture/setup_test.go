package capture_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/capture"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/storetest"
)

// storeKind names a store the tests run on.
type storeKind = storetest.Kind

const (
	storeMemory   = storetest.Memory
	storeSQLite   = storetest.SQLite
	storePostgres = storetest.Postgres
)

// openStore returns a fresh store of the kind whose transactions hand their
// jobs to q (storetest.Open).
func openStore(t *testing.T, kind storeKind, clock incident.Clock, q *incidenttest.Queue) incident.Store {
	return storetest.Open[incident.Store](t, kind, clock, q)
}

// bundle is the core and capture over one store, queue, chat and clock.
type bundle struct {
	svc   *incident.Service
	capt  *capture.Service
	store incident.Store
	chat  *incidenttest.Chat
	queue *incidenttest.Queue
	clock *incidenttest.Clock
}

func setupOn(t *testing.T, kind storeKind) bundle {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	q := incidenttest.NewQueue()
	store := openStore(t, kind, clock, q)
	policy := incident.DefaultPolicy()
	policy.BroadcastChannel = "#incidents"
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout", Responders: []string{"U0ALICE"}}}
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	capt := capture.New(capture.Config{Store: store, Chat: c, Notifier: svc, Policy: policy, Clock: clock})
	return bundle{svc: svc, capt: capt, store: store, chat: c, queue: q, clock: clock}
}

// forEachStore runs test on every store kind.
func forEachStore(t *testing.T, test func(t *testing.T, kind storeKind)) {
	t.Helper()
	storetest.ForEach(t, test)
}

// openIncident declares a P2 and runs its setup, so it has a channel.
func openIncident(t *testing.T, b bundle) *incident.Incident {
	t.Helper()
	ctx := context.Background()
	inc, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P2, ServiceKey: "checkout",
		DeclaredBy: "U0DECL", ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}})
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	inc, err = b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, inc.ChannelID)
	return inc
}

// slackTS is the ts of a message sent sec seconds after the declaration.
func slackTS(inc *incident.Incident, sec int) string {
	return fmt.Sprintf("%d.%06d", inc.DeclaredAt.Unix()+int64(sec), sec)
}

// messages returns the incident's captured messages by ts.
func messages(t *testing.T, b bundle, id int64) map[string]incident.TimelineEvent {
	t.Helper()
	events, err := b.store.ListTimeline(context.Background(), id)
	require.NoError(t, err)
	out := map[string]incident.TimelineEvent{}
	for _, ev := range events {
		if ev.Kind != incident.EventMessage {
			continue
		}
		ts, ok := strings.CutPrefix(ev.SourceID, "msg:")
		require.True(t, ok, "a message's source id is msg:<ts>, got %q", ev.SourceID)
		_, dup := out[ts]
		require.False(t, dup, "message %s stored twice", ts)
		out[ts] = ev
	}
	return out
}

func msgData(ev incident.TimelineEvent) incident.MessageData {
	d, _ := ev.Payload.(incident.MessageData)
	return d
}

// captureIn returns a function that captures a message in inc's channel.
func captureIn(t *testing.T, b bundle, inc *incident.Incident) func(incident.CapturedMessage) {
	return func(m incident.CapturedMessage) {
		t.Helper()
		m.ChannelID = inc.ChannelID
		require.NoError(t, b.capt.CaptureMessage(context.Background(), m))
	}
}

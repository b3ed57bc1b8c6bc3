package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

const (
	captureChannel = "C0INC"
	captureBot     = "U0BOT"
	captureApp     = "A0BOT"
	capturePanel   = "1773497100.000001"
)

// fakePostmortems records what the transport asks of the postmortem service.
type fakePostmortems struct {
	mu      sync.Mutex
	targets []string
	drafts  []int64
	exports []string
}

func (p *fakePostmortems) ScheduleDraft(_ context.Context, inc *incident.Incident) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drafts = append(p.drafts, inc.ID)
	return nil
}

func (p *fakePostmortems) Export(_ context.Context, id int64, target, actor string, reply incident.ReplyTarget) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exports = append(p.exports, fmt.Sprintf("%d %s by %s reply %s/%s", id, target, actor, reply.ChannelID, reply.UserID))
	return nil
}

func (p *fakePostmortems) Targets() []string { return p.targets }

type captureFixture struct {
	h     *Handler
	store *incidenttest.MemStore
	queue *incidenttest.Queue
	chat  *incidenttest.Chat
	pm    *fakePostmortems
	inc   *incident.Incident
	clock *incidenttest.Clock
	// The capture and postmortem handlers, over the same services as h.
	capture    *captureHandlers
	postmortem *postmortemHandlers
}

func newCaptureFixture(t *testing.T, withPostmortems bool) *captureFixture {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, time.March, 14, 14, 5, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	inc, err := store.CreateIncident(context.Background(), &incident.Incident{Title: "checkout is down", Severity: incident.P1,
		Status: incident.StatusInvestigating, DeclaredBy: "U0ALICE", Commander: "U0ALICE", Roles: map[string]string{},
		ChannelID: captureChannel, PanelTS: capturePanel})
	require.NoError(t, err)
	q := incidenttest.NewQueue()
	ch := incidenttest.NewChat()
	ch.Word = NoticeText
	store.SetScheduler(q)
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: ch.Roles(), Clock: clock})
	svc.RegisterJobs(q)
	cfg := withService(Config{Scheduler: q, Clock: clock}, svc, store, ch)
	pm := &fakePostmortems{targets: []string{"confluence", "github"}}
	if withPostmortems {
		cfg.Postmortems = pm
	}
	h := New(cfg)
	// No Slack to ask: the bot's workspace is told, as the program does.
	h.SetWorkspace("T0", "")
	h.RegisterJobs(q)
	return &captureFixture{h: h, store: store, queue: q, chat: ch, pm: pm, inc: inc, clock: clock,
		capture: &captureHandlers{kit: h.kit, capture: cfg.Capture}, postmortem: &postmortemHandlers{kit: h.kit, postmortems: cfg.Postmortems}}
}

// deliver sends an Events API envelope as Slack does and runs its job.
func (f *captureFixture) deliver(t *testing.T, eventID, event string) bool {
	t.Helper()
	raw := fmt.Sprintf(`{"token":"x","team_id":"T0","api_app_id":%q,"type":"event_callback","event_id":%q,"event_time":1773497200,`+
		`"authorizations":[{"enterprise_id":null,"team_id":"T0","user_id":%q,"is_bot":true,"is_enterprise_install":false}],"event":%s}`,
		captureApp, eventID, captureBot, event)
	require.True(t, json.Valid([]byte(raw)), raw)
	_, isNew, err := f.h.Event(context.Background(), []byte(raw))
	require.NoError(t, err)
	require.Empty(t, f.queue.RunAll(t))
	return isNew
}

func (f *captureFixture) messages(t *testing.T) map[string]incident.TimelineEvent {
	t.Helper()
	events, err := f.store.ListTimeline(context.Background(), f.inc.ID)
	require.NoError(t, err)
	out := map[string]incident.TimelineEvent{}
	for _, ev := range events {
		if ev.Kind == incident.EventMessage {
			ts := msgData(ev).TS
			_, dup := out[ts]
			require.False(t, dup, "message %s stored twice", ts)
			out[ts] = ev
		}
	}
	return out
}

// msgData is a captured message's payload.
func msgData(ev incident.TimelineEvent) incident.MessageData {
	d, _ := ev.Payload.(incident.MessageData)
	return d
}

func TestCaptureEvents(t *testing.T) {
	t.Parallel()
	f := newCaptureFixture(t, true)
	const (
		first  = "1773497160.000100"
		reply  = "1773497170.000200"
		gone   = "1773497180.000300"
		pinned = "1773497190.000400"
	)
	msg := func(ts, user, text, extra string) string {
		return fmt.Sprintf(`{"type":"message","channel":%q,"user":%q,"text":%q,"ts":%q,"event_ts":%q,"channel_type":"channel"%s}`,
			captureChannel, user, text, ts, ts, extra)
	}

	require.True(t, f.deliver(t, "Ev01", msg(first, "U0ALICE", "checkout returns 500s", "")))
	require.False(t, f.deliver(t, "Ev01", msg(first, "U0ALICE", "checkout returns 500s", "")), "a redelivery is absorbed")
	f.deliver(t, "Ev02", msg(reply, "U0BOB", "pool at 100%", fmt.Sprintf(`,"thread_ts":%q,"parent_user_id":"U0ALICE"`, first)))
	f.deliver(t, "Ev03", fmt.Sprintf(`{"type":"message","subtype":"message_changed","hidden":true,"channel":%q,"ts":"1773497200.000000",`+
		`"message":{"type":"message","user":"U0ALICE","text":"checkout returns 500s for cards","ts":%q,"edited":{"user":"U0ALICE","ts":"1773497199.000000"}},`+
		`"previous_message":{"type":"message","user":"U0ALICE","text":"checkout returns 500s","ts":%q},"event_ts":"1773497200.000000"}`,
		captureChannel, first, first))
	f.deliver(t, "Ev04", msg(gone, "U0CAROL", "wrong channel", ""))
	f.deliver(t, "Ev05", fmt.Sprintf(`{"type":"message","subtype":"message_deleted","hidden":true,"channel":%q,"ts":"1773497210.000000",`+
		`"deleted_ts":%q,"previous_message":{"type":"message","user":"U0CAROL","text":"wrong channel","ts":%q},"event_ts":"1773497210.000000"}`,
		captureChannel, gone, gone))
	// The bot's own line, another app's post, a join, and a message elsewhere.
	f.deliver(t, "Ev06", msg("1773497220.000001", captureBot, ":memo: Note from <@U0ALICE>", `,"bot_id":"B0BOT","app_id":"A0BOT"`))
	// Other apps' messages, classic and modern, are captured and
	// attributed to the app.
	f.deliver(t, "Ev07", fmt.Sprintf(`{"type":"message","subtype":"bot_message","channel":%q,"ts":"1773497221.000001","text":"Incident triggered","bot_id":"B0PD","username":"PagerDuty","icons":{}}`, captureChannel))
	f.deliver(t, "Ev07b", fmt.Sprintf(`{"type":"message","channel":%q,"user":"U0GRAFANA","bot_id":"B0GRAF","app_id":"A0GRAF","bot_profile":{"id":"B0GRAF","app_id":"A0GRAF","name":"Grafana","deleted":false},"text":"p99 latency above 2s","ts":"1773497222.000001"}`, captureChannel))
	f.deliver(t, "Ev08", fmt.Sprintf(`{"type":"message","subtype":"channel_join","channel":%q,"user":"U0EVE","text":"<@U0EVE> has joined the channel","ts":"1773497222.000001"}`, captureChannel))
	f.deliver(t, "Ev09", `{"type":"message","channel":"CGENERAL","user":"U0ALICE","text":"lunch?","ts":"1773497223.000001"}`)
	// A pin of a message whose own delivery was missed, the bot pinning
	// its panel, and reactions.
	f.deliver(t, "Ev10", fmt.Sprintf(`{"type":"pin_added","user":"U0ALICE","channel_id":%q,"item":{"type":"message","channel":%q,"created":1773497230,"created_by":"U0ALICE",`+
		`"message":{"type":"message","user":"U0DAVE","text":"rolled back to 9f8e7d6","ts":%q,"permalink":"https://x.slack.com/p1"}},"event_ts":"1773497230.000000"}`,
		captureChannel, captureChannel, pinned))
	f.deliver(t, "Ev11", fmt.Sprintf(`{"type":"pin_added","user":%q,"channel_id":%q,"item":{"type":"message","channel":%q,`+
		`"message":{"type":"message","user":%q,"bot_id":"B0BOT","app_id":"A0BOT","text":"panel","ts":%q}},"event_ts":"1773497231.000000"}`,
		captureBot, captureChannel, captureChannel, captureBot, capturePanel))
	reaction := func(user, name, itemUser, ts string) string {
		return fmt.Sprintf(`{"type":"reaction_added","user":%q,"reaction":%q,"item_user":%q,"item":{"type":"message","channel":%q,"ts":%q},"event_ts":"1773497240.000000"}`,
			user, name, itemUser, captureChannel, ts)
	}
	f.deliver(t, "Ev12", reaction("U0CAROL", "pushpin", "U0BOB", reply))
	f.deliver(t, "Ev13", reaction("U0CAROL", "eyes", "U0ALICE", first))
	f.deliver(t, "Ev14", reaction("U0CAROL", "pushpin", captureBot, "1773497220.000001"))
	f.deliver(t, "Ev15", `{"type":"reaction_added","user":"U0CAROL","reaction":"pushpin","item":{"type":"file","file":"F1"},"event_ts":"1773497241.000000"}`)

	got := f.messages(t)
	require.Len(t, got, 6)
	require.Equal(t, "PagerDuty", got["1773497221.000001"].Actor)
	require.Equal(t, incident.MessageData{App: "PagerDuty", TS: "1773497221.000001"}, got["1773497221.000001"].Payload)
	require.Equal(t, "Grafana", got["1773497222.000001"].Actor, "not the app's bot user, as if a person wrote it")
	require.Equal(t, "Grafana", msgData(got["1773497222.000001"]).App)
	require.Empty(t, msgData(got["1773497222.000001"]).User)
	require.Equal(t, "checkout returns 500s for cards", got[first].Text)
	require.True(t, msgData(got[first]).Edited)
	require.False(t, got[first].Key, "an :eyes: reaction marks nothing")
	require.Equal(t, first, msgData(got[reply]).ThreadTS)
	require.True(t, got[reply].Key)
	require.Equal(t, "U0CAROL", msgData(got[reply]).MarkedBy)
	require.True(t, msgData(got[gone]).Deleted)
	require.Equal(t, "rolled back to 9f8e7d6", got[pinned].Text)
	require.Equal(t, "U0DAVE", got[pinned].Actor)
	require.True(t, got[pinned].Key)
	require.Equal(t, incident.MessageData{User: "U0DAVE", TS: pinned, Marked: "pin", MarkedBy: "U0ALICE",
		Marks: "+pin/U0ALICE/@1773497230.000000"}, got[pinned].Payload)
}

func TestCaptureEventMalformed(t *testing.T) {
	t.Parallel()
	f := newCaptureFixture(t, false)
	for _, fn := range []EventHandler{f.capture.onMessage, f.capture.onPin, f.capture.onReaction} {
		err := fn(context.Background(), "message", []byte(`{"event":"not an object"}`))
		require.ErrorIs(t, err, incident.ErrJobCancel, "a malformed event is not retried")
	}
}

func TestParseFollowUp(t *testing.T) {
	t.Parallel()
	day := func(s string) *time.Time {
		d, err := time.Parse("2006-01-02", s)
		require.NoError(t, err)
		return &d
	}
	tests := []struct {
		args  string
		want  followUp
		error string
	}{
		{args: "add an index", want: followUp{text: "add an index"}},
		{args: "add an index <@U0DEV|dev>", want: followUp{text: "add an index", owner: "U0DEV"}},
		{args: "add an index <@U0DEV> due 2026-03-21", want: followUp{text: "add an index", owner: "U0DEV", due: day("2026-03-21")}},
		{args: "add an index due 2026-03-21 <@U0DEV>", want: followUp{text: "add an index", owner: "U0DEV", due: day("2026-03-21")}},
		{args: "add an index DUE 2026-03-21", want: followUp{text: "add an index", due: day("2026-03-21")}},
		{args: "ask <@U0BOB> to review the alert <@U0DEV>", want: followUp{text: "ask <@U0BOB> to review the alert", owner: "U0DEV"}},
		{args: "add an index due tomorrow", error: "YYYY-MM-DD"},
		{args: "add an index due 2026-02-30", error: "not a date"},
		{args: "add an index due", error: "Say when it is due"},
		{args: "<@U0DEV> due 2026-03-21", error: "Say what needs doing"},
		{args: "", error: "Say what needs doing"},
		{args: "fix it <@nobody>", error: "is not a Slack user"},
	}
	for _, tt := range tests {
		got, err := parseFollowUp(tt.args, time.UTC)
		if tt.error != "" {
			require.Equal(t, incident.EINVALID, incident.ErrorCode(err), tt.args)
			require.Contains(t, incident.ErrorMessage(err), tt.error, tt.args)
			continue
		}
		require.NoError(t, err, tt.args)
		require.Equal(t, tt.want, got, tt.args)
	}
}

func invocation(channel, args string) Invocation {
	return Invocation{Args: args, Cmd: slack.SlashCommand{ChannelID: channel, UserID: "U0ALICE", ResponseURL: "https://hooks.example/r", TriggerID: "T1"}}
}

func TestNoteAndFollowUpCommands(t *testing.T) {
	t.Parallel()
	f := newCaptureFixture(t, false)
	ctx := context.Background()

	reply, err := f.capture.noteCommand(ctx, invocation(captureChannel, "customers can pay again"))
	require.NoError(t, err)
	require.Equal(t, "Noted on the INC-1 timeline as a key event for the postmortem.", reply.Text)
	require.Equal(t, slack.ResponseTypeEphemeral, reply.ResponseType)

	reply, err = f.capture.followupCommand(ctx, invocation(captureChannel, "alert on pool use <@U0DEV|dev> due 2026-03-21"))
	require.NoError(t, err)
	require.Equal(t, "Follow-up recorded for INC-1.", reply.Text)
	reply, err = f.capture.followupCommand(ctx, invocation(captureChannel, "write a runbook"))
	require.NoError(t, err)
	require.Equal(t, "Follow-up recorded for INC-1. It has no owner and no due date yet; the postmortem will flag it.", reply.Text)
	require.Empty(t, f.queue.RunAll(t))

	items, err := f.store.ListActionItems(ctx, f.inc.ID)
	require.NoError(t, err)
	require.Len(t, items, 2)
	require.Equal(t, "alert on pool use", items[0].Text)
	require.Equal(t, "U0DEV", items[0].Owner)
	require.Equal(t, "2026-03-21", items[0].DueOn.Format("2006-01-02"))
	events, err := f.store.ListTimeline(ctx, f.inc.ID)
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(events, func(ev incident.TimelineEvent) bool {
		return ev.Kind == incident.EventNote && ev.Key && ev.Text == "customers can pay again"
	}))
	require.Len(t, f.chat.PostsIn(captureChannel), 3, "the note and both follow-ups are posted in the channel")

	tests := []struct {
		name    string
		run     func(context.Context, Invocation) (Reply, error)
		channel string
		args    string
		code    string
	}{
		{"note without text", f.capture.noteCommand, captureChannel, "", incident.EINVALID},
		{"note elsewhere", f.capture.noteCommand, "CGENERAL", "hi", incident.ENOTFOUND},
		{"followup without text", f.capture.followupCommand, captureChannel, "due 2026-03-21", incident.EINVALID},
		{"followup elsewhere", f.capture.followupCommand, "CGENERAL", "x", incident.ENOTFOUND},
		{"followup due in the past", f.capture.followupCommand, captureChannel, "x due 2020-01-01", incident.EINVALID},
		{"followup due far off", f.capture.followupCommand, captureChannel, "x due 9999-12-31", incident.EINVALID},
		{"followup due in two years", f.capture.followupCommand, captureChannel, "y due 2028-03-14", ""},
	}
	for _, tt := range tests {
		_, err := tt.run(ctx, invocation(tt.channel, tt.args))
		require.Equal(t, tt.code, incident.ErrorCode(err), tt.name)
	}
}

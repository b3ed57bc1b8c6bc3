package incident_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/capture"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// openIncident declares a P2 and runs its setup, so it has channel C001.
func openIncident(t *testing.T, b bundle) *incident.Incident {
	t.Helper()
	inc := declare(t, b, "checkout is down", incident.P2, "cmd:capture")
	require.Empty(t, b.queue.RunAll(t))
	inc, err := b.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Equal(t, "C001", inc.ChannelID)
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

func TestSlackTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ts   string
		want time.Time
	}{
		{"1700000000.000100", time.Unix(1700000000, 100_000).UTC()},
		{"1700000000", time.Unix(1700000000, 0).UTC()},
		{"1700000000.5", time.Unix(1700000000, 500_000_000).UTC()},
		{"", time.Time{}},
		{"abc.123", time.Time{}},
	}
	for _, tt := range tests {
		require.True(t, tt.want.Equal(incident.SlackTime(tt.ts)), tt.ts)
	}
}

func TestCaptureMessage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := openIncident(t, b)
	ts := func(sec int) string { return slackTS(inc, sec) }
	capture := func(m incident.CapturedMessage) {
		t.Helper()
		if m.ChannelID == "" {
			m.ChannelID = inc.ChannelID
		}
		require.NoError(t, b.capt.CaptureMessage(ctx, m))
	}

	capture(incident.CapturedMessage{TS: ts(10), User: "U0ALICE", Text: "checkout returns 500s", EventID: "Ev1"})
	capture(incident.CapturedMessage{TS: ts(10), User: "U0ALICE", Text: "checkout returns 500s", EventID: "Ev1"}) // redelivered
	capture(incident.CapturedMessage{TS: ts(20), ThreadTS: ts(10), User: "U0BOB", Text: "pool is exhausted"})
	capture(incident.CapturedMessage{TS: ts(30), ThreadTS: ts(10), User: "U0BOB", Text: "rolling back", Subtype: incident.SubtypeBroadcast})
	// An edit, and a message_changed that only unfurled a link.
	capture(incident.CapturedMessage{TS: ts(10), User: "U0ALICE", Text: "checkout returns 500s for card payments", Subtype: incident.SubtypeChanged, Edited: true})
	capture(incident.CapturedMessage{TS: ts(20), ThreadTS: ts(10), User: "U0BOB", Text: "pool is exhausted", Subtype: incident.SubtypeChanged})
	// A deletion of a captured message, and of one never seen whose
	// original arrives late.
	capture(incident.CapturedMessage{TS: ts(40), User: "U0CAROL", Text: "wrong channel, sorry"})
	capture(incident.CapturedMessage{TS: ts(40), Subtype: incident.SubtypeDeleted})
	capture(incident.CapturedMessage{TS: ts(50), User: "U0DAVE", Text: "oops", Subtype: incident.SubtypeDeleted})
	capture(incident.CapturedMessage{TS: ts(50), User: "U0DAVE", Text: "oops"})
	// An edit whose original was missed (Slack marks an edit's message
	// edited; an unfurl's it does not).
	capture(incident.CapturedMessage{TS: ts(60), User: "U0DAVE", Text: "error rate is dropping", Subtype: incident.SubtypeChanged,
		Edited: true, EditedTS: ts(61)})
	// Ignored: the bot's own, no user, channel noise, the panel, another channel.
	capture(incident.CapturedMessage{TS: ts(70), User: "U0BOT", Text: "Severity raised", Bot: true})
	capture(incident.CapturedMessage{TS: ts(71), Text: "an integration says hi"})
	capture(incident.CapturedMessage{TS: ts(72), User: "U0EVE", Text: "<@U0EVE> has joined the channel", Subtype: "channel_join"})
	capture(incident.CapturedMessage{TS: inc.PanelTS, User: "U0ALICE", Text: "panel"})
	capture(incident.CapturedMessage{ChannelID: "CGENERAL", TS: ts(73), User: "U0ALICE", Text: "lunch?"})

	got := messages(t, b, inc.ID)
	require.Len(t, got, 6)

	first := got[ts(10)]
	require.Equal(t, "checkout returns 500s for card payments", first.Text)
	require.Equal(t, "U0ALICE", first.Actor)
	require.Equal(t, incident.MessageData{User: "U0ALICE", TS: ts(10), Edited: true}, first.Payload)
	require.True(t, incident.SlackTime(ts(10)).Equal(first.At), "the message time comes from its ts")
	require.False(t, first.Key)

	reply := got[ts(20)]
	require.Equal(t, "pool is exhausted", reply.Text)
	require.Equal(t, incident.MessageData{User: "U0BOB", TS: ts(20), ThreadTS: ts(10)}, reply.Payload, "an unfurl is not an edit")
	require.Equal(t, ts(10), msgData(got[ts(30)]).ThreadTS)

	require.True(t, msgData(got[ts(40)]).Deleted)
	require.Equal(t, "wrong channel, sorry", got[ts(40)].Text, "the text is kept for the record")
	require.True(t, msgData(got[ts(50)]).Deleted, "a late original does not undo the deletion")
	require.True(t, msgData(got[ts(60)]).Edited)
	require.Equal(t, "error rate is dropping", got[ts(60)].Text)
}

func TestCaptureMessageUnknownIncidentChannel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	for _, ch := range []string{"", "CNOWHERE"} {
		require.NoError(t, b.capt.CaptureMessage(ctx, incident.CapturedMessage{ChannelID: ch, TS: "1.000001", User: "U0A", Text: "hi"}))
		require.NoError(t, b.capt.CapturePin(ctx, ch, "1.000001", "U0A"))
		require.NoError(t, b.capt.CaptureReaction(ctx, ch, "1.000001", "pushpin", "U0A"))
	}
}

func TestCaptureKeyMarks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		policy   func(*incident.Policy)
		reaction string
		key      bool
	}{
		{name: "default pushpin", reaction: "pushpin", key: true},
		{name: "colons", reaction: ":pushpin:", key: true},
		{name: "another reaction", reaction: "eyes", key: false},
		{name: "configured reaction", policy: func(p *incident.Policy) { p.KeyReaction = ":star:" }, reaction: "star", key: true},
		{name: "configured reaction with a skin tone", policy: func(p *incident.Policy) { p.KeyReaction = "thumbsup" }, reaction: "thumbsup::skin-tone-3", key: true},
		{name: "default off when configured", policy: func(p *incident.Policy) { p.KeyReaction = "star" }, reaction: "pushpin", key: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mutate []func(*incident.Policy)
			if tt.policy != nil {
				mutate = append(mutate, tt.policy)
			}
			b := setup(t, mutate...)
			ctx := context.Background()
			inc := openIncident(t, b)
			ts := slackTS(inc, 5)
			require.NoError(t, b.capt.CaptureMessage(ctx, incident.CapturedMessage{ChannelID: inc.ChannelID, TS: ts, User: "U0BOB", Text: "deploy 1a2b at 14:02"}))
			require.NoError(t, b.capt.CaptureReaction(ctx, inc.ChannelID, ts, tt.reaction, "U0ALICE"))
			ev := messages(t, b, inc.ID)[ts]
			require.Equal(t, tt.key, ev.Key)
			if tt.key {
				require.Equal(t, "U0ALICE", msgData(ev).MarkedBy)
				require.Equal(t, "reaction", msgData(ev).Marked)
			}
		})
	}
}

func TestCapturePin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := openIncident(t, b)
	ts := func(sec int) string { return slackTS(inc, sec) }

	require.NoError(t, b.capt.CaptureMessage(ctx, incident.CapturedMessage{ChannelID: inc.ChannelID, TS: ts(5), User: "U0BOB", Text: "found it"}))
	require.NoError(t, b.capt.CapturePin(ctx, inc.ChannelID, ts(5), "U0ALICE"))
	require.NoError(t, b.capt.CapturePin(ctx, inc.ChannelID, ts(5), "U0CAROL"), "a second pin changes nothing")
	// The bot pins its control panel: not a key event.
	require.NoError(t, b.capt.CapturePin(ctx, inc.ChannelID, inc.PanelTS, "U0BOT"))
	// A pin that overtakes its message leaves a placeholder the message fills.
	require.NoError(t, b.capt.CapturePin(ctx, inc.ChannelID, ts(9), "U0ALICE"))
	placeholder := messages(t, b, inc.ID)[ts(9)]
	require.True(t, placeholder.Key)
	require.True(t, msgData(placeholder).Placeholder)
	require.NoError(t, b.capt.CaptureMessage(ctx, incident.CapturedMessage{ChannelID: inc.ChannelID, TS: ts(9), User: "U0DAVE", Text: "rollback done"}))

	got := messages(t, b, inc.ID)
	require.Len(t, got, 2)
	require.True(t, got[ts(5)].Key)
	require.Equal(t, incident.MessageData{User: "U0BOB", TS: ts(5), Marked: "pin", MarkedBy: "U0ALICE", Marks: "+pin/U0ALICE/@"}, got[ts(5)].Payload)
	filled := got[ts(9)]
	require.True(t, filled.Key)
	require.Equal(t, "rollback done", filled.Text)
	require.Equal(t, "U0DAVE", filled.Actor)
	require.Equal(t, incident.MessageData{User: "U0DAVE", TS: ts(9), Marked: "pin", MarkedBy: "U0ALICE", Marks: "+pin/U0ALICE/@"}, filled.Payload)
}

// rateLimited is a chat error that asks the job to wait.
type rateLimited struct{ wait time.Duration }

func (e rateLimited) Error() string             { return "slack: rate limited" }
func (e rateLimited) RetryAfter() time.Duration { return e.wait }

// limitedChat fails History with a rate limit while limited is set.
type limitedChat struct {
	*incidenttest.Chat
	limited bool
}

func (c *limitedChat) History(ctx context.Context, ch string, oldest time.Time) ([]incident.ChatMessage, error) {
	if c.limited {
		return nil, rateLimited{wait: 30 * time.Second}
	}
	return c.Chat.History(ctx, ch, oldest)
}

func TestBackfill(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := openIncident(t, b)
	ts := func(sec int) string { return slackTS(inc, sec) }
	capture := func(m incident.CapturedMessage) {
		t.Helper()
		m.ChannelID = inc.ChannelID
		require.NoError(t, b.capt.CaptureMessage(ctx, m))
	}
	// Live capture before the bot went down.
	capture(incident.CapturedMessage{TS: ts(10), User: "U0ALICE", Text: "checkout returns 500s"})
	capture(incident.CapturedMessage{TS: ts(20), User: "U0BOB", Text: "looking"})
	capture(incident.CapturedMessage{TS: ts(25), User: "U0BOB", Text: "nope"})
	capture(incident.CapturedMessage{TS: ts(25), Subtype: incident.SubtypeDeleted})
	require.NoError(t, b.capt.CaptureReaction(ctx, inc.ChannelID, ts(40), "pushpin", "U0ALICE")) // message not seen yet
	require.NoError(t, b.capt.CapturePin(ctx, inc.ChannelID, ts(90), "U0ALICE"))                 // message deleted since

	// While the bot was down: an edit, new messages, a thread, a pin and
	// a reaction; the history also holds the bot's lines and its panel.
	b.chat.Messages[inc.ChannelID] = []incident.ChatMessage{
		{TS: inc.PanelTS, User: "U0BOT", Text: "panel", Pinned: true},
		{TS: ts(10), User: "U0ALICE", Text: "checkout returns 500s for cards", Edited: true},
		{TS: ts(20), User: "U0BOB", Text: "looking"},
		{TS: ts(30), User: "U0CAROL", Text: "status page posted", Reactions: []string{"eyes"}},
		{TS: ts(35), ThreadTS: ts(20), User: "U0BOB", Text: "pool at 100%"},
		{TS: ts(40), User: "U0DAVE", Text: "deploy 1a2b at 14:02 lines up", Reactions: []string{"eyes", "pushpin"}},
		{TS: ts(50), User: "U0DAVE", Text: "rolled back", Pinned: true},
		{TS: ts(55), User: "", App: "PagerDuty", Text: "Incident triggered"},
		{TS: ts(56), User: "", Text: "anonymous bot"},
	}
	added, err := b.capt.Backfill(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, 4, added, "status page, thread reply, rolled back, the app's message")

	got := messages(t, b, inc.ID)
	require.Len(t, got, 9)
	require.Equal(t, "PagerDuty", got[ts(55)].Actor, "another app's message is attributed to the app")
	require.Equal(t, "checkout returns 500s for cards", got[ts(10)].Text)
	require.True(t, msgData(got[ts(10)]).Edited)
	require.Equal(t, "looking", got[ts(20)].Text)
	require.False(t, msgData(got[ts(20)]).Edited)
	require.True(t, msgData(got[ts(25)]).Deleted, "a deleted message stays deleted")
	require.False(t, got[ts(30)].Key)
	require.True(t, msgData(got[ts(30)]).Backfilled)
	require.Equal(t, ts(20), msgData(got[ts(35)]).ThreadTS)
	require.True(t, got[ts(40)].Key, "the placeholder is filled and stays key")
	require.Equal(t, "deploy 1a2b at 14:02 lines up", got[ts(40)].Text)
	require.Equal(t, "U0DAVE", got[ts(40)].Actor)
	require.False(t, msgData(got[ts(40)]).Placeholder)
	require.True(t, got[ts(50)].Key)
	require.Equal(t, "pin", msgData(got[ts(50)]).Marked)
	require.True(t, msgData(got[ts(90)]).Deleted, "a marked message missing from the history was deleted")

	// Again: nothing new, nothing changed.
	before, err := b.store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	added, err = b.capt.Backfill(ctx, inc.ID)
	require.NoError(t, err)
	require.Zero(t, added)
	after, err := b.store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, before, after)
}

func TestBackfillRateLimited(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := openIncident(t, b)
	lc := &limitedChat{Chat: b.chat, limited: true}
	svc := capture.New(capture.Config{Store: b.store, Chat: lc, Notifier: b.svc, Policy: b.svc.Policy(), Clock: b.clock})

	_, err := svc.Backfill(ctx, inc.ID)
	var ra interface{ RetryAfter() time.Duration }
	require.True(t, errors.As(err, &ra), "the job engine must see the rate limit: %v", err)
	require.Equal(t, 30*time.Second, ra.RetryAfter())

	lc.limited = false
	b.chat.Messages[inc.ChannelID] = []incident.ChatMessage{{TS: slackTS(inc, 3), User: "U0ALICE", Text: "hello"}}
	added, err := svc.Backfill(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, 1, added)

	_, err = svc.Backfill(ctx, 999)
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err))
}

func TestAddNote(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := openIncident(t, b)

	require.NoError(t, b.capt.AddNote(ctx, inc.ID, "U0ALICE", "  customers confirm they can pay  "))
	require.Empty(t, b.queue.RunAll(t))
	events, err := b.store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	var notes []incident.TimelineEvent
	for _, ev := range events {
		if ev.Kind == incident.EventNote {
			notes = append(notes, ev)
		}
	}
	require.Len(t, notes, 1)
	require.True(t, notes[0].Key)
	require.Equal(t, "U0ALICE", notes[0].Actor)
	require.Equal(t, "customers confirm they can pay", notes[0].Text)
	require.Contains(t, b.chat.Posts[inc.ChannelID], ":memo: Note from <@U0ALICE> (key event for the postmortem): customers confirm they can pay")

	tests := []struct {
		name string
		id   int64
		text string
		code string
	}{
		{"empty", inc.ID, "   ", incident.EINVALID},
		{"too long", inc.ID, strings.Repeat("é", incident.MaxNoteLength+1), incident.EINVALID},
		{"unknown incident", 999, "hello", incident.ENOTFOUND},
	}
	for _, tt := range tests {
		err := b.capt.AddNote(ctx, tt.id, "U0ALICE", tt.text)
		require.Equal(t, tt.code, incident.ErrorCode(err), tt.name)
	}
}

func TestAddFollowUp(t *testing.T) {
	t.Parallel()
	day := func(s string) *time.Time {
		d, err := time.Parse("2006-01-02", s)
		require.NoError(t, err)
		return &d
	}
	// The clock is 2026-08-07.
	tests := []struct {
		name  string
		text  string
		owner string
		due   *time.Time
		code  string
		line  string
	}{
		{name: "owner and due", text: "alert when the pool is over 80%", owner: "U0BOB", due: day("2026-08-21"),
			line: ":clipboard: Follow-up recorded by <@U0ALICE>: alert when the pool is over 80% (owner <@U0BOB>, due 2026-08-21)."},
		{name: "due today", text: "index orders.customer_id", due: day("2026-08-07"),
			line: ":clipboard: Follow-up recorded by <@U0ALICE>: index orders.customer_id (no owner yet, due 2026-08-07)."},
		{name: "nothing else", text: "load test checkout",
			line: ":clipboard: Follow-up recorded by <@U0ALICE>: load test checkout (no owner yet, no due date yet)."},
		{name: "due in the past", text: "x", due: day("2026-08-06"), code: incident.EINVALID},
		{name: "empty", text: "  ", code: incident.EINVALID},
		{name: "too long", text: strings.Repeat("a", incident.MaxFollowUpLength+1), code: incident.EINVALID},
		{name: "owner not an id", text: "x", owner: "<@U0BOB|bob>", code: incident.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := context.Background()
			inc := openIncident(t, b)
			item, err := b.capt.AddFollowUp(ctx, inc.ID, "U0ALICE", tt.text, tt.owner, tt.due)
			if tt.code != "" {
				require.Equal(t, tt.code, incident.ErrorCode(err))
				items, err := b.store.ListActionItems(ctx, inc.ID)
				require.NoError(t, err)
				require.Empty(t, items)
				return
			}
			require.NoError(t, err)
			require.Empty(t, b.queue.RunAll(t))
			items, err := b.store.ListActionItems(ctx, inc.ID)
			require.NoError(t, err)
			require.Len(t, items, 1)
			require.Equal(t, item.ID, items[0].ID)
			require.Equal(t, strings.TrimSpace(tt.text), items[0].Text)
			require.Equal(t, tt.owner, items[0].Owner)
			require.Equal(t, "U0ALICE", items[0].CreatedBy)
			if tt.due == nil {
				require.Nil(t, items[0].DueOn)
			} else {
				require.True(t, tt.due.Equal(*items[0].DueOn))
			}
			require.Contains(t, b.chat.Posts[inc.ChannelID], tt.line)
		})
	}
}

func TestNotesAndFollowUpsAfterClose(t *testing.T) {
	t.Parallel()
	var closed []int64
	b := setup(t)
	ctx := context.Background()
	inc := openIncident(t, b)
	svc := incident.NewService(incident.ServiceConfig{Store: b.store, Scheduler: b.queue, Chat: b.chat.Roles(), Policy: b.svc.Policy(), Clock: b.clock})
	svc.RegisterJobs(b.queue)
	svc.Use(incident.Feature{Name: "close", Hook: func(_ context.Context, c incident.Change) error {
		if incident.Status(c.To) == incident.StatusClosed {
			closed = append(closed, c.Incident.ID)
		}
		return nil
	}})
	for _, to := range []incident.Status{incident.StatusResolved, incident.StatusClosed} {
		_, err := svc.SetStatus(ctx, inc.ID, to, inc.Commander, "")
		require.NoError(t, err)
	}
	require.Empty(t, b.queue.Run(t, incident.JobHooks))
	require.Equal(t, []int64{inc.ID}, closed)
	capt := capture.New(capture.Config{Store: b.store, Chat: b.chat, Notifier: svc, Policy: b.svc.Policy(), Clock: b.clock})
	require.NoError(t, capt.AddNote(ctx, inc.ID, "U0ALICE", "reviewed with the team"))
	_, err := capt.AddFollowUp(ctx, inc.ID, "U0ALICE", "add a runbook", "", nil)
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	items, err := b.store.ListActionItems(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, items, 1)
}

// msgData is a captured message's payload.
func msgData(ev incident.TimelineEvent) incident.MessageData {
	d, _ := ev.Payload.(incident.MessageData)
	return d
}

package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/capture"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/templates"
)

// busyChannel is an incident channel in the fake Slack with a realistic
// history, the incident that owns it, and what the history should give
// the timeline.
type busyChannel struct {
	f       *chatFixture
	ch      string
	store   *incidenttest.MemStore
	clock   *incidenttest.Clock
	inc     *incident.Incident
	capt    *capture.Service
	said    map[string]string // ts -> final text of what people and other apps said
	deleted []string          // ts of messages captured live and deleted since
	n       int
}

// historyTS is the Slack ts of a message sent sec seconds and us
// microseconds after the declaration.
func (b *busyChannel) historyTS(sec int) string {
	b.n++
	return fmt.Sprintf("%d.%06d", b.inc.DeclaredAt.Unix()+int64(sec), b.n)
}

func (b *busyChannel) add(t *testing.T, m slackfake.Message) string {
	t.Helper()
	m.Channel = b.ch
	stored, ok := b.f.srv.AddMessage(m)
	require.True(t, ok)
	return stored.TS
}

// newBusyChannel builds, in the fake Slack, a channel of several hundred
// messages: people talking, long threads (one longer than a page of
// conversations.replies) with a reply sent to the channel too, edits made
// after the fact, joins, files, another app's alerts and the bot's own
// notices (in the channel and in threads).
func newBusyChannel(t *testing.T) *busyChannel {
	t.Helper()
	f := newChatFixture(t)
	ctx := context.Background()
	ch, err := f.chat.CreateChannel(ctx, "inc-2026-03-01-checkout", false)
	require.NoError(t, err)
	clock := incidenttest.NewClock(chatNow)
	store := incidenttest.NewMemStore(clock)
	inc, err := store.CreateIncident(ctx, &incident.Incident{Title: "checkout is down", Severity: incident.P1, Status: incident.StatusInvestigating,
		DeclaredBy: f.alice.ID, Commander: f.alice.ID, Roles: map[string]string{}, ChannelID: ch, DeclaredAt: chatNow.Add(-3 * time.Hour)})
	require.NoError(t, err)
	b := &busyChannel{f: f, ch: ch, store: store, clock: clock, inc: inc, said: map[string]string{},
		capt: capture.New(capture.Config{Store: store, Chat: f.chat, Clock: clock})}

	people := []string{f.alice.ID, f.bob.ID, f.carol.ID}
	self := f.srv.BotUserID()
	for _, u := range people {
		b.add(t, slackfake.Message{TS: b.historyTS(1), Subtype: "channel_join", User: u, Text: "<@" + u + "> has joined the channel"})
	}
	for i := range 320 {
		sec := 10 + i*30
		switch {
		case i%8 == 3:
			// The bot's own notices: already on the timeline as its events.
			b.add(t, slackfake.Message{TS: b.historyTS(sec), User: self, BotID: "B0FIREBREAK", Text: fmt.Sprintf(":hourglass: Reminder %d: post a status update", i)})
			continue
		case i%50 == 7:
			ts := b.add(t, slackfake.Message{TS: b.historyTS(sec), Subtype: "bot_message", BotID: "B0PAGERDUTY",
				Text: fmt.Sprintf("Alert %d triggered: checkout 5xx above 5%%", i)})
			b.said[ts] = fmt.Sprintf("Alert %d triggered: checkout 5xx above 5%%", i)
			continue
		case i%60 == 11:
			ts := b.add(t, slackfake.Message{TS: b.historyTS(sec), Subtype: "file_share", User: f.bob.ID, Text: fmt.Sprintf("latency graph %d", i)})
			b.said[ts] = fmt.Sprintf("latency graph %d", i)
			continue
		}
		user := people[i%len(people)]
		text := fmt.Sprintf("message %d from <@%s>: checking shard %d", i, user, i%7)
		m := slackfake.Message{TS: b.historyTS(sec), User: user, Text: text}
		if i%25 == 9 {
			m.Text, m.EditedTS = text+" (edited: it was shard 3)", b.historyTS(sec+20)
		}
		parent := b.add(t, m)
		b.said[parent] = m.Text
		replies := 0
		switch {
		case i == 20:
			replies = 230 // more than one page of conversations.replies
		case i%40 == 0:
			replies = 4
		}
		for r := range replies {
			ru := people[(i+r+1)%len(people)]
			rm := slackfake.Message{TS: b.historyTS(sec + 1 + r/10), ThreadTS: parent, User: ru, Text: fmt.Sprintf("reply %d to %d", r, i)}
			if r == 2 {
				rm.Subtype = "thread_broadcast" // also sent to the channel
			}
			ts := b.add(t, rm)
			b.said[ts] = rm.Text
		}
		if i%40 == 0 {
			b.add(t, slackfake.Message{TS: b.historyTS(sec + 29), ThreadTS: parent, User: self, BotID: "B0FIREBREAK", Text: "Noted in the timeline."})
		}
	}
	return b
}

// A channel's whole history, read back with the catch-up the draft runs
// first, puts every message people and other apps wrote on the timeline
// once, each with its final text and author, and nothing of the bot's own
// or of the channel's system messages. A message captured live and deleted
// while the bot was away is not in the history any more, and so is marked
// deleted: the draft does not count it or quote it.
func TestBusyHistoryBackfillsEveryMessageOnce(t *testing.T) {
	b := newBusyChannel(t)
	ctx := context.Background()
	capt := func(m incident.CapturedMessage) {
		t.Helper()
		m.ChannelID = b.ch
		require.NoError(t, b.capt.CaptureMessage(ctx, m))
	}
	// Captured live before the bot went away: a message later edited,
	// and two that were deleted while it was away (one a thread reply).
	var edited string
	for ts, text := range b.said {
		if strings.HasSuffix(text, "(edited: it was shard 3)") {
			edited = ts
			capt(incident.CapturedMessage{TS: ts, User: b.f.bob.ID, Text: strings.TrimSuffix(text, " (edited: it was shard 3)")})
			break
		}
	}
	require.NotEmpty(t, edited)
	gone := b.historyTS(15)
	capt(incident.CapturedMessage{TS: gone, User: b.f.carol.ID, Text: "I think it's the 14:02 deploy, <@" + b.f.bob.ID + "> pushed it"})
	var thread string
	for ts, text := range b.said {
		if strings.HasPrefix(text, "reply 0 to 40") {
			thread = ts
		}
	}
	require.NotEmpty(t, thread)
	goneReply := b.historyTS(40*30 + 10 + 5)
	parentOfThread := ""
	for _, m := range b.f.srv.Messages(b.ch) {
		if m.TS == thread {
			parentOfThread = m.ThreadTS
		}
	}
	require.NotEmpty(t, parentOfThread)
	capt(incident.CapturedMessage{TS: goneReply, ThreadTS: parentOfThread, User: b.f.alice.ID, Text: "password is hunter2"})
	b.deleted = []string{gone, goneReply}

	added, err := b.capt.Backfill(ctx, b.inc.ID)
	require.NoError(t, err)
	require.Equal(t, len(b.said)-1, added, "every message but the one captured live is added")

	events, err := b.store.ListTimeline(ctx, b.inc.ID)
	require.NoError(t, err)
	got := map[string]incident.TimelineEvent{}
	for _, ev := range events {
		if ev.Kind != incident.EventMessage {
			continue
		}
		d, _ := ev.Payload.(incident.MessageData)
		_, dup := got[d.TS]
		require.False(t, dup, "message %s is on the timeline once", d.TS)
		got[d.TS] = ev
	}
	for ts, text := range b.said {
		ev, ok := got[ts]
		require.True(t, ok, "message %s (%q) is on the timeline", ts, text)
		require.Equal(t, text, ev.Text, "message %s shows its final text", ts)
		d, _ := ev.Payload.(incident.MessageData)
		require.False(t, d.Deleted, "message %s is not deleted", ts)
		require.Equal(t, incident.SlackTime(ts), ev.At)
	}
	for _, ts := range b.deleted {
		d, _ := got[ts].Payload.(incident.MessageData)
		require.True(t, d.Deleted, "message %s, deleted while the bot was away, is marked deleted", ts)
	}
	require.Len(t, got, len(b.said)+len(b.deleted), "nothing else: no bot notice, no join")
	require.True(t, got[edited].Payload.(incident.MessageData).Edited)

	// The draft counts what people said, names them, and quotes nothing
	// deleted.
	renderer, err := templates.Load("")
	require.NoError(t, err)
	pm := postmortem.New(postmortem.Config{Split: bot.MarkdownParts, Store: b.store, Chat: b.f.chat, Renderer: renderer, Clock: b.clock})
	d, doc, err := pm.Draft(ctx, b.inc.ID)
	require.NoError(t, err)
	require.Equal(t, len(b.said), d.MessageCount)
	counted := 0
	for _, p := range d.Participants {
		require.False(t, strings.HasPrefix(p.Name, "U"), "participant %q is named", p.Name)
		counted += p.Messages
	}
	require.NotContains(t, doc.Markdown, "hunter2")
	require.NotContains(t, doc.Markdown, "14:02 deploy")
	require.NotContains(t, doc.Markdown, "Reminder 3")
}

// newDraftService is the postmortem service over a busy channel, drafting
// through the fake Slack: the catch-up, the names, the posts.
func newDraftService(t *testing.T, b *busyChannel, q *incidenttest.Queue) *postmortem.Service {
	t.Helper()
	renderer, err := templates.Load("")
	require.NoError(t, err)
	b.store.SetScheduler(q)
	pm := postmortem.New(postmortem.Config{Split: bot.MarkdownParts, Store: b.store, Backfill: b.capt, Chat: b.f.chat, Scheduler: q,
		Renderer: renderer, Clock: b.clock})
	pm.RegisterJobs(q)
	return pm
}

// postedDraft is the text of what the bot posted in the channel for a
// draft: its summary and its parts.
func postedDraft(t *testing.T, b *busyChannel) string {
	t.Helper()
	var out strings.Builder
	for _, m := range b.f.srv.Messages(b.ch) {
		if m.User == b.f.srv.BotUserID() && !strings.Contains(m.Text, "Reminder") && m.Text != "Noted in the timeline." {
			out.WriteString(m.Text)
			out.WriteString("\n")
		}
	}
	return out.String()
}

// The channel's history read fails half-way on every attempt: its second
// page answers HTTP 500, or channel_not_found (the channel archived or
// deleted meanwhile), or a thread's replies cannot be read. The draft the
// last attempt posts says the history could not be read, in the notice
// above it and in the draft itself, so a copy of the Markdown or an export
// does not look complete either; it keeps nothing of the part that was
// read. A later draft that reads the history no longer says so.
func TestDraftAfterHistoryFailsHalfWaySaysSo(t *testing.T) {
	for name, fault := range map[string]func(slackfake.Call) *slackfake.Fault{
		"5xx on the second page": func(c slackfake.Call) *slackfake.Fault {
			if c.Method == "conversations.history" && c.Args.Get("cursor") != "" {
				return slackfake.ServerError(500)
			}
			return nil
		},
		"channel_not_found on the second page": func(c slackfake.Call) *slackfake.Fault {
			if c.Method == "conversations.history" && c.Args.Get("cursor") != "" {
				return slackfake.SlackError("channel_not_found")
			}
			return nil
		},
		"a thread's replies": func(c slackfake.Call) *slackfake.Fault {
			if c.Method == "conversations.replies" && c.Args.Get("cursor") != "" {
				return slackfake.ServerError(503)
			}
			return nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			b := newBusyChannel(t)
			ctx := context.Background()
			b.f.srv.OnCall(fault)
			q := incidenttest.NewQueue()
			pm := newDraftService(t, b, q)
			require.NoError(t, pm.ScheduleDraft(ctx, b.inc))
			require.Empty(t, q.RunAll(t))

			posted := postedDraft(t, b)
			require.Contains(t, posted, "Postmortem draft for "+b.inc.Key())
			require.Contains(t, posted, "The channel history could not be read")
			events, err := b.store.ListTimeline(ctx, b.inc.ID)
			require.NoError(t, err)
			for _, ev := range events {
				require.NotEqual(t, incident.EventMessage, ev.Kind, "nothing of a history read half-way is kept")
			}
			require.Contains(t, posted, postmortem.HistoryUnreadNote, "the Markdown draft says so")
			d, doc, err := pm.Draft(ctx, b.inc.ID)
			require.NoError(t, err)
			require.True(t, d.HistoryUnread)
			require.Contains(t, doc.Markdown, postmortem.HistoryUnreadNote, "what an export publishes says so")
			require.Contains(t, doc.Confluence, "could not be read back: messages sent while the bot was away may be missing.")

			// Slack answers again; the next draft reads the history.
			b.f.srv.OnCall(func(slackfake.Call) *slackfake.Fault { return nil })
			b.clock.Advance(2 * time.Minute)
			require.NoError(t, pm.ScheduleDraft(ctx, b.inc))
			require.Empty(t, q.RunAll(t))
			d, doc, err = pm.Draft(ctx, b.inc.ID)
			require.NoError(t, err)
			require.False(t, d.HistoryUnread)
			require.NotContains(t, doc.Markdown, postmortem.HistoryUnreadNote)
			require.Equal(t, len(b.said), d.MessageCount)
		})
	}
}

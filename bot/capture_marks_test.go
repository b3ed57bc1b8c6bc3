package bot

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/capture"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/templates"
)

// markTransport is an incident channel in the fake Slack whose events reach
// the bot over one transport (the signed HTTP Events API route, or Socket
// Mode), each run as the event job at once.
type markTransport struct {
	*transport
	ctx  context.Context
	send func(t *testing.T, inner, eventID string, opts ...slackfake.RequestOption) bool
	ts   float64 // the fake Slack's clock, as event_ts
}

func newMarkTransport(t *testing.T, socket bool) *markTransport {
	t.Helper()
	tr := newTransport(t)
	tr.h.RegisterJobs(tr.queue)
	mt := &markTransport{transport: tr, ctx: context.Background(), ts: float64(tr.clock.Now().Unix())}
	if socket {
		mt.ctx = runSocket(t, tr)
	}
	mt.send = func(t *testing.T, inner, eventID string, opts ...slackfake.RequestOption) bool {
		t.Helper()
		before := len(tr.queue.Jobs())
		if socket {
			r, err := tr.driver.SocketEvent(mt.ctx, []byte(inner), eventID, opts...)
			require.NoError(t, err)
			require.NotEmpty(t, r.EnvelopeID)
		} else {
			r, err := tr.driver.Event(mt.ctx, tr.base+"/slack/events", []byte(inner), eventID, opts...)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.StatusCode, string(r.Body))
		}
		isNew := len(tr.queue.Jobs()) > before
		require.Empty(t, tr.queue.RunAll(t))
		return isNew
	}
	return mt
}

// eventTS is the next event_ts, a second after the last.
func (mt *markTransport) eventTS() string {
	mt.ts++
	return fmt.Sprintf("%.6f", mt.ts)
}

// post puts a person's message in the channel, with the reactions it has
// when the history is read back, and delivers it.
func (mt *markTransport) post(t *testing.T, user, text string, reactions ...slackfake.Reaction) string {
	t.Helper()
	m, ok := mt.srv.AddMessage(slackfake.Message{Channel: mt.inc.ChannelID, User: user, Text: text, Reactions: reactions})
	require.True(t, ok)
	mt.send(t, fmt.Sprintf(`{"type":"message","channel":%q,"user":%q,"text":%q,"ts":%q,"event_ts":%q,"channel_type":"channel"}`,
		mt.inc.ChannelID, user, text, m.TS, m.TS), "Ev"+m.TS)
	return m.TS
}

// reaction is a reaction_added or reaction_removed event as Slack documents
// it (https://docs.slack.dev/reference/events/reaction_removed).
func (mt *markTransport) reaction(typ, user, name, itemUser, ts, eventTS string) string {
	return fmt.Sprintf(`{"type":%q,"user":%q,"reaction":%q,"item_user":%q,"item":{"type":"message","channel":%q,"ts":%q,"channel_type":"channel"},"event_ts":%q}`,
		typ, user, name, itemUser, mt.inc.ChannelID, ts, eventTS)
}

// pin is a pin_added or pin_removed event as Slack documents it
// (https://docs.slack.dev/reference/events/pin_removed): the item is the
// message, and has_pins says whether the channel keeps other pins.
func (mt *markTransport) pin(typ, user, author, text, ts, eventTS string, hasPins bool) string {
	extra := ""
	if typ == "pin_removed" {
		extra = fmt.Sprintf(`,"has_pins":%t`, hasPins)
	}
	return fmt.Sprintf(`{"type":%q,"user":%q,"channel_id":%q,"item":{"type":"message","channel":%q,"created":%d,"created_by":%q,`+
		`"message":{"type":"message","user":%q,"text":%q,"ts":%q,"permalink":"https://x.slack.com/p"}}%s,"event_ts":%q}`,
		typ, user, mt.inc.ChannelID, mt.inc.ChannelID, int64(mt.ts), user, author, text, ts, extra, eventTS)
}

func (mt *markTransport) key(t *testing.T, ts string) (bool, incident.MessageData) {
	t.Helper()
	events, err := mt.store.ListTimeline(context.Background(), mt.inc.ID)
	require.NoError(t, err)
	for _, ev := range events {
		if d, ok := ev.Payload.(incident.MessageData); ok && d.TS == ts {
			return ev.Key, d
		}
	}
	t.Fatalf("message %s is not on the timeline", ts)
	return false, incident.MessageData{}
}

// TestKeyMarksTakenBack: over the HTTP Events API and over Socket Mode, a
// message stays a key event while one :pushpin: or pin remains on it and
// stops being one when the last is taken back, whatever order Slack
// delivers the events in (a removal before its add, an add retried after
// the removal, a duplicate), and the postmortem drafted after lists only
// the messages still marked.
func TestKeyMarksTakenBack(t *testing.T) {
	for name, socket := range map[string]bool{"http": false, "socket mode": true} {
		t.Run(name, func(t *testing.T) {
			mt := newMarkTransport(t, socket)
			ic, other := mt.ic.ID, mt.other.ID

			// Two people mark a message; one takes theirs back, then the
			// other: a key event, then not.
			both := mt.post(t, other, "rolled back to 9f8e7d6")
			mt.send(t, mt.reaction("reaction_added", ic, "pushpin", other, both, mt.eventTS()), "EvR1")
			mt.send(t, mt.reaction("reaction_added", other, "pushpin", other, both, mt.eventTS()), "EvR2")
			mt.send(t, mt.reaction("reaction_removed", ic, "pushpin", other, both, mt.eventTS()), "EvR3")
			key, d := mt.key(t, both)
			require.True(t, key, "the other :pushpin: remains")
			require.Equal(t, other, d.MarkedBy)
			mt.send(t, mt.reaction("reaction_removed", other, "pushpin", other, both, mt.eventTS()), "EvR4")
			key, d = mt.key(t, both)
			require.False(t, key, "no :pushpin: remains")
			require.Empty(t, d.Marked)

			// One of two marks taken back, and the message stays key.
			kept := mt.post(t, ic, "p99 back under 200ms", slackfake.Reaction{Name: "pushpin", Users: []string{other}})
			mt.send(t, mt.reaction("reaction_added", ic, "pushpin", ic, kept, mt.eventTS()), "EvK1")
			mt.send(t, mt.reaction("reaction_added", other, "pushpin", ic, kept, mt.eventTS()), "EvK2")
			mt.send(t, mt.reaction("reaction_removed", ic, "pushpin", ic, kept, mt.eventTS()), "EvK3")

			// The removal is delivered first; its add, timed before it,
			// comes as Slack's retry after a timeout, then the removal
			// again (a duplicate by event_id).
			late := mt.post(t, other, "the pool is at 100%")
			added, removed := mt.eventTS(), mt.eventTS()
			mt.send(t, mt.reaction("reaction_removed", ic, "pushpin", other, late, removed), "EvL2")
			mt.send(t, mt.reaction("reaction_added", ic, "pushpin", other, late, added), "EvL1", slackfake.Retry(1, "http_timeout"))
			require.False(t, mt.send(t, mt.reaction("reaction_removed", ic, "pushpin", other, late, removed), "EvL2",
				slackfake.Retry(2, "http_timeout")), "the duplicate is absorbed")
			key, _ = mt.key(t, late)
			require.False(t, key, "the add happened before the removal")

			// Pinned, then unpinned: the channel keeps other pins (the
			// bot's panel), which says nothing of this message.
			pinned := mt.post(t, other, "feature flag new-checkout off")
			mt.send(t, mt.pin("pin_added", ic, other, "feature flag new-checkout off", pinned, mt.eventTS(), false), "EvP1")
			key, d = mt.key(t, pinned)
			require.True(t, key)
			require.Equal(t, "pin", d.Marked)
			mt.send(t, mt.pin("pin_removed", ic, other, "feature flag new-checkout off", pinned, mt.eventTS(), true), "EvP2")
			key, _ = mt.key(t, pinned)
			require.False(t, key, "unpinned")

			// An unpin delivered before its pin.
			unpinned := mt.post(t, other, "rollback failed, retrying")
			pinTS, unpinTS := mt.eventTS(), mt.eventTS()
			mt.send(t, mt.pin("pin_removed", other, other, "rollback failed, retrying", unpinned, unpinTS, true), "EvU2")
			mt.send(t, mt.pin("pin_added", other, other, "rollback failed, retrying", unpinned, pinTS, false), "EvU1")
			key, _ = mt.key(t, unpinned)
			require.False(t, key, "the pin happened before the unpin")

			// The bot unpinning its own panel is not a key event's business.
			mt.send(t, mt.pin("pin_removed", mt.srv.BotUserID(), mt.srv.BotUserID(), "panel", mt.inc.PanelTS, mt.eventTS(), true), "EvB1")
			events, err := mt.store.ListTimeline(context.Background(), mt.inc.ID)
			require.NoError(t, err)
			for _, ev := range events {
				if d, ok := ev.Payload.(incident.MessageData); ok {
					require.NotEqual(t, mt.inc.PanelTS, d.TS, "the panel is not on the timeline")
				}
			}

			// The postmortem, drafted after reading the channel back as
			// the draft job does, lists only the message still marked.
			capt := capture.New(capture.Config{Store: mt.store, Chat: mt.chat, Policy: mt.svc.Policy(), Clock: mt.clock})
			mt.clock.Advance(time.Minute)
			_, err = capt.Backfill(context.Background(), mt.inc.ID)
			require.NoError(t, err)
			renderer, err := templates.Load("")
			require.NoError(t, err)
			pm := postmortem.New(postmortem.Config{Split: MarkdownParts, Store: mt.store, Chat: mt.chat, Renderer: renderer, Clock: mt.clock})
			draft, doc, err := pm.Draft(context.Background(), mt.inc.ID)
			require.NoError(t, err)
			var listed []string
			for _, ev := range draft.KeyEvents {
				if ev.Kind == incident.EventMessage {
					listed = append(listed, ev.Text)
				}
			}
			require.Equal(t, []string{"p99 back under 200ms"}, listed)
			require.NotContains(t, doc.Markdown, "rolled back to 9f8e7d6")
			require.NotContains(t, doc.Markdown, "feature flag new-checkout off")
		})
	}
}

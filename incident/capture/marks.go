package capture

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// The kinds of mark that make a message a key event, as MessageData.Marked
// names them.
const (
	markPin      = "pin"
	markReaction = "reaction"
)

// mark is one pin or reaction on a message, as last seen: present or
// taken back, by whom, and when (the event's own ts; "" when not known,
// which is older than any). A message has at most one pin; a reaction is
// one person's, by name. A reaction seen in the channel's history has no
// person: the history names reactions only.
type mark struct {
	kind     string // markPin or markReaction
	user     string
	reaction string
	present  bool
	ts       string
}

// same reports whether a and b are the same mark: the pin, or one
// person's reaction of one name.
func (a mark) same(b mark) bool {
	if a.kind != b.kind {
		return false
	}
	return a.kind == markPin || (a.user == b.user && a.reaction == b.reaction)
}

// marks is a message's marks, in the order first seen.
type marks []mark

// The notation of MessageData.Marks: one mark a word, "+" present or "-"
// taken back, the kind, the person and the reaction, then "@" and the ts:
// "+pin/U0ALICE/@1773497230.000000 -reaction/U0BOB/pushpin@1773497240.000100".
// Slack's user ids, reaction names and ts have none of " /@".

func (ms marks) String() string {
	words := make([]string, 0, len(ms))
	for _, m := range ms {
		sign := "-"
		if m.present {
			sign = "+"
		}
		words = append(words, sign+m.kind+"/"+m.user+"/"+m.reaction+"@"+m.ts)
	}
	return strings.Join(words, " ")
}

// parseMarks reads MessageData.Marks. A message marked before marks were
// recorded (key, with Marked set and no Marks) has the one mark Marked
// names, from a time not known; a reaction then is the policy's key
// reaction, named keyReaction.
func parseMarks(d incident.MessageData, key bool, keyReaction string) marks {
	if d.Marks == "" {
		switch {
		case !key:
			return nil
		case d.Marked == markPin:
			return marks{{kind: markPin, user: d.MarkedBy, present: true}}
		default:
			return marks{{kind: markReaction, user: d.MarkedBy, reaction: keyReaction, present: true}}
		}
	}
	var out marks
	for _, w := range strings.Fields(d.Marks) {
		if len(w) < 2 || (w[0] != '+' && w[0] != '-') {
			continue
		}
		body, ts, _ := strings.Cut(w[1:], "@")
		parts := strings.SplitN(body, "/", 3)
		for len(parts) < 3 {
			parts = append(parts, "")
		}
		if parts[0] != markPin && parts[0] != markReaction {
			continue
		}
		out = append(out, mark{kind: parts[0], user: parts[1], reaction: parts[2], present: w[0] == '+', ts: ts})
	}
	return out
}

// apply records m, unless what is recorded of the same mark is newer:
// Slack delivers events in no set order and retries late, and the order
// of their own ts is the order they happened in. Of two events with the
// same ts, a removal wins, so the result does not depend on which is
// delivered first. It reports whether anything changed.
func (ms *marks) apply(m mark) bool {
	i := slices.IndexFunc(*ms, m.same)
	if i < 0 {
		*ms = append(*ms, m)
		return true
	}
	old := (*ms)[i]
	switch c := compareTS(m.ts, old.ts); {
	case c < 0:
		return false
	case c == 0 && (m.present == old.present || m.present):
		return false
	}
	(*ms)[i] = m
	return true
}

// first is the mark that has marked the message key longest, and whether
// one does.
func (ms marks) first() (mark, bool) {
	var out mark
	found := false
	for _, m := range ms {
		if m.present && (!found || compareTS(m.ts, out.ts) < 0) {
			out, found = m, true
		}
	}
	return out, found
}

// setMarks stores ms in the event: key while one mark remains, Marked and
// MarkedBy naming the mark that has marked it longest.
func setMarks(ev *incident.TimelineEvent, d *incident.MessageData, ms marks) {
	d.Marks = ms.String()
	if m, ok := ms.first(); ok {
		ev.Key, d.Marked, d.MarkedBy = true, m.kind, m.user
		return
	}
	ev.Key, d.Marked, d.MarkedBy = false, "", ""
}

// keyReactionName is the policy's key reaction, without colons.
func (s *Service) keyReactionName() string {
	if want := strings.Trim(s.policy.KeyReaction, ":"); want != "" {
		return want
	}
	return "pushpin"
}

// applyMarks applies fn to the marks stored with a message and keeps the
// message's key flag in step; fn reports whether it changed any.
func (s *Service) applyMarks(ev *incident.TimelineEvent, d *incident.MessageData, fn func(*marks) bool) bool {
	ms := parseMarks(*d, ev.Key, s.keyReactionName())
	if !fn(&ms) {
		return false
	}
	wasKey, marked, by := ev.Key, d.Marked, d.MarkedBy
	before := d.Marks
	setMarks(ev, d, ms)
	return before != d.Marks || wasKey != ev.Key || marked != d.Marked || by != d.MarkedBy
}

// CaptureMark records a pin or a key reaction added to or taken back from
// a message of an incident channel: the message is a key event for the
// postmortem while one pin or key reaction remains on it, so that when two
// people react and one takes it back, it stays one. Marks are applied in
// the order of their EventTS whatever order Slack delivers them in: a
// removal delivered before its add, or an add retried after a later
// removal, ends in the state Slack shows. A message the timeline does not
// have yet is stored as a placeholder that its own delivery or Backfill
// fills in, keeping the mark (a removal too, for its add may come later).
// Other reactions, marks elsewhere and marks of the bot's control panel
// are ignored.
func (s *Service) CaptureMark(ctx context.Context, km incident.KeyMark) error {
	if km.TS == "" {
		return nil
	}
	m := mark{kind: markPin, user: km.User, present: !km.Removed, ts: km.EventTS}
	if !km.Pin {
		if !s.isKeyReaction(km.Reaction) {
			return nil
		}
		m.kind, m.reaction = markReaction, strings.Trim(km.Reaction, ":")
	}
	inc, err := s.incidentOf(ctx, km.ChannelID)
	if err != nil || inc == nil {
		return err
	}
	if km.TS == inc.PanelTS {
		return nil
	}
	add := func(ms *marks) bool { return ms.apply(m) }
	for range 2 {
		err = s.updateMessage(ctx, inc.ID, km.TS, func(ev *incident.TimelineEvent, d *incident.MessageData) bool {
			return s.applyMarks(ev, d, add)
		})
		if incident.ErrorCode(err) != incident.ENOTFOUND {
			break
		}
		at := incident.SlackTime(km.TS)
		if at.IsZero() {
			at = s.clock.Now()
		}
		ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventMessage, At: at, SourceID: messageSource(km.TS)}
		d := incident.MessageData{TS: km.TS, Placeholder: true}
		setMarks(&ev, &d, marks{m})
		ev.Payload = d
		if err = s.store.AddTimelineEvent(ctx, &ev); incident.ErrorCode(err) != incident.ECONFLICT {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("mark message %s in %s: %w", km.TS, inc.Key(), err)
	}
	return nil
}

// historySkew is how far Slack's clock, which times events, may be from
// ours, which times a read of the channel's history.
const historySkew = time.Minute

// historyTS is the time a history read at readAt stands for, as a Slack
// ts: a little earlier, so an event Slack timed after the read is never
// taken for older than it.
func historyTS(readAt time.Time) string {
	t := readAt.Add(-historySkew)
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

// historyMarks brings ms in line with a message as the channel's history
// showed it at stamp: pinned or not, with these key reactions. What was
// marked or taken back since stays as it is. The history does not say who
// reacted, so a key reaction it shows that no recorded mark accounts for
// is recorded as nobody's. It reports whether anything changed.
func (s *Service) historyMarks(ms *marks, pinned bool, reactions []string, stamp string) bool {
	changed := false
	pin := slices.IndexFunc(*ms, func(m mark) bool { return m.kind == markPin })
	switch {
	case pin < 0 && pinned:
		*ms = append(*ms, mark{kind: markPin, present: true, ts: stamp})
		changed = true
	case pin >= 0 && (*ms)[pin].present != pinned && compareTS((*ms)[pin].ts, stamp) < 0:
		(*ms)[pin] = mark{kind: markPin, present: pinned, ts: stamp}
		changed = true
	}
	var shown []string
	for _, r := range reactions {
		if r = strings.Trim(r, ":"); s.isKeyReaction(r) && !slices.Contains(shown, r) {
			shown = append(shown, r)
		}
	}
	for i, m := range *ms {
		if m.kind == markReaction && m.present && !slices.Contains(shown, m.reaction) && compareTS(m.ts, stamp) < 0 {
			(*ms)[i].present, (*ms)[i].ts = false, stamp
			changed = true
		}
	}
	for _, r := range shown {
		accounted := slices.ContainsFunc(*ms, func(m mark) bool {
			return m.kind == markReaction && m.reaction == r && (m.present || compareTS(m.ts, stamp) > 0)
		})
		if !accounted && ms.apply(mark{kind: markReaction, reaction: r, present: true, ts: stamp}) {
			changed = true
		}
	}
	return changed
}

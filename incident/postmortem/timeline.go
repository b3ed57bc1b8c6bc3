package postmortem

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// mergeMessages sorts the timeline by time and folds the versions of one
// Slack message (the same ts captured again after an edit or a delete) into
// one event: the first one's time, the last one's text, deleted or key if any
// version was. It copies, so the input is left as it was.
func mergeMessages(timeline []incident.TimelineEvent) []incident.TimelineEvent {
	out := make([]incident.TimelineEvent, 0, len(timeline))
	byTS := make(map[string]int)
	for _, ev := range timeline {
		ts := ""
		if ev.Kind == incident.EventMessage {
			ts = message(ev).TS
			if ts == "" {
				ts = ev.SourceID
			}
		}
		if ts == "" {
			out = append(out, ev)
			continue
		}
		i, seen := byTS[ts]
		if !seen {
			byTS[ts] = len(out)
			out = append(out, ev)
			continue
		}
		prev := out[i]
		merged := ev
		merged.At = minTime(prev.At, ev.At)
		merged.Key = prev.Key || ev.Key
		merged.Payload = mergeMessage(message(prev), message(ev))
		if ev.Text == "" {
			// A delete may arrive without the text.
			merged.Text = prev.Text
		}
		out[i] = merged
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].At.Before(out[b].At) })
	return out
}

// message is a captured message's payload, zero for any other event.
func message(ev incident.TimelineEvent) incident.MessageData {
	d, _ := ev.Payload.(incident.MessageData)
	return d
}

// mergeMessage is prev with what next says on top: next's non-empty
// fields and its flags that are set.
func mergeMessage(prev, next incident.MessageData) incident.MessageData {
	out := prev
	for _, f := range []struct{ dst, src *string }{{&out.User, &next.User}, {&out.App, &next.App}, {&out.TS, &next.TS},
		{&out.ThreadTS, &next.ThreadTS}, {&out.Permalink, &next.Permalink}, {&out.Marked, &next.Marked}, {&out.MarkedBy, &next.MarkedBy}} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	out.Edited = prev.Edited || next.Edited
	out.Deleted = prev.Deleted || next.Deleted
	out.Placeholder = prev.Placeholder || next.Placeholder
	out.Backfilled = prev.Backfilled || next.Backfilled
	return out
}

func deleted(ev incident.TimelineEvent) bool { return message(ev).Deleted }

// messageUser returns who wrote a captured message.
func messageUser(ev incident.TimelineEvent) string {
	if u := message(ev).User; u != "" {
		return u
	}
	return ev.Actor
}

// commanderAssigned reports whether ev gave someone the IC role.
func commanderAssigned(ev incident.TimelineEvent) bool {
	d, ok := ev.Payload.(incident.RoleAssignedData)
	return ok && d.Role == incident.RoleCommander
}

// Milestone names, in timeline order.
const (
	MilestoneStarted      = "Started"
	MilestoneDeclared     = "Detected and declared"
	MilestoneCommander    = "Incident Commander assigned"
	MilestonePaged        = "On-call paged"
	MilestoneAcknowledged = "Acknowledged"
	MilestoneDiagnosis    = "Diagnosis began"
	MilestoneChanges      = "Recent changes found"
	MilestoneFix          = "Rollback or fix applied"
	MilestoneMitigated    = "Mitigated"
	MilestoneResolved     = "Resolved"
	// MilestonePublic is the first status page post; it is listed only
	// when there was one.
	MilestonePublic = "Status page first posted"
)

func (c *compiler) milestones() []Milestone {
	ms := make([]Milestone, 0, 10)
	add := func(name string, at time.Time, detail string) {
		m := Milestone{Name: name, Detail: detail}
		if !at.IsZero() {
			m.At, m.Recorded, m.Offset = at, true, positive(at.Sub(c.start))
		}
		ms = append(ms, m)
	}
	startDetail := "taken as the declaration"
	if c.start.Before(c.inc.DeclaredAt) {
		startDetail = "the earliest recorded event, before the declaration"
	}
	add(MilestoneStarted, c.start, startDetail+"; edit if the impact began earlier")
	add(MilestoneDeclared, c.inc.DeclaredAt, "declared in Slack")

	var icAt time.Time
	for _, ev := range c.events {
		if commanderAssigned(ev) {
			icAt = ev.At
			break
		}
	}
	add(MilestoneCommander, icAt, "")

	pagedAt, pagedDetail := time.Time{}, ""
	for _, p := range c.in.Pages {
		if !p.CreatedAt.IsZero() && (pagedAt.IsZero() || p.CreatedAt.Before(pagedAt)) {
			pagedAt, pagedDetail = p.CreatedAt, providerLabel(p.Provider)
		}
	}
	if ev, ok := c.first(incident.EventPaged); ok && (pagedAt.IsZero() || ev.At.Before(pagedAt)) {
		pagedAt, pagedDetail = ev.At, ""
	}
	add(MilestonePaged, pagedAt, pagedDetail)

	ackAt, ackDetail := c.acknowledgedAt()
	add(MilestoneAcknowledged, ackAt, ackDetail)

	diagAt, diagDetail := c.diagnosisBegan()
	add(MilestoneDiagnosis, diagAt, diagDetail)

	changesAt, changesDetail := time.Time{}, ""
	if ev, ok := c.first(incident.EventChangesShown); ok {
		changesAt, changesDetail = ev.At, "recent changes listed in the channel"
	}
	add(MilestoneChanges, changesAt, changesDetail)

	fixAt, fixDetail := c.fixApplied()
	add(MilestoneFix, fixAt, fixDetail)

	add(MilestoneMitigated, timeOf(c.inc.MitigatedAt), "")
	add(MilestoneResolved, timeOf(c.inc.ResolvedAt), "")
	if at, ok := incident.FirstPublicPost(c.events); ok {
		detail := "customers told on the status page"
		if t := c.sev.StatusPageWithin; t > 0 {
			detail += fmt.Sprintf(", %s after the declaration (target %s)", fmtDuration(positive(at.Sub(c.inc.DeclaredAt))), fmtDuration(t))
		}
		add(MilestonePublic, at, detail)
	}

	// A timeline reads in time order; steps that never happened follow, in
	// their usual order, so the gaps stand out.
	sort.SliceStable(ms, func(i, j int) bool {
		if ms[i].Recorded != ms[j].Recorded {
			return ms[i].Recorded
		}
		return ms[i].Recorded && ms[i].At.Before(ms[j].At)
	})
	return ms
}

// diagnosisBegan is when someone started working the problem: the first
// status update, or the first message a person wrote in the channel at or
// after the declaration, whichever came first. Deleted messages do not count.
func (c *compiler) diagnosisBegan() (time.Time, string) {
	var at time.Time
	detail := ""
	for _, u := range c.in.Updates {
		if !u.PostedAt.Before(c.inc.DeclaredAt) && (at.IsZero() || u.PostedAt.Before(at)) {
			at, detail = u.PostedAt, "first status update"
		}
	}
	for _, ev := range c.events {
		if ev.Kind != incident.EventMessage || deleted(ev) || ev.At.Before(c.inc.DeclaredAt) || !c.isUser(messageUser(ev)) {
			continue
		}
		if at.IsZero() || ev.At.Before(at) {
			at, detail = ev.At, "first message in the channel after the declaration"
		}
		break
	}
	return at, detail
}

// fixApplied is the first rollback that succeeded, else the first rollback
// event that reports success.
func (c *compiler) fixApplied() (time.Time, string) {
	var at time.Time
	detail := ""
	for _, r := range c.in.Rollbacks {
		if r.Status == incident.RollbackSucceeded && (at.IsZero() || r.UpdatedAt.Before(at)) {
			at, detail = r.UpdatedAt, "rollback succeeded: "+strings.TrimSuffix(strings.TrimSpace(r.Plan.Description), ".")
		}
	}
	if !at.IsZero() {
		return at, strings.TrimSuffix(strings.TrimSpace(detail), ":")
	}
	for _, ev := range c.events {
		if d, ok := ev.Payload.(incident.RollbackData); ok && d.Status == incident.RollbackSucceeded {
			return ev.At, "rollback succeeded"
		}
	}
	return at, ""
}

func (c *compiler) keyEvents() []Event {
	var out []Event
	for _, ev := range c.events {
		if !ev.Key || (ev.Kind == incident.EventMessage && deleted(ev)) {
			continue
		}
		actor := ev.Actor
		if ev.Kind == incident.EventMessage {
			actor = messageUser(ev)
		}
		out = append(out, Event{
			At:       ev.At,
			Kind:     ev.Kind,
			Actor:    c.name(actor),
			Text:     stripLeadingEmoji(plainText(ev.Text, c.name)),
			InThread: message(ev).ThreadTS != "" && message(ev).ThreadTS != message(ev).TS,
			Edited:   message(ev).Edited,
			Link:     message(ev).Permalink,
		})
	}
	return out
}

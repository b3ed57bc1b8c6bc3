package postmortem

import (
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// Resolution is the data that confirmed the resolution, from the resolve
// checklist.
type Resolution struct {
	By                string // display name
	At                time.Time
	MonitorsGreen     bool
	ErrorRateBaseline bool
	SmokeTested       bool
	SmokeTester       string // display name; "" when nobody was named
	Notes             string
}

// DrillStep is one step of the response a drill rehearsed, and whether it
// worked.
type DrillStep struct {
	Name   string
	Worked bool
	// Offset is when it happened, from the start.
	Offset time.Duration
	Detail string
}

// resolution returns the last resolve checklist on the timeline.
func (c *compiler) resolution() *Resolution {
	var out *Resolution
	for _, ev := range c.events {
		if ev.Kind != incident.EventResolutionCheck {
			continue
		}
		d, _ := ev.Payload.(incident.ResolutionCheckData)
		r := &Resolution{By: c.name(ev.Actor), At: ev.At, MonitorsGreen: bool(d.MonitorsGreen),
			ErrorRateBaseline: bool(d.ErrorRateBaseline), SmokeTested: bool(d.SmokeTested), Notes: d.Notes}
		if t := d.SmokeTester; t != "" {
			r.SmokeTester = c.name(t)
		}
		out = r
	}
	return out
}

// drillSteps says, for a drill, which steps of the response ran: the record
// of what worked and what did not.
func (c *compiler) drillSteps(res *Resolution) []DrillStep {
	first := func(match func(incident.TimelineEvent) bool) (time.Time, bool) {
		for _, ev := range c.events {
			if match(ev) {
				return ev.At, true
			}
		}
		return time.Time{}, false
	}
	step := func(name string, at time.Time, ok bool, worked, missed string) DrillStep {
		s := DrillStep{Name: name, Worked: ok, Detail: missed}
		if ok {
			s.Offset, s.Detail = positive(at.Sub(c.start)), worked
		}
		return s
	}
	var steps []DrillStep
	at, ok := first(func(ev incident.TimelineEvent) bool {
		return ev.Kind == incident.EventSetup && ev.SourceID == "setup:channel"
	})
	steps = append(steps, step("War room opened", at, ok, "the channel was created", "no channel was created"))
	at, ok = first(func(ev incident.TimelineEvent) bool {
		return commanderAssigned(ev)
	})
	steps = append(steps, step("Incident Commander took the role", at, ok, "", "nobody took the IC role"))
	at, ok = first(func(ev incident.TimelineEvent) bool { return ev.Kind == incident.EventPaged })
	detail := "the test service was paged"
	for _, ev := range c.events {
		if d, ok := ev.Payload.(incident.PagedData); ok && d.Simulated {
			detail = "simulated: nobody real was paged"
		}
	}
	steps = append(steps, step("On-call paged", at, ok, detail, "no page was sent or simulated"))
	if c.inc.AcknowledgedAt != nil {
		steps = append(steps, step("Response acknowledged", *c.inc.AcknowledgedAt, true, "", ""))
	} else {
		steps = append(steps, step("Response acknowledged", time.Time{}, false, "", "nobody acknowledged"))
	}
	at, ok = first(func(ev incident.TimelineEvent) bool { return ev.Kind == incident.EventUpdatePosted })
	steps = append(steps, step("Status update posted", at, ok, "", "no status update was posted"))
	at, ok = first(func(ev incident.TimelineEvent) bool { return ev.Kind == incident.EventChangesShown })
	steps = append(steps, step("What changed? checked", at, ok, "", "nobody asked what changed"))
	at, ok = first(func(ev incident.TimelineEvent) bool {
		d, ok := ev.Payload.(incident.RollbackData)
		return ok && d.Step == "started"
	})
	rb := "the rollback ran"
	for _, ev := range c.events {
		if d, ok := ev.Payload.(incident.RollbackData); ok && d.DryRun {
			rb = "dry run: nothing was changed"
		}
	}
	steps = append(steps, step("Rollback rehearsed", at, ok, rb, "no rollback was tried"))
	if res != nil {
		complete := res.MonitorsGreen && res.ErrorRateBaseline && res.SmokeTested && res.SmokeTester != ""
		s := step("Resolution confirmed with data", res.At, complete, "monitors, error rate and a smoke test", "the checklist was incomplete")
		steps = append(steps, s)
	} else {
		steps = append(steps, step("Resolution confirmed with data", time.Time{}, false, "", "no checklist was answered"))
	}
	if c.inc.ResolvedAt != nil {
		steps = append(steps, step("Resolved", *c.inc.ResolvedAt, true, "", ""))
	} else {
		steps = append(steps, step("Resolved", time.Time{}, false, "", "not resolved"))
	}
	return steps
}

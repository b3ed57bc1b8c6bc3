package postmortem

import (
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// acknowledgedAt is the human acknowledgement: the incident's own record,
// else the earliest page acknowledgement or acknowledged event.
func (c *compiler) acknowledgedAt() (time.Time, string) {
	if c.inc.AcknowledgedAt != nil {
		return *c.inc.AcknowledgedAt, "incident acknowledged"
	}
	var at time.Time
	for _, p := range c.in.Pages {
		if p.AcknowledgedAt != nil && (at.IsZero() || p.AcknowledgedAt.Before(at)) {
			at = *p.AcknowledgedAt
		}
	}
	if ev, ok := c.first(incident.EventAcknowledged); ok && (at.IsZero() || ev.At.Before(at)) {
		at = ev.At
	}
	if at.IsZero() {
		return at, ""
	}
	return at, "page acknowledged"
}

// first returns the earliest event of a kind.
func (c *compiler) first(kind incident.EventKind) (incident.TimelineEvent, bool) {
	for _, ev := range c.events {
		if ev.Kind == kind {
			return ev, true
		}
	}
	return incident.TimelineEvent{}, false
}

func (c *compiler) metrics() Metrics {
	m := Metrics{
		AckTarget:     c.sev.RespondWithin,
		AckTargetText: c.sev.TargetText,
		UpdateEvery:   c.sev.UpdateEvery,
	}
	if m.AckTargetText == "" && m.AckTarget > 0 {
		m.AckTargetText = fmtDuration(m.AckTarget)
	}
	declared := c.inc.DeclaredAt
	if at, _ := c.acknowledgedAt(); !at.IsZero() {
		m.TimeToAcknowledge = positive(at.Sub(declared))
		m.AckWithinTarget = m.AckTarget > 0 && m.TimeToAcknowledge <= m.AckTarget
	}
	if c.inc.MitigatedAt != nil {
		m.TimeToMitigate = positive(c.inc.MitigatedAt.Sub(declared))
	}
	if c.inc.ResolvedAt != nil {
		m.TimeToResolve = positive(c.inc.ResolvedAt.Sub(declared))
	}
	// The target applies when the status page clock ran for the incident
	// (its draft was proposed) and nobody judged it not customer-facing.
	for _, ev := range c.events {
		switch {
		case ev.Kind == incident.EventComms && ev.SourceID == "comms:draft":
			m.PublicTarget = c.sev.StatusPageWithin
		case ev.Kind == incident.EventComms && ev.SourceID == "comms:declined":
			m.NotCustomerFacing = true
		}
	}
	if m.NotCustomerFacing {
		m.PublicTarget = 0
	}
	if at, ok := incident.FirstPublicPost(c.events); ok {
		m.PublicTarget = c.sev.StatusPageWithin
		m.PublicPosted = true
		m.TimeToFirstPublic = positive(at.Sub(declared))
		m.PublicWithinTarget = m.PublicTarget > 0 && m.TimeToFirstPublic <= m.PublicTarget
	}
	for _, ev := range c.events {
		if d, ok := ev.Payload.(incident.CommsStepData); ok && d.Email != "" {
			m.CustomerEmail = d.Email
			if m.CustomerEmail == incident.EmailSent {
				m.CustomersEmailed = ev.At
			}
		}
	}
	// Updates are owed while users are affected: from the declaration until
	// mitigation, or the resolution, or now. Both counts use that window.
	end := c.end
	if c.inc.MitigatedAt != nil && c.inc.MitigatedAt.Before(end) {
		end = *c.inc.MitigatedAt
	}
	for _, u := range c.in.Updates {
		if !u.PostedAt.Before(declared) && !u.PostedAt.After(end) {
			m.UpdatesPosted++
		}
	}
	if m.UpdateEvery > 0 {
		m.UpdatesExpected = int(positive(end.Sub(declared)) / m.UpdateEvery)
	}
	return m
}

// ackPages returns the pages that were acknowledged.
func (c *compiler) ackPages() []incident.Page {
	var out []incident.Page
	for _, p := range c.in.Pages {
		if p.AcknowledgedAt != nil {
			out = append(out, p)
		}
	}
	return out
}

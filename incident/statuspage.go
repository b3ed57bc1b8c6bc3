package incident

import "time"

// The vocabulary of the communication clock and the status page, which
// the policy, the transport and the postmortem share; the clock itself
// lives in incident/comms.

// Button actions of the communication clock's messages.
const (
	ActionStatusPagePublish = "statuspage_publish"
	ActionStatusPageEdit    = "statuspage_edit"
	ActionStatusPageDecline = "statuspage_decline"
	ActionStatusPageRetry   = "statuspage_retry"
	ActionEmailSent         = "customer_email_sent"
	ActionEmailNotNeeded    = "customer_email_not_needed"
)

// Kinds of public post, each pre-filled from its comms template. The
// timeline keeps the kind of each post in its EventStatusPage's "kind".
const (
	// PostAcknowledge is the first post: we know, we are investigating.
	PostAcknowledge = "ack"
	// PostUpdate mirrors a status update; its ref is the update's id.
	PostUpdate = "update"
	// PostStillInvestigating is the proposal after a quiet spell.
	PostStillInvestigating = "stale"
	// PostResolution is the resolution notice.
	PostResolution = "resolution"
	// PostComponents changes component states without a message.
	PostComponents = "components"
)

// FirstPublicPost returns when the incident first appeared on the status
// page, from its timeline.
func FirstPublicPost(events []TimelineEvent) (time.Time, bool) {
	var first time.Time
	for _, ev := range events {
		if d, _ := ev.Payload.(StatusPageData); ev.Kind == EventStatusPage && d.Kind != PostComponents && (first.IsZero() || ev.At.Before(first)) {
			first = ev.At
		}
	}
	return first, !first.IsZero()
}

// PublicStatus is an incident's status as a public status page shows it.
type PublicStatus string

// Public incident states, the four both Statuspage and Instatus know.
const (
	PublicInvestigating PublicStatus = "investigating"
	PublicIdentified    PublicStatus = "identified"
	PublicMonitoring    PublicStatus = "monitoring"
	PublicResolved      PublicStatus = "resolved"
)

// ComponentStatus is how a status page shows one component.
type ComponentStatus string

// Component states, as Statuspage names them; Instatus spells the same
// states in capitals without underscores.
const (
	ComponentOperational   ComponentStatus = "operational"
	ComponentDegraded      ComponentStatus = "degraded_performance"
	ComponentPartialOutage ComponentStatus = "partial_outage"
	ComponentMajorOutage   ComponentStatus = "major_outage"
)

// Valid reports whether c is a known component state.
func (c ComponentStatus) Valid() bool {
	switch c {
	case ComponentOperational, ComponentDegraded, ComponentPartialOutage, ComponentMajorOutage:
		return true
	}
	return false
}

// Label names a component state in words.
func (c ComponentStatus) Label() string {
	switch c {
	case ComponentOperational:
		return "operational"
	case ComponentDegraded:
		return "degraded performance"
	case ComponentPartialOutage:
		return "partial outage"
	case ComponentMajorOutage:
		return "major outage"
	}
	return string(c)
}

// StatusPageService maps a service to its status page.
type StatusPageService struct {
	// Provider is "statuspage" or "instatus"; empty means the one that is
	// configured.
	Provider string
	// Components are the provider's component ids this service shows as.
	Components []string
}

// CommsPolicy is the communication clock's policy.
type CommsPolicy struct {
	// StaleAfter proposes a "still investigating" public update when
	// nothing was posted publicly for this long (default 30m).
	StaleAfter time.Duration
	// Publishers may publish to the status page besides the IC and the
	// comms lead: Slack user ids.
	Publishers []string
	// Notify tells the status page's subscribers about each post (default
	// true).
	Notify bool
}

// DefaultCommsPolicy returns the practice's defaults.
func DefaultCommsPolicy() CommsPolicy {
	return CommsPolicy{StaleAfter: 30 * time.Minute, Notify: true}
}

package incident

import (
	"context"
	"time"
)

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

// PublicIncident is an incident as published on a status page.
type PublicIncident struct {
	// Provider names the StatusPage that holds it ("statuspage", "instatus").
	Provider string
	ID       string
	// URL is the public link to the incident, or to the page when the
	// provider has no per-incident link.
	URL    string
	Status PublicStatus
}

// PublicPost is one public post: the first one opens the public incident,
// later ones add an update to it.
type PublicPost struct {
	// Name is the public incident's title (used when creating).
	Name   string
	Status PublicStatus
	Body   string
	// Components maps a provider component id to its new state.
	Components map[string]ComponentStatus
	// Impact is the overall impact for providers that take one: none,
	// minor, major or critical.
	Impact string
	// Notify tells subscribers (e-mail, SMS, webhooks).
	Notify bool
	// StartedAt is when the incident began; a provider asked to recover
	// looks for incidents created since then.
	StartedAt time.Time
}

// StatusPage publishes incidents on a public status page (Atlassian
// Statuspage, Instatus). Implementations return *Error values: EFORBIDDEN
// for refused credentials, ENOTFOUND for an unknown page or incident,
// EINVALID for a post the provider rejects, EUNAVAILABLE (with a RetryAfter
// method when the provider asked us to wait) when it is down or limiting.
//
// A post may be interrupted after the provider acted and before the answer
// arrived. A retry passes recover, and the implementation first looks for
// the incident (or the update) the interrupted attempt made, returning it
// instead of posting twice.
type StatusPage interface {
	// Name is the provider's key, as the policy's statuspage.provider
	// names it: "statuspage" or "instatus".
	Name() string
	// Title names the provider to people: "Statuspage", "Instatus".
	Title() string
	// Create opens a public incident. With recover it returns an unresolved
	// incident with the same name created since post.StartedAt, if any.
	Create(ctx context.Context, post PublicPost, recover bool) (PublicIncident, error)
	// Update adds an update to a public incident. With recover it returns
	// without posting when the incident's latest update has the same body.
	Update(ctx context.Context, ref PublicIncident, post PublicPost, recover bool) (PublicIncident, error)
	// SetComponents changes the incident's components' states without a
	// new public message.
	SetComponents(ctx context.Context, ref PublicIncident, components map[string]ComponentStatus) error
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

// publicStatus maps the incident's status to the public one.
func publicStatus(s Status) PublicStatus {
	switch s {
	case StatusMitigated:
		return PublicMonitoring
	case StatusResolved, StatusClosed:
		return PublicResolved
	}
	return PublicInvestigating
}

// componentStatus maps severity and status to the affected components'
// public state: the severity's state while open, degraded performance once
// mitigated, operational once resolved.
func componentStatus(inc *Incident, p Policy) ComponentStatus {
	switch inc.Status {
	case StatusResolved, StatusClosed:
		return ComponentOperational
	case StatusMitigated:
		return ComponentDegraded
	}
	if c := p.Severity(inc.Severity).ComponentStatus; c.Valid() {
		return c
	}
	return defaultComponentStatus(inc.Severity)
}

func defaultComponentStatus(sev Severity) ComponentStatus {
	switch sev {
	case P1:
		return ComponentMajorOutage
	case P2:
		return ComponentPartialOutage
	}
	return ComponentDegraded
}

// publicImpact is Statuspage's impact for a severity.
func publicImpact(sev Severity) string {
	switch sev {
	case P1:
		return "critical"
	case P2:
		return "major"
	}
	return "minor"
}

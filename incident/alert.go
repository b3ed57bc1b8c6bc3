package incident

import (
	"context"
	"time"
)

// Button actions of an alert proposal.
const (
	ActionAlertDeclare = "alert_declare"
	ActionAlertDismiss = "alert_dismiss"
)

// EventAlert records an alert on an incident's timeline: the one that
// started it, a repeat while it is open, and its resolution.
const EventAlert EventKind = "alert"

// AlertStatus is whether the monitoring system says the alert is firing.
type AlertStatus string

// Alert statuses, as Alertmanager and Grafana name them.
const (
	AlertFiring   AlertStatus = "firing"
	AlertResolved AlertStatus = "resolved"
)

// AlertState is what responders decided about an alert.
type AlertState string

// Alert states.
const (
	// AlertProposed waits for a Declare or Not an incident click.
	AlertProposed AlertState = "proposed"
	// AlertDeclared started (or joined) an incident.
	AlertDeclared AlertState = "declared"
	// AlertDismissed was judged not an incident.
	AlertDismissed AlertState = "dismissed"
)

// AlertEvent is one alert as a monitoring system reports it, in a webhook
// delivery: Alertmanager and Grafana send several per delivery, PagerDuty one.
type AlertEvent struct {
	// Source names the sender: alertmanager, grafana, pagerduty.
	Source string
	// Fingerprint identifies the alert across deliveries; it is the
	// sender's fingerprint (Alertmanager, Grafana) or incident id
	// (PagerDuty).
	Fingerprint string
	Status      AlertStatus
	// Title is a one-line name, such as the alertname or the summary.
	Title   string
	Summary string
	// URL links the alert in its source (generatorURL, html_url).
	URL    string
	Labels map[string]string
	// StartsAt and EndsAt are the sender's times; zero when it has none.
	StartsAt time.Time
	EndsAt   time.Time
}

// Alert is an alert that matched a policy rule, with what became of it.
type Alert struct {
	ID          int64
	Source      string
	Fingerprint string
	Status      AlertStatus
	Title       string
	Summary     string
	URL         string
	Labels      map[string]string
	// Rule, Service and Severity come from the matching policy rule.
	Rule     string
	Service  string
	Severity Severity
	State    AlertState
	// IncidentID is the incident the alert started or joined, or 0.
	IncidentID int64
	// GroupID is the alert whose proposal or incident this one joined
	// when it fired (another alert of the same rule and service, firing
	// then): one incident for an alert storm, not one per alert. 0 for an
	// alert that leads its own.
	GroupID int64
	// ChannelID and MessageTS locate the proposal message.
	ChannelID string
	MessageTS string
	DecidedBy string
	// Count is how many times the alert fired in this episode: its first
	// firing and each firing again. A resend of a firing already counted
	// (a delivery with the stored StartsAt, as Alertmanager repeats every
	// group_interval and from each HA peer) does not count; a delivery
	// without StartsAt always does, as nothing tells it from a new firing.
	// Zero for an alert stored from a resolution delivered before its
	// firing: it proposes nothing, and a late firing of the same episode
	// is known as stale by its StartsAt.
	Count int
	// StartsAt is when the sender says the alert's latest firing began,
	// kept to the microsecond as the stores keep times; zero when the
	// sender gave none.
	StartsAt time.Time
	// FirstAt is when this episode was first delivered, LastAt when a
	// firing of it was last delivered, resends included, to within a
	// minute (a resend within a minute of the last writes nothing).
	FirstAt    time.Time
	LastAt     time.Time
	ResolvedAt *time.Time
}

// AlertStore keeps alerts. It is part of Store.
type AlertStore interface {
	// AddAlert stores a new alert. When Source+Fingerprint is stored it
	// returns the stored alert and ECONFLICT, so concurrent deliveries of
	// the same alert store it once.
	AddAlert(ctx context.Context, a *Alert) (*Alert, error)
	// GetAlert returns ENOTFOUND when no alert has the id.
	GetAlert(ctx context.Context, id int64) (*Alert, error)
	// FindAlert returns the alert with this Source+Fingerprint, or ENOTFOUND.
	FindAlert(ctx context.Context, source, fingerprint string) (*Alert, error)
	// UpdateAlert applies fn to a stored alert in one transaction; fn's
	// error aborts and is returned as is. ENOTFOUND when the id is unknown.
	UpdateAlert(ctx context.Context, id int64, fn func(*Alert) error) (*Alert, error)
	// ListAlerts returns the alerts tied to an incident, oldest first.
	ListAlerts(ctx context.Context, incidentID int64) ([]Alert, error)
	// FindAlertGroup returns the newest alert of the rule and service that
	// leads a group (GroupID 0) and is proposed or declared, of whose
	// group (it and the alerts that joined it) one is firing and was last
	// delivered at or after since; ENOTFOUND when none is. Called in a
	// transaction (Transactor.Atomic), it claims the rule and service
	// until the transaction ends: another transaction's FindAlertGroup of
	// them waits, also from another process, so of two alerts of a storm
	// stored at once only one starts a group and the other joins it.
	FindAlertGroup(ctx context.Context, rule, service string, since time.Time) (*Alert, error)
	// CountAlertGroup counts the alerts of the group the alert leader
	// leads: leader itself and those that joined it. ENOTFOUND when no
	// alert has the id.
	CountAlertGroup(ctx context.Context, leader int64) (AlertGroupCount, error)
	// ListAlertGroup returns the alerts of the group the alert leader
	// leads, leader first, then those that joined it in the order they
	// were stored. ENOTFOUND when no alert has the id.
	ListAlertGroup(ctx context.Context, leader int64) ([]Alert, error)
}

// AlertGroupCount is how many alerts a group has, and how many of them
// fire.
type AlertGroupCount struct {
	Alerts int
	Firing int
}

// AlertRule maps alerts to a service and severity. An alert matches when
// every label in Match has the given value ("*" means present with any
// value). The first matching rule wins.
type AlertRule struct {
	Name     string
	Match    map[string]string
	Service  string
	Severity Severity
	// Auto declares without asking.
	Auto bool
}

// Matches reports whether the labels satisfy the rule.
func (r AlertRule) Matches(labels map[string]string) bool {
	for k, want := range r.Match {
		got, ok := labels[k]
		if !ok || (want != "*" && got != want) {
			return false
		}
	}
	return true
}

// MatchAlert returns the first rule the labels match.
func (p Policy) MatchAlert(labels map[string]string) (AlertRule, bool) {
	for _, r := range p.AlertRules {
		if r.Matches(labels) {
			return r, true
		}
	}
	return AlertRule{}, false
}

// AlertChannel is where an alert for the service is proposed: the
// service's channel, else the broadcast channel.
func (p Policy) AlertChannel(service string) string {
	if svc, ok := p.Services[service]; ok && svc.Channel != "" {
		return svc.Channel
	}
	return p.BroadcastChannel
}

package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// JobAlertPropose posts the "Declare from this alert?" proposal of a
// matched alert in its service's channel.
const JobAlertPropose = "alert.propose"

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
	// IncidentID is the incident the alert started, or 0.
	IncidentID int64
	// ChannelID and MessageTS locate the proposal message.
	ChannelID string
	MessageTS string
	DecidedBy string
	// Count is how many firing deliveries arrived in this episode.
	Count      int
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

// ruleFor returns the rule an alert falls under: the first policy rule its
// labels match, else, for a PagerDuty incident on a service the policy maps
// (services.<key>.pagerduty.service_id), that service, at P2 for a
// high-urgency incident and P3 for a low one.
func (p Policy) ruleFor(ev AlertEvent) (AlertRule, bool) {
	if r, ok := p.MatchAlert(ev.Labels); ok {
		return r, true
	}
	if ev.Source != "pagerduty" || ev.Labels["pagerduty_service"] == "" {
		return AlertRule{}, false
	}
	for _, key := range p.ServiceKeys() {
		if p.Services[key].PagerDuty.ServiceID != ev.Labels["pagerduty_service"] {
			continue
		}
		sev := P3
		if ev.Labels["urgency"] == "high" {
			sev = P2
		}
		return AlertRule{Name: "pagerduty service " + key, Service: key, Severity: sev}, true
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

func alertTitle(ev AlertEvent) string {
	t := strings.Join(strings.Fields(ev.Title), " ")
	if t == "" {
		t = "alert " + ev.Fingerprint
	}
	if utf8.RuneCountInString(t) > MaxTitleLength {
		t = truncate(t, MaxTitleLength)
	}
	return t
}

type alertPayload struct {
	AlertID int64 `json:"alert_id"`
}

// HandleAlert takes one alert from a monitoring webhook. A firing alert
// that matches a policy rule is proposed in its service's channel, or
// declared at once when the rule says auto; one already tied to an open
// incident is added to its timeline. A resolved alert tied to an incident
// is announced in its channel. Alerts are deduplicated by source and
// fingerprint, so redeliveries and repeats change nothing twice. EINVALID
// for an alert without source or fingerprint.
func (s *Service) HandleAlert(ctx context.Context, ev AlertEvent) error {
	if ev.Source == "" || ev.Fingerprint == "" {
		return Errorf(EINVALID, "An alert needs a source and a fingerprint.")
	}
	if ev.Status != AlertResolved {
		ev.Status = AlertFiring
	}
	now := s.clock.Now()
	existing, err := s.store.FindAlert(ctx, ev.Source, ev.Fingerprint)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return fmt.Errorf("handle alert: %w", err)
	}
	if ev.Status == AlertResolved {
		if existing == nil {
			return nil
		}
		return s.alertResolved(ctx, existing, now)
	}
	if existing == nil {
		rule, ok := s.policy.ruleFor(ev)
		if !ok {
			s.log.InfoContext(ctx, "alert matches no rule", "source", ev.Source, "fingerprint", ev.Fingerprint, "title", ev.Title)
			return nil
		}
		a := &Alert{Source: ev.Source, Fingerprint: ev.Fingerprint, Status: AlertFiring, Title: alertTitle(ev),
			Summary: truncate(strings.TrimSpace(ev.Summary), 1000), URL: ev.URL, Labels: ev.Labels, Rule: rule.Name,
			Service: rule.Service, Severity: rule.Severity, State: AlertProposed, Count: 1, FirstAt: now, LastAt: now}
		stored, err := s.store.AddAlert(ctx, a)
		switch {
		case ErrorCode(err) == ECONFLICT && stored != nil:
			// A concurrent delivery stored it first: this one is a repeat.
			return s.alertRepeated(ctx, stored, ev, now)
		case err != nil:
			return fmt.Errorf("store alert: %w", err)
		}
		return s.startAlert(ctx, stored, rule.Auto)
	}
	return s.alertRepeated(ctx, existing, ev, now)
}

// startAlert declares or proposes a newly stored (or re-fired) alert.
func (s *Service) startAlert(ctx context.Context, a *Alert, auto bool) error {
	if auto {
		_, err := s.DeclareFromAlert(ctx, a.ID, "bot", ReplyTarget{})
		return err
	}
	payload, _ := json.Marshal(alertPayload{AlertID: a.ID})
	_, err := s.sched.Schedule(ctx, Job{Kind: JobAlertPropose, Key: fmt.Sprintf("alert_propose:%d:%d", a.ID, a.FirstAt.UnixNano()),
		Payload: payload, MaxAttempts: 8})
	if err != nil {
		return fmt.Errorf("schedule the alert proposal: %w", err)
	}
	return nil
}

// alertRepeated handles a firing delivery of a known alert.
func (s *Service) alertRepeated(ctx context.Context, a *Alert, ev AlertEvent, now time.Time) error {
	var inc *Incident
	if a.IncidentID != 0 {
		got, err := s.store.GetIncident(ctx, a.IncidentID)
		if err != nil {
			return fmt.Errorf("alert repeat: %w", err)
		}
		inc = got
	}
	wasResolved := a.Status == AlertResolved
	// A new episode: the alert resolved, and its incident is over or it was
	// dismissed; it fires again, so responders decide again.
	if wasResolved && (a.State == AlertDismissed || (inc != nil && !inc.Status.Open())) {
		rule, ok := s.policy.ruleFor(ev)
		if !ok {
			return nil
		}
		updated, err := s.store.UpdateAlert(ctx, a.ID, func(x *Alert) error {
			x.Status, x.State, x.IncidentID, x.ResolvedAt = AlertFiring, AlertProposed, 0, nil
			x.ChannelID, x.MessageTS, x.DecidedBy = "", "", ""
			x.Title, x.Summary, x.URL, x.Labels = alertTitle(ev), truncate(strings.TrimSpace(ev.Summary), 1000), ev.URL, ev.Labels
			x.Rule, x.Service, x.Severity = rule.Name, rule.Service, rule.Severity
			x.Count, x.FirstAt, x.LastAt = 1, now, now
			return nil
		})
		if err != nil {
			return fmt.Errorf("alert fired again: %w", err)
		}
		return s.startAlert(ctx, updated, rule.Auto)
	}
	updated, err := s.store.UpdateAlert(ctx, a.ID, func(x *Alert) error {
		x.Status, x.ResolvedAt = AlertFiring, nil
		x.Count++
		x.LastAt = now
		return nil
	})
	if err != nil {
		return fmt.Errorf("alert repeat: %w", err)
	}
	if inc == nil || !inc.Status.Open() {
		return nil
	}
	n := Notice{Kind: NoticeAlertRepeat, Incident: inc.Key(), Actor: updated.Source,
		Values: map[string]string{"title": updated.Title, "source": sourceLabel(updated.Source), "count": fmt.Sprint(updated.Count)}}
	if wasResolved {
		n.Kind = NoticeAlertRefiring
		delete(n.Values, "count")
	}
	ev2 := TimelineEvent{IncidentID: inc.ID, Kind: EventAlert, Actor: updated.Source, At: now, Key: wasResolved, Text: s.noticeText(n),
		SourceID: fmt.Sprintf("alert:%d:%d", updated.ID, updated.Count),
		Data:     map[string]string{"alert": fmt.Sprint(updated.ID), "status": string(AlertFiring), "count": fmt.Sprint(updated.Count)}}
	if err := s.store.AddTimelineEvent(ctx, &ev2); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return nil
		}
		return fmt.Errorf("alert repeat: %w", err)
	}
	return s.scheduleSync(ctx, inc, syncPayload{IncidentID: inc.ID, Notices: []Notice{n}})
}

// alertResolved records the resolution of a known alert and, when it
// started an incident still running, says so in the incident channel.
func (s *Service) alertResolved(ctx context.Context, a *Alert, now time.Time) error {
	if a.Status == AlertResolved {
		return nil
	}
	updated, err := s.store.UpdateAlert(ctx, a.ID, func(x *Alert) error {
		if x.Status == AlertResolved {
			return Errorf(ECONFLICT, "already resolved")
		}
		x.Status = AlertResolved
		t := now
		x.ResolvedAt = &t
		return nil
	})
	if ErrorCode(err) == ECONFLICT {
		return nil
	} else if err != nil {
		return fmt.Errorf("alert resolved: %w", err)
	}
	if updated.IncidentID == 0 {
		return nil
	}
	inc, err := s.store.GetIncident(ctx, updated.IncidentID)
	if err != nil {
		return fmt.Errorf("alert resolved: %w", err)
	}
	if inc.Status == StatusClosed {
		return nil
	}
	n := Notice{Kind: NoticeAlertResolved, Incident: inc.Key(), Actor: updated.Source, Values: map[string]string{
		"title": updated.Title, "source": sourceLabel(updated.Source), "after": Since(updated.FirstAt, now), "open": fmt.Sprint(inc.Status.Open())}}
	ev := TimelineEvent{IncidentID: inc.ID, Kind: EventAlert, Actor: updated.Source, At: now, Key: true, Text: s.noticeText(n),
		SourceID: fmt.Sprintf("alert:%d:resolved:%d", updated.ID, now.UnixNano()),
		Data:     map[string]string{"alert": fmt.Sprint(updated.ID), "status": string(AlertResolved)}}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && ErrorCode(err) != ECONFLICT {
		return fmt.Errorf("alert resolved: %w", err)
	}
	return s.scheduleSync(ctx, inc, syncPayload{IncidentID: inc.ID, Notices: []Notice{n}})
}

// DeclareFromAlert declares the incident an alert proposes, once however
// often it is clicked: the declare is keyed by the alert's episode. actor
// is the Slack user who clicked, or "bot" for a rule's auto declare.
// ENOTFOUND for an unknown alert; ECONFLICT when it was dismissed.
func (s *Service) DeclareFromAlert(ctx context.Context, alertID int64, actor string, reply ReplyTarget) (*Incident, error) {
	a, err := s.store.GetAlert(ctx, alertID)
	if err != nil {
		return nil, fmt.Errorf("declare from alert: %w", err)
	}
	if a.State == AlertDismissed {
		return nil, Errorf(ECONFLICT, "%s dismissed this alert as not an incident.", mention(a.DecidedBy))
	}
	desc := a.Summary
	if a.URL != "" {
		desc = strings.TrimSpace(desc + "\n" + a.URL)
	}
	in := DeclareInput{Title: a.Title, Description: truncate(desc, 3000), Severity: a.Severity, ServiceKey: a.Service,
		DeclaredBy: actor, Key: fmt.Sprintf("alert:%d:%d", a.ID, a.FirstAt.UnixNano()), ReplyTo: reply}
	inc, existed, err := s.Declare(ctx, in)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.UpdateAlert(ctx, a.ID, func(x *Alert) error {
		x.State, x.IncidentID, x.DecidedBy = AlertDeclared, inc.ID, actor
		return nil
	}); err != nil {
		return inc, fmt.Errorf("link alert to %s: %w", inc.Key(), err)
	}
	if !existed {
		n := Notice{Kind: NoticeAlertStarted, Incident: inc.Key(), Actor: actor,
			Values: map[string]string{"title": a.Title, "source": sourceLabel(a.Source), "rule": a.Rule, "url": a.URL}}
		ev := TimelineEvent{IncidentID: inc.ID, Kind: EventAlert, Actor: a.Source, At: s.clock.Now(), Key: true, Text: s.noticeText(n),
			SourceID: fmt.Sprintf("alert:%d:declared", a.ID),
			Data:     map[string]string{"alert": fmt.Sprint(a.ID), "status": string(a.Status), "url": a.URL}}
		if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && ErrorCode(err) != ECONFLICT {
			return inc, fmt.Errorf("declare from alert: %w", err)
		}
		if err := s.scheduleSync(ctx, inc, syncPayload{IncidentID: inc.ID, Notices: []Notice{n}}); err != nil {
			return inc, err
		}
	}
	return inc, nil
}

// DismissAlert records that an alert is not an incident. EFORBIDDEN for
// someone the policy does not let declare; ECONFLICT when it already
// started one.
func (s *Service) DismissAlert(ctx context.Context, alertID int64, actor string) (*Alert, error) {
	// Judging an alert not an incident is the declarers' call.
	if err := s.authorize(ctx, Request{Subject: Subject{User: actor}, Action: ActDeclare}); err != nil {
		return nil, err
	}
	return s.store.UpdateAlert(ctx, alertID, func(a *Alert) error {
		if a.State == AlertDeclared {
			return Errorf(ECONFLICT, "This alert already started INC-%d.", a.IncidentID)
		}
		a.State, a.DecidedBy = AlertDismissed, actor
		return nil
	})
}

// GetAlert returns a stored alert.
func (s *Service) GetAlert(ctx context.Context, id int64) (*Alert, error) {
	return s.store.GetAlert(ctx, id)
}

// AlertProposal is the notice above the Declare / Not an incident buttons.
func AlertProposal(a *Alert, p Policy, buttons []Button) Notice {
	sp := p.Severity(a.Severity)
	svc := a.Service
	if sv, ok := p.Services[a.Service]; ok {
		svc = sv.Name
	}
	return Notice{Kind: NoticeAlertProposal, Actor: a.Source, Buttons: buttons, Values: map[string]string{
		"severity": a.Severity.String(), "title": a.Title, "source": sourceLabel(a.Source), "service": svc,
		"label": sp.Label, "summary": truncate(a.Summary, 500), "url": a.URL}}
}

// runAlertPropose is the JobAlertPropose handler.
func (s *Service) runAlertPropose(ctx context.Context, payload []byte) error {
	var p alertPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode alert payload: %w: %w", err, ErrJobCancel)
	}
	a, err := s.store.GetAlert(ctx, p.AlertID)
	if ErrorCode(err) == ENOTFOUND {
		return nil
	} else if err != nil {
		return fmt.Errorf("propose alert: %w", err)
	}
	if a.State != AlertProposed || a.MessageTS != "" {
		return nil
	}
	channel := s.policy.AlertChannel(a.Service)
	if channel == "" {
		s.log.WarnContext(ctx, "no channel to propose an alert in: set the service's channel or channels.broadcast",
			"alert", a.ID, "service", a.Service)
		return nil
	}
	buttons := []Button{
		{Action: ActionAlertDeclare, Text: "Declare " + a.Severity.String(), Value: fmt.Sprint(a.ID), Style: "danger"},
		{Action: ActionAlertDismiss, Text: "Not an incident", Value: fmt.Sprint(a.ID)},
	}
	ts, err := s.chat.Notify(ctx, channel, AlertProposal(a, s.policy, buttons))
	if err != nil {
		return fmt.Errorf("propose alert %d: %w", a.ID, err)
	}
	if _, err := s.store.UpdateAlert(ctx, a.ID, func(x *Alert) error {
		x.ChannelID, x.MessageTS = channel, ts
		return nil
	}); err != nil {
		s.log.WarnContext(ctx, "could not record the alert proposal", "alert", a.ID, "err", err)
	}
	return nil
}

func sourceLabel(source string) string { return ProviderName(source) }

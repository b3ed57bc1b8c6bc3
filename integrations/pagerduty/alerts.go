package pagerduty

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/webhook"
)

// WebhookOption configures NewWebhookHandler.
type WebhookOption func(*webhookOptions)

type webhookOptions struct {
	alerts  func(ctx context.Context, ev incident.AlertEvent) error
	ignored *webhook.Ignored
}

// WithIgnored counts the deliveries of event types the handler drops in
// ig, shared with the other providers' handlers; without it the handler
// keeps its own, unregistered.
func WithIgnored(ig *webhook.Ignored) WebhookOption {
	return func(o *webhookOptions) { o.ignored = ig }
}

// WithAlerts hands PagerDuty incidents that the bot did not open to sink as
// alerts: incident.triggered as a firing alert and incident.resolved as its
// resolution, fingerprinted by the PagerDuty incident id and labelled with
// the service (pagerduty_service, pagerduty_service_name), urgency and
// priority, so policy rules can map them to a service and severity, and
// with its incident_key (pagerduty_incident_key), by which PagerDuty's
// reports of it are known once it is an incident's page. Incidents the bot
// paged itself (incident_key "firebreak-...", of this installation or of
// another, in the key's form of today or of before installations were
// named in it) are not alerts.
func WithAlerts(sink func(ctx context.Context, ev incident.AlertEvent) error) WebhookOption {
	return func(o *webhookOptions) { o.alerts = sink }
}

// triggeredIncident is the data of a v3 incident event, as PagerDuty
// documents it for incident.triggered.
type triggeredIncident struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	HTMLURL     string `json:"html_url"`
	Number      int    `json:"number"`
	Status      string `json:"status"`
	IncidentKey string `json:"incident_key"`
	CreatedAt   string `json:"created_at"`
	Title       string `json:"title"`
	Urgency     string `json:"urgency"`
	Service     *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
		HTMLURL string `json:"html_url"`
	} `json:"service"`
	Priority *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"priority"`
}

// parseAlert reads incident.triggered and incident.resolved events as
// alerts. ok is false for other events and for the bot's own pages.
func parseAlert(body []byte) (ev incident.AlertEvent, ok bool, err error) {
	var env webhookEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return ev, false, err
	}
	if env.Event == nil {
		return ev, false, errors.New("no event object")
	}
	e := env.Event
	if e.ResourceType != "incident" || (e.EventType != "incident.triggered" && e.EventType != "incident.resolved") {
		return ev, false, nil
	}
	var data triggeredIncident
	if err := json.Unmarshal(e.Data, &data); err != nil {
		return ev, false, err
	}
	if data.ID == "" {
		return ev, false, errors.New("incident id missing")
	}
	if strings.HasPrefix(data.IncidentKey, "firebreak-") {
		return ev, false, nil
	}
	labels := map[string]string{"urgency": data.Urgency}
	if data.IncidentKey != "" {
		labels["pagerduty_incident_key"] = data.IncidentKey
	}
	if data.Service != nil {
		labels["pagerduty_service"] = data.Service.ID
		labels["pagerduty_service_name"] = data.Service.Summary
	}
	if data.Priority != nil {
		labels["priority"] = data.Priority.Summary
	}
	status := incident.AlertFiring
	if e.EventType == "incident.resolved" {
		status = incident.AlertResolved
	}
	ev = incident.AlertEvent{Source: "pagerduty", Fingerprint: data.ID, Status: status, Title: data.Title, URL: data.HTMLURL, Labels: labels}
	if t, err := time.Parse(time.RFC3339, data.CreatedAt); err == nil {
		ev.StartsAt = t.UTC()
	}
	return ev, true, nil
}

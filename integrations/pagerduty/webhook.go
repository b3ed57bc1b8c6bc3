package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty/webhookv3"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/webhook"
)

// MaxWebhookBody bounds a webhook delivery; PagerDuty's are a few KiB.
const MaxWebhookBody = 1 << 20

// SignatureHeader carries a v3 webhook's signatures.
const SignatureHeader = "X-PagerDuty-Signature"

// webhookKind maps the v3 event types we act on to page event kinds.
func webhookKind(eventType string) (incident.PageEventKind, bool) {
	switch eventType {
	case "incident.acknowledged":
		return incident.PageAcknowledged, true
	case "incident.unacknowledged":
		return incident.PageUnacknowledged, true
	case "incident.escalated":
		return incident.PageEscalated, true
	case "incident.reassigned", "incident.delegated":
		// Delegated is reassigned to another escalation policy: its
		// people are the incident's new assignees, as for a reassignment.
		return incident.PageReassigned, true
	case "incident.resolved":
		return incident.PageResolved, true
	case "incident.reopened":
		return incident.PageReopened, true
	}
	return "", false
}

// webhookEnvelope is the part of a v3 webhook delivery we read; go-pagerduty
// has no v3 payload types.
type webhookEnvelope struct {
	Event *struct {
		ID           string          `json:"id"`
		EventType    string          `json:"event_type"`
		ResourceType string          `json:"resource_type"`
		OccurredAt   string          `json:"occurred_at"`
		Agent        *reference      `json:"agent"`
		Data         json.RawMessage `json:"data"`
	} `json:"event"`
}

type reference struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Summary string `json:"summary"`
}

type webhookIncident struct {
	ID          string      `json:"id"`
	Type        string      `json:"type"`
	IncidentKey string      `json:"incident_key"`
	Assignees   []reference `json:"assignees"`
}

// NewWebhookHandler returns the handler for POST /webhooks/pagerduty, which
// receives PagerDuty v3 webhooks. It verifies X-PagerDuty-Signature against
// every secret (several during a rotation; each trimmed, empty ones
// ignored) before reading the JSON, and
// hands each incident acknowledged, unacknowledged, escalated, reassigned,
// resolved or reopened event to sink. Other event types (a subscription
// may send incident.priority_updated, service.updated and many more) are
// answered 200 and dropped: each is counted by the handler's Ignored
// (WithIgnored) and the first of its type logged at info.
//
// The PageEvent's DedupKey is the incident_key, which equals the page's
// DedupKey for both REST and Events API v2 pages, so sinks should match
// pages by it; ExternalID is PagerDuty's incident id. Agent is the agent's
// name when the agent is a user, and empty when it is a service or an
// integration, or there is none. AgentEmail stays empty,
// since PagerDuty's agent reference carries no e-mail. At is zero when the
// event has no readable occurred_at.
//
// It answers 401 for a missing or wrong signature, 413 for a body over
// MaxWebhookBody, 400 for malformed JSON (PagerDuty drops those), and 500
// when sink fails, so that PagerDuty delivers the event again.
func NewWebhookHandler(secrets []string, sink func(ctx context.Context, ev incident.PageEvent) error, log *slog.Logger, opts ...WebhookOption) http.Handler {
	var o webhookOptions
	for _, opt := range opts {
		opt(&o)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.ignored == nil {
		o.ignored = webhook.NewIgnored(nil)
	}
	var keys []string
	for _, s := range secrets {
		// A secret never starts or ends with a space: " new" from
		// "old, new" is "new".
		if s = strings.TrimSpace(s); s != "" {
			keys = append(keys, s)
		}
	}
	return &webhook.Handler{
		Provider: incident.ProviderPagerDuty,
		MaxBody:  MaxWebhookBody,
		Log:      log,
		Verify: func(h http.Header, body []byte) error {
			return verifySignature(h, body, keys)
		},
		Handle: func(r *http.Request, body []byte) (any, error) {
			isAlert := false
			if o.alerts != nil {
				alert, ok, err := parseAlert(body)
				if err != nil {
					return nil, &webhook.Error{Status: http.StatusBadRequest, Message: "malformed webhook", Cause: err}
				}
				if isAlert = ok; isAlert {
					if err := o.alerts(r.Context(), alert); err != nil {
						return nil, webhook.Failed("could not handle the event", fmt.Errorf("pagerduty incident %s as an alert: %w", alert.Fingerprint, err))
					}
				}
			}
			ev, eventType, ok, err := parseWebhook(body)
			if err != nil {
				return nil, &webhook.Error{Status: http.StatusBadRequest, Message: "malformed webhook", Cause: err}
			}
			if !ok {
				// incident.triggered is the alerts' (the bot's own pages
				// among them, dropped on purpose) when they are on.
				if !isAlert && (o.alerts == nil || eventType != "incident.triggered") {
					o.ignored.Event(r.Context(), log, incident.ProviderPagerDuty, eventType)
				}
				return nil, nil
			}
			if err := sink(r.Context(), ev); err != nil {
				return nil, webhook.Failed("could not handle the event", fmt.Errorf("delivery %s (%s of pagerduty incident %s): %w", ev.DeliveryID, ev.Kind, ev.ExternalID, err))
			}
			return nil, nil
		},
	}
}

// verifySignature checks X-PagerDuty-Signature with go-pagerduty's
// webhookv3.VerifySignature under each secret (several during a rotation).
// Every value of the header takes part, as PagerDuty may send one per
// secret of its own rotation.
func verifySignature(h http.Header, body []byte, secrets []string) error {
	if len(secrets) == 0 {
		return webhook.Errorf(http.StatusUnauthorized, "invalid signature: no webhook secret is configured")
	}
	hdr := http.Header{}
	hdr.Set(SignatureHeader, strings.Join(h.Values(SignatureHeader), ","))
	for _, secret := range secrets {
		r := &http.Request{Header: hdr, Body: io.NopCloser(bytes.NewReader(body))}
		if webhookv3.VerifySignature(r, secret) == nil {
			return nil
		}
	}
	return webhook.Errorf(http.StatusUnauthorized, "invalid signature")
}

// parseWebhook reads a verified delivery and its event type. ok is false
// for events we ignore.
func parseWebhook(body []byte) (ev incident.PageEvent, eventType string, ok bool, err error) {
	var env webhookEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return ev, "", false, err
	}
	if env.Event == nil {
		return ev, "", false, errors.New("no event object")
	}
	e := env.Event
	kind, known := webhookKind(e.EventType)
	if !known || e.ResourceType != "incident" {
		return ev, e.EventType, false, nil
	}
	var data webhookIncident
	if err := json.Unmarshal(e.Data, &data); err != nil {
		return ev, e.EventType, false, err
	}
	if e.ID == "" || data.ID == "" {
		return ev, e.EventType, false, errors.New("event id or incident id missing")
	}
	ev = incident.PageEvent{
		DeliveryID: e.ID,
		Kind:       kind,
		ExternalID: data.ID,
		DedupKey:   data.IncidentKey,
	}
	if e.Agent != nil && isUserReference(e.Agent.Type) {
		// A service or an integration (an acknowledgement through the
		// Events API, an automation) is nobody to name: the event reads
		// as one without an agent.
		ev.Agent = e.Agent.Summary
	}
	for _, a := range data.Assignees {
		if a.Summary != "" {
			ev.Assignees = append(ev.Assignees, a.Summary)
		}
	}
	// A bad timestamp is not worth a redelivery (PagerDuty disables a
	// subscription after repeated drops), so it only leaves At zero.
	if at, err := time.Parse(time.RFC3339Nano, e.OccurredAt); err == nil {
		ev.At = at.UTC()
	}
	return ev, e.EventType, true, nil
}

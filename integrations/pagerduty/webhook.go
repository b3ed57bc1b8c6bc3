package pagerduty

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
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
	case "incident.reassigned":
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
// every secret (several during a rotation) before reading the JSON, and
// hands each incident acknowledged, unacknowledged, escalated, reassigned,
// resolved or reopened event to sink; other event types are accepted and
// ignored.
//
// The PageEvent's DedupKey is the incident_key, which equals the page's
// DedupKey for both REST and Events API v2 pages, so sinks should match
// pages by it; ExternalID is PagerDuty's incident id. AgentEmail stays empty,
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
	keys := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		if s != "" {
			keys = append(keys, []byte(s))
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read request body", http.StatusBadRequest)
			return
		}
		if len(keys) == 0 {
			log.ErrorContext(r.Context(), "pagerduty webhook refused: no webhook secret is configured")
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		if !validSignature(r.Header.Values(SignatureHeader), body, keys) {
			log.WarnContext(r.Context(), "pagerduty webhook refused: bad signature")
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		if o.alerts != nil {
			alert, isAlert, err := parseAlert(body)
			if err != nil {
				log.WarnContext(r.Context(), "pagerduty webhook malformed", slog.Any("error", err))
				http.Error(w, "malformed webhook", http.StatusBadRequest)
				return
			}
			if isAlert {
				if err := o.alerts(r.Context(), alert); err != nil {
					log.ErrorContext(r.Context(), "pagerduty incident not handled as an alert; PagerDuty will redeliver",
						slog.String("pagerduty_incident", alert.Fingerprint), slog.Any("error", err))
					http.Error(w, "could not handle the event", http.StatusInternalServerError)
					return
				}
			}
		}
		ev, ok, err := parseWebhook(body)
		if err != nil {
			log.WarnContext(r.Context(), "pagerduty webhook malformed", slog.Any("error", err))
			http.Error(w, "malformed webhook", http.StatusBadRequest)
			return
		}
		if !ok {
			w.WriteHeader(http.StatusOK)
			return
		}
		if err := sink(r.Context(), ev); err != nil {
			log.ErrorContext(r.Context(), "pagerduty webhook not handled; PagerDuty will redeliver",
				slog.String("delivery", ev.DeliveryID), slog.String("kind", string(ev.Kind)),
				slog.String("pagerduty_incident", ev.ExternalID), slog.Any("error", err))
			http.Error(w, "could not handle the event", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// validSignature reports whether any v1 signature in the header values is
// the HMAC-SHA256 of body under any key. Comparisons run in constant time.
func validSignature(headers []string, body []byte, keys [][]byte) bool {
	macs := make([][]byte, len(keys))
	for i, k := range keys {
		m := hmac.New(sha256.New, k)
		m.Write(body)
		macs[i] = m.Sum(nil)
	}
	ok := false
	for _, h := range headers {
		for _, part := range strings.Split(h, ",") {
			hexSig, found := strings.CutPrefix(strings.TrimSpace(part), "v1=")
			if !found {
				continue
			}
			sig, err := hex.DecodeString(hexSig)
			if err != nil {
				continue
			}
			for _, mac := range macs {
				if hmac.Equal(sig, mac) {
					ok = true
				}
			}
		}
	}
	return ok
}

// parseWebhook reads a verified delivery. ok is false for events we ignore.
func parseWebhook(body []byte) (ev incident.PageEvent, ok bool, err error) {
	var env webhookEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return ev, false, err
	}
	if env.Event == nil {
		return ev, false, errors.New("no event object")
	}
	e := env.Event
	kind, known := webhookKind(e.EventType)
	if !known || e.ResourceType != "incident" {
		return ev, false, nil
	}
	var data webhookIncident
	if err := json.Unmarshal(e.Data, &data); err != nil {
		return ev, false, err
	}
	if e.ID == "" || data.ID == "" {
		return ev, false, errors.New("event id or incident id missing")
	}
	ev = incident.PageEvent{
		DeliveryID: e.ID,
		Kind:       kind,
		ExternalID: data.ID,
		DedupKey:   data.IncidentKey,
	}
	if e.Agent != nil {
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
	return ev, true, nil
}

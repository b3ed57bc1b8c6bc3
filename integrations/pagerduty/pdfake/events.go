package pdfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/firebreakhq/firebreak/httpjson"
)

// enqueueBody is an Events API v2 event as sent.
type enqueueBody struct {
	RoutingKey string           `json:"routing_key"`
	Action     string           `json:"event_action"`
	DedupKey   string           `json:"dedup_key"`
	Client     string           `json:"client"`
	ClientURL  string           `json:"client_url"`
	Links      []map[string]any `json:"links"`
	Payload    *struct {
		Summary   string         `json:"summary"`
		Source    string         `json:"source"`
		Severity  string         `json:"severity"`
		Component string         `json:"component"`
		Class     string         `json:"class"`
		Details   map[string]any `json:"custom_details"`
	} `json:"payload"`
}

// event is the body as the fake records it.
func (body enqueueBody) event() Event {
	ev := Event{
		RoutingKey: body.RoutingKey, Action: body.Action, DedupKey: body.DedupKey,
		Client: body.Client, ClientURL: body.ClientURL, Links: body.Links,
	}
	if p := body.Payload; p != nil {
		ev.Summary, ev.Source, ev.Severity = p.Summary, p.Source, p.Severity
		ev.Component, ev.Class, ev.CustomDetails = p.Component, p.Class, p.Details
	}
	return ev
}

// MaxEventBytes is the largest Events API v2 request body the server
// accepts. PagerDuty documents "Events API payloads are limited to 512 KB"
// (developer-docs events-API-v2/01-Overview.md, "Size Limits") without
// saying which kilobyte; 512,000 bytes is the stricter reading, the one
// PagerDuty's own change to Alertmanager enforces (maxEventSize, 2020).
const MaxEventBytes = 512_000

// eventsAPI serves the Events API v2: triggers open or merge into incidents
// by dedup key, acknowledges and resolves move them.
type eventsAPI struct{ *Server }

// enqueue serves POST /v2/enqueue, the Events API v2. It needs no token:
// the routing key in the body selects the service.
func (s *eventsAPI) enqueue(w http.ResponseWriter, r *http.Request) {
	var body enqueueBody
	raw, readErr := io.ReadAll(io.LimitReader(r.Body, MaxEventBytes+1))
	s.mu.Lock()
	defer s.mu.Unlock()
	oversize := len(raw) > MaxEventBytes
	if oversize {
		// Read the rest so that the event is recorded as sent.
		rest, err := io.ReadAll(r.Body)
		raw, readErr = append(raw, rest...), err
	}
	if err := cmp.Or(readErr, json.Unmarshal(raw, &body)); err != nil {
		httpjson.Write(w, http.StatusBadRequest, map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": []string{"Malformed JSON"}})
		return
	}
	ev := body.event()
	refuse := func(problems ...string) {
		ev.Status = http.StatusBadRequest
		s.events = append(s.events, ev)
		// The Events API's error shape for a 400 (api-schema
		// reference/events-v2/openapiv3.json, components.responses.Error).
		httpjson.Write(w, http.StatusBadRequest, map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": problems})
	}
	if oversize {
		refuse(fmt.Sprintf("Event is too large (%d bytes; the maximum is %d)", len(raw), MaxEventBytes))
		return
	}
	if problems := eventProblems(body, ev); len(problems) > 0 {
		refuse(problems...)
		return
	}
	svc := s.serviceByRoutingKey(body.RoutingKey)
	if svc == nil {
		refuse("Invalid routing key")
		return
	}

	key := body.DedupKey
	if key == "" {
		key = RoutingKey("dedup " + s.nextID("D"))
		ev.DedupKey = key
	}
	if inc, eventType := s.applyEvent(svc, key, ev); eventType != "" {
		s.changed(r.Context(), eventType, inc, nil)
	}
	ev.Status = http.StatusAccepted
	s.events = append(s.events, ev)
	httpjson.Write(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Event processed", "dedup_key": key})
}

// eventProblems lists what PagerDuty would refuse in the event, in its words.
func eventProblems(body enqueueBody, ev Event) []string {
	var problems []string
	if len(body.RoutingKey) != 32 {
		problems = append(problems, "Length of 'routing_key' is incorrect (should be 32 characters)")
	}
	switch body.Action {
	case "trigger":
		if body.Payload == nil {
			problems = append(problems, "'payload' is missing or blank")
		} else {
			problems = append(problems, payloadProblems(ev)...)
		}
	case "acknowledge", "resolve":
		if body.DedupKey == "" {
			problems = append(problems, "'dedup_key' is missing or blank")
		}
	default:
		problems = append(problems, "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')")
	}
	if len(body.DedupKey) > 255 {
		problems = append(problems, "'dedup_key' is too long (maximum is 255 characters)")
	}
	return problems
}

// payloadProblems lists what is wrong with a trigger's payload.
func payloadProblems(ev Event) []string {
	var problems []string
	if strings.TrimSpace(ev.Summary) == "" {
		problems = append(problems, "'payload.summary' is missing or blank")
	} else if len([]rune(ev.Summary)) > 1024 {
		problems = append(problems, "'payload.summary' is too long (maximum is 1024 characters)")
	}
	if strings.TrimSpace(ev.Source) == "" {
		problems = append(problems, "'payload.source' is missing or blank")
	}
	if !slices.Contains([]string{"critical", "error", "warning", "info"}, ev.Severity) {
		problems = append(problems, "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')")
	}
	return problems
}

// applyEvent acts on an accepted event: a trigger opens an incident for the
// dedup key or adds an alert to the open one; acknowledge and resolve move
// the open one, and are dropped when there is none, as PagerDuty does. It
// returns the incident changed and the webhook event type of the change,
// "" when nothing changed.
func (s *eventsAPI) applyEvent(svc *Service, key string, ev Event) (*Incident, string) {
	open := s.openIncident(svc.ID, key)
	switch ev.Action {
	case "trigger":
		if open != nil {
			open.Alerts++
			return open, ""
		}
		urgency := "low"
		if ev.Severity == "critical" || ev.Severity == "error" {
			urgency = "high"
		}
		inc := s.newIncident(&Incident{
			Title: ev.Summary, ServiceID: svc.ID, EscalationPolicyID: svc.EscalationPolicyID,
			IncidentKey: key, Urgency: urgency, CreatedVia: "events", Alerts: 1,
		})
		return inc, "incident.triggered"
	case "acknowledge":
		if open != nil && open.Status != "acknowledged" {
			open.setStatus("acknowledged", "", s.now().UTC())
			open.AcknowledgedBy = "" // the integration's, not a user's
			return open, "incident.acknowledged"
		}
	case "resolve":
		if open != nil {
			open.setStatus("resolved", "", s.now().UTC())
			return open, "incident.resolved"
		}
	}
	return open, ""
}

package pdfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// SignatureHeader carries a v3 webhook's signatures.
const SignatureHeader = "X-PagerDuty-Signature"

// Sign returns PagerDuty's v3 signature header value for body: one
// "v1=<hex HMAC-SHA256>" per secret, comma-separated, as during a secret
// rotation.
func Sign(body []byte, secrets ...string) string {
	sigs := make([]string, 0, len(secrets))
	for _, secret := range secrets {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		sigs = append(sigs, "v1="+hex.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(sigs, ",")
}

// webhookSender delivers v3 webhooks about the world's incidents, signed
// the way PagerDuty signs them.
type webhookSender struct {
	*world
	shapes
}

// WebhookOption changes one delivery made by SendWebhook.
type WebhookOption func(*webhookDelivery)

type webhookDelivery struct {
	body      []byte
	header    *string
	extra     []string
	client    *http.Client
	eventID   string
	occurred  time.Time
	assignees []string
}

// WithSignatureHeader sends exactly value as X-PagerDuty-Signature, to
// forge one; an empty value sends no header at all.
func WithSignatureHeader(value string) WebhookOption {
	return func(d *webhookDelivery) { d.header = &value }
}

// WithExtraSecrets signs with these secrets too, before the real one, as
// PagerDuty does while a subscription's secret is being rotated.
func WithExtraSecrets(secrets ...string) WebhookOption {
	return func(d *webhookDelivery) { d.extra = append(d.extra, secrets...) }
}

// WithBody sends body instead of the built payload, signed as usual, to
// test malformed or unusual deliveries.
func WithBody(body []byte) WebhookOption {
	return func(d *webhookDelivery) { d.body = body }
}

// WithEventID sets the event id (the delivery's dedup id), to test
// redeliveries.
func WithEventID(id string) WebhookOption {
	return func(d *webhookDelivery) { d.eventID = id }
}

// WithOccurredAt sets the event's occurred_at; the default is the server's
// clock.
func WithOccurredAt(t time.Time) WebhookOption {
	return func(d *webhookDelivery) { d.occurred = t }
}

// WithAssignees overrides the incident's assignees by name.
func WithAssignees(names ...string) WebhookOption {
	return func(d *webhookDelivery) { d.assignees = names }
}

// WithWebhookClient sends with hc instead of a plain client.
func WithWebhookClient(hc *http.Client) WebhookOption {
	return func(d *webhookDelivery) { d.client = hc }
}

// SendWebhook posts a v3 webhook for eventType ("incident.acknowledged")
// about the incident with incidentID to url, signed with secret, the way
// PagerDuty delivers one. The payload follows PagerDuty's documented
// example, filled from the server's incident when it has one. agentName is
// the acting user's name; empty sends a null agent. The caller closes the
// response body.
func (s *webhookSender) SendWebhook(ctx context.Context, url, secret, eventType, incidentID, agentName string, opts ...WebhookOption) (*http.Response, error) {
	d := webhookDelivery{client: &http.Client{Timeout: 10 * time.Second}}
	for _, opt := range opts {
		opt(&d)
	}
	if d.body == nil {
		d.body = s.webhookPayload(eventType, incidentID, agentName, d)
	}
	sig := Sign(d.body, append(d.extra, secret)...)
	if d.header != nil {
		sig = *d.header // forged, or none when empty
	}
	return postWebhook(ctx, d.client, url, d.body, sig)
}

// postWebhook posts a delivery the way PagerDuty does, with sig as
// X-PagerDuty-Signature (none when empty).
func postWebhook(ctx context.Context, client *http.Client, url string, body []byte, sig string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("pdfake webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "PagerDuty-Webhook/V3.0")
	req.Header.Set("X-Webhook-Id", deliveryID(body))
	req.Header.Set("X-Webhook-Subscription", "PSUBFAKE")
	if sig != "" {
		req.Header.Set(SignatureHeader, sig)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("pdfake webhook: %w", err)
	}
	return resp, nil
}

// WebhookPayload returns the body SendWebhook would send, for tests that
// sign or post it themselves.
func (s *webhookSender) WebhookPayload(eventType, incidentID, agentName string, opts ...WebhookOption) []byte {
	var d webhookDelivery
	for _, opt := range opts {
		opt(&d)
	}
	return s.webhookPayload(eventType, incidentID, agentName, d)
}

func (s *webhookSender) webhookPayload(eventType, incidentID, agentName string, d webhookDelivery) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.payloadLocked(eventType, incidentID, agentName, &d)
}

// payloadLocked builds a delivery's body, filling in d's event id and time
// when unset. The caller holds s.mu.
func (s *webhookSender) payloadLocked(eventType, incidentID, agentName string, d *webhookDelivery) []byte {
	base := s.base
	s.webhookSeq++
	if d.eventID == "" {
		d.eventID = fmt.Sprintf("01PDFAKE%018d", s.webhookSeq)
	}
	if d.occurred.IsZero() {
		d.occurred = s.now()
	}
	resourceType, _, _ := strings.Cut(eventType, ".")
	data := s.webhookData(base, eventType, incidentID, *d)
	var agent any
	if agentName != "" {
		agent = s.webhookAgent(base, agentName)
	}
	env := map[string]any{"event": map[string]any{
		"id":            d.eventID,
		"event_type":    eventType,
		"resource_type": resourceType,
		"occurred_at":   d.occurred.UTC().Format("2006-01-02T15:04:05.000Z"),
		"agent":         agent,
		"client":        nil,
		"data":          data,
	}}
	body, err := json.Marshal(env)
	if err != nil {
		panic(fmt.Sprintf("pdfake: marshal webhook: %v", err)) // maps of strings always marshal
	}
	return body
}

// webhookData is the incident a webhook carries: the fake's own when it
// has one, with the delivery's assignees when it names some.
func (s *webhookSender) webhookData(base, eventType, incidentID string, d webhookDelivery) map[string]any {
	data := map[string]any{
		"id": incidentID, "type": "incident",
		"self": base + "/incidents/" + incidentID, "html_url": base + "/incidents/" + incidentID,
		"number": 1, "status": webhookStatus(eventType), "incident_key": nil,
		"created_at": d.occurred.UTC().Format(time.RFC3339), "title": "Incident " + incidentID,
		"service":   map[string]any{"id": "PSFAKE1", "type": "service_reference", "summary": "Fake service"},
		"assignees": []any{}, "urgency": "high", "conference_bridge": nil, "resolve_reason": nil,
		"teams": []any{}, "priority": nil,
	}
	var assignees []any
	if inc := s.incident(incidentID); inc != nil {
		assignees = s.fillIncidentData(data, base, inc)
	}
	if d.assignees != nil {
		assignees = nil
		for i, name := range d.assignees {
			fallback := map[string]any{"id": fmt.Sprintf("PUFAKE%d", i+1), "type": "user_reference", "summary": name}
			assignees = append(assignees, s.userRefNamed(name, fallback))
		}
	}
	if assignees != nil {
		data["assignees"] = assignees
	}
	return data
}

// fillIncidentData sets the incident's own fields in data and returns its
// assignees.
func (s *webhookSender) fillIncidentData(data map[string]any, base string, inc *Incident) []any {
	data["number"], data["title"], data["urgency"] = inc.Number, inc.Title, inc.Urgency
	data["created_at"] = inc.CreatedAt.Format(time.RFC3339)
	if inc.IncidentKey != "" {
		data["incident_key"] = inc.IncidentKey
	}
	if svc := s.service(inc.ServiceID); svc != nil {
		data["service"] = map[string]any{"id": svc.ID, "type": "service_reference", "summary": svc.Name,
			"self": base + "/services/" + svc.ID, "html_url": base + "/service-directory/" + svc.ID}
	}
	if p := s.policy(inc.EscalationPolicyID); p != nil {
		data["escalation_policy"] = map[string]any{"id": p.id, "type": "escalation_policy_reference", "summary": p.name}
	}
	var assignees []any
	for _, id := range inc.Assignees {
		if u := s.user(id); u != nil {
			assignees = append(assignees, s.userRef(u))
		}
	}
	return assignees
}

// webhookAgent is the user reference of the webhook's agent.
func (s *webhookSender) webhookAgent(base, name string) map[string]any {
	return s.userRefNamed(name, map[string]any{"id": "PAGENT1", "type": "user_reference", "summary": name,
		"self": base + "/users/PAGENT1", "html_url": base + "/users/PAGENT1"})
}

// userRefNamed is the reference of the last user with the name, else
// fallback.
func (s *webhookSender) userRefNamed(name string, fallback map[string]any) map[string]any {
	ref := fallback
	for _, u := range s.users {
		if u.Name == name {
			ref = s.userRef(u)
		}
	}
	return ref
}

// webhookStatus is the incident status a webhook of eventType carries.
func webhookStatus(eventType string) string {
	switch eventType {
	case "incident.acknowledged":
		return "acknowledged"
	case "incident.resolved":
		return "resolved"
	}
	return "triggered"
}

// deliveryID reads the event id back from a payload for X-Webhook-Id.
func deliveryID(body []byte) string {
	var env struct {
		Event struct {
			ID string `json:"id"`
		} `json:"event"`
	}
	if json.Unmarshal(body, &env) == nil && env.Event.ID != "" {
		return env.Event.ID
	}
	return "unknown"
}

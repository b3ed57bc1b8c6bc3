package pagerduty_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

const (
	secret    = "whsec-current"
	oldSecret = "whsec-previous"
)

// sink records the page events a webhook handler hands on.
type sink struct {
	mu     sync.Mutex
	events []incident.PageEvent
	err    error
}

func (s *sink) handle(_ context.Context, ev incident.PageEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	return s.err
}

func (s *sink) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *sink) got() []incident.PageEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]incident.PageEvent(nil), s.events...)
}

type webhookBundle struct {
	*bundle
	sink *sink
	url  string
	page *incident.Page
}

func setupWebhook(t *testing.T, secrets ...string) *webhookBundle {
	t.Helper()
	b := setup(t)
	page, err := b.client.Page(t.Context(), b.request(b.rest))
	require.NoError(t, err)
	s := &sink{}
	srv := httptest.NewServer(pagerduty.NewWebhookHandler(secrets, s.handle, nil))
	t.Cleanup(srv.Close)
	return &webhookBundle{bundle: b, sink: s, url: srv.URL + "/webhooks/pagerduty", page: page}
}

func (w *webhookBundle) send(t *testing.T, eventType, agent string, opts ...pdfake.WebhookOption) int {
	t.Helper()
	resp, err := w.fake.SendWebhook(t.Context(), w.url, secret, eventType, w.page.ExternalID, agent, opts...)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func TestWebhookKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		eventType string
		kind      incident.PageEventKind
		agent     string
	}{
		{"incident.acknowledged", incident.PageAcknowledged, "Bob Primary"},
		{"incident.unacknowledged", incident.PageUnacknowledged, ""},
		{"incident.escalated", incident.PageEscalated, ""},
		{"incident.reassigned", incident.PageReassigned, "Alice Declarer"},
		{"incident.delegated", incident.PageReassigned, "Alice Declarer"},
		{"incident.resolved", incident.PageResolved, "Bob Primary"},
		{"incident.reopened", incident.PageReopened, "Carol Backup"},
	}
	for _, tt := range tests {
		t.Run(tt.eventType, func(t *testing.T) {
			t.Parallel()
			w := setupWebhook(t, secret)
			at := t0.Add(3*time.Minute + 500*time.Millisecond)

			status := w.send(t, tt.eventType, tt.agent,
				pdfake.WithEventID("01EVT"+strings.ToUpper(string(tt.kind))), pdfake.WithOccurredAt(at))
			require.Equal(t, http.StatusOK, status)

			require.Equal(t, []incident.PageEvent{{
				DeliveryID: "01EVT" + strings.ToUpper(string(tt.kind)),
				Kind:       tt.kind,
				ExternalID: w.page.ExternalID,
				DedupKey:   w.page.DedupKey,
				Agent:      tt.agent,
				Assignees:  []string{"Bob Primary"},
				At:         at,
			}}, w.sink.got())
		})
	}
}

func TestWebhookSignature(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		secrets    []string
		opts       []pdfake.WebhookOption
		wantStatus int
	}{
		{name: "valid", secrets: []string{secret}, wantStatus: http.StatusOK},
		{name: "signed with another secret", secrets: []string{"something-else"}, wantStatus: http.StatusUnauthorized},
		{name: "missing header", secrets: []string{secret},
			opts: []pdfake.WebhookOption{pdfake.WithSignatureHeader("")}, wantStatus: http.StatusUnauthorized},
		{name: "forged signature", secrets: []string{secret},
			opts:       []pdfake.WebhookOption{pdfake.WithSignatureHeader("v1=" + strings.Repeat("ab", 32))},
			wantStatus: http.StatusUnauthorized},
		{name: "garbage header", secrets: []string{secret},
			opts: []pdfake.WebhookOption{pdfake.WithSignatureHeader("v1=zz,v2=,sha256=1")}, wantStatus: http.StatusUnauthorized},
		{name: "several signatures, one valid", secrets: []string{secret},
			opts: []pdfake.WebhookOption{pdfake.WithExtraSecrets(oldSecret, "another")}, wantStatus: http.StatusOK},
		{name: "rotation: delivery signed with the old secret only", secrets: []string{"whsec-next", secret},
			wantStatus: http.StatusOK},
		{name: "no secret configured fails closed", secrets: nil, wantStatus: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := setupWebhook(t, tt.secrets...)
			status := w.send(t, "incident.acknowledged", "Bob Primary", tt.opts...)
			require.Equal(t, tt.wantStatus, status)
			if tt.wantStatus == http.StatusOK {
				require.Len(t, w.sink.got(), 1)
			} else {
				require.Empty(t, w.sink.got(), "the sink never sees an unverified delivery")
			}
		})
	}
}

func TestWebhookBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		eventType  string
		opts       []pdfake.WebhookOption
		wantStatus int
	}{
		{name: "malformed JSON", eventType: "incident.acknowledged",
			opts: []pdfake.WebhookOption{pdfake.WithBody([]byte(`{"event":{"id":`))}, wantStatus: http.StatusBadRequest},
		{name: "no event object", eventType: "incident.acknowledged",
			opts: []pdfake.WebhookOption{pdfake.WithBody([]byte(`{"foo":1}`))}, wantStatus: http.StatusBadRequest},
		{name: "known type without incident id", eventType: "incident.acknowledged",
			opts:       []pdfake.WebhookOption{pdfake.WithBody([]byte(`{"event":{"id":"E1","event_type":"incident.acknowledged","resource_type":"incident","data":{}}}`))},
			wantStatus: http.StatusBadRequest},
		{name: "unknown incident event type is ignored", eventType: "incident.priority_updated", wantStatus: http.StatusOK},
		{name: "triggered is ignored", eventType: "incident.triggered", wantStatus: http.StatusOK},
		{name: "service event is ignored", eventType: "service.updated", wantStatus: http.StatusOK},
		{name: "too large", eventType: "incident.acknowledged",
			opts:       []pdfake.WebhookOption{pdfake.WithBody(bytes.Repeat([]byte(" "), pagerduty.MaxWebhookBody+1))},
			wantStatus: http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := setupWebhook(t, secret)
			require.Equal(t, tt.wantStatus, w.send(t, tt.eventType, "Bob Primary", tt.opts...))
			require.Empty(t, w.sink.got())
		})
	}
}

func TestWebhookSinkFailureAsksForRedelivery(t *testing.T) {
	t.Parallel()
	w := setupWebhook(t, secret)
	w.sink.fail(errors.New("database is locked"))
	require.Equal(t, http.StatusInternalServerError, w.send(t, "incident.resolved", "Bob Primary", pdfake.WithEventID("01SAME")))

	// PagerDuty redelivers the same event; this time the sink succeeds.
	w.sink.fail(nil)
	require.Equal(t, http.StatusOK, w.send(t, "incident.resolved", "Bob Primary", pdfake.WithEventID("01SAME")))
	got := w.sink.got()
	require.Len(t, got, 2)
	require.Equal(t, got[0].DeliveryID, got[1].DeliveryID, "same delivery id, so the sink can dedupe")
}

func TestWebhookOnlyPost(t *testing.T) {
	t.Parallel()
	w := setupWebhook(t, secret)
	resp, err := http.Get(w.url)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestWebhookAssigneesOverride(t *testing.T) {
	t.Parallel()
	w := setupWebhook(t, secret)
	require.Equal(t, http.StatusOK, w.send(t, "incident.reassigned", "Alice Declarer", pdfake.WithAssignees("Carol Backup", "Dave New")))
	got := w.sink.got()
	require.Len(t, got, 1)
	require.Equal(t, []string{"Carol Backup", "Dave New"}, got[0].Assignees)
	require.Empty(t, got[0].AgentEmail, "PagerDuty's agent reference has no e-mail")
}

// TestWebhookFixtureEscalated reads a v3 incident.escalated delivery in
// PagerDuty's documented shape (testdata/): the new assignee is what the
// domain invites into the channel.
func TestWebhookFixtureEscalated(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join("testdata", "incident_escalated.json"))
	require.NoError(t, err)
	s := &sink{}
	srv := httptest.NewServer(pagerduty.NewWebhookHandler([]string{secret}, s.handle, nil))
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-PagerDuty-Signature", pdfake.Sign(body, secret))
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	got := s.got()
	require.Len(t, got, 1)
	ev := got[0]
	require.Equal(t, incident.PageEscalated, ev.Kind)
	require.Equal(t, "01DEN4HPBQAAAG05V5QQYBRZMF", ev.DeliveryID)
	require.Equal(t, "firebreak-7-checkout", ev.DedupKey)
	require.Equal(t, "Q1XVR8WPBCWK1C", ev.ExternalID)
	require.Equal(t, []string{"Carol Poe"}, ev.Assignees)
	require.Equal(t, time.Date(2026, 3, 2, 11, 16, 9, 540000000, time.UTC), ev.At.UTC())
}

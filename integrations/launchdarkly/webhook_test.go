package launchdarkly_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/launchdarkly"
	"github.com/firebreakhq/firebreak/integrations/launchdarkly/ldfake"
)

const secret = "whsec-launchdarkly"

// recordingSink records what the handler hands to the domain.
type recordingSink struct {
	mu  sync.Mutex
	got []incident.ChangeEvent
	err error
}

func (s *recordingSink) sink(_ context.Context, c incident.ChangeEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, c)
	return s.err
}

func (s *recordingSink) events() []incident.ChangeEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]incident.ChangeEvent(nil), s.got...)
}

func webhookEntry() ldfake.AuditEntry {
	off := false
	return ldfake.AuditEntry{
		ID: "61f2a0c0e1", Date: t0, Name: "New cart", TitleVerb: "turned off the flag",
		MemberEmail: "ann@example.com", MemberName: "Ann Lee",
		Project: "shop", Environment: "production", FlagKey: "new-cart",
		PreviousVersion: 3, CurrentVersion: 4, On: &off,
	}
}

func TestWebhookDeliversFlagChange(t *testing.T) {
	t.Parallel()
	var rec recordingSink
	srv := httptest.NewServer(launchdarkly.NewWebhookHandler(secret, rec.sink, nil))
	t.Cleanup(srv.Close)

	status, err := ldfake.SendWebhook(context.Background(), srv.Client(), srv.URL, secret, webhookEntry())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)

	require.Equal(t, []incident.ChangeEvent{{
		Source:      "launchdarkly",
		ExternalID:  "61f2a0c0e1",
		Kind:        incident.ChangeFlag,
		Summary:     "Turned off the flag New cart in production",
		Actor:       "ann@example.com",
		URL:         "https://app.launchdarkly.com/shop/production/features/new-cart",
		Environment: "production",
		Ref:         "new-cart",
		OccurredAt:  t0,
		Data: map[string]string{
			"project": "shop", "flag": "new-cart", "previous_version": "3", "current_version": "4", "on": "false",
		},
	}}, rec.events())
}

func TestWebhookOutOfOrderDeliveries(t *testing.T) {
	t.Parallel()
	var rec recordingSink
	h := launchdarkly.NewWebhookHandler(secret, rec.sink, nil)
	later, earlier := webhookEntry(), webhookEntry()
	later.ID, later.Date = "later", t0.Add(time.Minute)
	earlier.ID = "earlier"
	for _, e := range []ldfake.AuditEntry{later, earlier} {
		req, err := ldfake.NewWebhookRequest(context.Background(), "/webhooks/launchdarkly", secret, e)
		require.NoError(t, err)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		require.Equal(t, http.StatusOK, w.Code)
	}
	got := rec.events()
	require.Len(t, got, 2)
	require.Equal(t, t0.Add(time.Minute), got[0].OccurredAt)
	require.Equal(t, t0, got[1].OccurredAt)
}

func TestWebhookRejectsAndIgnores(t *testing.T) {
	t.Parallel()
	body := ldfake.EntryJSON(webhookEntry())
	project := webhookEntry()
	project.Kind = "project"
	projectBody := ldfake.EntryJSON(project)
	tests := []struct {
		name       string
		secret     string // the handler's secret
		method     string
		body       []byte
		signature  string
		sinkErr    error
		wantStatus int
		wantSink   bool
	}{
		{name: "valid", secret: secret, body: body, signature: ldfake.Sign(body, secret), wantStatus: 200, wantSink: true},
		{name: "missing signature", secret: secret, body: body, wantStatus: 401},
		{name: "forged signature", secret: secret, body: body, signature: ldfake.Sign(body, "guess"), wantStatus: 401},
		{name: "signature of another body", secret: secret, body: body, signature: ldfake.Sign(projectBody, secret), wantStatus: 401},
		{name: "empty secret rejects", secret: "", body: body, signature: ldfake.Sign(body, ""), wantStatus: 401},
		{name: "not a flag", secret: secret, body: projectBody, signature: ldfake.Sign(projectBody, secret), wantStatus: 200},
		{name: "malformed", secret: secret, body: []byte("{"), signature: ldfake.Sign([]byte("{"), secret), wantStatus: 400},
		{name: "redelivery", secret: secret, body: body, signature: ldfake.Sign(body, secret),
			sinkErr: incident.Errorf(incident.ECONFLICT, "seen"), wantStatus: 200, wantSink: true},
		{name: "sink failure", secret: secret, body: body, signature: ldfake.Sign(body, secret),
			sinkErr: errors.New("db down"), wantStatus: 500, wantSink: true},
		{name: "wrong method", secret: secret, method: http.MethodGet, wantStatus: 405},
		{name: "too large", secret: secret, body: bytes.Repeat([]byte("x"), launchdarkly.MaxWebhookBytes+1), wantStatus: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := recordingSink{err: tt.sinkErr}
			h := launchdarkly.NewWebhookHandler(tt.secret, rec.sink, nil)
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, "/webhooks/launchdarkly", bytes.NewReader(tt.body))
			if tt.signature != "" {
				req.Header.Set(launchdarkly.SignatureHeader, tt.signature)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			require.Equal(t, tt.wantStatus, w.Code, w.Body.String())
			require.Equal(t, tt.wantSink, len(rec.events()) == 1)
			if tt.sinkErr != nil && incident.ErrorCode(tt.sinkErr) == incident.ECONFLICT {
				require.JSONEq(t, `{"duplicate":true}`, w.Body.String())
			}
		})
	}
}

// TestWebhookFixtureFlagNamedAfterItsEnvironment feeds an entry in the
// documented audit-log shape (testdata/) for the flag "test flag" in the
// environment test, to an EU account's handler.
func TestWebhookFixtureFlagNamedAfterItsEnvironment(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile(filepath.Join("testdata", "flag_turned_on_in_test.json"))
	require.NoError(t, err)
	var rec recordingSink
	srv := httptest.NewServer(launchdarkly.NewWebhookHandler(secret, rec.sink, nil, launchdarkly.WithSiteURL("https://app.eu.launchdarkly.com/")))
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(launchdarkly.SignatureHeader, launchdarkly.Sign(body, secret))
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	got := rec.events()
	require.Len(t, got, 1)
	c := got[0]
	require.Equal(t, "Turned on the flag test flag in test", c.Summary, "the flag's name is not the environment")
	require.Equal(t, "https://app.eu.launchdarkly.com/shop/test/features/test-flag", c.URL, "links go to the account's instance")
	require.Equal(t, "test", c.Environment)
	require.Equal(t, "true", c.Data["on"])
	require.Equal(t, time.Date(2026, 3, 2, 10, 50, 0, 0, time.UTC), c.OccurredAt)
}

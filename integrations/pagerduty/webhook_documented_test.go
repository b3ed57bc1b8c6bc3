package pagerduty_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// deliverFixture posts testdata/name as PagerDuty does, with sig as the
// signature header, and returns the status.
func deliverFixture(t *testing.T, h http.Handler, name string, sig func(body []byte) string) int {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(pagerduty.SignatureHeader, sig(body))
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode
}

// TestWebhookDocumentedDeliveries: PagerDuty's own payloads, signed as its
// documentation says (a comma-separated v1= list during a rotation), are
// answered 2xx, and the ones the bot does not act on change nothing, with
// or without alerts from PagerDuty turned on.
func TestWebhookDocumentedDeliveries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fixture string
	}{
		{"subscription test ping", "pagey_ping.json"},
		{"documented incident.priority_updated example", "incident_priority_updated.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pages, alerts := &sink{}, &alertSink{}
			h := pagerduty.NewWebhookHandler([]string{secret}, pages.handle, nil, pagerduty.WithAlerts(alerts.take))

			rotating := func(body []byte) string { return pdfake.Sign(body, "whsec-being-rotated-in", secret) }
			require.Equal(t, http.StatusOK, deliverFixture(t, h, tt.fixture, rotating))
			require.Equal(t, http.StatusOK, deliverFixture(t, h, tt.fixture, rotating), "a redelivery")
			require.Empty(t, pages.got())
			alerts.mu.Lock()
			require.Empty(t, alerts.got)
			alerts.mu.Unlock()

			other := func(body []byte) string { return pdfake.Sign(body, "whsec-someone-else") }
			require.Equal(t, http.StatusUnauthorized, deliverFixture(t, h, tt.fixture, other))
		})
	}
}

package alerting_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/alerting"
)

// TestGrafanaDocumentedPayload: Grafana's documented webhook example is
// taken whole, each alert handed on once, and a redelivery of it hands on
// the same fingerprints (the domain deduplicates by them).
func TestGrafanaDocumentedPayload(t *testing.T) {
	t.Parallel()
	s := &sink{}
	h := alerting.NewGrafanaHandler(alerting.Auth{Tokens: []string{"gf-token"}}, s.take, nil)
	body := fixture(t, "grafana_docs_example.json")
	auth := map[string]string{"Authorization": "Bearer gf-token"}

	require.Equal(t, http.StatusOK, post(t, h, body, auth))
	require.Len(t, s.got, 2)
	mem := s.got[0]
	require.Equal(t, "grafana", mem.Source)
	require.Equal(t, "c6eadffa33fcdf37", mem.Fingerprint)
	require.Equal(t, incident.AlertFiring, mem.Status)
	require.Equal(t, "High memory usage: This alert was triggered for zone us-1", mem.Title)
	require.Equal(t, "The system has high memory usage\nRunbook: https://myrunbook.com/runbook/1234", mem.Summary)
	require.Equal(t, "https://play.grafana.org/alerting/1afz29v7z/edit", mem.URL)
	require.Equal(t, "us-1", mem.Labels["zone"])
	require.Equal(t, time.Date(2021, 10, 12, 7, 51, 3, 157076000, time.UTC), mem.StartsAt.UTC())
	require.True(t, mem.EndsAt.IsZero())
	require.Equal(t, "bc97ff14869b13e3", s.got[1].Fingerprint)

	require.Equal(t, http.StatusOK, post(t, h, body, auth), "a redelivery")
	require.Len(t, s.got, 4)
	require.Equal(t, s.got[0].Fingerprint, s.got[2].Fingerprint)
}

// TestGrafanaTestNotificationChangesNothing: the contact point's Test
// button, the last step of Grafana's setup, sends a made-up alert. It is
// answered 200, so the test passes, and no alert reaches the domain, where
// a catch-all rule would propose or declare an incident for it.
func TestGrafanaTestNotificationChangesNothing(t *testing.T) {
	t.Parallel()
	s := &sink{}
	now := time.Date(2026, 8, 7, 14, 21, 0, 0, time.UTC)
	h := alerting.NewGrafanaHandler(alerting.Auth{Tokens: []string{"gf-token"}, HMACSecrets: []string{"gf-secret"},
		Now: func() time.Time { return now }}, s.take, nil)
	body := fixture(t, "grafana_test_notification.json")

	require.Equal(t, http.StatusOK, post(t, h, body, map[string]string{"Authorization": "Bearer gf-token"}))
	require.Equal(t, http.StatusOK, post(t, h, body, signedAt("gf-secret", now, body)))
	require.Empty(t, s.got, "a test notification is no alert")

	// The test dialog lets one add labels and rename the alert; Grafana's
	// test value string and the missing rule still mark it a test.
	renamed := bytes.Replace(body, []byte(`"alertname": "TestAlert",`), []byte(`"alertname": "Checkout errors", "service": "checkout",`), 1)
	require.Equal(t, http.StatusOK, post(t, h, renamed, map[string]string{"Authorization": "Bearer gf-token"}))
	require.Empty(t, s.got)

	// A real alert in the same delivery still counts.
	mixed := bytes.Replace(body, []byte(`"alerts": [`), []byte(`"alerts": [{"status":"firing","labels":{"alertname":"Checkout errors"},"annotations":{},"startsAt":"2026-08-07T14:20:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"https://grafana.example.com/alerting/grafana/d1rdpdv7k/view","fingerprint":"bc97ff14869b13e3","valueString":"[ var='B' labels={} value=0.072 ]"},`), 1)
	require.Equal(t, http.StatusOK, post(t, h, mixed, map[string]string{"Authorization": "Bearer gf-token"}))
	require.Len(t, s.got, 1)
	require.Equal(t, "bc97ff14869b13e3", s.got[0].Fingerprint)
}

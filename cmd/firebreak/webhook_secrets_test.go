package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

func TestSecretListTrimsAndDropsEmpty(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"old", "new"}, secretList("old, new"))
	require.Equal(t, []string{"old", "new"}, secretList(" old ,\tnew ,, "))
	require.Equal(t, []string{"only"}, secretList("only"))
	require.Empty(t, secretList(" , "))
}

// route returns the handler of a webhook path the configuration turns on.
func route(t *testing.T, cfg Config, path string) http.Handler {
	t.Helper()
	for _, r := range webhookRoutes(cfg, nil, nil, nil, nil, nil, nil, nil, incident.SystemClock, nil, nil) {
		if r.path == path {
			return r.handler
		}
	}
	t.Fatalf("no route %s", path)
	return nil
}

func post(h http.Handler, body string, header map[string]string) int {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// PAGERDUTY_WEBHOOK_SECRET="old, new" while rotating: a delivery signed
// with either secret is taken, not refused as " new" would refuse it.
func TestPagerDutyWebhookSecretsAreTrimmed(t *testing.T) {
	t.Parallel()
	var cfg Config
	cfg.PagerDuty.WebhookSecret = "old-secret, new-secret"
	h := route(t, cfg, "/webhooks/pagerduty")
	// An event type the bot ignores: verified, then accepted untouched.
	body := `{"event":{"id":"01EV","event_type":"incident.priority_updated","resource_type":"incident","occurred_at":"2026-08-07T14:23:00Z","agent":null,"data":{"id":"Q1","type":"incident"}}}`
	for _, secret := range []string{"new-secret", "old-secret"} {
		code := post(h, body, map[string]string{pdfake.SignatureHeader: pdfake.Sign([]byte(body), secret)})
		require.True(t, code >= 200 && code < 300, "signed with %s: %d", secret, code)
	}
	require.Equal(t, http.StatusUnauthorized, post(h, body, map[string]string{pdfake.SignatureHeader: pdfake.Sign([]byte(body), "other")}))
}

func TestAlertWebhookTokensAreTrimmed(t *testing.T) {
	t.Parallel()
	var cfg Config
	cfg.Alerts.AlertmanagerToken = "old-token , new-token"
	h := route(t, cfg, "/webhooks/alertmanager")
	// Past the token check a malformed payload is refused as such (400).
	for _, token := range []string{"new-token", "old-token"} {
		require.Equal(t, http.StatusBadRequest, post(h, "not json", map[string]string{"Authorization": "Bearer " + token}), token)
	}
	require.Equal(t, http.StatusUnauthorized, post(h, "not json", map[string]string{"Authorization": "Bearer other"}))
}

// TestSecretListNamingNoSecretIsRefused: a list of secrets that is only
// commas and spaces would refuse every delivery; the configuration says so.
func TestSecretListNamingNoSecretIsRefused(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"PAGERDUTY_WEBHOOK_SECRET", "ALERTMANAGER_WEBHOOK_TOKEN", "GRAFANA_WEBHOOK_TOKEN"} {
		_, err := LoadConfig(envOf(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", name: " , "}))
		require.ErrorContains(t, err, name+" names no secret", name)
	}
	cfg, err := LoadConfig(envOf(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "PAGERDUTY_WEBHOOK_SECRET": "old, new"}))
	require.NoError(t, err)
	require.Equal(t, []string{"old", "new"}, secretList(cfg.PagerDuty.WebhookSecret))
}

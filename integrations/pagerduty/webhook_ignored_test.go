package pagerduty_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
	"github.com/firebreakhq/firebreak/integrations/webhook"
	"github.com/firebreakhq/firebreak/integrations/webhook/webhooktest"
)

// TestWebhookEventsNotActedOnAreCountedAndLogged: PagerDuty's documented
// payloads of types the bot does not act on (incident.priority_updated,
// service.updated, the subscription's test ping) are answered 200 and
// dropped, each counted by type, the first of each type logged at info.
// With alerts from PagerDuty on, incident.triggered is theirs, not
// ignored.
func TestWebhookEventsNotActedOnAreCountedAndLogged(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	ig := webhook.NewIgnored(reg)
	var out webhooktest.LogBuffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	pages, alerts := &sink{}, &alertSink{}
	h := pagerduty.NewWebhookHandler([]string{secret}, pages.handle, log, pagerduty.WithIgnored(ig), pagerduty.WithAlerts(alerts.take))
	sign := func(body []byte) string { return pdfake.Sign(body, secret) }

	for _, fixture := range []string{"incident_priority_updated.json", "service_updated.json", "service_updated.json", "pagey_ping.json"} {
		require.Equal(t, http.StatusOK, deliverFixture(t, h, fixture, sign), fixture)
	}
	require.Equal(t, http.StatusOK, deliverFixture(t, h, "incident_escalated.json", sign), "an event acted on")
	require.Len(t, pages.got(), 1)

	webhooktest.RequireIgnored(t, reg, map[[2]string]int{{"pagerduty", "incident.priority_updated"}: 1, {"pagerduty", "pagey.ping"}: 1, {"pagerduty", "service.updated"}: 2})
	logged := out.String()
	require.Equal(t, 3, strings.Count(logged, "webhook event type not handled"), logged)
	require.Equal(t, 1, strings.Count(logged, "event_type=service.updated"), "once per type")
	require.Contains(t, logged, "level=INFO")
	require.Contains(t, logged, "provider=pagerduty")
}

// TestWebhookTriggeredIsIgnoredWithoutAlerts: with alerts from PagerDuty
// off, incident.triggered is an event the bot does not act on.
func TestWebhookTriggeredIsIgnoredWithoutAlerts(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	w := setupWebhook(t, secret)
	srv := httptest.NewServer(pagerduty.NewWebhookHandler([]string{secret}, w.sink.handle, nil, pagerduty.WithIgnored(webhook.NewIgnored(reg))))
	t.Cleanup(srv.Close)
	w.url = srv.URL
	require.Equal(t, http.StatusOK, w.send(t, "incident.triggered", "Ann"))
	require.Equal(t, http.StatusOK, w.send(t, "incident.acknowledged", "Ann"))
	require.Len(t, w.sink.got(), 1)
	webhooktest.RequireIgnored(t, reg, map[[2]string]int{{"pagerduty", "incident.triggered"}: 1})
}

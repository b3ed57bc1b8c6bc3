package pagerduty_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// ackByIntegration acknowledges the page's incident through the Events
// API with the service's routing key, as a monitoring integration does
// when its alert clears on its own.
func ackByIntegration(t *testing.T, fake *pdfake.Server, serviceID, dedupKey string) {
	t.Helper()
	body := `{"routing_key":"` + pdfake.RoutingKey(serviceID) + `","event_action":"acknowledge","dedup_key":"` + dedupKey + `"}`
	resp, err := http.Post(fake.EventsURL()+"/v2/enqueue", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
}

// An incident an integration acknowledged (PagerDuty names the service,
// a service_reference, as its acknowledger) is not escalated, and nobody
// is said to have acknowledged it: the service is no person.
func TestEscalateOfAnIncidentAcknowledgedByAnIntegration(t *testing.T) {
	t.Parallel()
	b := setup(t)
	page, err := b.client.Page(t.Context(), b.request(b.rest))
	require.NoError(t, err)
	b.clock.Advance(3 * time.Minute)
	ackByIntegration(t, b.fake, "PSVC001", page.DedupKey)
	b.clock.Advance(time.Hour)

	up, escalated, err := b.client.EscalateTo(t.Context(), *page, 2)
	require.NoError(t, err)
	require.False(t, escalated)
	require.Equal(t, "acknowledged", up.Status)
	require.Empty(t, up.AcknowledgedBy, "not the service's name")
	require.NotNil(t, up.AcknowledgedAt)
	require.True(t, up.AcknowledgedAt.Equal(t0.Add(3*time.Minute)), "%v", up.AcknowledgedAt)
	inc, ok := b.fake.Incident(page.ExternalID)
	require.True(t, ok)
	require.Equal(t, "acknowledged", inc.Status)
	require.NotContains(t, inc.Notified, b.carol.ID, "the next level was not woken")
}

// A webhook's agent is who did it only when it is a user: an
// acknowledgement by a service or an integration carries no agent, as one
// without an agent does.
func TestWebhookAgentIsAUserOnly(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		ref  map[string]any
		want string
	}{
		{map[string]any{"id": "PUBOB", "type": "user_reference", "summary": "Bob Primary"}, "Bob Primary"},
		{map[string]any{"id": "PSVC001", "type": "service_reference", "summary": "Checkout"}, ""},
		{map[string]any{"id": "PINT001", "type": "integration_reference", "summary": "Datadog"}, ""},
		{nil, ""},
	} {
		t.Run(strings.TrimSuffix(cmpType(tt.ref), "_reference"), func(t *testing.T) {
			t.Parallel()
			w := setupWebhook(t, secret)
			var env map[string]map[string]any
			require.NoError(t, json.Unmarshal(w.fake.WebhookPayload("incident.acknowledged", w.page.ExternalID, "Bob Primary"), &env))
			env["event"]["agent"] = tt.ref
			body, err := json.Marshal(env)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, w.send(t, "incident.acknowledged", "", pdfake.WithBody(body)))
			got := w.sink.got()
			require.Len(t, got, 1)
			require.Equal(t, tt.want, got[0].Agent)
		})
	}
}

func cmpType(ref map[string]any) string {
	if ref == nil {
		return "none"
	}
	return ref["type"].(string)
}

// Acknowledging from Slack a page an integration acknowledged already is
// refused as acknowledged by an integration, not by the service's name.
func TestAcknowledgeOfAnIncidentAcknowledgedByAnIntegration(t *testing.T) {
	t.Parallel()
	b := setup(t)
	page, err := b.client.Page(t.Context(), b.request(b.rest))
	require.NoError(t, err)
	ackByIntegration(t, b.fake, "PSVC001", page.DedupKey)

	_, err = b.client.Acknowledge(t.Context(), *page, "bob@example.com")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "%v", err)
	require.Equal(t, "It is acknowledged already in PagerDuty, by an integration.", incident.ErrorMessage(err))
}

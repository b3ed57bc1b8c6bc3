package pdfake_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// PagerDuty limits an Events API v2 event to 512 KB (developer-docs
// events-API-v2/01-Overview.md, "Size Limits"); a larger one is refused
// as a bad request in the Events API's error shape (status, message,
// errors) and opens nothing. One just under the limit is accepted.
func TestOversizeEventIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	event := func(detailsLen int) string {
		b, err := json.Marshal(map[string]any{
			"routing_key": f.svc.RoutingKey, "event_action": "trigger", "dedup_key": "big",
			"payload": map[string]any{"summary": "Disk full", "source": "db1", "severity": "critical",
				"custom_details": map[string]any{"log": strings.Repeat("x", detailsLen)}},
		})
		require.NoError(t, err)
		return string(b)
	}
	header := map[string]string{"Content-Type": "application/json"}

	big := event(512_000)
	require.Greater(t, len(big), 512_000)
	status, _, body := raw(t, http.MethodPost, f.fake.EventsURL()+"/v2/enqueue", header, big)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid event", body["status"])
	require.Equal(t, "Event object is invalid", body["message"])
	require.NotEmpty(t, body["errors"])
	require.Empty(t, f.fake.Incidents(), "nothing opened")
	events := f.fake.Events()
	require.Len(t, events, 1)
	require.Equal(t, http.StatusBadRequest, events[0].Status)

	fits := event(512_000 - len(event(0)))
	require.Len(t, fits, 512_000)
	status, _, body = raw(t, http.MethodPost, f.fake.EventsURL()+"/v2/enqueue", header, fits)
	require.Equal(t, http.StatusAccepted, status, "%v", body)
	require.Len(t, f.fake.Incidents(), 1)
}

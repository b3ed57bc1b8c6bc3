package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/webhook"
)

// TestPublicRequestsAreForeground: everything the public listener serves is
// work someone waits for, which the store admits before background jobs.
func TestPublicRequestsAreForeground(t *testing.T) {
	t.Parallel()
	var seen []bool
	hook := webhookRoute{path: "/webhooks/test", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, incident.IsForeground(r.Context()))
		w.WriteHeader(http.StatusAccepted)
	})}
	h := routes(nil, false, func(next http.Handler) http.Handler { return next }, []webhookRoute{hook}, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks/test", strings.NewReader("{}")))
	require.Equal(t, http.StatusAccepted, rec.Code)
	require.Equal(t, []bool{true}, seen)
}

// TestWebhookRoutesTakeTheirProvidersMethods: a webhook whose provider may
// send with PUT (Grafana's contact point) is routed for PUT as well as
// POST; the others for POST only.
func TestWebhookRoutesTakeTheirProvidersMethods(t *testing.T) {
	t.Parallel()
	handle := func(*http.Request, []byte) (any, error) { return nil, nil }
	open := func(http.Header, []byte) error { return nil }
	hooks := []webhookRoute{
		{path: "/webhooks/either", handler: &webhook.Handler{Provider: "either", Verify: open, Handle: handle, Methods: []string{http.MethodPost, http.MethodPut}}},
		{path: "/webhooks/post", handler: &webhook.Handler{Provider: "post", Verify: open, Handle: handle}},
	}
	h := routes(nil, false, func(next http.Handler) http.Handler { return next }, hooks, nil)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodPost, "/webhooks/either", http.StatusOK},
		{http.MethodPut, "/webhooks/either", http.StatusOK},
		{http.MethodPost, "/webhooks/post", http.StatusOK},
		{http.MethodPut, "/webhooks/post", http.StatusMethodNotAllowed},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}")))
		require.Equal(t, tc.want, rec.Code, "%s %s", tc.method, tc.path)
	}
}

// TestPagerDutyRetryable: the HTTP client does not send again, after a 5xx
// or a timeout, an update that escalates or reassigns a PagerDuty incident
// (a repeat could wake people again; the job checks first); acknowledging,
// resolving and reading are sent again.
func TestPagerDutyRetryable(t *testing.T) {
	t.Parallel()
	req := func(method, path, body string) *http.Request {
		r, err := http.NewRequest(method, "https://api.pagerduty.com"+path, strings.NewReader(body))
		require.NoError(t, err)
		return r
	}
	require.False(t, pagerDutyRetryable(req(http.MethodPut, "/incidents", `{"incidents":[{"id":"Q1","type":"incident_reference","escalation_level":2}]}`)))
	require.False(t, pagerDutyRetryable(req(http.MethodPut, "/incidents/Q1", `{"incident":{"type":"incident_reference","escalation_level":2}}`)))
	require.False(t, pagerDutyRetryable(req(http.MethodPut, "/incidents", `{"incidents":[{"id":"Q1","type":"incident_reference","assignments":[{"assignee":{"id":"PU1","type":"user_reference"}}]}]}`)))
	require.True(t, pagerDutyRetryable(req(http.MethodPut, "/incidents", `{"incidents":[{"id":"Q1","type":"incident_reference","status":"acknowledged"}]}`)))
	require.True(t, pagerDutyRetryable(req(http.MethodGet, "/incidents/Q1", "")))
	require.False(t, pagerDutyRetryable(req(http.MethodPost, "/incidents", `{"incident":{"type":"incident"}}`)), "a create is not sent twice")
}

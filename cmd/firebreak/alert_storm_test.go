package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAlertWebhooksHaveTimeForAStorm: a storm's delivery from Alertmanager
// or Grafana (thousands of alerts, stored in a few transactions) is given
// alertWebhookDeadline, well within what the senders wait (Alertmanager
// until the group's next flush, group_interval, 5 minutes by default;
// Grafana 30 seconds); the other webhooks keep webhookDeadline, within
// PagerDuty's 5 seconds.
func TestAlertWebhooksHaveTimeForAStorm(t *testing.T) {
	t.Parallel()
	left := map[string]time.Duration{}
	route := func(path string) webhookRoute {
		return webhookRoute{path: path, handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			deadline, ok := r.Context().Deadline()
			require.True(t, ok, path)
			left[path] = time.Until(deadline)
		})}
	}
	hooks := []webhookRoute{route("/webhooks/alertmanager"), route("/webhooks/grafana"), route("/webhooks/pagerduty"), route("/webhooks/github")}
	h := routes(nil, false, func(next http.Handler) http.Handler { return next }, hooks, nil)
	for _, hook := range hooks {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, hook.path, strings.NewReader("{}")))
	}
	for _, path := range []string{"/webhooks/alertmanager", "/webhooks/grafana"} {
		require.Greater(t, left[path], 20*time.Second, path)
		require.LessOrEqual(t, left[path], 25*time.Second, path)
	}
	for _, path := range []string{"/webhooks/pagerduty", "/webhooks/github"} {
		require.LessOrEqual(t, left[path], 3*time.Second, path)
	}
}

// TestAlertWebhooksAreAnsweredPastTheServersWriteTimeout: the public
// server's write timeout (15 seconds) suits Slack's requests; a storm's
// delivery that takes longer is still answered, so Alertmanager hears 200
// rather than a dropped connection it would retry. Other webhooks keep
// the server's timeout.
func TestAlertWebhooksAreAnsweredPastTheServersWriteTimeout(t *testing.T) {
	t.Parallel()
	slow := func(path string) webhookRoute {
		return webhookRoute{path: path, handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(600 * time.Millisecond)
			w.WriteHeader(http.StatusOK)
		})}
	}
	hooks := []webhookRoute{slow("/webhooks/alertmanager"), slow("/webhooks/github")}
	srv := httptest.NewUnstartedServer(routes(nil, false, func(next http.Handler) http.Handler { return next }, hooks, nil))
	srv.Config.WriteTimeout = 200 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)

	resp, err := srv.Client().Post(srv.URL+"/webhooks/alertmanager", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)

	resp, err = srv.Client().Post(srv.URL+"/webhooks/github", "application/json", strings.NewReader("{}"))
	if err == nil {
		_ = resp.Body.Close()
	}
	require.Error(t, err, "past the write timeout, the connection is closed unanswered")
}

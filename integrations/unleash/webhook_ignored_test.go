package unleash_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/unleash"
	"github.com/firebreakhq/firebreak/integrations/unleash/unleashfake"
	"github.com/firebreakhq/firebreak/integrations/webhook"
	"github.com/firebreakhq/firebreak/integrations/webhook/webhooktest"
)

// TestWebhookEventsNotActedOnAreCountedAndLogged: Unleash events of types
// the bot does not act on (a flag tagged, a project created) are answered
// 200 and dropped, counted by type and each type logged once at info; a
// flag change is acted on and not counted.
func TestWebhookEventsNotActedOnAreCountedAndLogged(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	var out webhooktest.LogBuffer
	var rec recordingSink
	srv := httptest.NewServer(unleash.NewWebhookHandler(secret, rec.sink, slog.New(slog.NewTextHandler(&out, nil)), unleash.WithIgnored(webhook.NewIgnored(reg))))
	t.Cleanup(srv.Close)
	deliver := func(fixture string) {
		t.Helper()
		body, err := os.ReadFile(filepath.Join("testdata", fixture))
		require.NoError(t, err)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", secret)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode, fixture)
	}
	deliver("feature_tagged.json")
	deliver("project_created.json")
	deliver("project_created.json")
	status, err := unleashfake.SendWebhook(t.Context(), srv.Client(), srv.URL, secret, disabledEvent())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, rec.events(), 1, "the flag change is acted on")

	webhooktest.RequireIgnored(t, reg, map[[2]string]int{{"unleash", "feature-tagged"}: 1, {"unleash", "project-created"}: 2})
	logged := out.String()
	require.Equal(t, 2, strings.Count(logged, "webhook event type not handled"), logged)
	require.Contains(t, logged, "provider=unleash event_type=project-created")
}

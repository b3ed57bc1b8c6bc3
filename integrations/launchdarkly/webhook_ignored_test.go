package launchdarkly_test

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

	"github.com/firebreakhq/firebreak/integrations/launchdarkly"
	"github.com/firebreakhq/firebreak/integrations/webhook"
	"github.com/firebreakhq/firebreak/integrations/webhook/webhooktest"
)

// TestWebhookEntriesNotActedOnAreCountedAndLogged: an audit entry of a
// kind the bot does not act on (a segment's targets changed) is answered
// 200 and dropped, counted by kind and logged once at info; a flag entry
// is acted on and not counted.
func TestWebhookEntriesNotActedOnAreCountedAndLogged(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	var out webhooktest.LogBuffer
	var rec recordingSink
	h := launchdarkly.NewWebhookHandler(secret, rec.sink, slog.New(slog.NewTextHandler(&out, nil)), launchdarkly.WithIgnored(webhook.NewIgnored(reg)))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	deliver := func(fixture string) {
		t.Helper()
		body, err := os.ReadFile(filepath.Join("testdata", fixture))
		require.NoError(t, err)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(launchdarkly.SignatureHeader, launchdarkly.Sign(body, secret))
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode, fixture)
	}
	deliver("segment_updated.json")
	deliver("segment_updated.json")
	deliver("flag_turned_on_in_test.json")
	require.Len(t, rec.events(), 1, "the flag entry is acted on")

	webhooktest.RequireIgnored(t, reg, map[[2]string]int{{"launchdarkly", "segment"}: 2})
	logged := out.String()
	require.Equal(t, 1, strings.Count(logged, "webhook event type not handled"), logged)
	require.Contains(t, logged, "level=INFO")
	require.Contains(t, logged, "provider=launchdarkly event_type=segment")
}

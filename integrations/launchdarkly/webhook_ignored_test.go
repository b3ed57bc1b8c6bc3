package launchdarkly_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/launchdarkly"
	"github.com/firebreakhq/firebreak/integrations/webhook"
)

// logBuffer collects the handler's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWebhookEntriesNotActedOnAreCountedAndLogged: an audit entry of a
// kind the bot does not act on (a segment's targets changed) is answered
// 200 and dropped, counted by kind and logged once at info; a flag entry
// is acted on and not counted.
func TestWebhookEntriesNotActedOnAreCountedAndLogged(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	var out logBuffer
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

	want := `
# HELP firebreak_webhook_events_ignored_total Verified webhook deliveries acknowledged and dropped because firebreak does not act on their event type, by provider and type.
# TYPE firebreak_webhook_events_ignored_total counter
firebreak_webhook_events_ignored_total{provider="launchdarkly",type="segment"} 2
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want)))
	logged := out.String()
	require.Equal(t, 1, strings.Count(logged, "webhook event type not handled"), logged)
	require.Contains(t, logged, "level=INFO")
	require.Contains(t, logged, "provider=launchdarkly event_type=segment")
}

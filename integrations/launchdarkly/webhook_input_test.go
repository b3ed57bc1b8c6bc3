package launchdarkly_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/launchdarkly"
	"github.com/firebreakhq/firebreak/integrations/webhook"
	"github.com/firebreakhq/firebreak/integrations/webhook/webhooktest"
)

// flagEntry is the documented flag entry fixture, edited by edit.
func flagEntry(t *testing.T, edit func(map[string]any)) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "flag_turned_on_in_test.json"))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	edit(m)
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}

// postSigned delivers body signed as LaunchDarkly signs it.
func postSigned(t *testing.T, url string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(launchdarkly.SignatureHeader, launchdarkly.Sign(body, secret))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestWebhookFlagEntryMissingFieldsIsRefusedLoggedAndCounted: a flag entry
// without the _id, the date or a flag it is about is not a change the bot
// can record: answered 400 saying what it lacks (LaunchDarkly retries a
// non-2xx once, not for ever), logged at warn and counted.
func TestWebhookFlagEntryMissingFieldsIsRefusedLoggedAndCounted(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	var out webhooktest.LogBuffer
	var rec recordingSink
	srv := httptest.NewServer(launchdarkly.NewWebhookHandler(secret, rec.sink, slog.New(slog.NewTextHandler(&out, nil)), launchdarkly.WithIgnored(webhook.NewIgnored(reg))))
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		edit    func(map[string]any)
		missing string
	}{
		{func(m map[string]any) { delete(m, "_id"); delete(m, "date") }, "_id, date"},
		{func(m map[string]any) { delete(m, "accesses"); delete(m, "target"); delete(m, "_links") }, "the flag"},
	} {
		status, body := postSigned(t, srv.URL, flagEntry(t, tc.edit))
		require.Equal(t, http.StatusBadRequest, status, body)
		require.Contains(t, body, tc.missing)
		require.Contains(t, out.String(), "level=WARN")
		require.Contains(t, out.String(), "lacks "+tc.missing, out.String())
	}
	require.Empty(t, rec.events())
	webhooktest.RequireIgnored(t, reg, map[[2]string]int{{"launchdarkly", "incomplete:flag"}: 2})
}

// TestWebhookNULInAnEntryNeverReachesTheStore: a NUL in who made the
// change or in its words is dropped and the change recorded; one in the
// flag's key or environment, which the change is matched by, is a 400,
// never a store error answered 500.
func TestWebhookNULInAnEntryNeverReachesTheStore(t *testing.T) {
	t.Parallel()
	var rec recordingSink
	srv := httptest.NewServer(launchdarkly.NewWebhookHandler(secret, rec.sink, nil))
	t.Cleanup(srv.Close)

	status, body := postSigned(t, srv.URL, flagEntry(t, func(m map[string]any) {
		m["member"].(map[string]any)["email"] = "ann\x00@acme.example"
		m["titleVerb"] = "turned on\x00 the flag"
		m["comment"] = "rollout\x00"
	}))
	require.Equal(t, http.StatusOK, status, body)
	require.Len(t, rec.events(), 1)
	got := rec.events()[0]
	require.Equal(t, "ann@acme.example", got.Actor)
	require.NotContains(t, got.Summary, "\x00")
	require.Equal(t, "rollout", got.Data["comment"])

	status, body = postSigned(t, srv.URL, flagEntry(t, func(m map[string]any) {
		m["_id"] = "65f1c2d9a7b3e80b2c4d1e78"
		m["accesses"] = []any{map[string]any{"action": "updateOn", "resource": "proj/shop:env/te\x00st:flag/test-flag"}}
		delete(m, "target")
	}))
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Len(t, rec.events(), 1)
}

package unleash_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/storetest"
	"github.com/firebreakhq/firebreak/integrations/unleash"
	"github.com/firebreakhq/firebreak/integrations/webhook"
	"github.com/firebreakhq/firebreak/integrations/webhook/webhooktest"
)

// postRaw delivers body as Unleash's webhook integration does and returns
// the status and the answer.
func postRaw(t *testing.T, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestWebhookFlagChangeMissingFieldsIsRefusedLoggedAndCounted: a flag
// change (a type the bot records) without the id, createdAt or featureName
// every Unleash event carries is not a change the bot can record: it is
// answered 400 saying what is missing (Unleash retries a failed delivery
// once, not for ever), logged at warn with the reason, and counted.
func TestWebhookFlagChangeMissingFieldsIsRefusedLoggedAndCounted(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	var out webhooktest.LogBuffer
	var rec recordingSink
	srv := httptest.NewServer(unleash.NewWebhookHandler(secret, rec.sink, slog.New(slog.NewTextHandler(&out, nil)), unleash.WithIgnored(webhook.NewIgnored(reg))))
	t.Cleanup(srv.Close)

	for _, tc := range []struct{ body, missing string }{
		{`{"type":"feature-environment-disabled","featureName":"new-checkout","project":"default","environment":"production","createdBy":"ann"}`, "id, createdAt"},
		{`{"id":42,"type":"feature-environment-disabled","createdAt":"2026-03-01T12:00:00Z","createdBy":"ann"}`, "featureName"},
	} {
		status, _ := postRaw(t, srv.URL, tc.body)
		require.Equal(t, http.StatusBadRequest, status, tc.body)
		require.Contains(t, out.String(), "level=WARN")
		require.Contains(t, out.String(), "lacks "+tc.missing, out.String())
	}
	require.Empty(t, rec.events())
	webhooktest.RequireIgnored(t, reg, map[[2]string]int{{"unleash", "incomplete:feature-environment-disabled"}: 2})
}

// TestWebhookNULInAChangeNeverReachesTheStore: PostgreSQL cannot store a
// NUL. One in who made the change is dropped from the name and the change
// recorded; one in the flag's name, which the change is matched by, is a
// 400, not a store error answered 500 that Unleash sends again.
func TestWebhookNULInAChangeNeverReachesTheStore(t *testing.T) {
	t.Parallel()
	var rec recordingSink
	srv := httptest.NewServer(unleash.NewWebhookHandler(secret, rec.sink, nil))
	t.Cleanup(srv.Close)

	status, body := postRaw(t, srv.URL, `{"id":42,"type":"feature-environment-disabled","featureName":"new-checkout","environment":"production","createdAt":"2026-03-01T12:00:00Z","createdBy":"a\u0000b"}`)
	require.Equal(t, http.StatusOK, status, body)
	require.Len(t, rec.events(), 1)
	require.Equal(t, "ab", rec.events()[0].Actor)

	for _, field := range []string{"featureName", "environment", "project"} {
		ev := `{"id":43,"type":"feature-environment-disabled","featureName":"new-checkout","environment":"production","project":"default","createdAt":"2026-03-01T12:00:00Z"}`
		ev = strings.Replace(ev, `"`+field+`":"`, `"`+field+`":"x\u0000`, 1)
		status, body := postRaw(t, srv.URL, ev)
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", field, body)
	}
	require.Len(t, rec.events(), 1)
}

// TestWebhookNULCreatedByIsRecordedOnEveryStore: the event with a NUL in
// createdBy is recorded, through the domain, on every store (PostgreSQL
// refuses a NUL in text, which used to be a 500 Unleash delivered again).
func TestWebhookNULCreatedByIsRecordedOnEveryStore(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Every {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			clock := incidenttest.NewClock(t0)
			store := storetest.Open[changes.Store](t, kind, clock, incidenttest.NewQueue())
			svc := changes.New(changes.Config{Store: store, Policy: incident.DefaultPolicy(), Clock: clock})
			srv := httptest.NewServer(unleash.NewWebhookHandler(secret, svc.RecordChange, nil))
			t.Cleanup(srv.Close)
			status, body := postRaw(t, srv.URL, `{"id":42,"type":"feature-environment-disabled","featureName":"new-checkout","environment":"production","createdAt":"2026-03-01T12:00:00Z","createdBy":"a\u0000b"}`)
			require.Equal(t, http.StatusOK, status, body)
			got, err := store.ListChangeEvents(t.Context(), "", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.Equal(t, "ab", got[0].Actor)
		})
	}
}

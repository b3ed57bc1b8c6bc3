package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/integrations/changehook"
)

const changesSecret = "changes-webhook-secret"

// postChange delivers a signed change to the change webhook and returns the
// status.
func postChange(t *testing.T, b *botInstance, id string) int {
	t.Helper()
	return postChangeOf(t, b, id, "checkout")
}

// postChangeOf delivers a signed change of service and returns the status.
func postChangeOf(t *testing.T, b *botInstance, id, service string) int {
	t.Helper()
	body, err := json.Marshal(map[string]any{"id": id, "kind": "deploy", "service": service,
		"summary": "Deploy checkout " + id, "actor": "ci", "environment": "production"})
	require.NoError(t, err)
	ts := time.Now().Unix()
	req, err := http.NewRequest(http.MethodPost, b.base+"/webhooks/changes", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(changehook.TimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(changehook.SignatureHeader, changehook.Sign(changesSecret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestWebhooksRefuseWhatTheyCannotStore: with the database cut, a change
// webhook and an Alertmanager alert (both through the shared webhook
// handler) are answered 5xx, never 200, so the sender delivers them again;
// once the database is back the same deliveries are accepted.
func TestWebhooksRefuseWhatTheyCannotStore(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := newDBProxy(t, u.Host)
	world, cleanup, err := newDemoWorld(t.TempDir(), nopWriter{})
	require.NoError(t, err)
	t.Cleanup(cleanup)
	env := reliabilityEnv(t, world, `
alerts:
  rules:
    - name: checkout-errors
      match: {alertname: HighErrorRate, service: checkout}
      service: checkout
      severity: P1
`)
	env["CHANGES_WEBHOOK_SECRET"] = changesSecret
	env["ALERTMANAGER_WEBHOOK_TOKEN"] = amToken
	b := startBot(t, botOptions{mode: "http", slack: world.slack, databaseURL: proxy.through(dsn), env: env})
	firing, err := os.ReadFile("../../integrations/alerting/testdata/alertmanager_v4.json")
	require.NoError(t, err)

	proxy.set(proxyCut)
	require.GreaterOrEqual(t, postChange(t, b, "deploy-1"), http.StatusInternalServerError, "a change that was not stored is not answered 200")
	require.GreaterOrEqual(t, postAlert(t, b, amToken, firing), http.StatusInternalServerError, "an alert that was not stored is not answered 200")

	proxy.set(proxyPass)
	require.Eventually(t, func() bool { return postChange(t, b, "deploy-1") == http.StatusOK }, 20*time.Second, 200*time.Millisecond, "the redelivered change is accepted once the database is back")
	require.Eventually(t, func() bool { return postAlert(t, b, amToken, firing) == http.StatusOK },
		20*time.Second, 200*time.Millisecond, "the redelivered alert is accepted once the database is back")
	// A service the policy does not know would be stored where no incident
	// shows it: refused, as the service's key is case for case.
	require.Equal(t, http.StatusBadRequest, postChangeOf(t, b, "deploy-2", "Checkout"))
}

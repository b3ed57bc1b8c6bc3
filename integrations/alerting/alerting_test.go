package alerting_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/alerting"
)

type sink struct {
	mu   sync.Mutex
	got  []incident.AlertEvent
	fail error
}

func (s *sink) take(_ context.Context, evs []incident.AlertEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.got = append(s.got, evs...)
	return nil
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

func post(t *testing.T, h http.Handler, body []byte, header map[string]string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/x", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func sign(secret string, data []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(data)
	return hex.EncodeToString(m.Sum(nil))
}

func TestAlertmanagerV4(t *testing.T) {
	t.Parallel()
	s := &sink{}
	h := alerting.NewAlertmanagerHandler(alerting.Auth{Tokens: []string{"old-token", "am-token"}}, s.take, nil)
	body := fixture(t, "alertmanager_v4.json")

	require.Equal(t, http.StatusUnauthorized, post(t, h, body, nil), "no credentials")
	require.Equal(t, http.StatusUnauthorized, post(t, h, body, map[string]string{"Authorization": "Bearer wrong"}))
	require.Equal(t, http.StatusUnauthorized, post(t, h, body, map[string]string{"Authorization": "Basic YWRtaW46YWRtaW4="}))
	require.Empty(t, s.got, "nothing is parsed before the credentials pass")

	require.Equal(t, http.StatusOK, post(t, h, body, map[string]string{"Authorization": "Bearer am-token"}))
	require.Len(t, s.got, 2)
	fire := s.got[0]
	require.Equal(t, "alertmanager", fire.Source)
	require.Equal(t, "5f1b4ac8e2a3d9c1", fire.Fingerprint)
	require.Equal(t, incident.AlertFiring, fire.Status)
	require.Equal(t, "HighErrorRate: checkout 5xx rate above 5%", fire.Title)
	require.Equal(t, "7.2% of requests to checkout fail with 5xx.\nRunbook: https://runbooks.example.com/checkout/5xx", fire.Summary)
	require.Contains(t, fire.URL, "http://prometheus.example.com:9090/graph")
	require.Equal(t, "checkout", fire.Labels["service"])
	require.Equal(t, time.Date(2026, 8, 7, 14, 20, 31, 123000000, time.UTC), fire.StartsAt.UTC())
	require.True(t, fire.EndsAt.IsZero(), "a firing alert's zero endsAt stays zero")
	require.Equal(t, incident.AlertResolved, s.got[1].Status)
	require.Equal(t, time.Date(2026, 8, 7, 14, 19, 0, 0, time.UTC), s.got[1].EndsAt.UTC())

	v3 := bytes.Replace(body, []byte(`"version": "4"`), []byte(`"version": "3"`), 1)
	require.Equal(t, http.StatusBadRequest, post(t, h, v3, map[string]string{"Authorization": "Bearer am-token"}))
	require.Equal(t, http.StatusOK, post(t, h, []byte(`{"version":"4","alerts":[{"status":"firing"}]}`), map[string]string{"Authorization": "Bearer am-token"}),
		"an alert without a fingerprint is left out, and no retry would change that")
	require.Len(t, s.got, 2)
	require.Equal(t, http.StatusBadRequest, post(t, h, []byte(`{`), map[string]string{"Authorization": "Bearer am-token"}))

	s.fail = errors.New("database down")
	require.Equal(t, http.StatusInternalServerError, post(t, h, body, map[string]string{"Authorization": "Bearer am-token"}),
		"a failure asks Alertmanager to retry")

	none := alerting.NewAlertmanagerHandler(alerting.Auth{}, s.take, nil)
	require.Equal(t, http.StatusUnauthorized, post(t, none, body, map[string]string{"Authorization": "Bearer "}),
		"no credential configured accepts nothing")
}

func postAnswer(t *testing.T, h http.Handler, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/x", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// signedAt signs body as Grafana does with a timestamp header set.
func signedAt(secret string, at time.Time, body []byte) map[string]string {
	ts := strconv.FormatInt(at.Unix(), 10)
	return map[string]string{alerting.GrafanaSignatureHeader: sign(secret, append([]byte(ts+":"), body...)), alerting.GrafanaTimestampHeader: ts}
}

func TestGrafanaHMACAndBearer(t *testing.T) {
	t.Parallel()
	s := &sink{}
	now := time.Date(2026, 8, 7, 14, 21, 0, 0, time.UTC)
	h := alerting.NewGrafanaHandler(alerting.Auth{Tokens: []string{"gf-token"}, HMACSecrets: []string{"gf-secret"}, Now: func() time.Time { return now }}, s.take, nil)
	body := fixture(t, "grafana.json")

	require.Equal(t, http.StatusOK, post(t, h, body, signedAt("gf-secret", now.Add(-time.Minute), body)), "timestamp:body signed")
	require.Len(t, s.got, 1)
	ev := s.got[0]
	require.Equal(t, "grafana", ev.Source)
	require.Equal(t, "bc97ff14869b13e3", ev.Fingerprint)
	require.Equal(t, "Checkout errors: Checkout is failing requests", ev.Title)
	require.Equal(t, "payments", ev.Labels["team"])
	require.Equal(t, "https://grafana.example.com/alerting/grafana/d1rdpdv7k/view?orgId=1", ev.URL)

	require.Equal(t, http.StatusUnauthorized, post(t, h, body, signedAt("gf-secret", now.Add(-time.Hour), body)), "a delivery an hour old")
	require.Equal(t, http.StatusUnauthorized, post(t, h, body, signedAt("other", now, body)))
	tampered := bytes.Replace(body, []byte("0.072"), []byte("0.001"), 1)
	h2 := signedAt("gf-secret", now, body)
	require.Equal(t, http.StatusUnauthorized, post(t, h, tampered, h2))
	require.Equal(t, http.StatusOK, post(t, h, body, map[string]string{"Authorization": "Bearer gf-token"}), "or the Authorization header")
	require.Len(t, s.got, 2)
}

// TestGrafanaSignatureReplay: a signed delivery cannot be sent again. The
// signature needs a timestamp at most 5 minutes off, and each signature is
// taken once.
func TestGrafanaSignatureReplay(t *testing.T) {
	t.Parallel()
	s := &sink{}
	now := time.Date(2026, 8, 7, 14, 21, 0, 0, time.UTC)
	h := alerting.NewGrafanaHandler(alerting.Auth{HMACSecrets: []string{"gf-secret"}, Now: func() time.Time { return now }}, s.take, nil)
	body := fixture(t, "grafana.json")

	status, answer := postAnswer(t, h, body, map[string]string{alerting.GrafanaSignatureHeader: sign("gf-secret", body)})
	require.Equal(t, http.StatusUnauthorized, status, "the body alone signed, without a timestamp, could be replayed forever")
	require.Contains(t, answer, "set the contact point's HMAC Timestamp Header to "+alerting.GrafanaTimestampHeader)

	status, answer = postAnswer(t, h, body, signedAt("gf-secret", now.Add(-5*time.Minute-time.Second), body))
	require.Equal(t, http.StatusUnauthorized, status)
	require.Contains(t, answer, "stale timestamp")
	status, _ = postAnswer(t, h, body, signedAt("gf-secret", now.Add(6*time.Minute), body))
	require.Equal(t, http.StatusUnauthorized, status, "nor from the future")
	require.Empty(t, s.got)

	fresh := signedAt("gf-secret", now.Add(-4*time.Minute), body)
	require.Equal(t, http.StatusOK, post(t, h, body, fresh))
	status, answer = postAnswer(t, h, body, fresh)
	require.Equal(t, http.StatusUnauthorized, status, "the same signed delivery again is a replay")
	require.Contains(t, answer, "replayed delivery")
	require.Len(t, s.got, 1)
	require.Equal(t, http.StatusOK, post(t, h, body, signedAt("gf-secret", now, body)), "Grafana's next delivery is signed anew")
	require.Len(t, s.got, 2)

	// Grafana retries a failed delivery within the second, with the same
	// timestamp and signature: that retry is taken, once.
	retried := signedAt("gf-secret", now.Add(time.Second), body)
	s.fail = errors.New("database down")
	require.Equal(t, http.StatusInternalServerError, post(t, h, body, retried))
	s.fail = nil
	require.Equal(t, http.StatusOK, post(t, h, body, retried), "the retry of a failed delivery")
	require.Len(t, s.got, 3)
	require.Equal(t, http.StatusUnauthorized, post(t, h, body, retried), "and no more")
	require.Len(t, s.got, 3)
}

// TestGrafanaCustomHeadersAndSharedDeliveries: the header names are those
// set on the contact point, and with a delivery store a replay is refused
// by every replica sharing it.
func TestGrafanaCustomHeadersAndSharedDeliveries(t *testing.T) {
	t.Parallel()
	s := &sink{}
	now := time.Date(2026, 8, 7, 14, 21, 0, 0, time.UTC)
	store := &deliveries{ids: map[string]bool{}}
	auth := alerting.Auth{HMACSecrets: []string{"gf-secret"}, SignatureHeader: "X-Sig", TimestampHeader: "X-Ts",
		Deliveries: store, Now: func() time.Time { return now }}
	one, two := alerting.NewGrafanaHandler(auth, s.take, nil), alerting.NewGrafanaHandler(auth, s.take, nil)
	body := fixture(t, "grafana.json")
	ts := strconv.FormatInt(now.Unix(), 10)
	hdr := map[string]string{"X-Sig": sign("gf-secret", append([]byte(ts+":"), body...)), "X-Ts": ts}
	require.Equal(t, http.StatusOK, post(t, one, body, hdr))
	require.Equal(t, http.StatusUnauthorized, post(t, two, body, hdr), "another replica refuses the replay")
	require.Len(t, s.got, 1)
	require.Len(t, store.ids, 1)
}

type deliveries struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (d *deliveries) RecordDelivery(_ context.Context, del incident.Delivery) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := del.Source + "/" + del.ID
	if d.ids[key] {
		return false, nil
	}
	d.ids[key] = true
	return true, nil
}

func (d *deliveries) ForgetDelivery(_ context.Context, source, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.ids, source+"/"+id)
	return nil
}

func TestParseLeavesOutUnknownStatus(t *testing.T) {
	t.Parallel()
	evs, err := alerting.Parse("grafana", []byte(`{"alerts":[{"status":"pending","fingerprint":"x"},{"status":"firing","fingerprint":"y","labels":{}}]}`))
	require.NoError(t, err)
	require.Len(t, evs, 1, "the pending alert is left out, its group-mate read")
	require.Equal(t, "y", evs[0].Fingerprint)
	require.Equal(t, "", evs[0].Title, "the domain names an alert without a name by its fingerprint")
	_, err = alerting.Parse("grafana", []byte(`{"alerts":{}}`))
	require.Error(t, err, "a delivery that cannot be read")
}

// TestGrafanaSignatureUnderItsUnsetHeaderName: a contact point whose HMAC
// Header is left empty signs in the header Grafana's code defaults to,
// X-Grafana-Alert-Signature (grafana/alerting http/hmac.go), while its
// documentation and form placeholder name X-Grafana-Alerting-Signature. The
// bot, left at its default header, takes both; set to another header it
// takes only that one.
func TestGrafanaSignatureUnderItsUnsetHeaderName(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 8, 7, 14, 21, 0, 0, time.UTC)
	body := fixture(t, "grafana.json")
	ts := strconv.FormatInt(now.Unix(), 10)
	unset := map[string]string{"X-Grafana-Alert-Signature": sign("gf-secret", append([]byte(ts+":"), body...)), alerting.GrafanaTimestampHeader: ts}
	for _, header := range []string{"", alerting.GrafanaSignatureHeader} {
		s := &sink{}
		h := alerting.NewGrafanaHandler(alerting.Auth{HMACSecrets: []string{"gf-secret"}, SignatureHeader: header, Now: func() time.Time { return now }}, s.take, nil)
		status, answer := postAnswer(t, h, body, unset)
		require.Equal(t, http.StatusOK, status, "header %q: %s", header, answer)
		require.Len(t, s.got, 1)
		require.Equal(t, http.StatusUnauthorized, post(t, h, body, unset), "taken once, whichever header carries it")
	}
	s := &sink{}
	custom := alerting.NewGrafanaHandler(alerting.Auth{HMACSecrets: []string{"gf-secret"}, SignatureHeader: "X-Sig", Now: func() time.Time { return now }}, s.take, nil)
	require.Equal(t, http.StatusUnauthorized, post(t, custom, body, unset))
	require.Empty(t, s.got)
}

// TestGrafanaDeliversWithPUT: a Grafana contact point set to PUT is taken
// like one set to POST; Alertmanager, which only POSTs, still refuses PUT.
func TestGrafanaDeliversWithPUT(t *testing.T) {
	t.Parallel()
	s := &sink{}
	now := time.Date(2026, 8, 7, 14, 21, 0, 0, time.UTC)
	h := alerting.NewGrafanaHandler(alerting.Auth{HMACSecrets: []string{"gf-secret"}, Now: func() time.Time { return now }}, s.take, nil)
	body := fixture(t, "grafana.json")
	send := func(h http.Handler, method string, header map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/webhooks/x", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	require.Equal(t, http.StatusOK, send(h, http.MethodPut, signedAt("gf-secret", now, body)).Code)
	require.Len(t, s.got, 1)
	rec := send(h, http.MethodGet, nil)
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	require.Equal(t, "POST, PUT", rec.Header().Get("Allow"))

	am := alerting.NewAlertmanagerHandler(alerting.Auth{Tokens: []string{"am-token"}}, s.take, nil)
	rec = send(am, http.MethodPut, map[string]string{"Authorization": "Bearer am-token"})
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	require.Equal(t, "POST", rec.Header().Get("Allow"))
	require.Len(t, s.got, 1)
}

// TestBearerSchemeIsCaseInsensitive: Alertmanager sends its
// authorization.type as configured ("bearer" as well as "Bearer"); the
// scheme's name is case-insensitive, the token is not.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	s := &sink{}
	h := alerting.NewAlertmanagerHandler(alerting.Auth{Tokens: []string{"am-token"}}, s.take, nil)
	body := fixture(t, "alertmanager_v4.json")
	require.Equal(t, http.StatusOK, post(t, h, body, map[string]string{"Authorization": "bearer am-token"}))
	require.Equal(t, http.StatusUnauthorized, post(t, h, body, map[string]string{"Authorization": "bearer AM-TOKEN"}))
	require.Equal(t, http.StatusUnauthorized, post(t, h, body, map[string]string{"Authorization": "Beareram-token"}))
}

// TestTruncatedDeliveryIsLogged: when Alertmanager's max_alerts leaves
// alerts out of a delivery (truncatedAlerts), the alerts it carries are
// taken and the operator is told how many were left out.
func TestTruncatedDeliveryIsLogged(t *testing.T) {
	t.Parallel()
	s := &sink{}
	var logs strings.Builder
	h := alerting.NewAlertmanagerHandler(alerting.Auth{Tokens: []string{"am-token"}}, s.take, slog.New(slog.NewTextHandler(&logs, nil)))
	body := bytes.Replace(fixture(t, "alertmanager_v4.json"), []byte(`"truncatedAlerts": 0`), []byte(`"truncatedAlerts": 7`), 1)
	require.Equal(t, http.StatusOK, post(t, h, body, map[string]string{"Authorization": "Bearer am-token"}))
	require.Len(t, s.got, 2)
	require.Contains(t, logs.String(), "truncated_alerts=7")
	require.Contains(t, logs.String(), "max_alerts")
}

package changehook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/changehook"
)

const secret = "whsec-changes"

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type recordingSink struct {
	mu  sync.Mutex
	got []incident.ChangeEvent
	err error
}

func (s *recordingSink) sink(_ context.Context, c incident.ChangeEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, c)
	return s.err
}

func (s *recordingSink) events() []incident.ChangeEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]incident.ChangeEvent(nil), s.got...)
}

// deliver signs body at ts like a sender would and serves it.
func deliver(t *testing.T, h http.Handler, body string, ts time.Time, key string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/changes", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(changehook.TimestampHeader, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(changehook.SignatureHeader, changehook.Sign(key, ts.Unix(), []byte(body)))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func newHandler(rec *recordingSink, opts ...changehook.Option) http.Handler {
	opts = append([]changehook.Option{changehook.WithClock(incident.ClockFunc(func() time.Time { return now }))}, opts...)
	return changehook.NewHandler(secret, rec.sink, nil, opts...)
}

func TestValidDelivery(t *testing.T) {
	t.Parallel()
	var rec recordingSink
	h := newHandler(&rec)
	body := `{
		"id": "run-4821",
		"source": "terraform",
		"kind": "infrastructure",
		"service": "checkout",
		"summary": "Applied 3 changes to the checkout load balancer",
		"actor": "ci@acme.example",
		"url": "https://ci.acme.example/runs/4821",
		"environment": "production",
		"ref": "a1b2c3d",
		"occurred_at": "2026-03-01T11:58:00Z",
		"data": {"workspace": "checkout-prod"}
	}`
	w := deliver(t, h, body, now, secret)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.JSONEq(t, `{"id":"run-4821","duplicate":false}`, w.Body.String())
	require.Equal(t, []incident.ChangeEvent{{
		Source:      "webhook",
		ExternalID:  "terraform:run-4821",
		Kind:        incident.ChangeOther,
		Service:     "checkout",
		Summary:     "Applied 3 changes to the checkout load balancer",
		Actor:       "ci@acme.example",
		URL:         "https://ci.acme.example/runs/4821",
		Environment: "production",
		Ref:         "a1b2c3d",
		OccurredAt:  time.Date(2026, 3, 1, 11, 58, 0, 0, time.UTC),
		Data:        map[string]string{"workspace": "checkout-prod", "source": "terraform", "kind": "infrastructure"},
	}}, rec.events())
}

func TestKindsAndDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind     string
		want     incident.ChangeKind
		wantData string
	}{
		{"", incident.ChangeOther, ""},
		{"deploy", incident.ChangeDeploy, ""},
		{"flag", incident.ChangeFlag, ""},
		{"config", incident.ChangeConfig, ""},
		{"migration", incident.ChangeConfig, "migration"},
		{"infrastructure", incident.ChangeOther, "infrastructure"},
		{"other", incident.ChangeOther, ""},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			var rec recordingSink
			body := fmt.Sprintf(`{"id":"x1","summary":"s","kind":%q}`, tt.kind)
			w := deliver(t, newHandler(&rec), body, now, secret)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			got := rec.events()[0]
			require.Equal(t, tt.want, got.Kind)
			require.Equal(t, tt.wantData, got.Data["kind"])
			require.Equal(t, "x1", got.ExternalID, "no source: the id alone")
			require.Equal(t, now, got.OccurredAt, "occurred_at defaults to now")
		})
	}
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, field, msg string
	}{
		{"missing id", `{"summary":"s"}`, "id", "id is required"},
		{"blank id", `{"id":"  ","summary":"s"}`, "id", "id is required"},
		{"missing summary", `{"id":"a"}`, "summary", "summary is required"},
		{"long summary", `{"id":"a","summary":"` + strings.Repeat("x", 301) + `"}`, "summary", "at most 300"},
		{"bad kind", `{"id":"a","summary":"s","kind":"rollout"}`, "kind", `kind "rollout" is not one of`},
		{"bad source", `{"id":"a","summary":"s","source":"Terraform Cloud"}`, "source", "source must be"},
		{"bad time", `{"id":"a","summary":"s","occurred_at":"yesterday"}`, "occurred_at", "RFC 3339"},
		{"future time", `{"id":"a","summary":"s","occurred_at":"2026-03-01T12:30:00Z"}`, "occurred_at", "in the future"},
		{"bad url", `{"id":"a","summary":"s","url":"javascript:alert(1)"}`, "url", "http or https"},
		{"data not strings", `{"id":"a","summary":"s","data":{"n":5}}`, "data", "data values must be strings"},
		{"data not an object", `{"id":"a","summary":"s","data":"x"}`, "data", "data must be a JSON object"},
		{"id not a string", `{"id":7,"summary":"s"}`, "id", "id must be a string"},
		{"unknown field", `{"id":"a","summary":"s","occured_at":"2026-03-01T12:00:00Z"}`, "occured_at", `unknown field "occured_at"`},
		{"not json", `id=a`, "", "not valid JSON"},
		{"array", `[{"id":"a","summary":"s"}]`, "", "JSON object"},
		{"two objects", `{"id":"a","summary":"s"} {"id":"b","summary":"s"}`, "", "single JSON object"},
		{"control characters", `{"id":"a\u0000b","summary":"s"}`, "id", "control characters"},
		// PostgreSQL stores no NUL character, in text or in jsonb: the
		// change would fail to store on every retry.
		{"NUL in the summary", `{"id":"a","summary":"s\u0000"}`, "summary", "NUL"},
		{"NUL in a data value", `{"id":"a","summary":"s","data":{"k":"v\u0000"}}`, "data.k", "NUL"},
		{"NUL in a data key", `{"id":"a","summary":"s","data":{"k\u0000":"v"}}`, "data", "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rec recordingSink
			w := deliver(t, newHandler(&rec), tt.body, now, secret)
			require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
			var got struct{ Error, Field string }
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
			require.Equal(t, tt.field, got.Field)
			require.Contains(t, got.Error, tt.msg)
			require.Empty(t, rec.events(), "sink not called")
		})
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	body := `{"id":"a","summary":"s"}`
	tests := []struct {
		name    string
		secret  string // handler's
		mutate  func(r *http.Request)
		ts      time.Time
		wantMsg string
	}{
		{name: "wrong key", secret: secret, ts: now, mutate: func(r *http.Request) {
			r.Header.Set(changehook.SignatureHeader, changehook.Sign("guess", now.Unix(), []byte(body)))
		}, wantMsg: "invalid signature"},
		{name: "missing signature", secret: secret, ts: now, mutate: func(r *http.Request) {
			r.Header.Del(changehook.SignatureHeader)
		}, wantMsg: "missing"},
		{name: "missing timestamp", secret: secret, ts: now, mutate: func(r *http.Request) {
			r.Header.Del(changehook.TimestampHeader)
		}, wantMsg: "missing"},
		{name: "timestamp not signed", secret: secret, ts: now, mutate: func(r *http.Request) {
			r.Header.Set(changehook.TimestampHeader, strconv.FormatInt(now.Unix()+1, 10))
		}, wantMsg: "invalid signature"},
		{name: "stale replay", secret: secret, ts: now.Add(-6 * time.Minute), wantMsg: "5 minutes"},
		{name: "from the future", secret: secret, ts: now.Add(6 * time.Minute), wantMsg: "5 minutes"},
		{name: "bad timestamp", secret: secret, ts: now, mutate: func(r *http.Request) {
			r.Header.Set(changehook.TimestampHeader, "yesterday")
		}, wantMsg: "Unix seconds"},
		{name: "signature without prefix", secret: secret, ts: now, mutate: func(r *http.Request) {
			r.Header.Set(changehook.SignatureHeader, strings.TrimPrefix(r.Header.Get(changehook.SignatureHeader), "sha256="))
		}, wantMsg: "invalid signature"},
		{name: "empty secret rejects", secret: "", ts: now, wantMsg: "no secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rec recordingSink
			h := changehook.NewHandler(tt.secret, rec.sink, nil, changehook.WithClock(incident.ClockFunc(func() time.Time { return now })))
			req := httptest.NewRequest(http.MethodPost, "/webhooks/changes", strings.NewReader(body))
			req.Header.Set(changehook.TimestampHeader, strconv.FormatInt(tt.ts.Unix(), 10))
			req.Header.Set(changehook.SignatureHeader, changehook.Sign(tt.secret, tt.ts.Unix(), []byte(body)))
			if tt.mutate != nil {
				tt.mutate(req)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			require.Equal(t, http.StatusUnauthorized, w.Code)
			require.Contains(t, w.Body.String(), tt.wantMsg)
			require.Empty(t, rec.events(), "sink not called")
		})
	}
}

func TestWindowEdgesAccepted(t *testing.T) {
	t.Parallel()
	for _, ts := range []time.Time{now.Add(-5 * time.Minute), now.Add(5 * time.Minute)} {
		var rec recordingSink
		w := deliver(t, newHandler(&rec), `{"id":"a","summary":"s"}`, ts, secret)
		require.Equal(t, http.StatusOK, w.Code, ts)
	}
}

func TestSinkOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantBody   string
	}{
		{"duplicate", incident.Errorf(incident.ECONFLICT, "exists"), 200, `{"id":"a","duplicate":true}`},
		{"domain refuses", incident.Errorf(incident.EINVALID, "No service named nope."), 400, `{"error":"No service named nope."}`},
		{"store down", errors.New("connection refused"), 500, `{"error":"could not record the change; retry later"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := recordingSink{err: tt.err}
			w := deliver(t, newHandler(&rec), `{"id":"a","summary":"s"}`, now, secret)
			require.Equal(t, tt.wantStatus, w.Code)
			require.JSONEq(t, tt.wantBody, w.Body.String())
		})
	}
}

func TestBodyLimitAndMethod(t *testing.T) {
	t.Parallel()
	var rec recordingSink
	h := newHandler(&rec, changehook.WithMaxBodyBytes(100))
	big := `{"id":"a","summary":"` + strings.Repeat("x", 200) + `"}`
	w := deliver(t, h, big, now, secret)
	require.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
	require.Contains(t, w.Body.String(), "larger than 100 bytes")

	req := httptest.NewRequest(http.MethodGet, "/webhooks/changes", bytes.NewReader(nil))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	require.Equal(t, http.StatusMethodNotAllowed, w.Code)
	require.Empty(t, rec.events())
}

// TestSignMatchesOpenSSL pins Sign to the value the documented openssl
// command gives:
//
//	printf '%s.%s' 1772366400 '{"id":"a","summary":"s"}' | openssl dgst -sha256 -hmac whsec-changes -hex
func TestSignMatchesOpenSSL(t *testing.T) {
	t.Parallel()
	require.Equal(t,
		"sha256=3b0d2e82b4970a93fa85965e0983af37b32f37f1c2f0cb681df0e2979146a84b",
		changehook.Sign(secret, 1772366400, []byte(`{"id":"a","summary":"s"}`)))
}

package webhook_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/webhook"
)

func TestHandler(t *testing.T) {
	verify := func(h http.Header, body []byte) error {
		switch h.Get("X-Sig") {
		case "ok":
			return nil
		case "stale":
			return webhook.Errorf(http.StatusUnauthorized, "timestamp too old")
		}
		return errors.New("hmac mismatch")
	}
	handle := func(r *http.Request, body []byte) (any, error) {
		switch string(body) {
		case "new":
			return map[string]bool{"duplicate": false}, nil
		case "empty":
			return nil, nil
		case "bad":
			return nil, &webhook.Error{Status: http.StatusBadRequest, Message: "title is required", Field: "title"}
		case "again":
			dup, err := webhook.Dedupe(incident.Errorf(incident.ECONFLICT, "seen"))
			return map[string]bool{"duplicate": dup}, err
		}
		_, err := webhook.Dedupe(errors.New("database is down"))
		return nil, err
	}
	h := &webhook.Handler{Provider: "test", MaxBody: 16, Verify: verify, Handle: handle}
	tests := []struct {
		name, method, sig, body string
		status                  int
		want                    string
	}{
		{"recorded", http.MethodPost, "ok", "new", 200, `{"duplicate":false}`},
		{"redelivery", http.MethodPost, "ok", "again", 200, `{"duplicate":true}`},
		{"nothing to say", http.MethodPost, "ok", "empty", 200, ``},
		{"invalid", http.MethodPost, "ok", "bad", 400, `{"error":"title is required","field":"title"}`},
		{"store down", http.MethodPost, "ok", "down", 500, `{"error":"could not handle the delivery"}`},
		{"wrong signature", http.MethodPost, "nope", "new", 401, `{"error":"invalid signature"}`},
		{"stale signature", http.MethodPost, "stale", "new", 401, `{"error":"timestamp too old"}`},
		{"too big", http.MethodPost, "ok", strings.Repeat("x", 17), 413, `{"error":"body is larger than 16 bytes"}`},
		{"not a post", http.MethodGet, "ok", "", 405, `{"error":"use POST"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/webhooks/test", strings.NewReader(tt.body))
			req.Header.Set("X-Sig", tt.sig)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			require.Equal(t, tt.status, w.Code, w.Body.String())
			if tt.want == "" {
				require.Empty(t, w.Body.String())
				return
			}
			require.Equal(t, "application/json", w.Header().Get("Content-Type"))
			require.JSONEq(t, tt.want, w.Body.String())
		})
	}
}

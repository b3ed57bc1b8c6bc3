package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestPublicRequestsAreForeground: everything the public listener serves is
// work someone waits for, which the store admits before background jobs.
func TestPublicRequestsAreForeground(t *testing.T) {
	t.Parallel()
	var seen []bool
	hook := webhookRoute{path: "/webhooks/test", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, incident.IsForeground(r.Context()))
		w.WriteHeader(http.StatusAccepted)
	})}
	h := routes(nil, false, func(next http.Handler) http.Handler { return next }, []webhookRoute{hook}, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhooks/test", strings.NewReader("{}")))
	require.Equal(t, http.StatusAccepted, rec.Code)
	require.Equal(t, []bool{true}, seen)
}

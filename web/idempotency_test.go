package web_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestAPIDeclareKeyReusedForAnotherIncidentIsRefused: a declare retried
// with the same idempotency key gets the first incident, but the key sent
// again with another incident's fields is the caller's mistake (two alerts
// under one key), answered 409 rather than the first incident passed off
// as the one asked for; nothing is declared either way.
func TestAPIDeclareKeyReusedForAnotherIncidentIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	admin := f.browser()
	admin.signIn(f.alice)
	write := createToken(t, admin, "alertmanager", "write", "")

	first := `{"title":"search is slow","severity":"P2","service":"checkout","description":"p99 at 4s","idempotency_key":"alert-123"}`
	status, body := apiCall(t, f, write, http.MethodPost, "/api/v1/incidents", first)
	require.Equal(t, http.StatusCreated, status, body)
	var inc struct {
		Number int64 `json:"number"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &inc))

	// The same declare again, spaced differently as the domain normalises
	// it, is a retry.
	status, body = apiCall(t, f, write, http.MethodPost, "/api/v1/incidents",
		`{"title":"search  is slow ","severity":"p2","service":"checkout","description":" p99 at 4s","idempotency_key":"alert-123"}`)
	require.Equal(t, http.StatusOK, status, body)

	// Its severity changed since: a late retry of the same declare is
	// still the same declare.
	status, body = apiCall(t, f, write, http.MethodPatch, "/api/v1/incidents/"+itoa(inc.Number), `{"severity":"P1"}`)
	require.Equal(t, http.StatusOK, status, body)
	status, body = apiCall(t, f, write, http.MethodPost, "/api/v1/incidents", first)
	require.Equal(t, http.StatusOK, status, body)

	before, err := f.store.ListIncidents(t.Context(), incident.IncidentFilter{})
	require.NoError(t, err)
	for _, other := range []string{
		`{"title":"checkout is down","severity":"P2","service":"checkout","description":"p99 at 4s","idempotency_key":"alert-123"}`,
		`{"title":"search is slow","severity":"P3","service":"checkout","description":"p99 at 4s","idempotency_key":"alert-123"}`,
		`{"title":"search is slow","severity":"P2","service":"payroll","description":"p99 at 4s","idempotency_key":"alert-123"}`,
		`{"title":"search is slow","severity":"P2","service":"checkout","description":"p99 at 9s","idempotency_key":"alert-123"}`,
		`{"title":"search is slow","severity":"P2","service":"checkout","description":"p99 at 4s","private":true,"idempotency_key":"alert-123"}`,
		`{"title":"search is slow","severity":"P2","service":"checkout","description":"p99 at 4s","drill":true,"idempotency_key":"alert-123"}`,
	} {
		status, body = apiCall(t, f, write, http.MethodPost, "/api/v1/incidents", other)
		require.Equal(t, http.StatusConflict, status, "%s: %s", other, body)
		require.Contains(t, body, "idempotency_key was used for a different incident", other)
		require.NotContains(t, body, "search is slow", "the answer does not pass the first incident off as this one")
	}
	after, err := f.store.ListIncidents(t.Context(), incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, after, len(before), "nothing declared")
}

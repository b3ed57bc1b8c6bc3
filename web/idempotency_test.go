package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

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

// TestAPIPostUpdateKeyReusedWithAnotherStatusOrPromiseIsRefused: an update
// sent again under its idempotency key with the same words but another
// status, or another promise of the next update, is not the update that
// key posted: it is answered 409, not 200 with the first update as if the
// incident had been moved or the promise made, and nothing changes.
func TestAPIPostUpdateKeyReusedWithAnotherStatusOrPromiseIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	admin := f.browser()
	admin.signIn(f.alice)
	write := createToken(t, admin, "statuspage-sync", "write", f.alice.ID)
	inc := f.openIncident(t, "search is slow")
	path := "/api/v1/incidents/" + itoa(inc.Number) + "/updates"

	status, body := apiCall(t, f, write, http.MethodPost, path, `{"known":"p99 falling","next_update_minutes":30,"idempotency_key":"upd-1"}`)
	require.Equal(t, http.StatusCreated, status, body)
	f.clock.Advance(time.Minute)
	status, body = apiCall(t, f, write, http.MethodPost, path, `{"known":"p99 falling","next_update_minutes":30,"idempotency_key":"upd-1"}`)
	require.Equal(t, http.StatusOK, status, "a retry: %s", body)

	for _, other := range []string{
		`{"known":"p99 falling","status":"mitigated","next_update_minutes":30,"idempotency_key":"upd-1"}`,
		`{"known":"p99 falling","next_update_minutes":60,"idempotency_key":"upd-1"}`,
		`{"known":"p99 falling","idempotency_key":"upd-1"}`,
	} {
		status, body = apiCall(t, f, write, http.MethodPost, path, other)
		require.Equal(t, http.StatusConflict, status, "%s: %s", other, body)
		require.Contains(t, refusalOf(t, body).Error.Message, "That idempotency_key was used for a different update", other)
	}
	stored, err := f.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.StatusInvestigating, stored.Status, "not mitigated")
	updates, err := f.store.ListStatusUpdates(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, updates, 1, "one update stored")
	require.Equal(t, 30*time.Minute, updates[0].NextUpdateIn)

	// An update that moved the incident, sent again once it has moved
	// on, is still a retry.
	status, body = apiCall(t, f, write, http.MethodPost, path, `{"doing":"failing over","status":"mitigated","idempotency_key":"upd-2"}`)
	require.Equal(t, http.StatusCreated, status, body)
	status, body = apiCall(t, f, write, http.MethodPost, path, `{"doing":"watching","status":"investigating"}`)
	require.Equal(t, http.StatusCreated, status, body)
	status, body = apiCall(t, f, write, http.MethodPost, path, `{"doing":"failing over","status":"mitigated","idempotency_key":"upd-2"}`)
	require.Equal(t, http.StatusOK, status, "a retry: %s", body)
}

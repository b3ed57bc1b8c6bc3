package web_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAPIResolveRetriedWithItsSummaryIsAnsweredAsDone: a resolve with a
// summary whose answer was lost, sent again, is answered 200 with the
// incident as it stands (nothing changes again), not 400 "malformed"; the
// same resolve with another summary, after the incident was resolved
// (by that request or in Slack), is a 409.
func TestAPIResolveRetriedWithItsSummaryIsAnsweredAsDone(t *testing.T) {
	t.Parallel()
	f := setup(t)
	admin := f.browser()
	admin.signIn(f.alice)
	write := createToken(t, admin, "ci", "write", "")
	inc := f.openIncident(t, "search is slow")
	path := "/api/v1/incidents/" + itoa(inc.Number)
	resolve := `{"status":"resolved","summary":"rolled back"}`

	status, got := apiCall(t, f, write, http.MethodPatch, path, resolve)
	require.Equal(t, http.StatusOK, status, got)
	events, err := f.store.ListTimeline(t.Context(), inc.ID)
	require.NoError(t, err)

	status, got = apiCall(t, f, write, http.MethodPatch, path, `{"status":"resolved","summary":"  rolled back "}`)
	require.Equal(t, http.StatusOK, status, got)
	require.Contains(t, got, `"status":"resolved"`)
	again, err := f.store.ListTimeline(t.Context(), inc.ID)
	require.NoError(t, err)
	require.Len(t, again, len(events), "nothing recorded again")

	status, got = apiCall(t, f, write, http.MethodPatch, path, `{"status":"resolved","summary":"pool resized"}`)
	require.Equal(t, http.StatusConflict, status, got)
	require.Contains(t, got, "already resolved")
	require.Contains(t, got, "another summary")
	stored, err := f.store.GetIncident(t.Context(), inc.ID)
	require.NoError(t, err)
	require.Equal(t, "rolled back", stored.Summary)

	// A summary with no resolve at all is still the caller's mistake.
	status, got = apiCall(t, f, write, http.MethodPatch, path, `{"summary":"pool resized"}`)
	require.Equal(t, http.StatusBadRequest, status, got)
}

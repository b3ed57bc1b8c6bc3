package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// encoding/json fills a field from a key equal to its name in any case, so
// a field sent again in another case is the field sent twice: refused
// whole, on every body the API decodes, rather than the last one winning.
func TestAPIRefusesAFieldSentTwiceInAnotherCase(t *testing.T) {
	f := setup(t)
	admin := f.browser()
	admin.signIn(f.alice)
	write := createToken(t, admin, "alertmanager", "write", "")
	inc := f.openIncident(t, "search latency")
	before := inc.Severity

	for _, tc := range []struct{ method, path, body, field string }{
		{http.MethodPatch, "/api/v1/incidents/" + itoa(inc.Number), `{"severity":"P1","Severity":"P4"}`, "Severity"},
		{http.MethodPatch, "/api/v1/incidents/" + itoa(inc.Number), `{"STATUS":"mitigated","status":"investigating"}`, "status"},
		{http.MethodPost, "/api/v1/incidents/" + itoa(inc.Number) + "/updates", `{"known":"pool exhausted","Known":"all fine"}`, "Known"},
		{http.MethodPost, "/api/v1/incidents", `{"title":"db down","severity":"P2","service":"checkout","Title":"nothing"}`, "Title"},
	} {
		status, body := apiCall(t, f, write, tc.method, tc.path, tc.body)
		require.Equal(t, http.StatusBadRequest, status, "%s %s", tc.body, body)
		require.Contains(t, body, `The field \"`+tc.field+`\" is sent twice`)
	}
	got, err := f.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Equal(t, before, got.Severity)
	require.Equal(t, incident.StatusInvestigating, got.Status)
	updates, err := f.store.ListStatusUpdates(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Empty(t, updates)
}

package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestAPIUpdateMovesTheStatusOnlyForWhoMaySetIt: an update's status is a
// change of status, which only the IC or the commander group may make, as
// PATCH's status is. A write token acting as someone else cannot mark the
// incident mitigated by posting an update: 403 with the permission model's
// reason, and nothing is posted. Their update that leaves the status as it
// is posts; the IC's token moves it.
func TestAPIUpdateMovesTheStatusOnlyForWhoMaySetIt(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	ctx := context.Background()
	admin := f.browser()
	admin.signIn(f.alice)
	bystander := tokenOf(t, f, f.bob, "runbook-bot", "write")
	ic := createToken(t, admin, "statuspage-sync", "write", f.alice.ID)
	inc := f.openIncident(t, "search is slow")
	path := "/api/v1/incidents/" + itoa(inc.Number)

	status, body := apiCall(t, f, bystander, http.MethodPatch, path, `{"status":"mitigated"}`)
	require.Equal(t, http.StatusForbidden, status, "PATCH refuses them: %s", body)

	status, body = apiCall(t, f, bystander, http.MethodPost, path+"/updates", `{"known":"p99 falling","status":"mitigated"}`)
	require.Equal(t, http.StatusForbidden, status, "an update marked the incident mitigated: %s", body)
	require.Equal(t, incident.EFORBIDDEN, refusalOf(t, body).Error.Code)
	require.Contains(t, refusalOf(t, body).Error.Message, "You may not change the status: only the Incident Commander or the commander group may")
	stored, err := f.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.StatusInvestigating, stored.Status)
	updates, err := f.store.ListStatusUpdates(ctx, inc.ID)
	require.NoError(t, err)
	require.Empty(t, updates, "the refused update was posted")

	status, body = apiCall(t, f, bystander, http.MethodPost, path+"/updates", `{"known":"p99 falling","status":"investigating"}`)
	require.Equal(t, http.StatusCreated, status, "an update that leaves the status as it is: %s", body)

	status, body = apiCall(t, f, ic, http.MethodPost, path+"/updates", `{"known":"p99 back to normal","status":"mitigated"}`)
	require.Equal(t, http.StatusCreated, status, body)
	stored, err = f.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.StatusMitigated, stored.Status, "the IC's update moves the status")
}

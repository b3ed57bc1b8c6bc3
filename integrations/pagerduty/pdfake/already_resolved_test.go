package pdfake_test

import (
	"net/http"
	"testing"

	"github.com/PagerDuty/go-pagerduty"
	"github.com/stretchr/testify/require"
)

// PagerDuty refuses to resolve an incident that is resolved already: a
// 400 with its error code 1001, "Incident Already Resolved"
// (developer-docs REST-API/14-Errors.md), and the incident is left as it is.
func TestResolvingAResolvedIncidentIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	inc, err := f.pd.CreateIncidentWithContext(t.Context(), f.ann.Email, &pagerduty.CreateIncidentOptions{
		Title: "Disk full", Service: &pagerduty.APIReference{ID: f.svc.ID, Type: "service_reference"},
	})
	require.NoError(t, err)
	resolve := `{"incidents":[{"id":"` + inc.ID + `","type":"incident_reference","status":"resolved"}]}`
	header := map[string]string{"Authorization": "Token token=" + f.fake.Token(), "From": f.ben.Email, "Content-Type": "application/json"}

	status, _, _ := raw(t, http.MethodPut, f.fake.URL()+"/incidents", header, resolve)
	require.Equal(t, http.StatusOK, status)
	before, _ := f.fake.Incident(inc.ID)

	status, _, body := raw(t, http.MethodPut, f.fake.URL()+"/incidents", header, resolve)
	require.Equal(t, http.StatusBadRequest, status)
	e := body["error"].(map[string]any)
	require.Equal(t, float64(1001), e["code"])
	require.Equal(t, "Incident Already Resolved", e["message"])
	after, _ := f.fake.Incident(inc.ID)
	require.Equal(t, before, after, "unchanged")

	status, _, body = raw(t, http.MethodPut, f.fake.URL()+"/incidents/"+inc.ID, header, `{"incident":{"type":"incident_reference","status":"resolved"}}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, float64(1001), body["error"].(map[string]any)["code"])
}

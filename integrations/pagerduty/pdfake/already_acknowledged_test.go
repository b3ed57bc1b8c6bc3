package pdfake_test

import (
	"net/http"
	"testing"

	"github.com/PagerDuty/go-pagerduty"
	"github.com/stretchr/testify/require"
)

// PagerDuty refuses to acknowledge an incident that is acknowledged
// already: a 400 with its error code 1002, "Incident Already Acknowledged"
// (developer-docs REST-API/14-Errors.md), in the REST error shape, and the
// incident, its acknowledger and its times are left as they are.
func TestAcknowledgingAnAcknowledgedIncidentIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	inc, err := f.pd.CreateIncidentWithContext(t.Context(), f.ann.Email, &pagerduty.CreateIncidentOptions{
		Title: "Disk full", Service: &pagerduty.APIReference{ID: f.svc.ID, Type: "service_reference"},
	})
	require.NoError(t, err)
	ack := `{"incidents":[{"id":"` + inc.ID + `","type":"incident_reference","status":"acknowledged"}]}`
	header := func(from string) map[string]string {
		return map[string]string{"Authorization": "Token token=" + f.fake.Token(), "From": from, "Content-Type": "application/json"}
	}

	status, _, _ := raw(t, http.MethodPut, f.fake.URL()+"/incidents", header(f.ben.Email), ack)
	require.Equal(t, http.StatusOK, status)
	before, _ := f.fake.Incident(inc.ID)

	for _, from := range []string{f.ben.Email, f.ann.Email} {
		status, _, body := raw(t, http.MethodPut, f.fake.URL()+"/incidents", header(from), ack)
		require.Equal(t, http.StatusBadRequest, status)
		e := body["error"].(map[string]any)
		require.Equal(t, float64(1002), e["code"])
		require.Equal(t, "Incident Already Acknowledged", e["message"])

		status, _, body = raw(t, http.MethodPut, f.fake.URL()+"/incidents/"+inc.ID, header(from), `{"incident":{"type":"incident_reference","status":"acknowledged"}}`)
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, float64(1002), body["error"].(map[string]any)["code"])
	}
	after, _ := f.fake.Incident(inc.ID)
	require.Equal(t, before, after, "unchanged, still acknowledged by the first")
	require.Equal(t, f.ben.ID, after.AcknowledgedBy)
}

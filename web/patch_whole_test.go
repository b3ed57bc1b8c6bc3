package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestPatchIsCheckedWholeBeforeAnythingChanges: a PATCH that the lifecycle
// or the permission model refuses in part changes nothing: not the
// severity, not the Incident Commander, and no timeline line says so. A
// field that the request's other fields leave without effect is refused
// by name instead of dropped.
func TestPatchIsCheckedWholeBeforeAnythingChanges(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	ctx := context.Background()
	admin := f.browser()
	admin.signIn(f.alice)
	ic := createToken(t, admin, "sync", "write", f.alice.ID)

	for _, tc := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"a refused status with a severity", `{"severity":"P3","status":"declared"}`, http.StatusConflict, "cannot go back to declared"},
		{"a refused status with a handover", `{"commander":"U0BOB","status":"declared"}`, http.StatusConflict, "cannot go back to declared"},
		{"a summary without a resolve", `{"severity":"P2","summary":"drained the queue"}`, http.StatusBadRequest, `The field \"summary\"`},
		{"a summary with a status that keeps none", `{"status":"mitigated","summary":"drained the queue"}`, http.StatusBadRequest, `The field \"summary\"`},
		{"a handover with a close", `{"commander":"U0BOB","status":"closed"}`, http.StatusConflict, "resolve it first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inc := f.openIncident(t, tc.name)
			status, body := apiCall(t, f, ic, http.MethodPatch, "/api/v1/incidents/"+itoa(inc.Number), tc.body)
			require.Equal(t, tc.status, status, body)
			require.Contains(t, body, tc.want)
			got, err := f.store.GetIncident(ctx, inc.ID)
			require.NoError(t, err)
			require.Equal(t, incident.P1, got.Severity, "the severity is as it was")
			require.Equal(t, incident.StatusInvestigating, got.Status)
			require.Equal(t, f.alice.ID, got.Commander, "the IC is as they were")
			require.Empty(t, got.Summary)
			events, err := f.store.ListTimeline(ctx, inc.ID)
			require.NoError(t, err)
			for _, ev := range events {
				require.NotContains(t, []incident.EventKind{incident.EventSeverityChanged, incident.EventRoleAssigned, incident.EventStatusChanged}, ev.Kind,
					"no change is written: %s", ev.Text)
			}
		})
	}
}

// TestPatchClosingWithAHandoverNamesTheCommander: a resolved incident
// closed and handed over in one request cannot take the handover (a closed
// incident changes no more): the refusal names commander.
func TestPatchClosingWithAHandoverNamesTheCommander(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	admin := f.browser()
	admin.signIn(f.alice)
	ic := createToken(t, admin, "sync", "write", f.alice.ID)
	inc := f.openIncident(t, "queue backlog")
	path := "/api/v1/incidents/" + itoa(inc.Number)
	status, body := apiCall(t, f, ic, http.MethodPatch, path, `{"status":"resolved","summary":"drained the queue"}`)
	require.Equal(t, http.StatusOK, status, body)

	status, body = apiCall(t, f, ic, http.MethodPatch, path, `{"status":"closed","commander":"U0BOB"}`)
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Contains(t, body, `The field \"commander\"`)
	got, err := f.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.StatusResolved, got.Status, "not closed")
	require.Equal(t, f.alice.ID, got.Commander)
}

// TestPatchHandoverWithAStatusDoesBoth: the IC who marks the incident
// mitigated and hands it over in one request gets both, whichever the
// permission model would refuse once the role is gone.
func TestPatchHandoverWithAStatusDoesBoth(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	admin := f.browser()
	admin.signIn(f.alice)
	ic := createToken(t, admin, "sync", "write", f.alice.ID)
	inc := f.openIncident(t, "search is slow")
	status, body := apiCall(t, f, ic, http.MethodPatch, "/api/v1/incidents/"+itoa(inc.Number),
		`{"commander":"U0BOB","status":"mitigated","severity":"P2"}`)
	require.Equal(t, http.StatusOK, status, body)
	got, err := f.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.StatusMitigated, got.Status)
	require.Equal(t, incident.P2, got.Severity)
	require.Equal(t, f.bob.ID, got.Commander)
}

// TestAPISeverityWordingIsSlacks: the API takes a severity as /incident
// does in Slack (SEV1, sev2, p3, with spaces around), and refuses a body
// that names a field twice rather than keep the last.
func TestAPISeverityWordingIsSlacks(t *testing.T) {
	t.Parallel()
	f := setup(t, withAdmin("U0BOB"))
	admin := f.browser()
	admin.signIn(f.alice)
	tok := createToken(t, admin, "sync", "write", f.alice.ID)
	for _, tc := range []struct{ sev, want string }{{"SEV1", "P1"}, {"sev2", "P2"}, {" P1", "P1"}, {"p4 ", "P4"}} {
		status, body := apiCall(t, f, tok, http.MethodPost, "/api/v1/incidents", `{"title":"x","severity":"`+tc.sev+`"}`)
		require.Equal(t, http.StatusCreated, status, body)
		require.Contains(t, body, `"severity":"`+tc.want+`"`, tc.sev)
	}
	inc := f.openIncident(t, "search is slow")
	status, body := apiCall(t, f, tok, http.MethodPatch, "/api/v1/incidents/"+itoa(inc.Number), `{"severity":"sev3"}`)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, `"severity":"P3"`)
	status, body = apiCall(t, f, tok, http.MethodGet, "/api/v1/incidents?severity=SEV3", "")
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "search is slow")
	resp, page := admin.get("/incidents?severity=%20sev3")
	require.Equal(t, http.StatusOK, resp.StatusCode, "the list page takes Slack's wording too")
	require.Contains(t, page, "search is slow")

	before, err := f.store.ListIncidents(context.Background(), incident.IncidentFilter{})
	require.NoError(t, err)
	status, body = apiCall(t, f, tok, http.MethodPost, "/api/v1/incidents", `{"title":"dup","severity":"P1","severity":"P4"}`)
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Contains(t, body, `severity`)
	require.Contains(t, body, `twice`)
	after, err := f.store.ListIncidents(context.Background(), incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, after, len(before), "nothing declared")
	status, body = apiCall(t, f, tok, http.MethodPatch, "/api/v1/incidents/"+itoa(inc.Number), `{"severity":"P1","severity":"P4"}`)
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Contains(t, body, `twice`)
}

package pdfake_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PagerDuty/go-pagerduty"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

var t0 = time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC)

type fixture struct {
	fake *pdfake.Server
	pd   *pagerduty.Client
	svc  pdfake.Service
	ann  pdfake.User
	ben  pdfake.User
}

func setup(t *testing.T) *fixture {
	t.Helper()
	fake := pdfake.New(pdfake.WithClock(func() time.Time { return t0 }))
	t.Cleanup(fake.Close)
	f := &fixture{fake: fake}
	f.svc = fake.AddService(pdfake.Service{Name: "API"})
	f.ann = fake.AddUser(pdfake.User{Name: "Ann", Email: "ann@example.com"})
	f.ben = fake.AddUser(pdfake.User{Name: "Ben", Email: "ben@example.com"})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: f.svc.EscalationPolicyID, Level: 1, UserID: f.ben.ID})
	f.pd = pagerduty.NewClient(fake.Token(), pagerduty.WithAPIEndpoint(fake.URL()), pagerduty.WithV2EventsAPIEndpoint(fake.EventsURL()))
	return f
}

// raw sends a request and decodes the JSON answer.
func raw(t *testing.T, method, url string, header map[string]string, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, resp.Header, out
}

func restError(t *testing.T, out map[string]any) (string, float64, []any) {
	t.Helper()
	e, ok := out["error"].(map[string]any)
	require.True(t, ok, "PagerDuty's error shape: %v", out)
	errs, _ := e["errors"].([]any)
	return e["message"].(string), e["code"].(float64), errs
}

func TestGeneratedSeeds(t *testing.T) {
	t.Parallel()
	f := setup(t)
	require.Len(t, f.svc.RoutingKey, 32)
	require.NotEmpty(t, f.svc.ID)
	require.NotEmpty(t, f.svc.EscalationPolicyID)
	require.NotEqual(t, f.ann.ID, f.ben.ID)
	require.Equal(t, "Ann", f.fake.UserName(f.ann.ID))
}

func TestRESTAuth(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"wrong token", "Token token=nope", http.StatusUnauthorized},
		{"bearer is not an API token", "Bearer " + f.fake.Token(), http.StatusUnauthorized},
		{"right token", "Token token=" + f.fake.Token(), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, out := raw(t, http.MethodGet, f.fake.URL()+"/users", map[string]string{"Authorization": tt.header}, "")
			require.Equal(t, tt.want, status)
			if tt.want == http.StatusUnauthorized {
				msg, code, _ := restError(t, out)
				require.Equal(t, "Authentication failed", msg)
				require.EqualValues(t, 2006, code)
			}
		})
	}
}

func TestCreateIncidentRules(t *testing.T) {
	t.Parallel()
	f := setup(t)
	auth := "Token token=" + f.fake.Token()
	create := func(from, body string) (int, map[string]any) {
		status, _, out := raw(t, http.MethodPost, f.fake.URL()+"/incidents",
			map[string]string{"Authorization": auth, "From": from, "Content-Type": "application/json"}, body)
		return status, out
	}
	good := `{"incident":{"type":"incident","title":"Down","service":{"id":"` + f.svc.ID + `","type":"service_reference"},"incident_key":"k1"}}`

	status, out := create("", good)
	require.Equal(t, http.StatusBadRequest, status)
	msg, _, _ := restError(t, out)
	require.Equal(t, `You must specify a user's email address in the "From" header to perform this action`, msg)

	status, out = create("ann@example.com", strings.Replace(good, f.svc.ID, "PNOPE", 1))
	require.Equal(t, http.StatusBadRequest, status)
	_, _, errs := restError(t, out)
	require.Equal(t, []any{"Service not found"}, errs)

	status, out = create("ann@example.com", good)
	require.Equal(t, http.StatusCreated, status)
	inc := out["incident"].(map[string]any)
	require.Equal(t, "triggered", inc["status"])
	require.Equal(t, "k1", inc["incident_key"])
	require.Len(t, inc["assignments"], 1)

	status, out = create("ann@example.com", good)
	require.Equal(t, http.StatusBadRequest, status)
	msg, code, errs := restError(t, out)
	require.Equal(t, "Invalid Input Provided", msg)
	require.EqualValues(t, 2001, code)
	require.Equal(t, []any{"Open incident with matching dedup key already exists on this service"}, errs)
	require.Len(t, f.fake.Incidents(), 1)
}

// TestReadOnlyUserMayNotChangeIncidents: PagerDuty refuses a read-only
// user's create or update with 403 and its code 1018.
func TestReadOnlyUserMayNotChangeIncidents(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.fake.AddUser(pdfake.User{Name: "Rita", Email: "rita@example.com", ReadOnly: true})
	header := map[string]string{"Authorization": "Token token=" + f.fake.Token(), "From": "rita@example.com", "Content-Type": "application/json"}
	status, _, out := raw(t, http.MethodPost, f.fake.URL()+"/incidents", header,
		`{"incident":{"type":"incident","title":"Down","service":{"id":"`+f.svc.ID+`","type":"service_reference"}}}`)
	require.Equal(t, http.StatusForbidden, status)
	msg, code, _ := restError(t, out)
	require.Equal(t, "Requester not authorized to perform action", msg)
	require.EqualValues(t, 1018, code)
	require.Empty(t, f.fake.Incidents())

	inc, err := f.pd.CreateIncidentWithContext(t.Context(), f.ann.Email, &pagerduty.CreateIncidentOptions{
		Title: "Down", Service: &pagerduty.APIReference{ID: f.svc.ID, Type: "service_reference"}})
	require.NoError(t, err)
	status, _, out = raw(t, http.MethodPut, f.fake.URL()+"/incidents/"+inc.ID, header, `{"incident":{"type":"incident_reference","status":"acknowledged"}}`)
	require.Equal(t, http.StatusForbidden, status)
	_, code, _ = restError(t, out)
	require.EqualValues(t, 1018, code)
	got, _ := f.fake.Incident(inc.ID)
	require.Equal(t, "triggered", got.Status)
}

func TestSelfAssignedIncidentIsAcknowledgedWithoutNotifying(t *testing.T) {
	t.Parallel()
	f := setup(t)
	inc, err := f.pd.CreateIncidentWithContext(t.Context(), f.ann.Email, &pagerduty.CreateIncidentOptions{
		Title: "Mine", Service: &pagerduty.APIReference{ID: f.svc.ID, Type: "service_reference"},
		Assignments: []pagerduty.Assignee{{Assignee: pagerduty.APIObject{ID: f.ann.ID, Type: "user_reference"}}},
	})
	require.NoError(t, err)
	require.Equal(t, "acknowledged", inc.Status)
	got, _ := f.fake.Incident(inc.ID)
	require.Empty(t, got.Notified)
}

func TestManageIncidents(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	inc, err := f.pd.CreateIncidentWithContext(ctx, f.ann.Email, &pagerduty.CreateIncidentOptions{
		Title: "Down", Service: &pagerduty.APIReference{ID: f.svc.ID, Type: "service_reference"}, IncidentKey: "k",
	})
	require.NoError(t, err)

	_, err = f.pd.ManageIncidentsWithContext(ctx, "", []pagerduty.ManageIncidentsOptions{{ID: inc.ID, Status: "acknowledged"}})
	var apiErr pagerduty.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusBadRequest, apiErr.StatusCode, "From is required")

	_, err = f.pd.ManageIncidentsWithContext(ctx, f.ben.Email, []pagerduty.ManageIncidentsOptions{{ID: inc.ID, Status: "acknowledged"}})
	require.NoError(t, err)
	got, _ := f.fake.Incident(inc.ID)
	require.Equal(t, "acknowledged", got.Status)
	require.Equal(t, f.ben.ID, got.AcknowledgedBy)

	// Reassigning notifies the new assignee and re-triggers.
	res, err := f.pd.ManageIncidentsWithContext(ctx, f.ann.Email, []pagerduty.ManageIncidentsOptions{{ID: inc.ID,
		Assignments: []pagerduty.Assignee{{Assignee: pagerduty.APIObject{ID: f.ann.ID, Type: "user_reference"}}}}})
	require.NoError(t, err)
	require.Equal(t, "triggered", res.Incidents[0].Status)
	got, _ = f.fake.Incident(inc.ID)
	require.Equal(t, []string{f.ben.ID, f.ann.ID}, got.Notified)

	_, err = f.pd.ManageIncidentsWithContext(ctx, f.ann.Email, []pagerduty.ManageIncidentsOptions{{ID: inc.ID, Status: "resolved"}})
	require.NoError(t, err)
	list, err := f.pd.ListIncidentsWithContext(ctx, pagerduty.ListIncidentsOptions{IncidentKey: "k", Statuses: []string{"triggered", "acknowledged"}})
	require.NoError(t, err)
	require.Empty(t, list.Incidents, "resolved incidents are filtered out")
	list, err = f.pd.ListIncidentsWithContext(ctx, pagerduty.ListIncidentsOptions{IncidentKey: "k"})
	require.NoError(t, err)
	require.Len(t, list.Incidents, 1)
	require.Equal(t, "resolved", list.Incidents[0].Status)

	_, err = f.pd.ManageIncidentsWithContext(ctx, f.ann.Email, []pagerduty.ManageIncidentsOptions{{ID: "QNOPE", Status: "resolved"}})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.StatusCode)
}

func TestUsersOnCallsAndServices(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	f.fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: f.svc.EscalationPolicyID, Level: 2, UserID: f.ann.ID, Schedule: "Backup", End: t0.Add(time.Hour)})
	f.fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: f.svc.EscalationPolicyID, Level: 2, UserID: f.ben.ID, End: t0}) // over
	f.fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: f.svc.EscalationPolicyID, Level: 3, UserID: f.ben.ID, Start: t0.Add(time.Minute)})

	users, err := f.pd.ListUsersWithContext(ctx, pagerduty.ListUsersOptions{Query: "BEN@"})
	require.NoError(t, err)
	require.Len(t, users.Users, 1)
	require.Equal(t, "ben@example.com", users.Users[0].Email)

	svc, err := f.pd.GetServiceWithContext(ctx, f.svc.ID, &pagerduty.GetServiceOptions{})
	require.NoError(t, err)
	require.Equal(t, f.svc.EscalationPolicyID, svc.EscalationPolicy.ID)
	_, err = f.pd.GetServiceWithContext(ctx, "PNOPE", &pagerduty.GetServiceOptions{})
	var apiErr pagerduty.APIError
	require.ErrorAs(t, err, &apiErr)
	require.True(t, apiErr.NotFound())

	oc, err := f.pd.ListOnCallsWithContext(ctx, pagerduty.ListOnCallOptions{EscalationPolicyIDs: []string{f.svc.EscalationPolicyID}, Includes: []string{"users"}})
	require.NoError(t, err)
	require.Len(t, oc.OnCalls, 2, "only current shifts")
	require.Equal(t, uint(1), oc.OnCalls[0].EscalationLevel)
	require.Equal(t, "ben@example.com", oc.OnCalls[0].User.Email)
	require.Equal(t, "Backup", oc.OnCalls[1].Schedule.Summary)
	require.Equal(t, t0.Add(time.Hour).Format(time.RFC3339), oc.OnCalls[1].End)

	oc, err = f.pd.ListOnCallsWithContext(ctx, pagerduty.ListOnCallOptions{EscalationPolicyIDs: []string{"POTHER"}})
	require.NoError(t, err)
	require.Empty(t, oc.OnCalls)
}

func TestEventsV2(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	trigger := &pagerduty.V2Event{RoutingKey: f.svc.RoutingKey, Action: "trigger", DedupKey: "d1",
		Payload: &pagerduty.V2Payload{Summary: "Down", Source: "test", Severity: "critical"}}

	resp, err := f.pd.ManageEventWithContext(ctx, trigger)
	require.NoError(t, err)
	require.Equal(t, "success", resp.Status)
	require.Equal(t, "d1", resp.DedupKey)
	_, err = f.pd.ManageEventWithContext(ctx, trigger)
	require.NoError(t, err)
	incs := f.fake.Incidents()
	require.Len(t, incs, 1, "same dedup_key, same incident")
	require.Equal(t, 2, incs[0].Alerts)
	require.Equal(t, []string{f.ben.ID}, incs[0].Notified)

	_, err = f.pd.ManageEventWithContext(ctx, &pagerduty.V2Event{RoutingKey: f.svc.RoutingKey, Action: "resolve", DedupKey: "d1"})
	require.NoError(t, err)
	require.Equal(t, "resolved", f.fake.Incidents()[0].Status)

	noKey, err := f.pd.ManageEventWithContext(ctx, &pagerduty.V2Event{RoutingKey: f.svc.RoutingKey, Action: "trigger",
		Payload: &pagerduty.V2Payload{Summary: "x", Source: "s", Severity: "info"}})
	require.NoError(t, err)
	require.Len(t, noKey.DedupKey, 32, "PagerDuty generates a dedup key")

	tests := []struct {
		name string
		body string
		want string
	}{
		{"short routing key", `{"routing_key":"abc","event_action":"trigger","payload":{"summary":"s","source":"s","severity":"critical"}}`,
			"Length of 'routing_key' is incorrect (should be 32 characters)"},
		{"unknown routing key", `{"routing_key":"` + pdfake.RoutingKey("nobody") + `","event_action":"resolve","dedup_key":"d"}`,
			"Invalid routing key"},
		{"bad severity", `{"routing_key":"` + f.svc.RoutingKey + `","event_action":"trigger","payload":{"summary":"s","source":"s","severity":"high"}}`,
			"'payload.severity' is invalid"},
		{"ack without dedup key", `{"routing_key":"` + f.svc.RoutingKey + `","event_action":"acknowledge"}`,
			"'dedup_key' is missing or blank"},
		{"bad action", `{"routing_key":"` + f.svc.RoutingKey + `","event_action":"snooze","dedup_key":"d"}`,
			"'event_action' is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, out := raw(t, http.MethodPost, f.fake.EventsURL()+"/v2/enqueue", map[string]string{"Content-Type": "application/json"}, tt.body)
			require.Equal(t, http.StatusBadRequest, status)
			require.Equal(t, "invalid event", out["status"])
			require.Contains(t, out["errors"].([]any)[0], tt.want)
		})
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	f := setup(t)
	url := f.fake.URL() + "/users"
	auth := map[string]string{"Authorization": "Token token=" + f.fake.Token()}

	f.fake.FailNext(2, 0)
	for range 2 {
		status, _, out := raw(t, http.MethodGet, url, auth, "")
		require.Equal(t, http.StatusInternalServerError, status)
		_, code, _ := restError(t, out)
		require.EqualValues(t, 2000, code)
	}
	status, _, _ := raw(t, http.MethodGet, url, auth, "")
	require.Equal(t, http.StatusOK, status)

	f.fake.RateLimitNext(1, 30*time.Second)
	status, header, _ := raw(t, http.MethodGet, url, auth, "")
	require.Equal(t, http.StatusTooManyRequests, status)
	require.Equal(t, "30", header.Get("Retry-After"))
	require.Equal(t, "30", header.Get("Ratelimit-Reset"))

	f.fake.SetDown(true)
	_, err := http.Get(url)
	require.Error(t, err, "the connection is cut")
	f.fake.SetDown(false)

	f.fake.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	_, err = http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	f.fake.SetLatency(0)

	calls := f.fake.Calls()
	require.GreaterOrEqual(t, len(calls), 5)
	require.Equal(t, http.StatusInternalServerError, calls[0].Status)
	require.True(t, calls[0].Authorized)
}

// TestUpdateTookEffectThenFailed: an incident update that PagerDuty
// carries out and then fails to answer, through both update endpoints with
// the documented bodies (Update an incident: {"incident":{...}}; Manage
// incidents: {"incidents":[{"id":...}]}).
func TestUpdateTookEffectThenFailed(t *testing.T) {
	t.Parallel()
	f := setup(t)
	cara := f.fake.AddUser(pdfake.User{Name: "Cara", Email: "cara@example.com"})
	dan := f.fake.AddUser(pdfake.User{Name: "Dan", Email: "dan@example.com"})
	f.fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: f.svc.EscalationPolicyID, Level: 2, UserID: cara.ID})
	f.fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: f.svc.EscalationPolicyID, Level: 3, UserID: dan.ID})
	inc, err := f.pd.CreateIncidentWithContext(t.Context(), f.ann.Email, &pagerduty.CreateIncidentOptions{
		Title: "Down", Service: &pagerduty.APIReference{ID: f.svc.ID, Type: "service_reference"}, IncidentKey: "k",
	})
	require.NoError(t, err)
	got, _ := f.fake.Incident(inc.ID)
	require.Equal(t, 1, got.EscalationLevel)
	header := map[string]string{"Authorization": "Token token=" + f.fake.Token(), "From": f.ann.Email, "Content-Type": "application/json"}

	// Reads are not counted: the fault waits for the update.
	f.fake.FailNextUpdateAfterEffect(1, 0)
	status, _, _ := raw(t, http.MethodGet, f.fake.URL()+"/incidents/"+inc.ID, header, "")
	require.Equal(t, http.StatusOK, status)

	status, _, out := raw(t, http.MethodPut, f.fake.URL()+"/incidents/"+inc.ID, header,
		`{"incident":{"type":"incident_reference","escalation_level":2}}`)
	require.Equal(t, http.StatusInternalServerError, status)
	_, code, _ := restError(t, out)
	require.EqualValues(t, 2000, code)
	got, _ = f.fake.Incident(inc.ID)
	require.Equal(t, 2, got.EscalationLevel, "it took effect")
	require.Equal(t, []string{cara.ID}, got.Assignees)
	require.Equal(t, []string{f.ben.ID, cara.ID}, got.Notified)

	// A refused update changes nothing and is answered as refused.
	f.fake.FailNextUpdateAfterEffect(1, http.StatusBadGateway)
	status, _, _ = raw(t, http.MethodPut, f.fake.URL()+"/incidents/QNOPE", header, `{"incident":{"type":"incident_reference","escalation_level":3}}`)
	require.Equal(t, http.StatusNotFound, status)

	f.fake.FailNextUpdateAfterEffect(1, http.StatusBadGateway)
	status, _, _ = raw(t, http.MethodPut, f.fake.URL()+"/incidents", header,
		`{"incidents":[{"id":"`+inc.ID+`","type":"incident_reference","escalation_level":3}]}`)
	require.Equal(t, http.StatusBadGateway, status)
	got, _ = f.fake.Incident(inc.ID)
	require.Equal(t, 3, got.EscalationLevel)
	require.Equal(t, []string{dan.ID}, got.Assignees)

	status, _, _ = raw(t, http.MethodPut, f.fake.URL()+"/incidents/"+inc.ID, header, `{"incident":{"type":"incident_reference","status":"acknowledged"}}`)
	require.Equal(t, http.StatusOK, status, "used up")
	calls := f.fake.Calls()
	require.Equal(t, http.StatusInternalServerError, calls[len(calls)-4].Status, "recorded as answered")
}

func TestSendWebhook(t *testing.T) {
	t.Parallel()
	f := setup(t)
	inc, err := f.pd.CreateIncidentWithContext(t.Context(), f.ann.Email, &pagerduty.CreateIncidentOptions{
		Title: "Down", Service: &pagerduty.APIReference{ID: f.svc.ID, Type: "service_reference"}, IncidentKey: "key-1",
	})
	require.NoError(t, err)

	type delivery struct {
		header http.Header
		body   []byte
	}
	got := make(chan delivery, 1)
	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), body}
	})
	srv := newServer(t, receiver)

	resp, err := f.fake.SendWebhook(t.Context(), srv, "s3cret", "incident.acknowledged", inc.ID, "Ben", pdfake.WithExtraSecrets("old"))
	require.NoError(t, err)
	resp.Body.Close()
	d := <-got

	sigs := strings.Split(d.header.Get(pdfake.SignatureHeader), ",")
	require.Len(t, sigs, 2)
	m := hmac.New(sha256.New, []byte("s3cret"))
	m.Write(d.body)
	require.Equal(t, "v1="+hex.EncodeToString(m.Sum(nil)), sigs[1])
	require.Equal(t, pdfake.Sign(d.body, "old", "s3cret"), d.header.Get(pdfake.SignatureHeader))

	var env struct {
		Event struct {
			ID, EventType, ResourceType, OccurredAt string
			Agent                                   struct{ ID, Type, Summary string }
			Data                                    struct {
				ID, Type, Status, IncidentKey, HTMLURL string
				Assignees                              []struct{ Summary string }
			}
		}
	}
	require.NoError(t, json.Unmarshal(snakeToCamel(d.body), &env))
	require.Equal(t, env.Event.ID, d.header.Get("X-Webhook-Id"))
	require.Equal(t, "incident.acknowledged", env.Event.EventType)
	require.Equal(t, "incident", env.Event.ResourceType)
	require.Equal(t, "2026-08-07T14:23:00.000Z", env.Event.OccurredAt)
	require.Equal(t, "Ben", env.Event.Agent.Summary)
	require.Equal(t, f.ben.ID, env.Event.Agent.ID)
	require.Equal(t, "user_reference", env.Event.Agent.Type)
	require.Equal(t, inc.ID, env.Event.Data.ID)
	require.Equal(t, "acknowledged", env.Event.Data.Status)
	require.Equal(t, "key-1", env.Event.Data.IncidentKey)
	require.Equal(t, "Ben", env.Event.Data.Assignees[0].Summary)
}

// snakeToCamel lets the test decode PagerDuty's snake_case keys into
// untagged fields.
func snakeToCamel(b []byte) []byte {
	r := strings.NewReplacer(`"event_type"`, `"EventType"`, `"resource_type"`, `"ResourceType"`,
		`"occurred_at"`, `"OccurredAt"`, `"incident_key"`, `"IncidentKey"`, `"html_url"`, `"HTMLURL"`)
	return []byte(r.Replace(string(b)))
}

func newServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestIncidentUpdatesAnswerPagerDutysTimes: PUT /incidents/{id} and PUT
// /incidents answer the incident with PagerDuty's times of its changes, to
// the second: last_status_change_at (the updated_at of an incident neither
// acknowledged nor resolved), last_status_change_by, updated_at,
// assignments[].at, acknowledgements[].at and resolved_at.
func TestIncidentUpdatesAnswerPagerDutysTimes(t *testing.T) {
	t.Parallel()
	now := t0
	var mu sync.Mutex
	fake := pdfake.New(pdfake.WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }))
	t.Cleanup(fake.Close)
	at := func(d time.Duration) string {
		mu.Lock()
		defer mu.Unlock()
		now = t0.Add(d)
		return now.Format(time.RFC3339)
	}
	svc := fake.AddService(pdfake.Service{Name: "API"})
	ann := fake.AddUser(pdfake.User{Name: "Ann", Email: "ann@example.com"})
	ben := fake.AddUser(pdfake.User{Name: "Ben", Email: "ben@example.com"})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: svc.EscalationPolicyID, Level: 1, UserID: ben.ID})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: svc.EscalationPolicyID, Level: 2, UserID: ann.ID})
	hdr := func(from string) map[string]string {
		return map[string]string{"Authorization": "Token token=" + fake.Token(), "Content-Type": "application/json", "From": from}
	}
	status, _, out := raw(t, http.MethodPost, fake.URL()+"/incidents", hdr(ann.Email),
		`{"incident":{"type":"incident","title":"Down","service":{"id":"`+svc.ID+`","type":"service_reference"}}}`)
	require.Equal(t, http.StatusCreated, status)
	inc := out["incident"].(map[string]any)
	id := inc["id"].(string)
	created := t0.Format(time.RFC3339)
	require.Equal(t, created, inc["created_at"])
	require.Equal(t, created, inc["updated_at"])
	require.Equal(t, created, inc["last_status_change_at"])
	require.Nil(t, inc["resolved_at"])
	require.Equal(t, "service_reference", inc["last_status_change_by"].(map[string]any)["type"])

	ackedAt := at(90 * time.Second)
	status, _, out = raw(t, http.MethodPut, fake.URL()+"/incidents/"+id, hdr(ben.Email), `{"incident":{"type":"incident_reference","status":"acknowledged"}}`)
	require.Equal(t, http.StatusOK, status)
	inc = out["incident"].(map[string]any)
	require.Equal(t, ackedAt, inc["last_status_change_at"])
	require.Equal(t, ackedAt, inc["updated_at"])
	require.Equal(t, ben.ID, inc["last_status_change_by"].(map[string]any)["id"])
	acks := inc["acknowledgements"].([]any)
	require.Len(t, acks, 1)
	require.Equal(t, ackedAt, acks[0].(map[string]any)["at"])
	require.Equal(t, created, inc["assignments"].([]any)[0].(map[string]any)["at"])

	// Read later, the acknowledgement keeps its time.
	at(5 * time.Minute)
	_, _, out = raw(t, http.MethodGet, fake.URL()+"/incidents/"+id, hdr(""), "")
	require.Equal(t, ackedAt, out["incident"].(map[string]any)["acknowledgements"].([]any)[0].(map[string]any)["at"])

	// An escalation re-triggers it: last_status_change_at is its updated_at.
	escalatedAt := at(6 * time.Minute)
	status, _, out = raw(t, http.MethodPut, fake.URL()+"/incidents", hdr(ann.Email),
		`{"incidents":[{"id":"`+id+`","type":"incident_reference","escalation_level":2}]}`)
	require.Equal(t, http.StatusOK, status)
	inc = out["incidents"].([]any)[0].(map[string]any)
	require.Equal(t, "triggered", inc["status"])
	require.Equal(t, escalatedAt, inc["last_status_change_at"])
	require.Equal(t, escalatedAt, inc["updated_at"])
	require.Equal(t, escalatedAt, inc["assignments"].([]any)[0].(map[string]any)["at"])
	require.Empty(t, inc["acknowledgements"])

	resolvedAt := at(7 * time.Minute)
	status, _, out = raw(t, http.MethodPut, fake.URL()+"/incidents/"+id, hdr(ann.Email), `{"incident":{"type":"incident_reference","status":"resolved"}}`)
	require.Equal(t, http.StatusOK, status)
	inc = out["incident"].(map[string]any)
	require.Equal(t, resolvedAt, inc["last_status_change_at"])
	require.Equal(t, resolvedAt, inc["resolved_at"])
	require.Empty(t, inc["assignments"], "none for a resolved incident")
}

package pdfake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/httpjson"
	"github.com/firebreakhq/firebreak/integrations/gatefake"
)

// PagerDuty's error messages and codes for the rules the server enforces
// (developer-docs REST-API/14-Errors.md; the From and duplicate-key wording
// as PagerDuty returns it).
const (
	msgAuthFailed   = "Authentication failed"
	msgNeedFrom     = `You must specify a user's email address in the "From" header to perform this action`
	msgInvalidInput = "Invalid Input Provided"
	msgNotFound     = "Not Found"
	msgRequester    = "Requester User Not Found"
	msgNotPermitted = "Requester not authorized to perform action"
	msgAssignee     = "Assigned To User Not Found"
	msgBadStatus    = "Invalid Status Provided"
	msgResolved     = "Incident Already Resolved"
	msgAcknowledged = "Incident Already Acknowledged"
	msgDuplicateKey = "Open incident with matching dedup key already exists on this service"
	msgInternal     = "An internal error has occurred. PagerDuty team has been notified."
	msgRateLimited  = "Rate Limit Exceeded"

	codeInvalidInput = 2001
	codeAuthFailed   = 2006
	codeNeedFrom     = 2011
	codeNotFound     = 2100
	codeRequester    = 1008
	codeNotPermitted = 1018
	codeAssignee     = 1007
	codeBadStatus    = 1003
	codeResolved     = 1001
	codeAcknowledged = 1002
	codeInternal     = 2000
	codeRateLimited  = 2020
)

// routes is the fake's route table: the Events API v2, the REST incident
// endpoints and the REST directory (users, on-calls, services) are each
// their own type.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	ev, inc, dir := &eventsAPI{s}, &incidentsAPI{s}, &directoryAPI{s}
	mux.HandleFunc("POST /v2/enqueue", s.withWebhooks(ev.enqueue))
	mux.Handle("POST /incidents", s.auth(s.withWebhooks(inc.createIncident)))
	mux.Handle("GET /incidents", s.auth(inc.listIncidents))
	mux.Handle("PUT /incidents", s.auth(s.withWebhooks(inc.manageIncidents)))
	mux.Handle("GET /incidents/{id}", s.auth(inc.getIncident))
	mux.Handle("PUT /incidents/{id}", s.auth(s.withWebhooks(inc.updateIncident)))
	mux.Handle("GET /users", s.auth(dir.listUsers))
	mux.Handle("GET /oncalls", s.auth(dir.listOnCalls))
	mux.Handle("GET /services/{id}", s.auth(dir.getService))
	mux.Handle("/", s.auth(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, codeNotFound, msgNotFound)
	}))
	return s.faults(mux)
}

// incidentsAPI serves the REST incident endpoints: create, list, get and
// update (acknowledge, resolve, reassign, escalate).
type incidentsAPI struct{ *Server }

// directoryAPI serves users, on-calls and services: who is on call at
// which level of an escalation policy.
type directoryAPI struct{ *Server }

// statusWriter remembers the status a handler answered and calls onStatus
// with it before any byte of the answer reaches the client, so a call is on
// record by the time the client can see its answer.
type statusWriter struct {
	http.ResponseWriter
	status   int
	onStatus func()
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
		w.onStatus()
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// isIncidentUpdate reports whether r updates incidents: PUT /incidents
// (Manage incidents) or PUT /incidents/{id} (Update an incident).
func isIncidentUpdate(r *http.Request) bool {
	id, one := strings.CutPrefix(r.URL.Path, "/incidents/")
	return r.Method == http.MethodPut && (r.URL.Path == "/incidents" || (one && id != "" && !strings.Contains(id, "/")))
}

// faults records each call and applies the injected latency, outage, 5xx
// and 429 before the real handler sees the request, and a 5xx after an
// incident update took effect.
func (s *Server) faults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := s.take(isIncidentUpdate(r))

		recorded := false
		var record func()
		sw := &statusWriter{ResponseWriter: w, onStatus: func() { record() }}
		record = func() {
			if recorded {
				return
			}
			s.record(Call{
				Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
				From: r.Header.Get("From"), Authorized: s.authorized(r), Status: sw.status,
			})
			recorded = true
		}
		defer func() {
			if !recorded {
				record()
			}
		}()
		if in.latency > 0 {
			t := time.NewTimer(in.latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		switch {
		case in.down:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					// Recorded before the connection drops: the client
					// sees the failure at once, and a test may count the
					// calls as soon as it does.
					record()
					_ = conn.Close()
					return
				}
			}
			writeError(sw, http.StatusServiceUnavailable, codeInternal, msgInternal)
		case in.fail:
			writeError(sw, in.failStatus, codeInternal, msgInternal)
		case in.limited:
			secs := strconv.Itoa(int(in.retryAfter.Round(time.Second) / time.Second))
			sw.Header().Set("Retry-After", secs)
			sw.Header().Set("Ratelimit-Limit", "960")
			sw.Header().Set("Ratelimit-Remaining", "0")
			sw.Header().Set("Ratelimit-Reset", secs)
			writeError(sw, http.StatusTooManyRequests, codeRateLimited, msgRateLimited)
		case in.afterEffect:
			// The update is carried out, its webhooks sent as configured,
			// and its answer lost: PagerDuty's "took effect, then failed".
			gatefake.ServeThenFail(sw, r, next, func(w http.ResponseWriter) { writeError(w, in.afterStatus, codeInternal, msgInternal) })
		default:
			next.ServeHTTP(sw, r)
		}
	})
}

// copyAnswer writes the answer rec holds to w.
func copyAnswer(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (s *Server) authorized(r *http.Request) bool {
	return r.Header.Get("Authorization") == "Token token="+s.token
}

// auth enforces the REST API's token authentication.
func (s *Server) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			writeError(w, http.StatusUnauthorized, codeAuthFailed, msgAuthFailed)
			return
		}
		h(w, r)
	})
}

// requester returns the user named by the From header, who may change
// incidents, answering the error itself when there is none (400) or they
// may not (403).
func (s *incidentsAPI) requester(w http.ResponseWriter, r *http.Request) (*User, bool) {
	from := strings.TrimSpace(r.Header.Get("From"))
	if from == "" {
		writeError(w, http.StatusBadRequest, codeNeedFrom, msgNeedFrom)
		return nil, false
	}
	u := s.userByEmail(from)
	if u == nil {
		writeError(w, http.StatusBadRequest, codeRequester, msgRequester)
		return nil, false
	}
	if u.ReadOnly {
		writeError(w, http.StatusForbidden, codeNotPermitted, msgNotPermitted)
		return nil, false
	}
	return u, true
}

type ref struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// newIncidentBody is the incident of a POST /incidents.
type newIncidentBody struct {
	Type        string `json:"type"`
	Title       string `json:"title"`
	Service     *ref   `json:"service"`
	Urgency     string `json:"urgency"`
	IncidentKey string `json:"incident_key"`
	Body        *struct {
		Type    string `json:"type"`
		Details string `json:"details"`
	} `json:"body"`
	EscalationPolicy *ref `json:"escalation_policy"`
	Assignments      []struct {
		Assignee ref `json:"assignee"`
	} `json:"assignments"`
}

// problems lists what PagerDuty refuses in the body itself, in its words.
func (in *newIncidentBody) problems() []string {
	var problems []string
	if in.Type != "incident" {
		problems = append(problems, "Incident type must be incident")
	}
	if strings.TrimSpace(in.Title) == "" {
		problems = append(problems, "Title cannot be empty")
	}
	if in.Urgency != "" && in.Urgency != "high" && in.Urgency != "low" {
		problems = append(problems, "Urgency must be one of high, low")
	}
	if in.EscalationPolicy != nil && len(in.Assignments) > 0 {
		problems = append(problems, "Cannot specify both assignments and escalation_policy")
	}
	if len(in.Assignments) > 1 {
		problems = append(problems, "Only one assignee is supported at this time")
	}
	return problems
}

// restError is an error answer: PagerDuty's code, message and details.
type restError struct {
	code    int
	message string
	errs    []string
}

func (s *incidentsAPI) createIncident(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Incident *newIncidentBody `json:"incident"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	from, ok := s.requester(w, r)
	if !ok {
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Incident == nil {
		writeError(w, http.StatusBadRequest, codeInvalidInput, msgInvalidInput, "Request body must contain an incident object")
		return
	}
	if problems := body.Incident.problems(); len(problems) > 0 {
		writeError(w, http.StatusBadRequest, codeInvalidInput, msgInvalidInput, problems...)
		return
	}
	inc, rerr := s.incidentFrom(body.Incident, from)
	if rerr != nil {
		writeError(w, http.StatusBadRequest, rerr.code, rerr.message, rerr.errs...)
		return
	}
	s.newIncident(inc)
	s.changed(r.Context(), "incident.triggered", inc, from)
	if inc.Status == "acknowledged" {
		s.changed(r.Context(), "incident.acknowledged", inc, from)
	}
	httpjson.Write(w, http.StatusCreated, map[string]any{"incident": s.incidentJSON(inc)})
}

// incidentFrom resolves the body's service, escalation policy and assignee
// into the incident to open for the user from.
func (s *incidentsAPI) incidentFrom(in *newIncidentBody, from *User) (*Incident, *restError) {
	if in.Service == nil || s.service(in.Service.ID) == nil {
		return nil, &restError{codeInvalidInput, msgInvalidInput, []string{"Service not found"}}
	}
	svc := s.service(in.Service.ID)
	policy := svc.EscalationPolicyID
	if in.EscalationPolicy != nil {
		if s.policy(in.EscalationPolicy.ID) == nil {
			return nil, &restError{codeInvalidInput, msgInvalidInput, []string{"Escalation Policy Not Found"}}
		}
		policy = in.EscalationPolicy.ID
	}
	if in.IncidentKey != "" && s.openIncident(svc.ID, in.IncidentKey) != nil {
		return nil, &restError{codeInvalidInput, msgInvalidInput, []string{msgDuplicateKey}}
	}
	inc := &Incident{
		Title: in.Title, ServiceID: svc.ID, EscalationPolicyID: policy,
		IncidentKey: in.IncidentKey, Urgency: in.Urgency, CreatedVia: "rest", CreatedBy: from.Email,
	}
	if in.Body != nil {
		inc.Details = in.Body.Details
	}
	if len(in.Assignments) == 1 {
		a := in.Assignments[0].Assignee
		if s.user(a.ID) == nil {
			return nil, &restError{code: codeAssignee, message: msgAssignee}
		}
		inc.Assignees = []string{a.ID}
		// PagerDuty acknowledges, without notifying, an incident a user
		// assigns to themselves.
		if a.ID == from.ID {
			inc.Status = "acknowledged"
			inc.AcknowledgedBy = from.ID
		}
	}
	return inc, nil
}

func (s *incidentsAPI) listIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key := q.Get("incident_key")
	services, statuses := q["service_ids[]"], q["statuses[]"]
	s.mu.Lock()
	defer s.mu.Unlock()
	list := []map[string]any{}
	for _, inc := range s.incidents {
		if (key != "" && inc.IncidentKey != key) ||
			(len(services) > 0 && !slices.Contains(services, inc.ServiceID)) ||
			(len(statuses) > 0 && !slices.Contains(statuses, inc.Status)) {
			continue
		}
		list = append(list, s.incidentJSON(inc))
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"incidents": list, "limit": 25, "offset": 0, "more": false, "total": nil})
}

func (s *incidentsAPI) getIncident(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc := s.incident(r.PathValue("id"))
	if inc == nil {
		writeError(w, http.StatusNotFound, codeNotFound, msgNotFound)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"incident": s.incidentJSON(inc)})
}

// incidentUpdate is one entry of PUT /incidents or the body of PUT
// /incidents/{id}.
type incidentUpdate struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	Resolution  string `json:"resolution"`
	Assignments []struct {
		Assignee ref `json:"assignee"`
	} `json:"assignments"`
	EscalationLevel int `json:"escalation_level"`
}

// escalates reports whether the update moves the incident to an escalation
// level (PagerDuty's incident.escalated) rather than to named assignees
// (incident.reassigned).
func (u incidentUpdate) escalates() bool {
	return u.EscalationLevel > 0 && len(u.Assignments) == 0
}

func (s *incidentsAPI) manageIncidents(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Incidents []incidentUpdate `json:"incidents"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	by, ok := s.requester(w, r)
	if !ok {
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Incidents) == 0 {
		writeError(w, http.StatusBadRequest, codeInvalidInput, msgInvalidInput, "incidents must be a non-empty array")
		return
	}
	if len(body.Incidents) > 250 {
		writeError(w, http.StatusRequestEntityTooLarge, codeInvalidInput, msgInvalidInput, "Cannot update more than 250 incidents at once")
		return
	}
	// Validate everything first, so a refused request changes nothing.
	for _, u := range body.Incidents {
		if !s.validUpdate(w, u) {
			return
		}
	}
	list := []map[string]any{}
	for _, u := range body.Incidents {
		inc := s.incident(u.ID)
		before := copyIncident(inc)
		s.apply(inc, u, by)
		s.incidentChanged(r.Context(), before, inc, u.escalates(), by)
		list = append(list, s.incidentJSON(inc))
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"incidents": list})
}

func (s *incidentsAPI) updateIncident(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Incident *incidentUpdate `json:"incident"`
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	by, ok := s.requester(w, r)
	if !ok {
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Incident == nil {
		writeError(w, http.StatusBadRequest, codeInvalidInput, msgInvalidInput, "Request body must contain an incident object")
		return
	}
	u := *body.Incident
	u.ID = r.PathValue("id")
	if !s.validUpdate(w, u) {
		return
	}
	inc := s.incident(u.ID)
	before := copyIncident(inc)
	s.apply(inc, u, by)
	s.incidentChanged(r.Context(), before, inc, u.escalates(), by)
	httpjson.Write(w, http.StatusOK, map[string]any{"incident": s.incidentJSON(inc)})
}

func (s *incidentsAPI) validUpdate(w http.ResponseWriter, u incidentUpdate) bool {
	if u.Type != "incident" && u.Type != "incident_reference" {
		writeError(w, http.StatusBadRequest, codeInvalidInput, msgInvalidInput, "type must be incident or incident_reference")
		return false
	}
	if s.incident(u.ID) == nil {
		writeError(w, http.StatusNotFound, codeNotFound, msgNotFound, "Incident Not Found")
		return false
	}
	switch u.Status {
	case "", "acknowledged", "resolved":
	default:
		writeError(w, http.StatusBadRequest, codeBadStatus, msgBadStatus)
		return false
	}
	// PagerDuty's error codes 1001 and 1002 (developer-docs
	// REST-API/14-Errors.md) refuse to put an incident in the status it is
	// in already; acknowledging a resolved incident reopens it instead.
	if u.Status == "resolved" && s.incident(u.ID).Status == "resolved" {
		writeError(w, http.StatusBadRequest, codeResolved, msgResolved)
		return false
	}
	if u.Status == "acknowledged" && s.incident(u.ID).Status == "acknowledged" {
		writeError(w, http.StatusBadRequest, codeAcknowledged, msgAcknowledged)
		return false
	}
	for _, a := range u.Assignments {
		if s.user(a.Assignee.ID) == nil {
			writeError(w, http.StatusBadRequest, codeAssignee, msgAssignee)
			return false
		}
	}
	return true
}

// apply changes inc as PagerDuty does: escalating to a level assigns the
// people on call at that level; reassigning notifies the new assignees and
// re-triggers an acknowledged incident; acknowledging or
// resolving records who did it, and acknowledging a resolved incident
// reopens it.
func (s *incidentsAPI) apply(inc *Incident, u incidentUpdate, by *User) {
	var assignees []string
	for _, a := range u.Assignments {
		if !slices.Contains(assignees, a.Assignee.ID) {
			assignees = append(assignees, a.Assignee.ID)
		}
	}
	if u.escalates() {
		for _, oc := range s.onCallNow(inc.EscalationPolicyID, u.EscalationLevel) {
			if !slices.Contains(assignees, oc.UserID) {
				assignees = append(assignees, oc.UserID)
			}
		}
		inc.EscalationLevel = u.EscalationLevel
	}
	now := s.now().UTC()
	if len(assignees) > 0 {
		for _, id := range assignees {
			if !slices.Contains(inc.Assignees, id) {
				inc.Notified = append(inc.Notified, id)
			}
		}
		if !slices.Equal(inc.Assignees, assignees) {
			inc.AssignedAt, inc.UpdatedAt = now, now
		}
		inc.Assignees = assignees
		if inc.Status == "acknowledged" {
			inc.setStatus("triggered", by.ID, now)
		}
	}
	switch u.Status {
	case "acknowledged":
		inc.setStatus("acknowledged", by.ID, now)
		inc.AcknowledgedBy = by.ID
		inc.ResolvedBy = ""
	case "resolved":
		inc.setStatus("resolved", by.ID, now)
		inc.ResolvedBy = by.ID
	}
}

func (s *directoryAPI) listUsers(w http.ResponseWriter, r *http.Request) {
	query := strings.ToLower(r.URL.Query().Get("query"))
	s.mu.Lock()
	defer s.mu.Unlock()
	list := []map[string]any{}
	for _, u := range s.users {
		if query != "" && !strings.Contains(strings.ToLower(u.Name), query) && !strings.Contains(strings.ToLower(u.Email), query) {
			continue
		}
		list = append(list, s.userJSON(u))
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"users": list, "limit": 25, "offset": 0, "more": false, "total": nil})
}

func (s *directoryAPI) listOnCalls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	policies, users := q["escalation_policy_ids[]"], q["user_ids[]"]
	includeUsers := slices.Contains(q["include[]"], "users")
	s.mu.Lock()
	defer s.mu.Unlock()
	list := []map[string]any{}
	for _, p := range s.policies {
		if len(policies) > 0 && !slices.Contains(policies, p.id) {
			continue
		}
		for _, oc := range s.onCallNow(p.id, 0) {
			u := s.user(oc.UserID)
			if u == nil || (len(users) > 0 && !slices.Contains(users, u.ID)) {
				continue
			}
			entry := map[string]any{
				"escalation_policy": map[string]any{"id": p.id, "type": "escalation_policy_reference", "summary": p.name},
				"escalation_level":  oc.Level,
				"schedule":          nil,
				"user":              s.userRef(u),
				"start":             timeOrNil(oc.Start),
				"end":               timeOrNil(oc.End),
			}
			if includeUsers {
				entry["user"] = s.userJSON(u)
			}
			if oc.Schedule != "" {
				entry["schedule"] = map[string]any{"id": "PSC" + strings.ToUpper(RoutingKey(oc.Schedule)[:5]), "type": "schedule_reference", "summary": oc.Schedule}
			}
			list = append(list, entry)
		}
	}
	limit, offset := pageBounds(q)
	page := list[min(offset, len(list)):min(offset+limit, len(list))]
	httpjson.Write(w, http.StatusOK, map[string]any{"oncalls": page, "limit": limit, "offset": offset, "more": offset+limit < len(list), "total": nil})
}

// pageBounds reads classic pagination (developer-docs REST-API/09-Pagination.md):
// limit defaults to 25 and is at most 100; offset defaults to 0.
func pageBounds(q url.Values) (limit, offset int) {
	limit, offset = 25, 0
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		limit = min(n, 100)
	}
	if n, err := strconv.Atoi(q.Get("offset")); err == nil && n > 0 {
		offset = n
	}
	return limit, offset
}

func (s *directoryAPI) getService(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.service(r.PathValue("id"))
	if svc == nil {
		writeError(w, http.StatusNotFound, codeNotFound, msgNotFound)
		return
	}
	p := s.policy(svc.EscalationPolicyID)
	httpjson.Write(w, http.StatusOK, map[string]any{"service": map[string]any{
		"id": svc.ID, "type": "service", "summary": svc.Name, "name": svc.Name, "status": "active",
		"self": s.base + "/services/" + svc.ID, "html_url": s.base + "/service-directory/" + svc.ID,
		"escalation_policy": map[string]any{"id": p.id, "type": "escalation_policy_reference", "summary": p.name},
	}})
}

func (s *incidentsAPI) incidentJSON(inc *Incident) map[string]any {
	svc := s.service(inc.ServiceID)
	p := s.policy(inc.EscalationPolicyID)
	// PagerDuty lists no assignments for a resolved incident, and
	// acknowledgements only for an acknowledged one.
	assignments := []map[string]any{}
	for _, id := range inc.Assignees {
		if u := s.user(id); u != nil && inc.Status != "resolved" {
			assignments = append(assignments, map[string]any{"at": inc.AssignedAt.Format(time.RFC3339), "assignee": s.userRef(u)})
		}
	}
	// An acknowledgement by an integration (an Events API acknowledge)
	// names the service as its acknowledger, a service_reference, where a
	// person's names the user.
	acks := []map[string]any{}
	if inc.Status == "acknowledged" {
		if u := s.user(inc.AcknowledgedBy); u != nil {
			acks = append(acks, map[string]any{"at": inc.AcknowledgedAt.Format(time.RFC3339), "acknowledger": s.userRef(u)})
		} else if inc.AcknowledgedBy == "" && svc != nil {
			acks = append(acks, map[string]any{"at": inc.AcknowledgedAt.Format(time.RFC3339), "acknowledger": map[string]any{
				"id": svc.ID, "type": "service_reference", "summary": svc.Name,
				"self": s.base + "/services/" + svc.ID, "html_url": s.base + "/service-directory/" + svc.ID}})
		}
	}
	// last_status_change_at is the incident's updated_at while it is
	// neither acknowledged nor resolved; times are to the second.
	statusAt := inc.StatusChangedAt
	if inc.Status == "triggered" {
		statusAt = inc.UpdatedAt
	}
	out := map[string]any{
		"id": inc.ID, "type": "incident", "summary": "[#" + strconv.Itoa(inc.Number) + "] " + inc.Title,
		"self": s.base + "/incidents/" + inc.ID, "html_url": s.base + "/incidents/" + inc.ID,
		"incident_number": inc.Number, "title": inc.Title, "created_at": inc.CreatedAt.Format(time.RFC3339),
		"updated_at": inc.UpdatedAt.Format(time.RFC3339), "last_status_change_at": statusAt.Format(time.RFC3339),
		"resolved_at": nil,
		"status":      inc.Status, "incident_key": inc.IncidentKey, "urgency": inc.Urgency,
		"assignments": assignments, "acknowledgements": acks,
	}
	if inc.Status == "resolved" {
		out["resolved_at"] = inc.ResolvedAt.Format(time.RFC3339)
	}
	if u := s.user(inc.StatusChangedBy); u != nil {
		out["last_status_change_by"] = s.userRef(u)
	} else if svc != nil {
		out["last_status_change_by"] = map[string]any{"id": svc.ID, "type": "service_reference", "summary": svc.Name,
			"self": s.base + "/services/" + svc.ID, "html_url": s.base + "/service-directory/" + svc.ID}
	}
	if svc != nil {
		out["service"] = map[string]any{"id": svc.ID, "type": "service_reference", "summary": svc.Name}
	}
	if p != nil {
		out["escalation_policy"] = map[string]any{"id": p.id, "type": "escalation_policy_reference", "summary": p.name}
	}
	return out
}

func (s shapes) userRef(u *User) map[string]any {
	return map[string]any{
		"id": u.ID, "type": "user_reference", "summary": u.Name,
		"self": s.base + "/users/" + u.ID, "html_url": s.base + "/users/" + u.ID,
	}
}

func (s shapes) userJSON(u *User) map[string]any {
	return map[string]any{
		"id": u.ID, "type": "user", "summary": u.Name, "name": u.Name, "email": u.Email,
		"self": s.base + "/users/" + u.ID, "html_url": s.base + "/users/" + u.ID,
	}
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

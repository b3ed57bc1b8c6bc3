// Package unleashfake is an in-memory Unleash Admin API for tests and the
// demo mode: the event search (feature, project, type, environment, from,
// to, offset, limit), flag state per environment with the environment on
// and off endpoints, token auth, injected faults (429 with Retry-After,
// 5xx), a record of every call, and a webhook sender that authenticates the
// way Unleash's webhook integration does, with a configured Authorization
// header. Serve it with httptest.NewServer(unleashfake.New(token)).
package unleashfake

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firebreakhq/firebreak/httpjson"
	"github.com/firebreakhq/firebreak/integrations/gatefake"
)

// Feature is a flag with its enabled state per environment.
type Feature struct {
	Project string
	Name    string
	// Enabled maps an environment name to whether the flag is on there.
	Enabled map[string]bool
}

// Event is an Unleash event.
type Event struct {
	// ID is assigned by AddEvent when zero.
	ID          int64
	Type        string // feature-environment-disabled ...
	CreatedBy   string
	CreatedAt   time.Time
	Project     string
	Environment string
	FeatureName string
	// Data and PreData are the event's payloads; nil renders as null.
	Data    map[string]any
	PreData map[string]any
}

// MarshalJSON renders the event the way Unleash does.
func (e Event) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{
		"id":              e.ID,
		"type":            e.Type,
		"createdBy":       e.CreatedBy,
		"createdByUserId": 1,
		"createdAt":       e.CreatedAt.UTC().Format(time.RFC3339Nano),
		"project":         nullable(e.Project),
		"environment":     nullable(e.Environment),
		"featureName":     nullable(e.FeatureName),
		"data":            e.Data,
		"preData":         e.PreData,
		"tags":            []any{},
	})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Call is one request the fake received.
type Call struct {
	Method string
	Path   string
	Query  url.Values
	// Authorized reports whether the request carried the right token.
	Authorized bool
}

// Fault makes the fake fail matching requests instead of serving them.
type Fault struct {
	// Method and PathPrefix select requests; empty matches any.
	Method     string
	PathPrefix string
	// Status is the HTTP status to answer with, such as 429 or 503.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// AfterEffect carries the request out before failing it, as when
	// Unleash applied a change and its answer was lost: a client cannot
	// tell it from a failure that changed nothing. A request the fake
	// refuses (4xx) is answered as refused.
	AfterEffect bool
	// Times is how many requests fail; 0 means 1.
	Times int
}

// Server is the fake API. It is safe for concurrent use.
type Server struct {
	token string
	now   func() time.Time
	mux   *http.ServeMux

	mu       sync.Mutex
	features map[string]*Feature
	// guarded holds the project/environment pairs whose flags change only
	// through change requests.
	guarded map[string]bool
	events  []Event
	calls   []Call
	faults  []Fault
	nextID  int64
}

// Option configures a Server.
type Option func(*Server)

// WithNow sets the clock that dates the events the fake writes when a flag
// is turned on or off; the default is time.Now.
func WithNow(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// New returns an empty fake that accepts token in Authorization.
func New(token string, opts ...Option) *Server {
	s := &Server{token: token, now: time.Now, features: map[string]*Feature{}, nextID: 1}
	for _, o := range opts {
		o(s)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /api/admin/search/events", s.searchEvents)
	s.mux.HandleFunc("GET /api/admin/projects/{project}/features/{feature}", s.getFeature)
	s.mux.HandleFunc("POST /api/admin/projects/{project}/features/{feature}/environments/{env}/{state}", s.toggle)
	return s
}

func featureID(project, name string) string { return project + "/" + name }

// AddFeature adds or replaces a flag.
func (s *Server) AddFeature(f Feature) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.Enabled = maps.Clone(f.Enabled)
	if f.Enabled == nil {
		f.Enabled = map[string]bool{}
	}
	s.features[featureID(f.Project, f.Name)] = &f
}

// RequireChangeRequests makes env of project take changes only through
// change requests, as Unleash Enterprise can: turning a flag on or off
// there directly is answered 403, Unleash's PermissionError naming
// SKIP_CHANGE_REQUEST.
func (s *Server) RequireChangeRequests(project, env string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.guarded == nil {
		s.guarded = map[string]bool{}
	}
	s.guarded[project+"/"+env] = true
}

// AddEvent adds an event and returns it with its ID.
func (s *Server) AddEvent(e Event) Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addEventLocked(e)
}

func (s *Server) addEventLocked(e Event) Event {
	if e.ID == 0 {
		e.ID = s.nextID
	}
	s.nextID = max(s.nextID, e.ID) + 1
	s.events = append(s.events, e)
	return e
}

// Enabled reports whether the flag is on in env; ok is false when the flag
// or the environment does not exist.
func (s *Server) Enabled(project, name, env string) (on, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, found := s.features[featureID(project, name)]
	if !found {
		return false, false
	}
	on, ok = f.Enabled[env]
	return on, ok
}

// Events returns every event, in the order added.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// Calls returns every request received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// InjectFault queues a fault; faults are matched in the order injected.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, f)
}

// ServeHTTP records the call, applies faults and auth, then serves it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	authorized := s.token != "" && r.Header.Get("Authorization") == s.token
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Authorized: authorized})
	fault, faulted := s.takeFaultLocked(r)
	s.mu.Unlock()
	if faulted && !fault.AfterEffect {
		writeFault(w, fault)
		return
	}
	if !authorized {
		writeError(w, http.StatusUnauthorized, "You must log in to use Unleash.")
		return
	}
	if !faulted {
		s.mux.ServeHTTP(w, r)
		return
	}
	gatefake.ServeThenFail(w, r, s.mux, func(w http.ResponseWriter) { writeFault(w, fault) })
}

// writeFault answers with the fault's status and Retry-After.
func writeFault(w http.ResponseWriter, f Fault) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	writeError(w, f.Status, http.StatusText(f.Status))
}

func (s *Server) takeFaultLocked(r *http.Request) (Fault, bool) {
	for i := range s.faults {
		f := &s.faults[i]
		if (f.Method != "" && f.Method != r.Method) || !strings.HasPrefix(r.URL.Path, f.PathPrefix) {
			continue
		}
		f.Times--
		out := *f
		if f.Times == 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		return out, true
	}
	return Fault{}, false
}

// operator parses an "IS:a" or "IS_ANY_OF:a,b" filter; ok is false when
// the filter is malformed.
func operator(v string) (values []string, ok bool) {
	if v == "" {
		return nil, true
	}
	op, rest, found := strings.Cut(v, ":")
	switch {
	case !found:
		return nil, false
	case op == "IS":
		return []string{rest}, true
	case op == "IS_ANY_OF":
		return strings.Split(rest, ","), true
	}
	return nil, false
}

func (s *Server) searchEvents(w http.ResponseWriter, r *http.Request) {
	eq, problem := parseEventQuery(r.URL.Query())
	if problem != "" {
		writeError(w, http.StatusBadRequest, problem)
		return
	}
	s.mu.Lock()
	var match []Event
	for _, e := range s.events {
		if eq.matches(e) {
			match = append(match, e)
		}
	}
	s.mu.Unlock()

	// Newest first, as Unleash lists them.
	slices.SortStableFunc(match, func(a, b Event) int { return cmp.Compare(b.ID, a.ID) })
	total := len(match)
	offset := min(eq.offset, total)
	page := match[offset:min(offset+eq.limit, total)]
	httpjson.Write(w, http.StatusOK, map[string]any{"events": append([]Event{}, page...), "total": total})
}

// eventQuery is an event search: the values each field must take (none
// for any), the days, and the page.
type eventQuery struct {
	filters       map[string][]string
	from, to      *time.Time
	limit, offset int
}

// parseEventQuery reads an event search, or says what is wrong with it.
func parseEventQuery(q url.Values) (eventQuery, string) {
	eq := eventQuery{filters: map[string][]string{}, limit: 50}
	for _, name := range []string{"feature", "project", "type", "environment", "createdBy"} {
		vals, ok := operator(q.Get(name))
		if !ok {
			return eq, fmt.Sprintf("%s must be IS:<value> or IS_ANY_OF:<values>", name)
		}
		eq.filters[name] = vals
	}
	for name, dst := range map[string]**time.Time{"from": &eq.from, "to": &eq.to} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		day, err := time.Parse(time.DateOnly, strings.TrimPrefix(v, "IS:"))
		if err != nil || !strings.HasPrefix(v, "IS:") {
			return eq, name + " must be IS:yyyy-MM-dd"
		}
		*dst = &day
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return eq, "limit must be a positive number"
		}
		eq.limit = min(n, 1000)
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return eq, "offset must not be negative"
		}
		eq.offset = n
	}
	return eq, ""
}

// matches reports whether the event is on the days and has the values
// searched for.
func (eq eventQuery) matches(e Event) bool {
	day := e.CreatedAt.UTC().Truncate(24 * time.Hour)
	if (eq.from != nil && day.Before(*eq.from)) || (eq.to != nil && day.After(*eq.to)) {
		return false
	}
	in := func(field, v string) bool {
		return len(eq.filters[field]) == 0 || slices.Contains(eq.filters[field], v)
	}
	return in("feature", e.FeatureName) && in("project", e.Project) && in("type", e.Type) &&
		in("environment", e.Environment) && in("createdBy", e.CreatedBy)
}

func (s *Server) getFeature(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.features[featureID(r.PathValue("project"), r.PathValue("feature"))]
	if !ok {
		writeError(w, http.StatusNotFound, "Could not find feature")
		return
	}
	envs := make([]map[string]any, 0, len(f.Enabled))
	for _, name := range slices.Sorted(maps.Keys(f.Enabled)) {
		envs = append(envs, map[string]any{"name": name, "enabled": f.Enabled[name]})
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"name": f.Name, "project": f.Project, "environments": envs})
}

func (s *Server) toggle(w http.ResponseWriter, r *http.Request) {
	state := r.PathValue("state")
	if state != "on" && state != "off" {
		writeError(w, http.StatusNotFound, "Not found")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.features[featureID(r.PathValue("project"), r.PathValue("feature"))]
	if !ok {
		writeError(w, http.StatusNotFound, "Could not find feature")
		return
	}
	env := r.PathValue("env")
	was, ok := f.Enabled[env]
	if !ok {
		writeError(w, http.StatusNotFound, "Could not find environment "+env)
		return
	}
	if s.guarded[f.Project+"/"+env] {
		httpjson.Write(w, http.StatusForbidden, map[string]any{"name": "PermissionError",
			"message":     `You don't have the required permissions to perform this operation. To perform this action, you need the "SKIP_CHANGE_REQUEST" permission.`,
			"permissions": []string{"SKIP_CHANGE_REQUEST"}})
		return
	}
	want := state == "on"
	if was != want {
		f.Enabled[env] = want
		typ := "feature-environment-disabled"
		if want {
			typ = "feature-environment-enabled"
		}
		s.addEventLocked(Event{
			Type: typ, CreatedBy: "admin-token", CreatedAt: s.now(),
			Project: f.Project, Environment: env, FeatureName: f.Name,
		})
	}
	w.WriteHeader(http.StatusOK)
}

// NewWebhookRequest builds the POST Unleash's webhook integration would send
// to url for e, with authorization as the configured Authorization header
// (none when empty).
func NewWebhookRequest(ctx context.Context, url, authorization string, e Event) (*http.Request, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("unleashfake: encode event: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("unleashfake: build webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return req, nil
}

// SendWebhook delivers e to url with client and returns the receiver's
// status code.
func SendWebhook(ctx context.Context, client *http.Client, url, authorization string, e Event) (int, error) {
	req, err := NewWebhookRequest(ctx, url, authorization, e)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("unleashfake: send webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func writeError(w http.ResponseWriter, status int, msg string) {
	httpjson.Write(w, status, map[string]any{"name": http.StatusText(status), "message": msg})
}

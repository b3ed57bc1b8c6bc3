// Package instatusfake is an in-memory Instatus API for tests and the
// demo. It enforces what the real API asks of the calls the bot makes: the
// "Authorization: Bearer <key>" header, JSON bodies, the required fields of
// each request (name and status for an incident; status, components and
// statuses for an update), the documented incident and component states in
// Instatus' spelling, that each status names a listed component, and a rate
// limit answered with 429 and Retry-After. Faults can be injected: a call
// refused before Instatus acts (FailNext), or carried out with its answer
// lost (FailAfterActing).
package instatusfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/firebreakhq/firebreak/httpjson"
	"github.com/firebreakhq/firebreak/integrations/gatefake"
)

// Incident is a stored incident.
type Incident struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Status     string            `json:"status"`
	Started    time.Time         `json:"started"`
	Resolved   *time.Time        `json:"resolved"`
	Updates    []Update          `json:"updates"`
	Components map[string]string `json:"-"`
	Notified   int               `json:"-"`
}

// Update is an incident update.
type Update struct {
	ID      string    `json:"id"`
	Message string    `json:"message"`
	Status  string    `json:"status"`
	Notify  bool      `json:"notify"`
	Started time.Time `json:"started"`
}

// Fake is the fake API.
type Fake struct {
	*httptest.Server
	APIKey string
	PageID string

	gate gatefake.Gate

	mu         sync.Mutex
	now        func() time.Time
	seq        int
	incidents  []*Incident
	components map[string]string
	requests   []string
	faults     []int
	lost       gatefake.LostAnswers
	limit      int
	window     []time.Time
}

// New starts a fake with the given key, page and component ids.
func New(apiKey, pageID string, componentIDs ...string) *Fake {
	f := &Fake{APIKey: apiKey, PageID: pageID, now: time.Now, components: map[string]string{}}
	for _, id := range componentIDs {
		f.components[id] = "OPERATIONAL"
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.gate.Serve(w, r, f.serveOrLose) }))
	return f
}

// serveOrLose serves r, and answers a write a FailAfterActing status once
// it is carried out.
func (f *Fake) serveOrLose(w http.ResponseWriter, r *http.Request) {
	f.lost.Serve(w, r, f.serve, func(w http.ResponseWriter, status int) { fail(w, status, http.StatusText(status)) })
}

// SetClock makes the fake read time from now.
func (f *Fake) SetClock(now func() time.Time) { f.mu.Lock(); f.now = now; f.mu.Unlock() }

// HoldCreates keeps the incident creates that arrive from now on waiting
// until release is called: before Instatus makes the incident (a create still
// on its way) or, with afterActing, once it is made and before the answer
// goes back. held receives once for each create that waits.
func (f *Fake) HoldCreates(afterActing bool) (held <-chan struct{}, release func()) {
	return f.gate.Hold(func(r *http.Request) bool {
		return r.Method == http.MethodPost && r.URL.Path == "/v1/"+f.PageID+"/incidents"
	}, afterActing)
}

// FailNext makes the next calls answer with these statuses.
func (f *Fake) FailNext(statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, statuses...)
}

// FailAfterActing makes the next writes (incidents, updates) take effect
// and then answer with the given statuses, in order, as when Instatus acts
// and its answer is lost (a 500 after the fact, a gateway timeout). A write
// Instatus refuses is answered as it is, and uses up its status.
func (f *Fake) FailAfterActing(statuses ...int) { f.lost.Queue(statuses...) }

// LimitPerMinute allows n requests per rolling minute; more get 429.
func (f *Fake) LimitPerMinute(n int) { f.mu.Lock(); f.limit = n; f.mu.Unlock() }

// Incidents returns copies of the stored incidents.
func (f *Fake) Incidents() []Incident {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Incident, 0, len(f.incidents))
	for _, in := range f.incidents {
		c := *in
		c.Updates = slices.Clone(in.Updates)
		out = append(out, c)
	}
	return out
}

// Component returns a component's status, in Instatus' spelling.
func (f *Fake) Component(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.components[id]
}

// Requests lists the requests served, as "METHOD /path".
func (f *Fake) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

var (
	incidentStates  = []string{"INVESTIGATING", "IDENTIFIED", "MONITORING", "RESOLVED"}
	componentStates = []string{"OPERATIONAL", "UNDERMAINTENANCE", "DEGRADEDPERFORMANCE", "PARTIALOUTAGE", "MAJOROUTAGE"}
)

type body struct {
	Name       *string   `json:"name"`
	Message    *string   `json:"message"`
	Components *[]string `json:"components"`
	Started    *string   `json:"started"`
	Status     *string   `json:"status"`
	Notify     *bool     `json:"notify"`
	Statuses   *[]struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"statuses"`
}

func fail(w http.ResponseWriter, status int, msg string) {
	httpjson.Write(w, status, map[string]string{"message": msg})
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "Bearer "+f.APIKey {
		fail(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	now := f.now()
	if !f.admit(w, now) {
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/"+f.PageID+"/incidents")
	if !ok {
		fail(w, http.StatusNotFound, "Not found")
		return
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case rest == "" && r.Method == http.MethodGet:
		f.listIncidents(w, r)
	case rest == "" && r.Method == http.MethodPost:
		f.createIncident(w, r, now)
	case len(parts) == 1 && parts[0] != "":
		f.serveIncident(w, r, parts[0])
	case len(parts) == 2 && parts[1] == "incident-updates" && r.Method == http.MethodPost:
		f.postUpdate(w, r, parts[0], now)
	default:
		fail(w, http.StatusNotFound, "Not found")
	}
}

// admit answers the request with an error instead when the rate limit is
// reached or a fault is queued, and reports whether it may be served.
func (f *Fake) admit(w http.ResponseWriter, now time.Time) bool {
	if f.limit > 0 {
		cut := now.Add(-time.Minute)
		f.window = slices.DeleteFunc(f.window, func(t time.Time) bool { return !t.After(cut) })
		if len(f.window) >= f.limit {
			w.Header().Set("Retry-After", fmt.Sprint(int(f.window[0].Add(time.Minute).Sub(now).Seconds())+1))
			fail(w, http.StatusTooManyRequests, "Too many requests")
			return false
		}
		f.window = append(f.window, now)
	}
	if len(f.faults) > 0 {
		status := f.faults[0]
		f.faults = f.faults[1:]
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "2")
		}
		fail(w, status, http.StatusText(status))
		return false
	}
	return true
}

// listIncidents answers one page of the incidents, newest first, as
// Instatus lists them: the status filter, page from 1, per_page 50 unless
// asked, 100 at most.
func (f *Fake) listIncidents(w http.ResponseWriter, r *http.Request) {
	include := strings.Split(r.URL.Query().Get("status"), ",")
	out := []*Incident{}
	for _, in := range slices.Backward(f.incidents) {
		if r.URL.Query().Get("status") == "" || slices.Contains(include, in.Status) {
			out = append(out, in)
		}
	}
	httpjson.Write(w, http.StatusOK, gatefake.Page(out, r.URL.Query(), 50, 100))
}

func (f *Fake) createIncident(w http.ResponseWriter, r *http.Request, now time.Time) {
	b, ok := f.decode(w, r, false)
	if !ok {
		return
	}
	if b.Name == nil || strings.TrimSpace(*b.Name) == "" || b.Status == nil {
		fail(w, http.StatusBadRequest, "name and status are required")
		return
	}
	f.seq++
	in := &Incident{ID: fmt.Sprintf("ck%08d", f.seq), Name: *b.Name, Components: map[string]string{}, Started: now}
	if b.Started != nil {
		t, err := time.Parse(time.RFC3339, *b.Started)
		if err != nil {
			fail(w, http.StatusBadRequest, "started must be an ISO 8601 date")
			return
		}
		in.Started = t
	}
	f.apply(in, b, now)
	f.incidents = append(f.incidents, in)
	httpjson.Write(w, http.StatusOK, in)
}

// serveIncident reads (GET) or updates (PUT) one incident.
func (f *Fake) serveIncident(w http.ResponseWriter, r *http.Request, id string) {
	in := f.find(id)
	if in == nil {
		fail(w, http.StatusNotFound, "Incident not found")
		return
	}
	switch r.Method {
	case http.MethodGet:
		httpjson.Write(w, http.StatusOK, in)
	case http.MethodPut:
		b, ok := f.decode(w, r, false)
		if !ok {
			return
		}
		for _, s := range derefStatuses(b) {
			f.components[s.ID], in.Components[s.ID] = s.Status, s.Status
		}
		if b.Status != nil {
			in.Status = *b.Status
		}
		httpjson.Write(w, http.StatusOK, in)
	default:
		fail(w, http.StatusMethodNotAllowed, "Method not allowed")
	}
}

func (f *Fake) postUpdate(w http.ResponseWriter, r *http.Request, id string, now time.Time) {
	in := f.find(id)
	if in == nil {
		fail(w, http.StatusNotFound, "Incident not found")
		return
	}
	b, ok := f.decode(w, r, true)
	if !ok {
		return
	}
	u := f.apply(in, b, now)
	httpjson.Write(w, http.StatusOK, map[string]any{"id": u.ID, "message": u.Message, "status": u.Status, "notify": u.Notify,
		"started": u.Started, "incident": map[string]any{"id": in.ID, "name": in.Name, "status": in.Status}})
}

func derefStatuses(b *body) []struct {
	ID     string `json:"id"`
	Status string `json:"status"`
} {
	if b.Statuses == nil {
		return nil
	}
	return *b.Statuses
}

func (f *Fake) find(id string) *Incident {
	for _, in := range f.incidents {
		if in.ID == id {
			return in
		}
	}
	return nil
}

// decode checks a request body; an update requires status, components
// and statuses, as the API's CreateIncidentUpdateRequest does.
func (f *Fake) decode(w http.ResponseWriter, r *http.Request, update bool) (*body, bool) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		fail(w, http.StatusBadRequest, "Content-Type must be application/json")
		return nil, false
	}
	raw, _ := io.ReadAll(r.Body)
	var b body
	if err := json.Unmarshal(raw, &b); err != nil {
		fail(w, http.StatusBadRequest, "invalid JSON")
		return nil, false
	}
	if update && (b.Status == nil || b.Components == nil || b.Statuses == nil) {
		fail(w, http.StatusBadRequest, "status, components and statuses are required")
		return nil, false
	}
	if b.Status != nil && !slices.Contains(incidentStates, *b.Status) {
		fail(w, http.StatusBadRequest, "status must be one of "+strings.Join(incidentStates, ", "))
		return nil, false
	}
	var listed []string
	if b.Components != nil {
		listed = *b.Components
	}
	for _, id := range listed {
		if _, ok := f.components[id]; !ok {
			fail(w, http.StatusBadRequest, "unknown component "+id)
			return nil, false
		}
	}
	for _, s := range derefStatuses(&b) {
		if !slices.Contains(listed, s.ID) {
			fail(w, http.StatusBadRequest, "component "+s.ID+" has a status but is not in components")
			return nil, false
		}
		if !slices.Contains(componentStates, s.Status) {
			fail(w, http.StatusBadRequest, "component status must be one of "+strings.Join(componentStates, ", "))
			return nil, false
		}
	}
	return &b, true
}

func (f *Fake) apply(in *Incident, b *body, now time.Time) Update {
	for _, s := range derefStatuses(b) {
		f.components[s.ID], in.Components[s.ID] = s.Status, s.Status
	}
	if b.Status != nil {
		in.Status = *b.Status
		if in.Status == "RESOLVED" {
			t := now
			in.Resolved = &t
		}
	}
	f.seq++
	u := Update{ID: fmt.Sprintf("cu%08d", f.seq), Status: in.Status, Notify: b.Notify != nil && *b.Notify, Started: now}
	if b.Message != nil {
		u.Message = *b.Message
	}
	in.Updates = append(in.Updates, u)
	if u.Notify {
		in.Notified++
	}
	return u
}

// Package statuspagefake is an in-memory Atlassian Statuspage REST API for
// tests and the demo. It enforces what the real API does to the calls the
// bot makes: the "Authorization: OAuth <key>" header, the page id, JSON
// bodies wrapped in "incident", the documented incident and component
// states and impacts, known component ids, metadata whose top-level values
// are objects, and its rate limit (answered with 429 and Retry-After).
// Faults can be injected: a call refused before Statuspage acts
// (FailNext), or carried out with its answer lost (FailAfterActing).
package statuspagefake

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
	ID             string     `json:"id"`
	PageID         string     `json:"page_id"`
	Name           string     `json:"name"`
	Status         string     `json:"status"`
	Impact         string     `json:"impact"`
	ImpactOverride string     `json:"impact_override,omitempty"`
	Shortlink      string     `json:"shortlink"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	Updates        []Update   `json:"incident_updates"`
	// Metadata is what the incident was created (or last updated) with;
	// {} when none.
	Metadata   map[string]any    `json:"metadata"`
	Components map[string]string `json:"-"`
	// Notified counts the posts that asked to notify subscribers.
	Notified int `json:"-"`
}

// Update is one incident update.
type Update struct {
	ID                   string    `json:"id"`
	IncidentID           string    `json:"incident_id"`
	Status               string    `json:"status"`
	Body                 string    `json:"body"`
	CreatedAt            time.Time `json:"created_at"`
	DeliverNotifications bool      `json:"deliver_notifications"`
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
	components map[string]string // id -> status
	requests   []string
	// faults: the next calls answer with these statuses.
	faults []int
	// lost loses the answers of the next writes (FailAfterActing).
	lost gatefake.LostAnswers
	// limit is the requests allowed per window; zero means none.
	limit  int
	window []time.Time
}

// New starts a fake with the given key, page and component ids (all
// operational).
func New(apiKey, pageID string, componentIDs ...string) *Fake {
	f := &Fake{APIKey: apiKey, PageID: pageID, now: time.Now, components: map[string]string{}}
	for _, id := range componentIDs {
		f.components[id] = "operational"
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.gate.Serve(w, r, f.serveOrLose) }))
	return f
}

// serveOrLose serves r, and answers a write a FailAfterActing status once
// it is carried out.
func (f *Fake) serveOrLose(w http.ResponseWriter, r *http.Request) {
	f.lost.Serve(w, r, f.serve, func(w http.ResponseWriter, status int) { fail(w, status, http.StatusText(status)) })
}

// SetClock makes the fake read time from now (for created_at and the rate
// limit window).
func (f *Fake) SetClock(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

// HoldCreates keeps the incident creates that arrive from now on waiting
// until release is called: before Statuspage makes the incident (a create still
// on its way) or, with afterActing, once it is made and before the answer
// goes back. held receives once for each create that waits.
func (f *Fake) HoldCreates(afterActing bool) (held <-chan struct{}, release func()) {
	return f.gate.Hold(func(r *http.Request) bool {
		return r.Method == http.MethodPost && r.URL.Path == "/pages/"+f.PageID+"/incidents"
	}, afterActing)
}

// FailNext makes the next calls answer with the given statuses, in order.
func (f *Fake) FailNext(statuses ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, statuses...)
}

// FailAfterActing makes the next writes (creates and updates) take effect
// and then answer with the given statuses, in order, as when Statuspage
// acts and its answer is lost (a 500 after the fact, a gateway timeout). A
// write Statuspage refuses is answered as it is, and uses up its status.
func (f *Fake) FailAfterActing(statuses ...int) { f.lost.Queue(statuses...) }

// LimitPerMinute enforces Statuspage's limit: n requests per rolling minute
// per key; more are answered 429 with Retry-After.
func (f *Fake) LimitPerMinute(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limit = n
}

// Incidents returns copies of the stored incidents, oldest first.
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

// Component returns a component's status.
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
	incidentStates  = []string{"investigating", "identified", "monitoring", "resolved", "postmortem"}
	componentStates = []string{"operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"}
	impacts         = []string{"none", "minor", "major", "critical"}
)

type incidentBody struct {
	Incident *struct {
		Name                 *string           `json:"name"`
		Status               *string           `json:"status"`
		ImpactOverride       *string           `json:"impact_override"`
		Body                 *string           `json:"body"`
		ComponentIDs         []string          `json:"component_ids"`
		Components           map[string]string `json:"components"`
		DeliverNotifications *bool             `json:"deliver_notifications"`
		Metadata             json.RawMessage   `json:"metadata"`
	} `json:"incident"`
}

func fail(w http.ResponseWriter, status int, msg string) {
	httpjson.Write(w, status, map[string]string{"error": msg})
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "OAuth "+f.APIKey {
		fail(w, http.StatusUnauthorized, "Could not authenticate")
		return
	}
	now := f.now()
	if !f.admit(w, now) {
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/pages/"+f.PageID+"/incidents")
	if !ok {
		fail(w, http.StatusNotFound, "The requested resource could not be found.")
		return
	}
	switch {
	case rest == "" && r.Method == http.MethodPost:
		f.create(w, r, now)
	case rest == "/unresolved" && r.Method == http.MethodGet:
		f.listUnresolved(w, r)
	case strings.HasPrefix(rest, "/") && !strings.Contains(rest[1:], "/"):
		f.serveIncident(w, r, rest[1:], now)
	default:
		fail(w, http.StatusNotFound, "The requested resource could not be found.")
	}
}

// admit answers the request with an error instead when the rate limit is
// reached or a fault is queued, and reports whether it may be served.
func (f *Fake) admit(w http.ResponseWriter, now time.Time) bool {
	if f.limit > 0 {
		cut := now.Add(-time.Minute)
		f.window = slices.DeleteFunc(f.window, func(t time.Time) bool { return !t.After(cut) })
		if len(f.window) >= f.limit {
			wait := f.window[0].Add(time.Minute).Sub(now)
			w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
			fail(w, http.StatusTooManyRequests, "Rate limit exceeded")
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

// listUnresolved answers one page of the unresolved incidents, as
// Statuspage pages them: page from 1, per_page 100 unless asked for fewer.
// The documentation gives no order; the fake answers oldest first, so a
// client that reads only the first page misses the newest.
func (f *Fake) listUnresolved(w http.ResponseWriter, r *http.Request) {
	open := []*Incident{}
	for _, in := range f.incidents {
		if in.Status != "resolved" && in.Status != "postmortem" {
			open = append(open, in)
		}
	}
	httpjson.Write(w, http.StatusOK, gatefake.Page(open, r.URL.Query(), 100, 100))
}

// serveIncident reads (GET) or updates (PATCH, PUT) one incident.
func (f *Fake) serveIncident(w http.ResponseWriter, r *http.Request, id string, now time.Time) {
	in := f.find(id)
	if in == nil {
		fail(w, http.StatusNotFound, "The requested resource could not be found.")
		return
	}
	switch r.Method {
	case http.MethodGet:
		httpjson.Write(w, http.StatusOK, in)
	case http.MethodPatch, http.MethodPut:
		f.update(w, r, in, now)
	default:
		fail(w, http.StatusMethodNotAllowed, "Method not allowed")
	}
}

func (f *Fake) find(id string) *Incident {
	for _, in := range f.incidents {
		if in.ID == id {
			return in
		}
	}
	return nil
}

func (f *Fake) decode(w http.ResponseWriter, r *http.Request) (*incidentBody, bool) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		fail(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return nil, false
	}
	raw, _ := io.ReadAll(r.Body)
	var b incidentBody
	if err := json.Unmarshal(raw, &b); err != nil || b.Incident == nil {
		fail(w, http.StatusBadRequest, "incident is missing")
		return nil, false
	}
	in := b.Incident
	if in.Status != nil && !slices.Contains(incidentStates, *in.Status) {
		fail(w, http.StatusUnprocessableEntity, "Status is not included in the list")
		return nil, false
	}
	if in.ImpactOverride != nil && !slices.Contains(impacts, *in.ImpactOverride) {
		fail(w, http.StatusUnprocessableEntity, "Impact override is not included in the list")
		return nil, false
	}
	for id, st := range in.Components {
		if _, ok := f.components[id]; !ok {
			fail(w, http.StatusUnprocessableEntity, "Component "+id+" does not belong to the page")
			return nil, false
		}
		if !slices.Contains(componentStates, st) {
			fail(w, http.StatusUnprocessableEntity, "Component status "+st+" is not valid")
			return nil, false
		}
	}
	for _, id := range in.ComponentIDs {
		if _, ok := f.components[id]; !ok {
			fail(w, http.StatusUnprocessableEntity, "Component "+id+" does not belong to the page")
			return nil, false
		}
	}
	if _, ok := metadata(in.Metadata); !ok {
		fail(w, http.StatusUnprocessableEntity, "Metadata must be an object whose top-level values are objects")
		return nil, false
	}
	return &b, true
}

// metadata reads an incident's metadata: absent or null is none; anything
// but an object of objects is refused, as the API documents ("All
// top-level values in the object must also be objects").
func metadata(raw json.RawMessage) (map[string]any, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, true
	}
	var md map[string]json.RawMessage
	if json.Unmarshal(raw, &md) != nil {
		return nil, false
	}
	out := make(map[string]any, len(md))
	for k, v := range md {
		var obj map[string]any
		if json.Unmarshal(v, &obj) != nil || obj == nil {
			return nil, false
		}
		out[k] = obj
	}
	return out, true
}

func (f *Fake) create(w http.ResponseWriter, r *http.Request, now time.Time) {
	b, ok := f.decode(w, r)
	if !ok {
		return
	}
	in := b.Incident
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		fail(w, http.StatusUnprocessableEntity, "Name can't be blank")
		return
	}
	f.seq++
	inc := &Incident{ID: fmt.Sprintf("sp%010d", f.seq), PageID: f.PageID, Name: *in.Name, Status: "investigating",
		Impact: "none", CreatedAt: now, UpdatedAt: now, Metadata: map[string]any{}, Components: map[string]string{}}
	inc.Shortlink = "https://stspg.io/" + inc.ID
	if in.ImpactOverride != nil {
		inc.ImpactOverride, inc.Impact = *in.ImpactOverride, *in.ImpactOverride
	}
	f.apply(inc, b, now)
	f.incidents = append(f.incidents, inc)
	httpjson.Write(w, http.StatusCreated, inc)
}

func (f *Fake) update(w http.ResponseWriter, r *http.Request, inc *Incident, now time.Time) {
	b, ok := f.decode(w, r)
	if !ok {
		return
	}
	f.apply(inc, b, now)
	httpjson.Write(w, http.StatusOK, inc)
}

// apply changes an incident as Statuspage does: a status or a body adds an
// incident update; components change the page's components.
func (f *Fake) apply(inc *Incident, b *incidentBody, now time.Time) {
	in := b.Incident
	if md, _ := metadata(in.Metadata); md != nil {
		inc.Metadata = md
	}
	for id, st := range in.Components {
		f.components[id] = st
		inc.Components[id] = st
	}
	notify := in.DeliverNotifications == nil || *in.DeliverNotifications
	if in.Status == nil && in.Body == nil {
		return
	}
	if in.Status != nil {
		inc.Status = *in.Status
		if inc.Status == "resolved" {
			t := now
			inc.ResolvedAt = &t
		}
	}
	body := ""
	if in.Body != nil {
		body = *in.Body
	}
	f.seq++
	inc.Updates = append([]Update{{ID: fmt.Sprintf("up%010d", f.seq), IncidentID: inc.ID, Status: inc.Status, Body: body,
		CreatedAt: now, DeliverNotifications: notify}}, inc.Updates...)
	inc.UpdatedAt = now
	if notify {
		inc.Notified++
	}
}

// Package pdfake is an in-process PagerDuty for tests and for the demo mode:
// an httptest server that serves the parts of the REST API v2 and the
// Events API v2 that firebreak uses, enforcing PagerDuty's rules for them
// (token auth, the From header, known services and users, one open incident
// per incident_key, Events v2 validation and dedup_key merging), with fault
// injection and a signed v3 webhook sender. Configured WithWebhooks, it
// also sends PagerDuty's v3 webhooks by itself for the changes made through
// its APIs, as a webhook subscription does.
//
// Point go-pagerduty at it with WithAPIEndpoint(s.URL()) and
// WithV2EventsAPIEndpoint(s.EventsURL()).
package pdfake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/firebreakhq/firebreak/httpjson"
)

// DefaultToken is the REST API token the server accepts unless WithToken
// says otherwise.
const DefaultToken = "pdfake-token"

// Service is a PagerDuty service.
type Service struct {
	// ID is generated ("PS00001") when empty.
	ID   string
	Name string
	// EscalationPolicyID is the service's default escalation policy; one is
	// created when it is empty or unknown.
	EscalationPolicyID string
	// RoutingKey is the 32-character key of the service's Events API v2
	// integration; generated when empty.
	RoutingKey string
}

// User is a PagerDuty user.
type User struct {
	// ID is generated ("PU00001") when empty.
	ID    string
	Name  string
	Email string
	// ReadOnly users (PagerDuty's read-only and observer roles) may not
	// change incidents: a create or update naming one in From is refused
	// with 403, PagerDuty's code 1018 "Requester not authorized to perform
	// action".
	ReadOnly bool
}

// OnCall puts a user on call at a level of an escalation policy.
type OnCall struct {
	EscalationPolicyID string
	// Level starts at 1.
	Level  int
	UserID string
	// Schedule names the schedule the user is on call through; empty means
	// the user is a direct target of the level.
	Schedule string
	// Start and End bound the shift; zero means open-ended.
	Start, End time.Time
}

// Incident is a PagerDuty incident as the server holds it.
type Incident struct {
	ID                 string
	Number             int
	Title              string
	Details            string
	ServiceID          string
	EscalationPolicyID string
	IncidentKey        string
	Urgency            string
	// Status is triggered, acknowledged or resolved.
	Status string
	// CreatedVia is "rest" or "events".
	CreatedVia string
	// CreatedBy is the From e-mail of a REST create.
	CreatedBy string
	// Assignees are user ids.
	Assignees []string
	// Notified lists the user ids PagerDuty notified, in order, one entry
	// per notification.
	Notified []string
	// AcknowledgedBy and ResolvedBy are user ids, empty when an event (or
	// nobody) did it.
	AcknowledgedBy string
	ResolvedBy     string
	// Alerts counts the Events v2 triggers merged into the incident.
	Alerts int
	// EscalationLevel is the level of its escalation policy the incident
	// is at: 1 when it opens, then the escalation_level of the last update
	// that escalated it. PagerDuty's incident object does not show it; a
	// client tells it from the assignees and the on-calls.
	EscalationLevel int
	CreatedAt       time.Time
	// UpdatedAt is when the incident last changed, StatusChangedAt when
	// its status last changed and StatusChangedBy the user id that changed
	// it (empty for an integration, or when it opened); AssignedAt is when
	// its assignees were last set; AcknowledgedAt and ResolvedAt are when
	// it was last acknowledged and resolved, zero while it is not. The
	// REST API shows them as updated_at, last_status_change_at (updated_at
	// while the incident is triggered), last_status_change_by,
	// assignments[].at, acknowledgements[].at and resolved_at.
	UpdatedAt, StatusChangedAt, AssignedAt, AcknowledgedAt, ResolvedAt time.Time
	StatusChangedBy                                                    string
}

// setStatus changes the incident's status at now, as the user with id by
// ("" for an integration), keeping PagerDuty's times of it.
func (inc *Incident) setStatus(status, by string, now time.Time) {
	if inc.Status == status {
		return
	}
	inc.Status, inc.StatusChangedAt, inc.StatusChangedBy, inc.UpdatedAt = status, now, by, now
	switch status {
	case "acknowledged":
		inc.AcknowledgedAt, inc.ResolvedAt = now, time.Time{}
	case "resolved":
		inc.ResolvedAt = now
	default:
		inc.AcknowledgedAt, inc.ResolvedAt = time.Time{}, time.Time{}
	}
}

// Event is one accepted or refused Events API v2 request.
type Event struct {
	RoutingKey    string
	Action        string
	DedupKey      string
	Summary       string
	Source        string
	Severity      string
	Component     string
	Class         string
	Client        string
	ClientURL     string
	CustomDetails map[string]any
	Links         []map[string]any
	// Status is the HTTP status the server answered.
	Status int
}

// Call is one request the server received.
type Call struct {
	Method   string
	Path     string
	RawQuery string
	// From is the From header.
	From string
	// Authorized reports whether the request carried the right token.
	Authorized bool
	// Status is the HTTP status answered; 0 when the connection was cut.
	Status int
}

type escalationPolicy struct {
	id, name string
}

// Server is a fake PagerDuty. It is safe for concurrent use. Its services,
// users, on-calls and incidents, with the methods that seed and read them,
// are the world it embeds; its fault injection is the faultInjector, its
// request log the recorder and its v3 webhook deliveries the webhookSender
// it embeds. Its endpoints are incidentsAPI, directoryAPI (users, on-calls,
// services) and eventsAPI.
type Server struct {
	world
	shapes
	faultInjector
	recorder
	webhookSender

	// auto sends the webhooks of the changes made through the APIs, when
	// configured.
	auto autoWebhooks

	srv   *httptest.Server
	token string
}

// world is the fake's services, users, escalation policies, on-calls,
// incidents and Events API requests. mu guards it.
type world struct {
	now func() time.Time

	mu         sync.Mutex
	services   []*Service
	users      []*User
	policies   []*escalationPolicy
	oncalls    []OnCall
	incidents  []*Incident
	events     []Event
	seq        int
	webhookSeq int
}

// shapes renders the fake's objects as PagerDuty's JSON, with URLs under
// base, the fake's address.
type shapes struct{ base string }

// recorder is the request log. callMu guards it on its own: a call is
// recorded while a handler holding world.mu writes its answer.
type recorder struct {
	callMu sync.Mutex
	calls  []Call
}

// faultInjector holds the faults the next requests meet. fmu guards it.
type faultInjector struct {
	fmu        sync.Mutex
	latency    time.Duration
	failN      int
	failStatus int
	limitN     int
	retryAfter time.Duration
	down       bool
	// afterN incident updates take effect and then answer afterStatus.
	afterN      int
	afterStatus int
}

// injected is what one request meets: latency, an outage, a 5xx or a 429
// instead of its answer, or a 5xx after it took effect.
type injected struct {
	latency     time.Duration
	down        bool
	fail        bool
	failStatus  int
	limited     bool
	retryAfter  time.Duration
	afterEffect bool
	afterStatus int
}

// Option configures a Server.
type Option func(*Server)

// WithToken sets the REST API token the server accepts.
func WithToken(token string) Option {
	return func(s *Server) { s.token = token }
}

// WithClock sets the server's clock, for incident and on-call times.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// New starts a Server; Close stops it.
func New(opts ...Option) *Server {
	s := &Server{token: DefaultToken, world: world{now: time.Now}}
	for _, opt := range opts {
		opt(s)
	}
	s.srv = httptest.NewUnstartedServer(s.routes())
	s.shapes = shapes{base: "http://" + s.srv.Listener.Addr().String()}
	s.webhookSender = webhookSender{world: &s.world, shapes: s.shapes}
	s.srv.Start()
	return s
}

// Close shuts the server down; webhooks still queued are dropped.
func (s *Server) Close() {
	s.auto.close()
	s.srv.Close()
}

// URL is the REST API base URL.
func (s *Server) URL() string { return s.srv.URL }

// EventsURL is the Events API base URL; events go to EventsURL()+"/v2/enqueue".
func (s *Server) EventsURL() string { return s.srv.URL }

// Token is the REST API token the server accepts.
func (s *Server) Token() string { return s.token }

// AddService adds svc and returns it with its generated fields filled in.
func (s *world) AddService(svc Service) Service {
	s.mu.Lock()
	defer s.mu.Unlock()
	if svc.ID == "" {
		svc.ID = s.nextID("PS")
	}
	if svc.Name == "" {
		svc.Name = svc.ID
	}
	if svc.RoutingKey == "" {
		svc.RoutingKey = RoutingKey(svc.ID)
	}
	if svc.EscalationPolicyID == "" {
		svc.EscalationPolicyID = s.nextID("PE")
	}
	s.ensurePolicy(svc.EscalationPolicyID, svc.Name+" escalation policy")
	stored := svc
	s.services = append(s.services, &stored)
	return svc
}

// AddUser adds u and returns it with its id filled in.
func (s *world) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		u.ID = s.nextID("PU")
	}
	stored := u
	s.users = append(s.users, &stored)
	return u
}

// AddEscalationPolicy adds (or renames) an escalation policy.
func (s *world) AddEscalationPolicy(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.policy(id); p != nil {
		p.name = name
		return
	}
	s.ensurePolicy(id, name)
}

// AddOnCall puts a user on call; the escalation policy is created if new.
func (s *world) AddOnCall(oc OnCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensurePolicy(oc.EscalationPolicyID, oc.EscalationPolicyID)
	s.oncalls = append(s.oncalls, oc)
}

// Incidents returns a copy of every incident, oldest first.
func (s *world) Incidents() []Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Incident, len(s.incidents))
	for i, inc := range s.incidents {
		out[i] = copyIncident(inc)
	}
	return out
}

// Incident returns a copy of the incident with id.
func (s *world) Incident(id string) (Incident, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inc := s.incident(id); inc != nil {
		return copyIncident(inc), true
	}
	return Incident{}, false
}

// Unacknowledge returns an acknowledged incident to triggered, as
// PagerDuty does when the acknowledgement times out (the service's
// acknowledgement timeout): nobody did it, and its acknowledgement is gone.
// It sends no webhook. It reports whether the incident was acknowledged.
func (s *world) Unacknowledge(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc := s.incident(id)
	if inc == nil || inc.Status != "acknowledged" {
		return false
	}
	inc.setStatus("triggered", "", s.now().UTC())
	inc.AcknowledgedBy = ""
	return true
}

// Events returns every Events API v2 request received, in order.
func (s *world) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// Calls returns every request received, in order.
func (s *recorder) Calls() []Call {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	return slices.Clone(s.calls)
}

// UserName returns the name of the user with id, or "".
func (s *world) UserName(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.user(id); u != nil {
		return u.Name
	}
	return ""
}

// SetLatency delays every answer by d (or until the request is cancelled).
func (s *faultInjector) SetLatency(d time.Duration) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.latency = d
}

// FailNext answers the next n requests with status (500 when 0) and
// PagerDuty's internal error body.
func (s *faultInjector) FailNext(n, status int) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if status == 0 {
		status = http.StatusInternalServerError
	}
	s.failN, s.failStatus = n, status
}

// FailNextUpdateAfterEffect makes the next n incident updates (PUT
// /incidents and PUT /incidents/{id}) take effect, webhooks included, and
// then answer status (500 when 0) with PagerDuty's internal error body:
// the failure a client cannot tell from one that changed nothing. An
// update PagerDuty refuses (4xx) changes nothing and is answered as it is.
// Other requests are not counted.
func (s *faultInjector) FailNextUpdateAfterEffect(n, status int) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if status == 0 {
		status = http.StatusInternalServerError
	}
	s.afterN, s.afterStatus = n, status
}

// RateLimitNext answers the next n requests with 429, Retry-After and
// ratelimit-reset set to wait.
func (s *faultInjector) RateLimitNext(n int, wait time.Duration) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.limitN, s.retryAfter = n, wait
}

// SetDown makes the server cut every connection without answering, as an
// unreachable PagerDuty would, until called with false.
func (s *faultInjector) SetDown(down bool) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.down = down
}

// take returns the faults the request meets and uses up one counted
// failure, rate limit or, for an incident update, failure after effect.
func (s *faultInjector) take(update bool) injected {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	in := injected{latency: s.latency, down: s.down, failStatus: s.failStatus, retryAfter: s.retryAfter, afterStatus: s.afterStatus}
	if in.fail = s.failN > 0; in.fail {
		s.failN--
	}
	if in.limited = !in.fail && s.limitN > 0; in.limited {
		s.limitN--
	}
	if in.afterEffect = update && !in.fail && !in.limited && s.afterN > 0; in.afterEffect {
		s.afterN--
	}
	return in
}

func (s *recorder) record(c Call) {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	s.calls = append(s.calls, c)
}

// RoutingKey derives a well-formed 32-character routing key from seed.
func RoutingKey(seed string) string {
	sum := sha256.Sum256([]byte("pdfake routing key " + seed))
	return hex.EncodeToString(sum[:16])
}

// Locked helpers: the caller holds s.mu.

func (s *world) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%05d", prefix, s.seq)
}

func (s *world) ensurePolicy(id, name string) {
	if s.policy(id) == nil {
		s.policies = append(s.policies, &escalationPolicy{id: id, name: name})
	}
}

func (s *world) policy(id string) *escalationPolicy {
	for _, p := range s.policies {
		if p.id == id {
			return p
		}
	}
	return nil
}

func (s *world) service(id string) *Service {
	for _, svc := range s.services {
		if svc.ID == id {
			return svc
		}
	}
	return nil
}

func (s *world) serviceByRoutingKey(key string) *Service {
	for _, svc := range s.services {
		if svc.RoutingKey == key {
			return svc
		}
	}
	return nil
}

func (s *world) user(id string) *User {
	for _, u := range s.users {
		if u.ID == id {
			return u
		}
	}
	return nil
}

func (s *world) userByEmail(email string) *User {
	for _, u := range s.users {
		if strings.EqualFold(u.Email, email) {
			return u
		}
	}
	return nil
}

func (s *world) incident(id string) *Incident {
	for _, inc := range s.incidents {
		if inc.ID == id {
			return inc
		}
	}
	return nil
}

// openIncident returns the unresolved incident with key on the service.
func (s *world) openIncident(serviceID, key string) *Incident {
	for _, inc := range s.incidents {
		if inc.ServiceID == serviceID && inc.IncidentKey == key && inc.Status != "resolved" {
			return inc
		}
	}
	return nil
}

// onCallNow returns the current on-calls of policy at level (0: any).
func (s *world) onCallNow(policy string, level int) []OnCall {
	now := s.now()
	var out []OnCall
	for _, oc := range s.oncalls {
		if oc.EscalationPolicyID != policy || (level != 0 && oc.Level != level) {
			continue
		}
		if (!oc.Start.IsZero() && now.Before(oc.Start)) || (!oc.End.IsZero() && !now.Before(oc.End)) {
			continue
		}
		out = append(out, oc)
	}
	slices.SortStableFunc(out, func(a, b OnCall) int { return a.Level - b.Level })
	return out
}

// newIncident opens an incident assigned to the first level of its policy.
func (s *world) newIncident(inc *Incident) *Incident {
	s.seq++
	inc.ID = fmt.Sprintf("Q%013d", s.seq)
	inc.Number = len(s.incidents) + 1
	inc.CreatedAt = s.now().UTC()
	inc.UpdatedAt, inc.StatusChangedAt, inc.AssignedAt = inc.CreatedAt, inc.CreatedAt, inc.CreatedAt
	if inc.Status == "" {
		inc.Status = "triggered"
	}
	if inc.Status == "acknowledged" {
		inc.AcknowledgedAt = inc.CreatedAt
	}
	if inc.Urgency == "" {
		inc.Urgency = "high"
	}
	inc.EscalationLevel = 1
	if inc.Assignees == nil {
		for _, oc := range s.onCallNow(inc.EscalationPolicyID, 1) {
			if !slices.Contains(inc.Assignees, oc.UserID) {
				inc.Assignees = append(inc.Assignees, oc.UserID)
			}
		}
	}
	if inc.Status == "triggered" {
		inc.Notified = append(inc.Notified, inc.Assignees...)
	}
	s.incidents = append(s.incidents, inc)
	return inc
}

func copyIncident(inc *Incident) Incident {
	c := *inc
	c.Assignees = slices.Clone(inc.Assignees)
	c.Notified = slices.Clone(inc.Notified)
	return c
}

// writeError answers with the REST API's error shape.
func writeError(w http.ResponseWriter, status, code int, message string, errs ...string) {
	if errs == nil {
		errs = []string{}
	}
	httpjson.Write(w, status, map[string]any{"error": map[string]any{"message": message, "code": code, "errors": errs}})
}

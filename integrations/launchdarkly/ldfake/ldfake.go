// Package ldfake is an in-memory LaunchDarkly REST API for tests and the
// demo mode: the audit log (after, before, spec, q, limit and _links.next
// paging), flag state per environment, semantic-patch updates with the
// content type LaunchDarkly requires, API-key auth, injected faults (429
// with LaunchDarkly's rate-limit headers, 5xx), a record of every call, and
// a webhook sender that
// signs deliveries the way LaunchDarkly does. Serve it with
// httptest.NewServer(ldfake.New(token)).
package ldfake

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
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

// SemanticPatchDomainModel is the Content-Type parameter value that selects
// a semantic patch.
const SemanticPatchDomainModel = "launchdarkly.semanticpatch"

// DefaultAuditLogLimit is the page size when a request gives no limit.
const DefaultAuditLogLimit = 10

// Flag is a feature flag with its on/off state per environment.
type Flag struct {
	Project string
	Key     string
	Name    string
	// On maps an environment key to whether the flag is on there.
	On      map[string]bool
	Version int64
}

// AuditEntry is an audit log entry; the fake renders it in LaunchDarkly's
// JSON shapes: the listing's, without the flag versions, and the detailed
// one webhooks send.
type AuditEntry struct {
	ID string
	// Date is when the change happened (millisecond precision).
	Date time.Time
	// Kind is the resource kind; empty means "flag".
	Kind        string
	Name        string
	TitleVerb   string // "turned off the flag"
	Title       string
	Comment     string
	MemberEmail string
	MemberName  string // "First Last"
	Project     string
	Environment string
	FlagKey     string
	// PreviousVersion and CurrentVersion, when not zero, are rendered as
	// flag objects with _version (and, for the current one, the On state).
	PreviousVersion int64
	CurrentVersion  int64
	// On, when set, is the flag's state in Environment after the change.
	On *bool
	// Actions are the entry's actions, as LaunchDarkly names them in
	// role policies ("updateOn", "updateName"); empty means updateOn.
	Actions []string
}

// Call is one request the fake received.
type Call struct {
	Method      string
	Path        string
	Query       url.Values
	ContentType string
	// APIVersion is the LD-API-Version header; without it LaunchDarkly
	// answers in the version the token was created with.
	APIVersion string
	// Authorized reports whether the request carried the right API key.
	Authorized bool
	Body       string
}

// Fault makes the fake fail matching requests instead of serving them.
type Fault struct {
	// Method and PathPrefix select requests; empty matches any.
	Method     string
	PathPrefix string
	// Status is the HTTP status to answer with, such as 429 or 503.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header (seconds),
	// as LaunchDarkly does for its IP-based limits.
	RetryAfter string
	// ResetAt is when the rate limit of a 429 resets, sent as
	// X-Ratelimit-Reset in Unix milliseconds, as LaunchDarkly does for its
	// global and route limits. Zero means the end of the fake clock's
	// current ten-second window, LaunchDarkly's documented period.
	ResetAt time.Time
	// AfterEffect carries the request out before failing it, as when
	// LaunchDarkly applied a change and its answer was lost: a client
	// cannot tell it from a failure that changed nothing. A request the
	// fake refuses (4xx) is answered as refused.
	AfterEffect bool
	// Times is how many requests fail; 0 means 1.
	Times int
}

// Server is the fake API. It is safe for concurrent use.
type Server struct {
	token  string
	reader string
	now    func() time.Time
	mux    *http.ServeMux

	mu      sync.Mutex
	flags   map[string]*Flag
	entries []AuditEntry
	calls   []Call
	faults  []Fault
	seq     int
	// nextWithout are the query parameters the audit log's _links.next
	// leaves out (WithNextLinkWithout).
	nextWithout []string
	// noNextLink leaves _links.next out of every page (WithoutNextLink).
	noNextLink bool
}

// Option configures a Server.
type Option func(*Server)

// WithNow sets the clock that dates the audit entries the fake writes for
// flag updates; the default is time.Now.
func WithNow(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// WithReaderToken also accepts token as the API key of a member whose
// role only reads, as LaunchDarkly's Reader role: a change made with it is
// answered 403.
func WithReaderToken(token string) Option {
	return func(s *Server) { s.reader = token }
}

// WithNextLinkWithout makes the audit log's _links.next leave out the
// named query parameters, such as "spec": LaunchDarkly does not promise
// that its next link keeps every parameter of the request, and a client
// that follows one that does not reads other resources' entries.
func WithNextLinkWithout(params ...string) Option {
	return func(s *Server) { s.nextWithout = append(s.nextWithout, params...) }
}

// WithoutNextLink makes the audit log answer without _links.next, even
// when more entries match than the page holds: LaunchDarkly documents the
// _links map, not that it holds a next link, so a client pages on with
// before when a full page has none.
func WithoutNextLink() Option {
	return func(s *Server) { s.noNextLink = true }
}

// New returns an empty fake that accepts token as the API key.
func New(token string, opts ...Option) *Server {
	s := &Server{token: token, now: time.Now, flags: map[string]*Flag{}}
	for _, o := range opts {
		o(s)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /api/v2/auditlog", s.auditLog)
	s.mux.HandleFunc("GET /api/v2/flags/{project}/{key}", s.getFlag)
	s.mux.HandleFunc("PATCH /api/v2/flags/{project}/{key}", s.patchFlag)
	return s
}

func flagID(project, key string) string { return project + "/" + key }

// AddFlag adds or replaces a flag.
func (s *Server) AddFlag(f Flag) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.On = cloneOn(f.On)
	if f.Version == 0 {
		f.Version = 1
	}
	s.flags[flagID(f.Project, f.Key)] = &f
}

func cloneOn(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// AddAuditEntry adds an entry to the audit log; an empty ID gets one.
func (s *Server) AddAuditEntry(e AuditEntry) AuditEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addEntryLocked(e)
}

func (s *Server) addEntryLocked(e AuditEntry) AuditEntry {
	s.seq++
	if e.ID == "" {
		e.ID = fmt.Sprintf("ld-entry-%04d", s.seq)
	}
	if e.Kind == "" {
		e.Kind = "flag"
	}
	s.entries = append(s.entries, e)
	return e
}

// FlagOn reports whether the flag is on in env; ok is false when the flag
// or the environment does not exist.
func (s *Server) FlagOn(project, key, env string) (on, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, found := s.flags[flagID(project, key)]
	if !found {
		return false, false
	}
	on, ok = f.On[env]
	return on, ok
}

// AuditEntries returns the audit log, oldest first as added.
func (s *Server) AuditEntries() []AuditEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.entries)
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
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	key := r.Header.Get("Authorization")
	authorized := (s.token != "" && key == s.token) || (s.reader != "" && key == s.reader)

	s.mu.Lock()
	s.calls = append(s.calls, Call{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
		ContentType: r.Header.Get("Content-Type"), APIVersion: r.Header.Get("LD-API-Version"), Authorized: authorized, Body: string(body),
	})
	fault, faulted := s.takeFaultLocked(r)
	s.mu.Unlock()

	if faulted && !fault.AfterEffect {
		s.writeFault(w, fault)
		return
	}
	if !authorized {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Invalid account ID header")
		return
	}
	if key == s.reader && r.Method != http.MethodGet {
		writeError(w, http.StatusForbidden, "forbidden", "Access to the requested resource was denied")
		return
	}
	if !faulted {
		s.mux.ServeHTTP(w, r)
		return
	}
	gatefake.ServeThenFail(w, r, s.mux, func(w http.ResponseWriter) { s.writeFault(w, fault) })
}

// writeFault answers with the fault's status, and LaunchDarkly's headers
// for a 429.
func (s *Server) writeFault(w http.ResponseWriter, f Fault) {
	if f.Status == http.StatusTooManyRequests {
		s.setRateLimited(w.Header(), f)
	}
	writeError(w, f.Status, "injected_fault", http.StatusText(f.Status))
}

// rateLimitWindow is how often LaunchDarkly's global and route rate limits
// reset.
const rateLimitWindow = 10 * time.Second

// setRateLimited sets the headers of a 429: X-Ratelimit-Global-Remaining
// and X-Ratelimit-Reset (Unix milliseconds) always, Retry-After (seconds)
// when the fault has one.
func (s *Server) setRateLimited(h http.Header, f Fault) {
	reset := f.ResetAt
	if reset.IsZero() {
		reset = s.now().Truncate(rateLimitWindow).Add(rateLimitWindow)
	}
	h.Set("X-Ratelimit-Global-Remaining", "0")
	h.Set("X-Ratelimit-Reset", strconv.FormatInt(reset.UnixMilli(), 10))
	if f.RetryAfter != "" {
		h.Set("Retry-After", f.RetryAfter)
	}
}

func (s *Server) takeFaultLocked(r *http.Request) (Fault, bool) {
	for i := range s.faults {
		f := &s.faults[i]
		if f.Times == 0 || (f.Method != "" && f.Method != r.Method) || !strings.HasPrefix(r.URL.Path, f.PathPrefix) {
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

func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := DefaultAuditLogLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20 {
			writeError(w, http.StatusBadRequest, "invalid_request", "limit must be between 1 and 20")
			return
		}
		limit = n
	}
	after, okA := msParam(q, "after")
	before, okB := msParam(q, "before")
	if !okA || !okB {
		writeError(w, http.StatusBadRequest, "invalid_request", "after and before must be Unix milliseconds")
		return
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	aq := auditQuery{after: after, before: before, spec: q.Get("spec"), text: strings.ToLower(q.Get("q"))}

	s.mu.Lock()
	var match []AuditEntry
	for _, e := range s.entries {
		if aq.matches(e) {
			match = append(match, e)
		}
	}
	s.mu.Unlock()

	slices.SortStableFunc(match, func(a, b AuditEntry) int {
		return cmp.Or(b.Date.Compare(a.Date), strings.Compare(b.ID, a.ID))
	})
	total := len(match)
	offset = min(max(offset, 0), total)
	end := min(offset+limit, total)
	items := make([]map[string]any, 0, end-offset)
	for _, e := range match[offset:end] {
		items = append(items, listingJSON(e))
	}
	links := map[string]any{"self": map[string]string{"href": r.URL.RequestURI()}}
	if end < total && !s.noNextLink {
		nq := r.URL.Query()
		nq.Set("offset", strconv.Itoa(end))
		for _, p := range s.nextWithout {
			nq.Del(p)
		}
		links["next"] = map[string]string{"href": r.URL.Path + "?" + nq.Encode(), "type": "application/json"}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"items": items, "_links": links})
}

// auditQuery is an audit log search: the time bounds (Unix milliseconds,
// exclusive), the resource spec and the lower-case text.
type auditQuery struct {
	after, before *int64
	spec, text    string
}

func (aq auditQuery) matches(e AuditEntry) bool {
	ms := e.Date.UnixMilli()
	if (aq.after != nil && ms <= *aq.after) || (aq.before != nil && ms >= *aq.before) {
		return false
	}
	if aq.spec != "" && !specMatches(aq.spec, e) {
		return false
	}
	return aq.text == "" || strings.Contains(strings.ToLower(e.Name+" "+e.MemberEmail+" "+e.FlagKey), aq.text)
}

func msParam(q url.Values, name string) (*int64, bool) {
	v := q.Get(name)
	if v == "" {
		return nil, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, false
	}
	return &n, true
}

// specMatches applies a resource specifier such as
// "proj/default:env/production:flag/*" to an entry; "*" matches anything.
func specMatches(spec string, e AuditEntry) bool {
	e.Kind = cmp.Or(e.Kind, "flag")
	have := map[string]string{"proj": e.Project, "env": e.Environment, "flag": e.FlagKey}
	if e.Kind != "flag" {
		delete(have, "flag")
	}
	for part := range strings.SplitSeq(spec, ":") {
		kind, want, _ := strings.Cut(part, "/")
		want, _, _ = strings.Cut(want, ";")
		got, ok := have[kind]
		if !ok {
			return false
		}
		if want != "*" && want != got {
			return false
		}
	}
	return true
}

// resourceOf renders the entry's resource specifier.
func resourceOf(e AuditEntry) string {
	if e.Kind != "flag" {
		return "proj/" + e.Project
	}
	return fmt.Sprintf("proj/%s:env/%s:flag/%s", e.Project, e.Environment, e.FlagKey)
}

// listingJSON renders e the way the audit log lists it: LaunchDarkly's
// AuditLogEntryListingRep, which leaves out the resource's previous and
// current versions that an entry read on its own, and a webhook, carry.
func listingJSON(e AuditEntry) map[string]any {
	m := entryJSON(e)
	delete(m, "previousVersion")
	delete(m, "currentVersion")
	return m
}

// entryJSON renders e the way a webhook delivers it: LaunchDarkly's
// detailed AuditLogEntryRep, with the flag's previous and current versions.
func entryJSON(e AuditEntry) map[string]any {
	e.Kind = cmp.Or(e.Kind, "flag")
	res := resourceOf(e)
	m := map[string]any{
		"_id":         e.ID,
		"_accountId":  "fake-account",
		"date":        e.Date.UnixMilli(),
		"kind":        cmp.Or(e.Kind, "flag"),
		"name":        e.Name,
		"description": fmt.Sprintf("* %s", cmp.Or(e.TitleVerb, "changed")),
		"titleVerb":   e.TitleVerb,
		"title":       cmp.Or(e.Title, fmt.Sprintf("[%s](mailto:%s) %s [%s](/%s/%s/features/%s)", e.MemberName, e.MemberEmail, e.TitleVerb, e.Name, e.Project, e.Environment, e.FlagKey)),
		"accesses":    accesses(e, res),
		"target":      map[string]any{"name": e.Name, "resources": []string{res}},
		"_links": map[string]any{
			"self":      map[string]string{"href": "/api/v2/auditlog/" + e.ID, "type": "application/json"},
			"parent":    map[string]string{"href": "/api/v2/auditlog", "type": "application/json"},
			"canonical": map[string]string{"href": fmt.Sprintf("/api/v2/flags/%s/%s", e.Project, e.FlagKey), "type": "application/json"},
			"site":      map[string]string{"href": fmt.Sprintf("/%s/%s/features/%s", e.Project, e.Environment, e.FlagKey), "type": "text/html"},
		},
	}
	if e.Comment != "" {
		m["comment"] = e.Comment
	}
	if e.MemberEmail != "" || e.MemberName != "" {
		first, last, _ := strings.Cut(e.MemberName, " ")
		m["member"] = map[string]string{"_id": "member-" + e.MemberEmail, "email": e.MemberEmail, "firstName": first, "lastName": last}
	}
	if e.PreviousVersion != 0 {
		m["previousVersion"] = map[string]any{"key": e.FlagKey, "_version": e.PreviousVersion}
	}
	if e.CurrentVersion != 0 {
		cur := map[string]any{"key": e.FlagKey, "_version": e.CurrentVersion}
		if e.On != nil {
			cur["environments"] = map[string]any{e.Environment: map[string]any{"on": *e.On}}
		}
		m["currentVersion"] = cur
	}
	return m
}

// EntryJSON returns the JSON body LaunchDarkly would send for e.
func EntryJSON(e AuditEntry) []byte {
	b, _ := json.Marshal(entryJSON(e))
	return b
}

func (s *Server) flagJSONLocked(f *Flag, env string) map[string]any {
	envs := map[string]any{}
	for k, on := range f.On {
		if env != "" && k != env {
			continue
		}
		envs[k] = map[string]any{"on": on, "_version": f.Version,
			"_site": map[string]string{"href": fmt.Sprintf("/%s/%s/features/%s", f.Project, k, f.Key)}}
	}
	return map[string]any{"key": f.Key, "name": f.Name, "_version": f.Version, "environments": envs}
}

func (s *Server) getFlag(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.flags[flagID(r.PathValue("project"), r.PathValue("key"))]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "Unknown resource")
		return
	}
	httpjson.Write(w, http.StatusOK, s.flagJSONLocked(f, r.URL.Query().Get("env")))
}

func (s *Server) patchFlag(w http.ResponseWriter, r *http.Request) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported Content-Type")
		return
	}
	if params["domain-model"] != SemanticPatchDomainModel {
		// Plain application/json means a JSON Patch array.
		writeError(w, http.StatusBadRequest, "invalid_request", "Invalid JSON patch: expected an array of operations")
		return
	}
	var patch struct {
		EnvironmentKey string `json:"environmentKey"`
		Comment        string `json:"comment"`
		Instructions   []struct {
			Kind string `json:"kind"`
		} `json:"instructions"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &patch); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "Invalid semantic patch body")
		return
	}
	if len(patch.Instructions) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", "instructions are required")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.flags[flagID(r.PathValue("project"), r.PathValue("key"))]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "Unknown resource")
		return
	}
	on := cloneOn(f.On)
	for _, in := range patch.Instructions {
		switch in.Kind {
		case "turnFlagOff", "turnFlagOn":
			if patch.EnvironmentKey == "" {
				writeError(w, http.StatusBadRequest, "invalid_request", "environmentKey is required for "+in.Kind)
				return
			}
			if _, ok := on[patch.EnvironmentKey]; !ok {
				writeError(w, http.StatusBadRequest, "invalid_request", "Unknown environment key "+patch.EnvironmentKey)
				return
			}
			on[patch.EnvironmentKey] = in.Kind == "turnFlagOn"
		default:
			writeError(w, http.StatusBadRequest, "invalid_request", "Unsupported instruction kind "+in.Kind)
			return
		}
	}
	if before, after := f.On[patch.EnvironmentKey], on[patch.EnvironmentKey]; before != after {
		prev := f.Version
		f.On = on
		f.Version++
		verb := "turned off the flag"
		if after {
			verb = "turned on the flag"
		}
		s.addEntryLocked(AuditEntry{
			Date: s.now(), Name: cmp.Or(f.Name, f.Key), TitleVerb: verb, Comment: patch.Comment,
			MemberName: "API token", Project: f.Project, Environment: patch.EnvironmentKey, FlagKey: f.Key,
			PreviousVersion: prev, CurrentVersion: f.Version, On: &after,
		})
	}
	httpjson.Write(w, http.StatusOK, s.flagJSONLocked(f, ""))
}

// Sign returns the X-LD-Signature of body: the hex HMAC-SHA256 keyed with
// the webhook secret.
func Sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// NewWebhookRequest builds the POST LaunchDarkly would send to url for e,
// signed with secret (unsigned when secret is empty).
func NewWebhookRequest(ctx context.Context, url, secret string, e AuditEntry) (*http.Request, error) {
	body := EntryJSON(e)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("ldfake: build webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "LaunchDarkly/ldfake")
	if secret != "" {
		req.Header.Set("X-LD-Signature", Sign(body, secret))
	}
	return req, nil
}

// SendWebhook delivers e to url with client, signed with secret, and
// returns the receiver's status code.
func SendWebhook(ctx context.Context, client *http.Client, url, secret string, e AuditEntry) (int, error) {
	req, err := NewWebhookRequest(ctx, url, secret, e)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("ldfake: send webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	httpjson.Write(w, status, map[string]string{"code": code, "message": msg})
}

// accesses is the entry's accesses: each action on the flag's resource.
func accesses(e AuditEntry, res string) []map[string]string {
	actions := e.Actions
	if len(actions) == 0 {
		actions = []string{"updateOn"}
	}
	out := make([]map[string]string, 0, len(actions))
	for _, a := range actions {
		out = append(out, map[string]string{"action": a, "resource": res})
	}
	return out
}

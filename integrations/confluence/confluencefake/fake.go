// Package confluencefake is a fake Confluence on an httptest server. It
// speaks the part of Confluence Cloud's v2 pages API the exporter uses
// (under URL, with Basic auth) and the part of Confluence Data Center's
// REST API it uses (under DataCenterURL, with a personal access token; see
// datacenter.go), over one store of spaces and pages. It enforces
// Confluence's rules: credentials, an existing space (and parent), the
// storage representation with well-formed XHTML, titles unique per space
// and at most 255 characters as Java counts them (UTF-16 units), and
// optimistic locking (a PUT carries exactly the current version plus one,
// else 409). Bodies are returned only when asked for, and spaces can be
// looked up by key (GET /spaces?keys=). Lists come a page at a time
// (Config.PageSize) behind next links. Both flavors' CQL content search
// (GET /rest/api/content/search) reads type, space and title ~ clauses,
// and can trail the pages as Confluence's index does (SetSearchLag; see
// search.go). Every version says who saved it, when and with which note,
// in each API's documented shape (v2: authorId, createdAt, message; v1:
// by, when, message): a write through the API is saved as the
// credentials' account (Config.Account) with the message it carried, and
// Edit saves a new version as a person in the browser does; Cloud's user
// lookup (POST /api/v2/users-bulk) names the accounts (versions.go). A
// request body over Confluence's limit (5,242,880 bytes, Config.RequestLimit)
// is refused with 413 and Confluence's message, before anything else is
// looked at. It records every call and can inject faults, including a
// request carried out whose answer is lost (Fault.AfterEffect). Tests and
// the demo use it.
package confluencefake

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/firebreakhq/firebreak/httpjson"
	"github.com/firebreakhq/firebreak/integrations/gatefake"
)

// Config sets up a fake.
type Config struct {
	// Email and APIToken are the only credentials accepted.
	Email    string
	APIToken string
	// PersonalAccessToken is the only token the Data Center API (under
	// DataCenterURL) accepts, as Authorization: Bearer.
	PersonalAccessToken string
	// Spaces maps a space id to its key, which appears in page links and
	// names the space in the Data Center API.
	Spaces map[string]string
	// PageSize caps how many results one page of a list holds, below the
	// limit a request asks for; 0 means Confluence's default of 25 (the
	// most a request may ask for is 250). Tests set it small so a client
	// must follow the next links.
	PageSize int
	// Account is the account the credentials (both flavors') belong to:
	// every version written through the API is saved as its. Zero means
	// DefaultAccount.
	Account User
	// Users are the other accounts the site knows, which Cloud's user
	// lookup (POST /api/v2/users-bulk) finds; whoever Edit saves as is
	// known too.
	Users []User
	// RequestLimit is the largest request body accepted, in bytes; 0
	// means DefaultRequestLimit. Data Center's administrators can change
	// theirs (atlassian.rest.request.maxsize); Cloud's is fixed.
	RequestLimit int
}

// DefaultRequestLimit is Confluence's limit on a REST request's body:
// 5 MiB, hard-coded on Cloud (CONFCLOUD-73881) and the default on Data
// Center. A larger request is answered 413.
const DefaultRequestLimit = 5 << 20

func (c Config) requestLimit() int {
	if c.RequestLimit > 0 {
		return c.RequestLimit
	}
	return DefaultRequestLimit
}

// Page is a page stored in the fake.
type Page struct {
	ID       string
	SpaceID  string
	ParentID string
	Title    string
	Status   string
	// Body is the storage-format value.
	Body    string
	Version int
	// VersionMessage, VersionBy and VersionWhen describe the current
	// version: the note it was saved with (the message an API update
	// carried; none for a save in the browser), who saved it, and when.
	VersionMessage string
	VersionBy      User
	VersionWhen    time.Time
}

// Call is one request the fake received.
type Call struct {
	Method string
	// Path is the request path with its query, such as
	// "/wiki/api/v2/pages?space-id=1&title=...".
	Path   string
	Status int
	// Version is the version.number a PUT carried.
	Version int
}

// Fault makes matching requests fail.
type Fault struct {
	Method string // "" matches any method
	// PathContains matches a substring of the path ("" matches any).
	PathContains string
	Status       int
	// Message is the error title in the body.
	Message string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Times is how many requests fail; 0 means one.
	Times int
	// AfterEffect carries the request out first and then answers with the
	// failure, as when Confluence saved a page and its answer was lost. A
	// request the fake refuses is answered with its refusal.
	AfterEffect bool
}

// Server is a running fake Confluence.
type Server struct {
	srv *httptest.Server
	cfg Config

	mu     sync.Mutex
	pages  map[string]*Page
	order  []string
	nextID int
	calls  []Call
	faults []*Fault
	index  searchIndex
	people directory
}

// New starts a fake. Close it when done.
func New(cfg Config) *Server {
	if cfg.Spaces == nil {
		cfg.Spaces = map[string]string{}
	}
	s := &Server{cfg: cfg, pages: map[string]*Page{}, nextID: 65536, people: directory{}}
	s.people.add(cfg.account())
	s.people.add(someone)
	for _, u := range cfg.Users {
		s.people.add(u)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL returns the wiki base URL to configure the client with, like
// https://SITE.atlassian.net/wiki.
func (s *Server) URL() string { return s.srv.URL + "/wiki" }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Pages returns copies of the stored pages, in creation order.
func (s *Server) Pages() []Page {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Page, 0, len(s.order))
	for _, id := range s.order {
		if p, ok := s.pages[id]; ok {
			out = append(out, *p)
		}
	}
	return out
}

// Calls returns the requests received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// AddPage stores a page as if someone had created it by hand, at version 1.
func (s *Server) AddPage(spaceID, parentID, title, body string) Page {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.add(spaceID, parentID, title, body)
	p.saved(someone, "")
	return *p
}

// Edit saves a page as person by does in the browser's editor: a new
// version, saved as theirs, with no version message (the editor's change
// note left empty, as it usually is).
func (s *Server) Edit(id, body string, by User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pages[id]
	if !ok {
		return fmt.Errorf("confluencefake: no page %s", id)
	}
	p.Body = body
	p.Version++
	p.saved(by, "")
	s.people.add(by)
	return nil
}

// Delete removes a page, as someone deleting it by hand.
func (s *Server) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pages, id)
}

// Fail adds a fault.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

func (s *Server) add(spaceID, parentID, title, body string) *Page {
	s.nextID++
	p := &Page{ID: strconv.Itoa(s.nextID), SpaceID: spaceID, ParentID: parentID, Title: title, Status: "current", Body: body, Version: 1}
	p.saved(s.cfg.account(), "")
	s.pages[p.ID] = p
	s.order = append(s.order, p.ID)
	return p
}

// recorder remembers the status a handler wrote, for Calls.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	limit := s.cfg.requestLimit()
	body, _ := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	_, _ = io.Copy(io.Discard, r.Body) // so the client reads the answer, not a reset
	call := Call{Method: r.Method, Path: r.URL.RequestURI()}
	s.mu.Lock()
	defer func() {
		call.Status = rec.status
		s.calls = append(s.calls, call)
		s.mu.Unlock()
	}()
	if len(body) > limit {
		// Confluence's REST layer refuses the request before it reads
		// it, on either flavor, with this body.
		httpjson.Write(rec, http.StatusRequestEntityTooLarge, map[string]any{"statusCode": http.StatusRequestEntityTooLarge,
			"message": fmt.Sprintf("com.atlassian.plugins.rest.common.limitrequest.RequestEntityTooLargeException: Request too large. Requests for this resource can be at most %d bytes", limit)})
		return
	}

	route, writeErr := s.route, writeError
	if !strings.HasPrefix(r.URL.Path, "/wiki/") && !strings.HasPrefix(r.URL.Path, dataCenterPath+"/rest/") {
		// Nothing is served outside the two roots, and Data Center has no
		// v2 API.
		writeErrorV1(rec, http.StatusNotFound, "null for uri: "+r.URL.String())
		return
	}
	if strings.HasPrefix(r.URL.Path, dataCenterPath+"/") {
		route, writeErr = s.routeV1, writeErrorV1
		if !s.bearer(r) {
			writeErrorV1(rec, http.StatusUnauthorized, "This request requires authentication: send Authorization: Bearer with a personal access token")
			return
		}
	} else if email, token, ok := r.BasicAuth(); !ok || email != s.cfg.Email || token != s.cfg.APIToken {
		httpjson.Write(rec, http.StatusUnauthorized, map[string]any{"code": 401, "message": "Unauthorized; scope does not match"})
		return
	}
	f := s.fault(r)
	if f == nil {
		route(rec, r, body, &call)
		return
	}
	fail := func(w http.ResponseWriter) {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		writeErr(w, f.Status, f.Message)
	}
	if !f.AfterEffect {
		fail(rec)
		return
	}
	gatefake.ServeThenFail(rec, r, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route(w, r, body, &call)
	}), fail)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, body []byte, call *Call) {
	if r.URL.Path == "/wiki/rest/api/content/search" && r.Method == http.MethodGet {
		s.search(w, r.URL.Query(), true)
		return
	}
	if r.URL.Path == "/wiki/api/v2/spaces" && r.Method == http.MethodGet {
		s.spaces(w, r.URL.Query())
		return
	}
	if r.URL.Path == "/wiki/api/v2/users-bulk" && r.Method == http.MethodPost {
		s.people.bulk(w, body)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/wiki/api/v2/pages")
	if !ok {
		writeError(w, http.StatusNotFound, "No route")
		return
	}
	id := strings.Trim(rest, "/")
	withBody := r.URL.Query().Get("body-format") == "storage"
	switch {
	case id == "" && r.Method == http.MethodPost:
		s.create(w, body)
	case id == "" && r.Method == http.MethodGet:
		s.list(w, r.URL.Query(), withBody)
	case id != "" && r.Method == http.MethodGet:
		s.get(w, id, withBody)
	case id != "" && r.Method == http.MethodPut:
		s.update(w, id, body, call)
	default:
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
	}
}

// spaces answers GET /spaces?keys=A,B (or keys=A&keys=B) with the spaces
// of those keys; an unknown key is simply absent.
func (s *Server) spaces(w http.ResponseWriter, q url.Values) {
	want := map[string]bool{}
	for _, k := range q["keys"] {
		for _, key := range strings.Split(k, ",") {
			want[key] = true
		}
	}
	results := []map[string]any{}
	ids := make([]string, 0, len(s.cfg.Spaces))
	for id := range s.cfg.Spaces {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if key := s.cfg.Spaces[id]; len(want) == 0 || want[key] {
			results = append(results, map[string]any{"id": id, "key": key, "name": key, "type": "global", "status": "current"})
		}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"results": results, "_links": map[string]any{}})
}

func (s *Server) fault(r *http.Request) *Fault {
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.Contains(r.URL.RequestURI(), f.PathContains) {
			f.Times--
			if f.Times <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			if f.Message == "" {
				f.Message = http.StatusText(f.Status)
			}
			return f
		}
	}
	return nil
}

type pageBody struct {
	Representation string `json:"representation"`
	Value          string `json:"value"`
}

type pageRequest struct {
	ID       string   `json:"id"`
	SpaceID  string   `json:"spaceId"`
	Status   string   `json:"status"`
	Title    string   `json:"title"`
	ParentID string   `json:"parentId"`
	Body     pageBody `json:"body"`
	Version  *struct {
		Number  int    `json:"number"`
		Message string `json:"message"`
	} `json:"version"`
}

func (s *Server) create(w http.ResponseWriter, raw []byte) {
	var req pageRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
		return
	}
	if _, ok := s.cfg.Spaces[req.SpaceID]; !ok {
		writeError(w, http.StatusNotFound, "Space not found: "+req.SpaceID)
		return
	}
	if req.ParentID != "" {
		if p, ok := s.pages[req.ParentID]; !ok || p.SpaceID != req.SpaceID {
			writeError(w, http.StatusNotFound, "Parent page not found: "+req.ParentID)
			return
		}
	}
	if msg := s.validate(req, ""); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	p := s.add(req.SpaceID, req.ParentID, req.Title, req.Body.Value)
	s.index.touched(p.ID)
	p.Status = req.Status
	httpjson.Write(w, http.StatusOK, s.view(p, true))
}

// validate applies the rules a create and an update share; self is the
// page being updated, which may keep its own title.
func (s *Server) validate(req pageRequest, self string) string {
	switch {
	case req.Status != "current" && req.Status != "draft":
		return fmt.Sprintf("Invalid status %q", req.Status)
	case strings.TrimSpace(req.Title) == "":
		return "A published page must have a title"
	case len(utf16.Encode([]rune(req.Title))) > 255:
		// Confluence checks the length of a Java string: UTF-16 units.
		return "Title cannot be longer than 255 characters"
	case req.Body.Representation != "storage":
		return fmt.Sprintf("Unsupported body representation %q; this fake accepts storage", req.Body.Representation)
	}
	if err := wellFormed(req.Body.Value); err != nil {
		return "Error parsing xhtml: " + err.Error()
	}
	space := req.SpaceID
	if self != "" {
		if s.pages[self].Title == req.Title {
			return "" // a page keeps its own title
		}
		space = s.pages[self].SpaceID
	}
	for _, p := range s.pages {
		if p.ID != self && p.SpaceID == space && p.Status == "current" && p.Title == req.Title {
			return "A page with this title already exists: A page already exists with the same TITLE in this space"
		}
	}
	return ""
}

func (s *Server) get(w http.ResponseWriter, id string, withBody bool) {
	p, ok := s.pages[id]
	if !ok {
		writeError(w, http.StatusNotFound, "Page not found")
		return
	}
	httpjson.Write(w, http.StatusOK, s.view(p, withBody))
}

// list answers GET /pages, one page of results at a time: a request asks
// for up to limit results (default 25, at most 250, cut to the fake's page
// size), and when more remain the answer's _links.next (and the Link
// header) carries the cursor of the next page, as Confluence's v2 API does.
func (s *Server) list(w http.ResponseWriter, q url.Values, withBody bool) {
	limit, from := s.pageSize(), 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 250 {
			writeError(w, http.StatusBadRequest, "Provided value for 'limit' is not valid. It must be between 1 and 250.")
			return
		}
		limit = min(n, limit)
	}
	if c := q.Get("cursor"); c != "" {
		n, ok := decodeCursor(c)
		if !ok {
			writeError(w, http.StatusBadRequest, "Provided value for 'cursor' is not the correct type. Expected type is Cursor.")
			return
		}
		from = n
	}
	var matched []*Page
	for _, id := range s.order {
		p, ok := s.pages[id]
		if !ok {
			continue
		}
		if t := q.Get("title"); t != "" && p.Title != t {
			continue
		}
		if sp := q.Get("space-id"); sp != "" && p.SpaceID != sp {
			continue
		}
		if st := q.Get("status"); st != "" && p.Status != st {
			continue
		}
		matched = append(matched, p)
	}
	results := []map[string]any{}
	for i := from; i < len(matched) && i < from+limit; i++ {
		results = append(results, s.view(matched[i], withBody))
	}
	links := map[string]any{"base": s.URL()}
	if from+limit < len(matched) {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("cursor", encodeCursor(from+limit))
		next.Set("limit", strconv.Itoa(limit))
		links["next"] = "/wiki/api/v2/pages?" + next.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next", <%s>; rel="base"`, links["next"], s.URL()))
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"results": results, "_links": links})
}

func (s *Server) pageSize() int {
	if s.cfg.PageSize > 0 {
		return min(s.cfg.PageSize, 250)
	}
	return 25
}

// encodeCursor makes the opaque cursor of the result at offset n.
func encodeCursor(n int) string {
	return base64.StdEncoding.EncodeToString([]byte(`{"offset":` + strconv.Itoa(n) + `}`))
}

func decodeCursor(c string) (int, bool) {
	raw, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	var v struct {
		Offset *int `json:"offset"`
	}
	if json.Unmarshal(raw, &v) != nil || v.Offset == nil || *v.Offset < 0 {
		return 0, false
	}
	return *v.Offset, true
}

func (s *Server) update(w http.ResponseWriter, id string, raw []byte, call *Call) {
	p, ok := s.pages[id]
	if !ok {
		writeError(w, http.StatusNotFound, "Page not found")
		return
	}
	var req pageRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
		return
	}
	if req.Version == nil {
		writeError(w, http.StatusBadRequest, "version is required")
		return
	}
	call.Version = req.Version.Number
	if req.ID != "" && req.ID != id {
		writeError(w, http.StatusBadRequest, "id in the body does not match the path")
		return
	}
	if req.Version.Number != p.Version+1 {
		writeError(w, http.StatusConflict, fmt.Sprintf("Version must be incremented on update. Current version is: %d", p.Version))
		return
	}
	if msg := s.validate(req, id); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	p.Title, p.Status, p.Body, p.Version = req.Title, req.Status, req.Body.Value, req.Version.Number
	p.saved(s.cfg.account(), req.Version.Message)
	s.index.touched(p.ID)
	httpjson.Write(w, http.StatusOK, s.view(p, true))
}

// view renders a page as the v2 API does; the body only when asked for
// (body-format=storage on a read).
func (s *Server) view(p *Page, withBody bool) map[string]any {
	key := s.cfg.Spaces[p.SpaceID]
	body := map[string]any{}
	if withBody {
		body["storage"] = map[string]any{"representation": "storage", "value": p.Body}
	}
	return map[string]any{
		"id": p.ID, "status": p.Status, "title": p.Title, "spaceId": p.SpaceID, "parentId": p.ParentID,
		"version": versionV2(p),
		"body":    body,
		"_links": map[string]any{
			"webui":  fmt.Sprintf("/spaces/%s/pages/%s/%s", key, p.ID, url.PathEscape(strings.ReplaceAll(p.Title, " ", "+"))),
			"editui": fmt.Sprintf("/pages/resumedraft.action?draftId=%s", p.ID),
			"tinyui": "/x/" + p.ID,
			"base":   s.URL(),
		},
	}
}

// wellFormed parses a storage-format fragment as XML, as Confluence does
// before it stores a page.
func wellFormed(fragment string) error {
	doc := `<root xmlns:ac="http://atlassian.com/content" xmlns:ri="http://atlassian.com/resource/identifier">` + fragment + `</root>`
	dec := xml.NewDecoder(strings.NewReader(doc))
	dec.Strict = true
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	httpjson.Write(w, status, map[string]any{"errors": []map[string]any{{
		"status": status, "code": strings.ToUpper(strings.ReplaceAll(http.StatusText(status), " ", "_")), "title": msg, "detail": nil,
	}}})
}

package confluencefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/firebreakhq/firebreak/httpjson"
)

// dataCenterPath is the context path the fake's Data Center serves under,
// as a Confluence installed at https://HOST/confluence does.
const dataCenterPath = "/confluence"

// DataCenterURL returns the base URL of the fake's Confluence Data Center,
// with its context path, like https://confluence.example.com/confluence.
// Its REST API, /rest/api/content, takes a personal access token
// (Authorization: Bearer) and names spaces by key.
func (s *Server) DataCenterURL() string { return s.srv.URL + dataCenterPath }

// bearer reports whether r carries the configured personal access token.
func (s *Server) bearer(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.cfg.PersonalAccessToken != "" && tok == s.cfg.PersonalAccessToken
}

// routeV1 serves the Data Center content API:
//
//	GET  /rest/api/content?type=page&spaceKey=&title=&status=&expand=&start=&limit=
//	GET  /rest/api/content/{id}?expand=
//	POST /rest/api/content
//	PUT  /rest/api/content/{id}
//	GET  /rest/api/content/search?cql=&expand=&start=&limit= (search.go)
func (s *Server) routeV1(w http.ResponseWriter, r *http.Request, body []byte, call *Call) {
	if r.URL.Path == dataCenterPath+"/rest/api/content/search" && r.Method == http.MethodGet {
		s.search(w, r.URL.Query(), false)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, dataCenterPath+"/rest/api/content")
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		writeErrorV1(w, http.StatusNotFound, "null for uri: "+r.URL.String())
		return
	}
	id := strings.Trim(rest, "/")
	expand := map[string]bool{}
	for _, e := range strings.Split(r.URL.Query().Get("expand"), ",") {
		expand[strings.TrimSpace(e)] = true
	}
	switch {
	case id == "" && r.Method == http.MethodPost:
		s.createV1(w, body)
	case id == "" && r.Method == http.MethodGet:
		s.listV1(w, r.URL.Query(), expand)
	case id != "" && r.Method == http.MethodGet:
		p, ok := s.pages[id]
		if !ok {
			writeErrorV1(w, http.StatusNotFound, "No content found with id: ContentId{id="+id+"}")
			return
		}
		// A single page comes with its version (and space) unasked.
		expand["version"] = true
		httpjson.Write(w, http.StatusOK, s.viewV1(p, expand))
	case id != "" && r.Method == http.MethodPut:
		s.updateV1(w, id, body, call)
	default:
		writeErrorV1(w, http.StatusMethodNotAllowed, "Method not allowed")
	}
}

// contentRequest is the body of a Data Center create or update.
type contentRequest struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Status string `json:"status"`
	Title  string `json:"title"`
	Space  *struct {
		Key string `json:"key"`
	} `json:"space"`
	Ancestors []struct {
		ID string `json:"id"`
	} `json:"ancestors"`
	Body struct {
		Storage *pageBody `json:"storage"`
	} `json:"body"`
	Version *struct {
		Number  int    `json:"number"`
		Message string `json:"message"`
	} `json:"version"`
}

// spaceByKey returns the id of the space with key, as Confluence matches
// keys: without regard to case.
func (c Config) spaceByKey(key string) (string, bool) {
	for id, k := range c.Spaces {
		if strings.EqualFold(k, key) {
			return id, true
		}
	}
	return "", false
}

// shared turns a Data Center request into the shape the rules both APIs
// share are checked on.
func (req contentRequest) shared(spaceID string) pageRequest {
	out := pageRequest{ID: req.ID, SpaceID: spaceID, Status: req.Status, Title: req.Title}
	if out.Status == "" {
		out.Status = "current"
	}
	if req.Body.Storage != nil {
		out.Body = *req.Body.Storage
	}
	return out
}

func (s *Server) createV1(w http.ResponseWriter, raw []byte) {
	var req contentRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		writeErrorV1(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
		return
	}
	if req.Type != "page" && req.Type != "blogpost" {
		writeErrorV1(w, http.StatusBadRequest, fmt.Sprintf("Content type %q is not supported; use page", req.Type))
		return
	}
	if req.Space == nil || req.Space.Key == "" {
		writeErrorV1(w, http.StatusBadRequest, "Space key is required to create content")
		return
	}
	spaceID, ok := s.cfg.spaceByKey(req.Space.Key)
	if !ok {
		writeErrorV1(w, http.StatusNotFound, "No space with key : "+req.Space.Key)
		return
	}
	parent := ""
	if len(req.Ancestors) > 0 {
		parent = req.Ancestors[len(req.Ancestors)-1].ID
		if p, ok := s.pages[parent]; !ok || p.SpaceID != spaceID {
			writeErrorV1(w, http.StatusNotFound, "No content found with id: ContentId{id="+parent+"}")
			return
		}
	}
	if req.Body.Storage == nil {
		writeErrorV1(w, http.StatusBadRequest, "A page must have a body in the storage representation")
		return
	}
	shared := req.shared(spaceID)
	if msg := s.validate(shared, ""); msg != "" {
		writeErrorV1(w, http.StatusBadRequest, msg)
		return
	}
	p := s.add(spaceID, parent, req.Title, shared.Body.Value)
	s.index.touched(p.ID)
	p.Status = shared.Status
	httpjson.Write(w, http.StatusOK, s.viewV1(p, map[string]bool{"body.storage": true, "version": true}))
}

func (s *Server) updateV1(w http.ResponseWriter, id string, raw []byte, call *Call) {
	p, ok := s.pages[id]
	if !ok {
		writeErrorV1(w, http.StatusNotFound, "No content found with id: ContentId{id="+id+"}")
		return
	}
	var req contentRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		writeErrorV1(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
		return
	}
	if req.Version == nil {
		writeErrorV1(w, http.StatusBadRequest, "Must supply an incremented version when updating Content. No version supplied.")
		return
	}
	call.Version = req.Version.Number
	if req.Type != "page" {
		writeErrorV1(w, http.StatusBadRequest, "Content type must be supplied when updating Content: use page")
		return
	}
	if req.ID != "" && req.ID != id {
		writeErrorV1(w, http.StatusBadRequest, "id in the body does not match the path")
		return
	}
	if req.Version.Number != p.Version+1 {
		writeErrorV1(w, http.StatusConflict, fmt.Sprintf("Version must be incremented on update. Current version is: %d", p.Version))
		return
	}
	if req.Body.Storage == nil {
		writeErrorV1(w, http.StatusBadRequest, "A page must have a body in the storage representation")
		return
	}
	shared := req.shared(p.SpaceID)
	if msg := s.validate(shared, id); msg != "" {
		writeErrorV1(w, http.StatusBadRequest, msg)
		return
	}
	p.Title, p.Status, p.Body, p.Version = req.Title, shared.Status, shared.Body.Value, req.Version.Number
	p.saved(s.cfg.account(), req.Version.Message)
	s.index.touched(p.ID)
	httpjson.Write(w, http.StatusOK, s.viewV1(p, map[string]bool{"body.storage": true, "version": true}))
}

// listV1 answers GET /rest/api/content a page of results at a time: start
// is the offset, limit (default 25) is cut to the fake's page size, and
// _links.next, relative to the base URL, asks for the next page.
func (s *Server) listV1(w http.ResponseWriter, q url.Values, expand map[string]bool) {
	limit, start := s.pageSize(), 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			writeErrorV1(w, http.StatusBadRequest, "limit must be a positive number")
			return
		}
		limit = min(max(n, 1), limit)
	}
	if st := q.Get("start"); st != "" {
		n, err := strconv.Atoi(st)
		if err != nil || n < 0 {
			writeErrorV1(w, http.StatusBadRequest, "start must be a positive number")
			return
		}
		start = n
	}
	// An unknown space key simply matches nothing.
	key := q.Get("spaceKey")
	spaceID, known := s.cfg.spaceByKey(key)
	status := q.Get("status")
	if status == "" {
		status = "current"
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
		if key != "" && (!known || p.SpaceID != spaceID) {
			continue
		}
		if p.Status != status {
			continue
		}
		matched = append(matched, p)
	}
	results := []map[string]any{}
	for i := start; i < len(matched) && i < start+limit; i++ {
		results = append(results, s.viewV1(matched[i], expand))
	}
	links := map[string]any{"base": s.DataCenterURL(), "context": dataCenterPath,
		"self": s.DataCenterURL() + "/rest/api/content"}
	if start+limit < len(matched) {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("start", strconv.Itoa(start+limit))
		next.Set("limit", strconv.Itoa(limit))
		links["next"] = "/rest/api/content?" + next.Encode()
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"results": results, "start": start, "limit": limit,
		"size": len(results), "_links": links})
}

// viewV1 renders a page as the Data Center API does: the body and the
// version only when expand asks for them.
func (s *Server) viewV1(p *Page, expand map[string]bool) map[string]any {
	key := s.cfg.Spaces[p.SpaceID]
	v := map[string]any{
		"id": p.ID, "type": "page", "status": p.Status, "title": p.Title,
		"space": map[string]any{"key": key, "name": key, "type": "global"},
		"_links": map[string]any{
			"webui":  "/pages/viewpage.action?pageId=" + p.ID,
			"edit":   "/pages/resumedraft.action?draftId=" + p.ID,
			"tinyui": "/x/" + p.ID,
			"self":   s.DataCenterURL() + "/rest/api/content/" + p.ID,
		},
		"_expandable": map[string]any{"body": "", "version": "", "ancestors": ""},
	}
	if expand["version"] {
		v["version"] = versionV1(p, s.DataCenterURL(), false)
	}
	if expand["body.storage"] {
		v["body"] = map[string]any{"storage": map[string]any{"value": p.Body, "representation": "storage"}}
	}
	return v
}

// writeErrorV1 writes an error as the Data Center API does.
func writeErrorV1(w http.ResponseWriter, status int, msg string) {
	httpjson.Write(w, status, map[string]any{
		"statusCode": status,
		"data":       map[string]any{"authorized": status != http.StatusUnauthorized, "valid": true, "errors": []any{}, "successful": false},
		"message":    msg,
		"reason":     http.StatusText(status),
	})
}

package confluencefake

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/firebreakhq/firebreak/httpjson"
)

// SetSearchLag makes pages created or updated through the API wait for
// Reindex before the search sees them (or their new title and body), as
// Confluence's search index trails its pages by moments. Off by default.
func (s *Server) SetSearchLag(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index.lag = on
}

// Reindex brings the search up to date with every page.
func (s *Server) Reindex() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index.stale = nil
}

// searchIndex models the search index trailing the pages: when it lags,
// the pages in stale are not seen by the search until Reindex. The
// Server's mu guards it.
type searchIndex struct {
	lag   bool
	stale map[string]bool
}

// touched notes that the search does not see page id's change yet, when
// the search lags.
func (x *searchIndex) touched(id string) {
	if !x.lag {
		return
	}
	if x.stale == nil {
		x.stale = map[string]bool{}
	}
	x.stale[id] = true
}

// cqlQuery is the part of CQL the fake reads: clauses joined by AND, each
// type = page, space = KEY or title ~ TEXT.
type cqlQuery struct {
	typ, spaceKey string
	words         []string
	phrases       [][]string
}

// parseCQL reads q, or says why Confluence would refuse it (400 "Could not
// parse cql").
func parseCQL(q string) (cqlQuery, error) {
	var out cqlQuery
	for _, clause := range splitAnd(q) {
		field, value, ok := cutOperator(clause)
		if !ok {
			return out, fmt.Errorf("could not parse cql : %s", q)
		}
		switch field.op {
		case "=":
			switch field.name {
			case "type":
				out.typ = value
			case "space":
				out.spaceKey = value
			default:
				return out, fmt.Errorf("could not parse cql : %s (the fake reads type, space and title ~)", q)
			}
		case "~":
			if field.name != "title" {
				return out, fmt.Errorf("could not parse cql : %s (the fake reads title ~ only)", q)
			}
			// Inside the CQL string, \" quotes a phrase for Lucene.
			rest := value
			for rest != "" {
				rest = strings.TrimSpace(rest)
				if phrase, ok := strings.CutPrefix(rest, `"`); ok {
					end := strings.IndexByte(phrase, '"')
					if end < 0 {
						return out, fmt.Errorf("could not parse cql : %s (unclosed phrase)", q)
					}
					if ws := textWords(phrase[:end]); len(ws) > 0 {
						out.phrases = append(out.phrases, ws)
					}
					rest = phrase[end+1:]
					continue
				}
				word, tail, _ := strings.Cut(rest, " ")
				out.words = append(out.words, textWords(word)...)
				rest = tail
			}
		}
	}
	return out, nil
}

type cqlField struct{ name, op string }

// splitAnd splits q at AND outside quoted strings.
func splitAnd(q string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(q); i++ {
		switch {
		case q[i] == '\\' && quoted && i+1 < len(q):
			cur.WriteByte(q[i])
			cur.WriteByte(q[i+1])
			i++
			continue
		case q[i] == '"':
			quoted = !quoted
		case !quoted && i+5 <= len(q) && strings.EqualFold(q[i:i+5], " and "):
			out = append(out, cur.String())
			cur.Reset()
			i += 4
			continue
		}
		cur.WriteByte(q[i])
	}
	return append(out, cur.String())
}

// cutOperator reads `field op value`, value bare or a "string" with \"
// and \\ escapes.
func cutOperator(clause string) (cqlField, string, bool) {
	clause = strings.TrimSpace(clause)
	i := strings.IndexAny(clause, "=~")
	if i <= 0 {
		return cqlField{}, "", false
	}
	f := cqlField{name: strings.ToLower(strings.TrimSpace(clause[:i])), op: clause[i : i+1]}
	value := strings.TrimSpace(clause[i+1:])
	if inner, ok := strings.CutPrefix(value, `"`); ok {
		inner, ok = strings.CutSuffix(inner, `"`)
		if !ok {
			return cqlField{}, "", false
		}
		value = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(inner)
	}
	return f, value, value != ""
}

// textWords splits text as the search's analyser does: at anything not a
// letter or a digit, ignoring case.
func textWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func (q cqlQuery) matches(p *Page, spaceKey string) bool {
	if (q.typ != "" && q.typ != "page") || (q.spaceKey != "" && !strings.EqualFold(q.spaceKey, spaceKey)) || p.Status != "current" {
		return false
	}
	title := textWords(p.Title)
	for _, w := range q.words {
		if !hasRun(title, []string{w}) {
			return false
		}
	}
	for _, ph := range q.phrases {
		if !hasRun(title, ph) {
			return false
		}
	}
	return true
}

func hasRun(text, run []string) bool {
	for i := 0; i+len(run) <= len(text); i++ {
		j := 0
		for j < len(run) && text[i+j] == run[j] {
			j++
		}
		if j == len(run) {
			return true
		}
	}
	return false
}

// search answers GET /rest/api/content/search?cql= (both flavors' v1
// API), one page of results at a time like the lists: Cloud's next link
// carries a cursor, Data Center's a start. Results have the v1 content
// shape, with the body, version and space when expand asks for them; a
// page the index has not caught up with (SetSearchLag) is left out.
func (s *Server) search(w http.ResponseWriter, q url.Values, cloud bool) {
	writeErr := writeErrorV1
	if cloud {
		writeErr = writeError
	}
	query, err := parseCQL(q.Get("cql"))
	if err != nil || q.Get("cql") == "" {
		writeErr(w, http.StatusBadRequest, fmt.Sprint("Could not parse cql: ", q.Get("cql")))
		return
	}
	limit, from := s.pageSize(), 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			writeErr(w, http.StatusBadRequest, "limit must be a positive number")
			return
		}
		limit = min(max(n, 1), limit)
	}
	param := "start"
	if cloud {
		param = "cursor"
	}
	if c := q.Get(param); c != "" {
		n, ok := decodeCursor(c)
		if !cloud {
			var err error
			n, err = strconv.Atoi(c)
			ok = err == nil && n >= 0
		}
		if !ok {
			writeErr(w, http.StatusBadRequest, "Invalid "+param)
			return
		}
		from = n
	}
	expand := map[string]bool{}
	for _, e := range strings.Split(q.Get("expand"), ",") {
		expand[strings.TrimSpace(e)] = true
	}
	var matched []*Page
	for _, id := range s.order {
		p, ok := s.pages[id]
		if ok && !s.index.stale[id] && query.matches(p, s.cfg.Spaces[p.SpaceID]) {
			matched = append(matched, p)
		}
	}
	results := []map[string]any{}
	for i := from; i < len(matched) && i < from+limit; i++ {
		v := s.viewV1(matched[i], expand)
		if cloud {
			v["space"].(map[string]any)["id"] = json64(matched[i].SpaceID)
			if _, ok := v["version"]; ok {
				v["version"] = versionV1(matched[i], s.URL(), true)
			}
		}
		results = append(results, v)
	}
	base, prefix := s.DataCenterURL(), "/rest/api/content/search?"
	if cloud {
		base = s.URL()
	}
	links := map[string]any{"base": base}
	if from+limit < len(matched) {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("limit", strconv.Itoa(limit))
		if cloud {
			next.Set("cursor", encodeCursor(from+limit))
		} else {
			next.Set("start", strconv.Itoa(from+limit))
		}
		links["next"] = prefix + next.Encode()
		if cloud {
			links["next"] = "/wiki" + prefix + next.Encode()
		}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"results": results, "start": from, "limit": limit,
		"size": len(results), "_links": links})
}

// json64 renders a numeric space id as the v1 API does: a number.
func json64(id string) any {
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		return n
	}
	return id
}

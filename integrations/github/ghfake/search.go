package ghfake

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxSearchQuery is the longest q GitHub's search takes, in characters,
// and maxSearchResults how many results of one search it serves at most.
const (
	maxSearchQuery   = 256
	maxSearchResults = 1000
)

// searchIssues serves GET /search/issues for the qualifiers the integration
// sends: repo:OWNER/NAME (required here), is:issue or is:pr, in:body or
// in:title, state:open or state:closed, author:LOGIN, with bare words and
// "quoted phrases". As GitHub's search does, it splits text into words at
// anything that is not a letter or a digit and ignores case: a bare word
// must be one of the words, a phrase a run of them. Like github.com, it
// indexes the whole body, the words in an HTML comment included. Results
// come newest first with sort=created (the only order the fake keeps),
// per_page up to 100, and only the first 1000 can be paged to (422 past
// them). An issue or pull request newer than the search lag (SetSearchLag)
// is not found yet. A search made to time out (SearchTimesOutNext) answers
// "incomplete_results": true. A q over 256 characters, a missing q or an unknown repository
// is refused with 422, as GitHub refuses them.
func (s *Server) searchIssues(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query().Get("q")
	if strings.TrimSpace(q) == "" {
		writeValidation(w, "Search", "q", "missing", "")
		return
	}
	if utf8.RuneCountInString(q) > maxSearchQuery {
		writeValidation(w, "Search", "q", "invalid", "The search is longer than 256 characters.")
		return
	}
	query := parseSearch(q)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[strings.ToLower(query.repo)]
	if !ok {
		writeValidation(w, "Search", "q", "invalid",
			"The listed users and repositories cannot be searched either because the resources do not exist or you do not have permission to view them.")
		return
	}
	if s.searchTimesOut() {
		writeJSON(w, http.StatusOK, map[string]any{"total_count": 0, "incomplete_results": true, "items": []map[string]any{}})
		return
	}
	type hit struct {
		at   time.Time
		item map[string]any
	}
	var hits []hit
	now := s.clock()
	if query.kind != "pr" {
		for _, i := range r.issues {
			if s.searchIndexed(i.CreatedAt, now) && query.matches(i.Title, i.Body, i.State, i.User) {
				hits = append(hits, hit{i.CreatedAt, s.issueJSON(r, i)})
			}
		}
	}
	if query.kind != "issue" {
		for _, p := range r.pulls {
			if s.searchIndexed(p.CreatedAt, now) && query.matches(p.Title, p.Body, p.State, p.User) {
				item := s.pullJSON(r, p)
				item["pull_request"] = map[string]any{"url": item["url"], "html_url": item["html_url"]}
				hits = append(hits, hit{p.CreatedAt, item})
			}
		}
	}
	desc := req.URL.Query().Get("order") != "asc"
	sort.SliceStable(hits, func(i, j int) bool {
		if desc {
			return hits[i].at.After(hits[j].at)
		}
		return hits[i].at.Before(hits[j].at)
	})
	per, _ := strconv.Atoi(req.URL.Query().Get("per_page"))
	if per <= 0 {
		per = 30
	}
	page, _ := strconv.Atoi(req.URL.Query().Get("page"))
	if page > 1 && (page-1)*min(per, 100) >= maxSearchResults {
		writeValidation(w, "Search", "", "invalid", "Only the first 1000 search results are available")
		return
	}
	total := len(hits)
	if len(hits) > maxSearchResults {
		hits = hits[:maxSearchResults]
	}
	items := []map[string]any{}
	for _, h := range paginate(s, w, req, hits) {
		items = append(items, h.item)
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": total, "incomplete_results": false, "items": items})
}

// searchQuery is a parsed q.
type searchQuery struct {
	repo    string
	kind    string // "issue", "pr" or "" for both
	in      string // "body", "title" or "" for both
	state   string
	author  string
	words   []string
	phrases [][]string
}

func parseSearch(q string) searchQuery {
	var out searchQuery
	for len(q) > 0 {
		q = strings.TrimLeft(q, " ")
		if q == "" {
			break
		}
		if q[0] == '"' {
			end := strings.IndexByte(q[1:], '"')
			phrase := q[1:]
			q = ""
			if end >= 0 {
				phrase, q = phrase[:end], phrase[end+1:]
			}
			if ws := searchWords(phrase); len(ws) > 0 {
				out.phrases = append(out.phrases, ws)
			}
			continue
		}
		term, rest, _ := strings.Cut(q, " ")
		q = rest
		key, value, qualified := strings.Cut(term, ":")
		switch {
		case qualified && key == "repo":
			out.repo = value
		case qualified && (key == "is" || key == "type") && (value == "issue" || value == "pr"):
			out.kind = value
		case qualified && (key == "is" || key == "state") && (value == "open" || value == "closed"):
			out.state = value
		case qualified && key == "in":
			out.in = value
		case qualified && key == "author":
			out.author = value
		default:
			out.words = append(out.words, searchWords(term)...)
		}
	}
	return out
}

func (q searchQuery) matches(title, body, state, user string) bool {
	if (q.state != "" && state != q.state) || (q.author != "" && !strings.EqualFold(authorQualifier(user), q.author)) {
		return false
	}
	var text []string
	if q.in != "body" {
		text = append(text, searchWords(title)...)
	}
	if q.in != "title" {
		text = append(text, searchWords(body)...)
	}
	for _, w := range q.words {
		if !containsRun(text, []string{w}) {
			return false
		}
	}
	for _, p := range q.phrases {
		if !containsRun(text, p) {
			return false
		}
	}
	return true
}

// authorQualifier is how author: names a user: an app's bot user
// "slug[bot]" as app/slug.
func authorQualifier(login string) string {
	if slug, ok := strings.CutSuffix(login, "[bot]"); ok {
		return "app/" + slug
	}
	return login
}

func searchWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func containsRun(text, run []string) bool {
	for i := 0; i+len(run) <= len(text); i++ {
		match := true
		for j, w := range run {
			if text[i+j] != w {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

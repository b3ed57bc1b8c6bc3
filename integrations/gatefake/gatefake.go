// Package gatefake shapes how a fake provider answers, for the fault modes
// several fakes share: it keeps requests in flight until the test lets them
// go, so a test can make two callers meet at the provider (a second call
// that arrives while a first is on its way, or just after the provider
// acted on the first and before its answer came back), and it answers a
// request the provider carried out with a failure (ServeThenFail).
package gatefake

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
)

// Gate holds the requests a Hold selects. The zero Gate holds nothing.
type Gate struct {
	mu  sync.Mutex
	cur *hold
}

type hold struct {
	match       func(*http.Request) bool
	afterActing bool
	held        chan struct{}
	released    chan struct{}
	once        sync.Once
}

// Hold keeps the requests that match selects, from now on, waiting until
// release is called: before the fake acts on them or, with afterActing,
// once it has acted and before the answer is written. held receives once
// for each request that waits (up to 64 unread). release lets every held
// request go and ends the hold; calling it again does nothing.
func (g *Gate) Hold(match func(*http.Request) bool, afterActing bool) (held <-chan struct{}, release func()) {
	h := &hold{match: match, afterActing: afterActing, held: make(chan struct{}, 64), released: make(chan struct{})}
	g.mu.Lock()
	g.cur = h
	g.mu.Unlock()
	return h.held, func() {
		h.once.Do(func() {
			g.mu.Lock()
			if g.cur == h {
				g.cur = nil
			}
			g.mu.Unlock()
			close(h.released)
		})
	}
}

// Serve answers r with next, holding it when the current Hold selects it.
func (g *Gate) Serve(w http.ResponseWriter, r *http.Request, next http.HandlerFunc) {
	g.mu.Lock()
	h := g.cur
	g.mu.Unlock()
	if h == nil || !h.match(r) {
		next(w, r)
		return
	}
	if !h.afterActing {
		h.wait()
		next(w, r)
		return
	}
	rec := httptest.NewRecorder()
	next(rec, r)
	h.wait()
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (h *hold) wait() {
	select {
	case h.held <- struct{}{}:
	default:
	}
	<-h.released
}

// ServeThenFail serves r with h and, when h carried it out (an answer
// under 300), writes fail's answer instead: the request took effect and its
// answer was lost, which a client cannot tell from a failure that changed
// nothing. A refusal (300 or over) is passed on as it is, since nothing took
// effect.
func ServeThenFail(w http.ResponseWriter, r *http.Request, h http.Handler, fail func(http.ResponseWriter)) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code < 300 {
		fail(w)
		return
	}
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// LostAnswers loses the answers of the next writes (any request but a GET):
// each is carried out, then answered with the next status queued
// (ServeThenFail). The zero LostAnswers loses nothing.
type LostAnswers struct {
	mu       sync.Mutex
	statuses []int
}

// Queue makes the next writes, one each, answer with statuses once carried
// out.
func (l *LostAnswers) Queue(statuses ...int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.statuses = append(l.statuses, statuses...)
}

// Serve serves r with serve, losing its answer when a status is queued for
// it: fail writes the answer given instead.
func (l *LostAnswers) Serve(w http.ResponseWriter, r *http.Request, serve http.HandlerFunc, fail func(w http.ResponseWriter, status int)) {
	l.mu.Lock()
	status := 0
	if r.Method != http.MethodGet && len(l.statuses) > 0 {
		status, l.statuses = l.statuses[0], l.statuses[1:]
	}
	l.mu.Unlock()
	if status == 0 {
		serve(w, r)
		return
	}
	ServeThenFail(w, r, serve, func(w http.ResponseWriter) { fail(w, status) })
}

// Page cuts one page out of items as a listing's query asks, the way the
// status page providers page theirs: page counts from 1 (1 when absent or
// not a positive number), per_page is def when absent or not a positive
// number, and at most max.
func Page[T any](items []T, q url.Values, def, max int) []T {
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per < 1 {
		per = def
	}
	per = min(per, max)
	from := min((page-1)*per, len(items))
	return items[from:min(from+per, len(items))]
}

// Package ghfake is a fake GitHub REST API for tests and the demo mode. It
// serves the endpoints the GitHub integration uses and enforces what the real
// API enforces for them: token authentication, 404 for unknown repositories,
// validation errors (422) and conflicts (409), pagination with Link headers,
// and rate limits. Tests seed it, inject faults, and read its state back.
package ghfake

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultToken is the token the fake accepts unless WithToken says otherwise.
const DefaultToken = "ghfake-token"

// DefaultLogin is the login the fake's token belongs to.
const DefaultLogin = "firebreak"

// Server is a running fake GitHub. It is safe for concurrent use. Its
// repositories, with the methods that seed and read them, are the world it
// embeds; its fault injection is the faultInjector it embeds; its REST
// endpoints are deploysAPI and contentsAPI (handlers.go).
type Server struct {
	world
	faultInjector
	shapes
	textLog

	srv      *httptest.Server
	token    string
	closed   chan struct{}
	closeOne sync.Once

	// legacyDispatch makes dispatches predate return_run_details;
	// legacyRefusal is the status refusing the field, or 0 to ignore it.
	legacyDispatch bool
	legacyRefusal  int
	// installation makes the token a GitHub App installation's.
	installation bool
	// denied are the permissions the token lacks (see WithoutPermission).
	denied map[string]bool
	// noPush makes the token's user one without push access, whose
	// issues lose their labels and assignees (see WithoutPushAccess).
	noPush bool
}

// world is the fake's repositories and everything in them. mu guards it,
// and the request log.
type world struct {
	login string
	now   func() time.Time

	mu      sync.Mutex
	repos   map[string]*repoState
	nextID  int64
	commitN int
	calls   []string
}

// faultInjector holds the faults the next requests meet. fmu guards it; a
// request takes it inside world.mu, never the other way round.
type faultInjector struct {
	fmu    sync.Mutex
	faults faults
}

type faults struct {
	latency    time.Duration
	failN      int
	failStatus int
	// failWriteN writes are answered failWriteStatus, after being
	// carried out when failWriteActed.
	failWriteN      int
	failWriteStatus int
	failWriteActed  bool
	hang            bool
	rateN           int
	rateStatus      int
	rateReset       time.Time
	secondaryN      int
	secondaryStatus int
	secondaryFor    time.Duration
	// searchTimeoutN searches run out of GitHub's time limit
	// (SearchTimesOutNext).
	searchTimeoutN int
	// searchLag is how long a new issue or pull request stays out of the
	// search index (SetSearchLag).
	searchLag time.Duration
	// windowReset is the X-RateLimit-Reset of the current primary window;
	// zero means an hour from now.
	windowReset time.Time
}

// Option configures a Server.
type Option func(*Server)

// WithToken sets the only token the fake accepts.
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithLogin sets the login of the token's user, the creator of everything
// created through the API.
func WithLogin(login string) Option { return func(s *Server) { s.login = login } }

// WithClock sets the fake's clock, used for the timestamps of objects
// created through the API and for the rate-limit reset.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithAppInstallation makes the token a GitHub App installation token of
// the app slug: its user, the author of what it creates, is "<slug>[bot]",
// GET /user refuses it with 403 "Resource not accessible by integration",
// and GraphQL's viewer names the bot user.
func WithAppInstallation(slug string) Option {
	return func(s *Server) { s.installation, s.login = true, slug+"[bot]" }
}

// WithoutPermission takes permissions from the token, by their names in
// GitHub's fine-grained permissions: "actions" (workflow dispatches),
// "deployments", "contents" (refs and files), "issues" and
// "pull_requests". A write that needs one is refused with 403 "Resource
// not accessible by integration" for an installation token, "... by
// personal access token" for a fine-grained personal one.
func WithoutPermission(perms ...string) Option {
	return func(s *Server) {
		if s.denied == nil {
			s.denied = map[string]bool{}
		}
		for _, p := range perms {
			s.denied[p] = true
		}
	}
}

// WithoutPushAccess makes the token's user one who may open and edit
// issues but has no push access to the repositories, as GitHub documents
// for creating and editing an issue: "Only users with push access can set
// labels for new issues. Labels are silently dropped otherwise.", and the
// same for assignees. The request succeeds and the issue comes back
// without them. Only issues are affected; refuse other writes with
// WithoutPermission.
func WithoutPushAccess() Option { return func(s *Server) { s.noPush = true } }

// WithLegacyDispatch makes the workflow dispatch endpoint behave as on a
// GitHub Enterprise Server that predates return_run_details (3.20 and
// older): every accepted dispatch answers 204 without the run's details.
// A request carrying return_run_details is refused with status refuse
// (400 or 422) and `"return_run_details" is not a permitted key.`, as
// GitHub's body validation refuses unknown keys; with refuse 0 the field is
// ignored instead.
func WithLegacyDispatch(refuse int) Option {
	return func(s *Server) { s.legacyDispatch, s.legacyRefusal = true, refuse }
}

// New starts a fake GitHub on a local port. Close stops it.
func New(opts ...Option) *Server {
	s := &Server{
		world: world{
			login: DefaultLogin,
			now:   func() time.Time { return time.Now().UTC() },
			repos: map[string]*repoState{},
		},
		token:  DefaultToken,
		closed: make(chan struct{}),
	}
	for _, opt := range opts {
		opt(s)
	}
	s.srv = httptest.NewServer(s.middleware(s.routes()))
	s.shapes = shapes{base: s.srv.URL}
	return s
}

// URL returns the API base URL, ending in "/", usable as the integration's
// APIURL.
func (s *Server) URL() string { return s.srv.URL + "/" }

// Token returns the token the fake accepts.
func (s *Server) Token() string { return s.token }

// Close stops the server; requests hanging in timeout mode return at once.
func (s *Server) Close() {
	s.closeOne.Do(func() { close(s.closed) })
	s.srv.CloseClientConnections()
	s.srv.Close()
}

func (s *world) clock() time.Time { return s.now().UTC().Truncate(time.Second) }

func (s *world) id() int64 {
	s.nextID++
	return s.nextID
}

// newCommit makes up a commit sha and records it, as a push would.
func (s *world) newCommit(r *repoState) string {
	s.commitN++
	h := sha1.Sum([]byte(fmt.Sprintf("commit %d %s", s.commitN, r.fullName())))
	sha := hex.EncodeToString(h[:])
	r.commits[sha] = true
	return sha
}

// Fault injection.

// SetLatency delays every response by d.
func (s *faultInjector) SetLatency(d time.Duration) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults.latency = d
}

// FailNext answers the next n requests with status (a 5xx, usually) before
// doing anything else.
func (s *faultInjector) FailNext(n, status int) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults.failN, s.faults.failStatus = n, status
}

// SetTimeoutMode makes every request hang until the client gives up (or the
// server closes) while on is true.
func (s *faultInjector) SetTimeoutMode(on bool) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults.hang = on
}

// FailNextWrite answers the next n requests that write (any method but
// GET and HEAD) with status, a 5xx usually. With acted, each is carried
// out first and only its answer is lost, as when GitHub's front end gives
// up on a backend that went on to act: a dispatch answered 502 may still
// have started its run. Reads pass meanwhile.
func (s *faultInjector) FailNextWrite(n, status int, acted bool) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults.failWriteN, s.faults.failWriteStatus, s.faults.failWriteActed = n, status, acted
}

// RateLimitNext answers the next n requests with GitHub's primary rate
// limit: 403, X-RateLimit-Remaining 0 and X-RateLimit-Reset at reset.
func (s *faultInjector) RateLimitNext(n int, reset time.Time) {
	s.PrimaryRateLimitNext(n, http.StatusForbidden, reset)
}

// PrimaryRateLimitNext answers the next n requests with GitHub's primary
// rate limit with status, 403 or 429 ("you will receive a 403 or 429
// response, and the x-ratelimit-remaining header will be 0"): no
// Retry-After, X-RateLimit-Reset at reset in epoch seconds.
func (s *faultInjector) PrimaryRateLimitNext(n, status int, reset time.Time) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults.rateN, s.faults.rateStatus, s.faults.rateReset = n, status, reset
}

// SecondaryRateLimitNext answers the next n requests with a secondary rate
// limit: 429 with Retry-After.
func (s *faultInjector) SecondaryRateLimitNext(n int, retryAfter time.Duration) {
	s.SecondaryRateLimitNextWith(n, http.StatusTooManyRequests, retryAfter)
}

// SecondaryRateLimitNextWith answers the next n requests with a secondary
// rate limit with status, 403 or 429, and Retry-After in whole seconds, or
// none when retryAfter is 0 ("retry-after might be present"). The primary
// counters go on as they were: X-RateLimit-Remaining above 0 and
// X-RateLimit-Reset at the window's reset (SetRateLimitWindowReset).
func (s *faultInjector) SecondaryRateLimitNextWith(n, status int, retryAfter time.Duration) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults.secondaryN, s.faults.secondaryStatus, s.faults.secondaryFor = n, status, retryAfter
}

// SearchTimesOutNext makes the next n searches run out of GitHub's time
// limit: as GitHub does, each is answered 200 with "incomplete_results":
// true and only the matches found before the timeout, here none.
func (s *faultInjector) SearchTimesOutNext(n int) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults.searchTimeoutN = n
}

// searchTimesOut uses up one of the searches SearchTimesOutNext set.
func (s *faultInjector) searchTimesOut() bool {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.faults.searchTimeoutN == 0 {
		return false
	}
	s.faults.searchTimeoutN--
	return true
}

// SetSearchLag makes the search index lag behind the issues as GitHub's
// does: an issue or pull request created less than d ago is not found by
// GET /search/issues, while the listings (GET /repos/{o}/{r}/issues) show
// it at once. Zero, the default, indexes at once.
func (s *faultInjector) SetSearchLag(d time.Duration) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults.searchLag = d
}

// searchIndexed reports whether something created at created is in the
// search index at now.
func (s *faultInjector) searchIndexed(created, now time.Time) bool {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.faults.searchLag <= 0 || !created.After(now.Add(-s.faults.searchLag))
}

// SetRateLimitWindowReset sets the X-RateLimit-Reset every answer carries
// while the primary limit is not exhausted (default: an hour from now).
func (s *faultInjector) SetRateLimitWindowReset(reset time.Time) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.faults.windowReset = reset
}

// take returns the faults in force and uses up one of the counted ones:
// the request is failed, rate limited or secondary rate limited.
func (s *faultInjector) take(method string) (f faults, fail, failWrite, rate, secondary bool) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	f = s.faults
	switch {
	case s.faults.failN > 0:
		s.faults.failN--
		fail = true
	case s.faults.failWriteN > 0 && method != http.MethodGet && method != http.MethodHead:
		s.faults.failWriteN--
		failWrite = true
	case s.faults.rateN > 0:
		s.faults.rateN--
		rate = true
	case s.faults.secondaryN > 0:
		s.faults.secondaryN--
		secondary = true
	}
	return f, fail, failWrite, rate, secondary
}

// Text is one piece of text a write sent the fake: an issue's or a pull
// request's title or body, a file's content or a commit's message, as it
// arrived, whether or not the write was then refused.
type Text struct {
	Call  string // "METHOD /path"
	Field string // title, body, content or message
	Text  string
}

// textLog records the text of every write received. tmu guards it; a
// handler takes it inside world.mu.
type textLog struct {
	tmu   sync.Mutex
	texts []Text
}

// Texts returns the text of every write received so far, oldest first:
// what GitHub would render, notify from and store.
func (l *textLog) Texts() []Text {
	l.tmu.Lock()
	defer l.tmu.Unlock()
	return slices.Clone(l.texts)
}

// record notes the fields of a write that carry text, skipping those the
// request left out.
func (l *textLog) record(req *http.Request, fields map[string]*string) {
	l.tmu.Lock()
	defer l.tmu.Unlock()
	call := req.Method + " " + req.URL.Path
	for _, name := range []string{"title", "body", "content", "message"} {
		if v := fields[name]; v != nil {
			l.texts = append(l.texts, Text{Call: call, Field: name, Text: *v})
		}
	}
}

// Calls returns every request received so far as "METHOD /path".
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls = append(s.calls, r.Method+" "+r.URL.Path)
		f, fail, failWrite, rate, secondary := s.take(r.Method)
		s.mu.Unlock()

		if f.latency > 0 {
			select {
			case <-time.After(f.latency):
			case <-r.Context().Done():
				return
			case <-s.closed:
				return
			}
		}
		if f.hang {
			select {
			case <-r.Context().Done():
			case <-s.closed:
			}
			return
		}
		w.Header().Set("X-GitHub-Request-Id", strconv.FormatInt(time.Now().UnixNano(), 16))
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Resource", "core")
		if !s.authorized(w, r) {
			return
		}
		switch {
		case fail:
			writeError(w, f.failStatus, http.StatusText(f.failStatus))
			return
		case rate:
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Used", "5000")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(f.rateReset.Unix(), 10))
			writeJSON(w, f.rateStatus, map[string]any{
				"message":           "API rate limit exceeded for user ID 1.",
				"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit",
			})
			return
		}
		w.Header().Set("X-RateLimit-Remaining", "4999")
		w.Header().Set("X-RateLimit-Used", "1")
		reset := f.windowReset
		if reset.IsZero() {
			reset = s.now().Add(time.Hour)
		}
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		if secondary {
			if f.secondaryFor > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(f.secondaryFor/time.Second)))
			}
			writeJSON(w, f.secondaryStatus, map[string]any{
				"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
				"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
			})
			return
		}
		if failWrite {
			if f.failWriteActed {
				// The request is carried out; its answer is lost.
				next.ServeHTTP(discardWriter{header: http.Header{}}, r)
			}
			writeError(w, f.failWriteStatus, http.StatusText(f.failWriteStatus))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// discardWriter takes a response nobody will see.
type discardWriter struct{ header http.Header }

func (d discardWriter) Header() http.Header         { return d.header }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}

// authorized accepts "Bearer <token>" and "token <token>", as GitHub does.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if h == "" {
		writeError(w, http.StatusUnauthorized, "Requires authentication")
		return false
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if (!strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token")) || tok != s.token {
		writeError(w, http.StatusUnauthorized, "Bad credentials")
		return false
	}
	return true
}

// Seeding.

// AddRepo adds a repository with its default branch at a commit. It panics
// on a malformed name, a test's mistake.
func (s *world) AddRepo(full, defaultBranch, headSHA string) {
	owner, name, ok := splitRepo(full)
	if !ok {
		panic(fmt.Sprintf("ghfake: repository %q is not owner/name", full))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &repoState{
		id: s.id(), owner: owner, name: name, defaultBranch: defaultBranch,
		branches:  map[string]string{},
		commits:   map[string]bool{},
		files:     map[string]map[string]file{defaultBranch: {}},
		workflows: map[string]*Workflow{},
	}
	if headSHA == "" {
		headSHA = s.newCommit(r)
	}
	r.branches[defaultBranch] = headSHA
	r.commits[headSHA] = true
	s.repos[strings.ToLower(full)] = r
}

// ArchiveRepo archives a repository: it reads as archived and refuses
// every write with 403 "Repository was archived so is read-only.", as
// GitHub does.
func (s *world) ArchiveRepo(full string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustRepo(full).archived = true
}

// AddCommit records commits that exist in the repository, so deployments
// and refs may point at them.
func (s *world) AddCommit(repo string, shas ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repo)
	for _, sha := range shas {
		r.commits[sha] = true
	}
}

// AddDeployment adds a deployment with its statuses (oldest first) and
// returns its id. A zero CreatedAt means now; the commit becomes known.
func (s *world) AddDeployment(repo string, d Deployment) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repo)
	d.ID = s.id()
	if d.CreatedAt.IsZero() {
		d.CreatedAt = s.clock()
	}
	if d.Ref == "" {
		d.Ref = d.SHA
	}
	if d.Task == "" {
		d.Task = "deploy"
	}
	if d.Creator == "" {
		d.Creator = s.login
	}
	d.Statuses = slices.Clone(d.Statuses)
	for i := range d.Statuses {
		d.Statuses[i].ID = s.id()
		if d.Statuses[i].CreatedAt.IsZero() {
			d.Statuses[i].CreatedAt = d.CreatedAt
		}
		if d.Statuses[i].Creator == "" {
			d.Statuses[i].Creator = d.Creator
		}
	}
	r.commits[d.SHA] = true
	r.deployments = append(r.deployments, &d)
	return d.ID
}

// AddDeploymentStatus appends a status to a deployment, as the deploy
// system would through the API: a success marks the environment's earlier
// successful deployments inactive unless st.AutoInactive is false (see
// autoInactivate). AddDeployment's statuses are history and do not.
func (s *world) AddDeploymentStatus(repo string, id int64, st DeploymentStatus) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repo)
	d := r.deployment(id)
	if d == nil {
		return fmt.Errorf("ghfake: no deployment %d in %s", id, repo)
	}
	st.ID = s.id()
	if st.CreatedAt.IsZero() {
		st.CreatedAt = s.clock()
	}
	if st.Creator == "" {
		st.Creator = s.login
	}
	auto := st.AutoInactive == nil || *st.AutoInactive
	st.AutoInactive = nil
	d.Statuses = append(d.Statuses, st)
	if st.State == "success" && auto {
		autoInactivate(r, d, st.CreatedAt, st.Creator, s.id)
	}
	return nil
}

// AddIssue adds an issue opened by i.User (default: the token's user) and
// returns its number. Zero CreatedAt means now; State defaults to open.
func (s *world) AddIssue(repo string, i Issue) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repo)
	i.Number = r.number()
	if i.User == "" {
		i.User = s.login
	}
	if i.State == "" {
		i.State = "open"
	}
	if i.CreatedAt.IsZero() {
		i.CreatedAt = s.clock()
	}
	if i.UpdatedAt.IsZero() {
		i.UpdatedAt = i.CreatedAt
	}
	i.Labels = slices.Clone(i.Labels)
	i.Assignees = slices.Clone(i.Assignees)
	r.issues = append(r.issues, &i)
	return i.Number
}

// SetAssignable limits who may be assigned to the repository's issues to
// logins, as GitHub limits it to its collaborators (and a few others):
// opening or editing an issue with anyone else among its assignees is
// refused with 422 Validation Failed, the error naming the login (value),
// resource Issue, field assignees and code invalid. Until it is called,
// anyone may be assigned.
func (s *world) SetAssignable(repo string, logins ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repo)
	r.assignable = map[string]bool{}
	for _, l := range logins {
		r.assignable[strings.ToLower(l)] = true
	}
}

// SetCustomProperties sets the organization's custom properties on the
// repository, as GitHub gives them wherever it gives the repository (GET
// /repos/{owner}/{repo}, the repository of a workflow run, every webhook
// payload): a string, true_false or single_select property's value is a
// string, a multi_select one's an array of strings, and an unset one is
// null.
func (s *world) SetCustomProperties(repo string, props map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustRepo(repo).customProperties = props
}

// DisableIssues turns Issues off in the repository's settings: opening an
// issue is answered 410 Gone, as GitHub documents for "Create an issue"
// ("If issues are disabled in the repository, the API returns a 410 Gone
// status"). Pull requests are not affected.
func (s *world) DisableIssues(repo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustRepo(repo).issuesOff = true
}

// AddMergedPR adds a pull request merged at pr.MergedAt (which must be set)
// and returns its number. Zero CreatedAt and UpdatedAt default to MergedAt.
func (s *world) AddMergedPR(repo string, pr PullRequest) int {
	if pr.MergedAt == nil {
		panic("ghfake: AddMergedPR needs MergedAt")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repo)
	pr.Number = r.number()
	pr.State = "closed"
	if pr.Base == "" {
		pr.Base = r.defaultBranch
	}
	if pr.Head == "" {
		pr.Head = fmt.Sprintf("feature-%d", pr.Number)
	}
	if pr.CreatedAt.IsZero() {
		pr.CreatedAt = *pr.MergedAt
	}
	if pr.UpdatedAt.IsZero() {
		pr.UpdatedAt = *pr.MergedAt
	}
	if pr.MergeCommitSHA == "" {
		pr.MergeCommitSHA = s.newCommit(r)
	}
	r.commits[pr.MergeCommitSHA] = true
	r.pulls = append(r.pulls, &pr)
	return pr.Number
}

// AddWorkflow adds a workflow file; dispatchable workflows declare
// on: workflow_dispatch.
func (s *world) AddWorkflow(repo, fileName string, dispatchable bool, opts ...WorkflowOption) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repo)
	w := &Workflow{ID: s.id(), File: fileName, Name: fileName, Dispatchable: dispatchable}
	for _, opt := range opts {
		opt(w)
	}
	r.workflows[fileName] = w
}

// AddWorkflowRun adds a run of a workflow added with AddWorkflow and
// returns its id. Zero fields default to a completed push run on the
// default branch's head, created now.
func (s *world) AddWorkflowRun(repo string, run WorkflowRun) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repo)
	w, ok := r.workflows[run.Workflow]
	if !ok {
		panic(fmt.Sprintf("ghfake: no workflow %q in %s", run.Workflow, repo))
	}
	run.ID = s.id()
	run.Name = w.Name
	if run.DisplayTitle == "" {
		run.DisplayTitle = w.Name
	}
	if run.Event == "" {
		run.Event = "push"
	}
	if run.Status == "" {
		run.Status = "completed"
	}
	if run.HeadBranch == "" {
		run.HeadBranch = r.defaultBranch
	}
	if run.HeadSHA == "" {
		run.HeadSHA = r.branches[r.defaultBranch]
	}
	if run.Actor == "" {
		run.Actor = s.login
	}
	if run.CreatedAt.IsZero() {
		run.CreatedAt = s.clock()
	}
	if run.UpdatedAt.IsZero() {
		run.UpdatedAt = run.CreatedAt
	}
	run.RunNumber = r.runNumber(run.Workflow)
	r.commits[run.HeadSHA] = true
	r.runs = append(r.runs, &run)
	return run.ID
}

func (r *repoState) runNumber(workflow string) int {
	n := 0
	for _, run := range r.runs {
		if run.Workflow == workflow {
			n = max(n, run.RunNumber)
		}
	}
	return n + 1
}

// StartRun moves a run to in_progress.
func (s *world) StartRun(repo string, id int64) error {
	return s.setRun(repo, id, "in_progress", "")
}

// CompleteRun completes a run with a conclusion (success, failure,
// cancelled ...).
func (s *world) CompleteRun(repo string, id int64, conclusion string) error {
	return s.setRun(repo, id, "completed", conclusion)
}

func (s *world) setRun(repo string, id int64, status, conclusion string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repo)
	run := r.run(id)
	if run == nil {
		return fmt.Errorf("ghfake: no workflow run %d in %s", id, repo)
	}
	run.Status, run.Conclusion, run.UpdatedAt = status, conclusion, s.clock()
	return nil
}

// MergePullRequest merges an open pull request by fast-forwarding its base
// to its head, as a person pressing the merge button would.
func (s *world) MergePullRequest(repo string, number int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repo)
	p := r.pull(number)
	if p == nil || p.State != "open" {
		return fmt.Errorf("ghfake: no open pull request %d in %s", number, repo)
	}
	now := s.clock()
	head := r.branches[p.Head]
	r.branches[p.Base] = head
	r.files[p.Base] = maps.Clone(r.files[p.Head])
	p.State, p.MergedAt, p.MergedBy, p.MergeCommitSHA, p.UpdatedAt = "closed", &now, s.login, head, now
	return nil
}

// PutFile writes a file on a branch, as a push would.
func (s *world) PutFile(repo, branch, path, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repo)
	if r.files[branch] == nil {
		r.files[branch] = map[string]file{}
	}
	r.files[branch][path] = file{content: content, sha: blobSHA(content)}
	r.branches[branch] = s.newCommit(r)
}

// DeleteBranch deletes a branch, as a person does after merging its pull
// request (or GitHub does, with "Automatically delete head branches"): its
// files go with it, and GitHub closes a pull request from it that is still
// open, unmerged.
func (s *world) DeleteBranch(repo, branch string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repo)
	if _, ok := r.branches[branch]; !ok || branch == r.defaultBranch {
		return fmt.Errorf("ghfake: no branch %s to delete in %s", branch, repo)
	}
	delete(r.branches, branch)
	delete(r.files, branch)
	for _, p := range r.pulls {
		if p.Head == branch && p.State == "open" {
			p.State, p.UpdatedAt = "closed", s.clock()
		}
	}
	return nil
}

// EditIssueBody saves an issue's body as a person does in GitHub's editor.
// The browser sends the text with "\r\n" line endings, as a form does, and
// GitHub keeps them: the REST API then reads the body with "\r\n".
func (s *world) EditIssueBody(repo string, number int, body string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.mustRepo(repo).issue(number)
	if i == nil {
		return fmt.Errorf("ghfake: no issue %d in %s", number, repo)
	}
	i.Body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
	i.UpdatedAt = s.clock()
	return nil
}

// State.

// Files returns the files on a branch, path to content.
func (s *world) Files(repo, branch string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for p, f := range s.mustRepo(repo).files[branch] {
		out[p] = f.content
	}
	return out
}

// Branches returns the repository's branches, name to head sha.
func (s *world) Branches(repo string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.mustRepo(repo).branches)
}

// PullRequests returns the repository's pull requests, oldest first.
func (s *world) PullRequests(repo string) []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PullRequest
	for _, p := range s.mustRepo(repo).pulls {
		out = append(out, *p)
	}
	return out
}

// Issues returns the repository's issues, oldest first.
func (s *world) Issues(repo string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Issue
	for _, i := range s.mustRepo(repo).issues {
		c := *i
		c.Labels = slices.Clone(i.Labels)
		c.Assignees = slices.Clone(i.Assignees)
		out = append(out, c)
	}
	return out
}

// Dispatches returns the accepted workflow_dispatch calls, oldest first.
func (s *world) Dispatches(repo string) []Dispatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Dispatch
	for _, d := range s.mustRepo(repo).dispatches {
		d.Inputs = maps.Clone(d.Inputs)
		out = append(out, d)
	}
	return out
}

// Deployments returns the repository's deployments, oldest first.
func (s *world) Deployments(repo string) []Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Deployment
	for _, d := range s.mustRepo(repo).deployments {
		out = append(out, copyDeployment(d))
	}
	return out
}

// WorkflowRuns returns the repository's workflow runs, oldest first.
func (s *world) WorkflowRuns(repo string) []WorkflowRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []WorkflowRun
	for _, r := range s.mustRepo(repo).runs {
		out = append(out, copyRun(r))
	}
	return out
}

// mustRepo returns a seeded repository; an unknown one is a test's mistake.
// The caller holds s.mu.
func (s *world) mustRepo(full string) *repoState {
	r, ok := s.repos[strings.ToLower(full)]
	if !ok {
		panic(fmt.Sprintf("ghfake: repository %q was not added", full))
	}
	return r
}

package ghfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const docsURL = "https://docs.github.com/rest"

// routes is the fake's route table: the deploy side (deployments, their
// statuses, workflow runs and dispatches) and the content side (pull
// requests, refs, files and issues) are each their own type.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	d, c := &deploysAPI{s}, &contentsAPI{s}
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, *repoState)) {
		mux.HandleFunc(pattern, s.withRepo(fn))
	}
	h("GET /repos/{owner}/{repo}", d.getRepo)
	h("GET /repos/{owner}/{repo}/deployments", d.listDeployments)
	h("POST /repos/{owner}/{repo}/deployments", d.createDeployment)
	h("GET /repos/{owner}/{repo}/deployments/{id}", d.getDeployment)
	h("GET /repos/{owner}/{repo}/deployments/{id}/statuses", d.listDeploymentStatuses)
	h("POST /repos/{owner}/{repo}/deployments/{id}/statuses", d.createDeploymentStatus)
	h("GET /repos/{owner}/{repo}/pulls", c.listPulls)
	h("POST /repos/{owner}/{repo}/pulls", c.createPull)
	h("GET /repos/{owner}/{repo}/pulls/{number}", c.getPull)
	h("GET /repos/{owner}/{repo}/actions/workflows/{workflow}/runs", d.listRuns)
	h("POST /repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches", d.dispatch)
	h("GET /repos/{owner}/{repo}/actions/runs/{id}", d.getRun)
	h("GET /repos/{owner}/{repo}/git/ref/{ref...}", c.getRef)
	h("POST /repos/{owner}/{repo}/git/refs", c.createRef)
	h("GET /repos/{owner}/{repo}/contents/{path...}", c.getContents)
	h("PUT /repos/{owner}/{repo}/contents/{path...}", c.putContents)
	h("GET /repos/{owner}/{repo}/issues", c.listIssues)
	h("POST /repos/{owner}/{repo}/issues", c.createIssue)
	h("GET /repos/{owner}/{repo}/issues/{number}", c.getIssue)
	h("PATCH /repos/{owner}/{repo}/issues/{number}", c.editIssue)
	mux.HandleFunc("GET /search/issues", s.searchIssues)
	mux.HandleFunc("GET /user", s.getAuthenticatedUser)
	mux.HandleFunc("POST /graphql", s.graphql)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeError(w, http.StatusNotFound, "Not Found") })
	return mux
}

// getAuthenticatedUser serves GET /user: the user the token belongs to. An
// installation token is refused, as GitHub refuses it.
func (s *Server) getAuthenticatedUser(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.installation {
		writeError(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	u := user(s.login)
	u["html_url"] = s.base + "/" + s.login
	writeJSON(w, http.StatusOK, u)
}

// graphql serves POST /graphql for the one query the integration sends,
// viewer { login }, which names the token's user, a bot user for an
// installation. Any other query gets GraphQL's error shape.
func (s *Server) graphql(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Query string `json:"query"`
	}
	if !decode(w, req, &body) {
		return
	}
	q := strings.Join(strings.Fields(body.Query), " ")
	if !strings.Contains(q, "viewer { login }") {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{"message": "ghfake answers only viewer { login }"}}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"viewer": map[string]any{"login": s.login}}})
}

// withRepo resolves the repository (404 when unknown, as GitHub answers for
// repositories the token cannot see) and runs fn with the lock held.
func (s *Server) withRepo(fn func(http.ResponseWriter, *http.Request, *repoState)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		repo, ok := s.repos[strings.ToLower(r.PathValue("owner")+"/"+r.PathValue("repo"))]
		if !ok {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		if r.Method != http.MethodGet {
			if repo.archived {
				writeError(w, http.StatusForbidden, "Repository was archived so is read-only.")
				return
			}
			if s.denied[writePermission(r)] {
				who := "personal access token"
				if s.installation {
					who = "integration"
				}
				writeError(w, http.StatusForbidden, "Resource not accessible by "+who)
				return
			}
		}
		fn(w, r, repo)
	}
}

// writePermission names the fine-grained permission a write needs.
func writePermission(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.Contains(p, "/actions/"):
		return "actions"
	case strings.Contains(p, "/deployments"):
		return "deployments"
	case strings.Contains(p, "/contents/"), strings.Contains(p, "/git/"):
		return "contents"
	case strings.Contains(p, "/issues"):
		return "issues"
	case strings.Contains(p, "/pulls"):
		return "pull_requests"
	}
	return ""
}

// deploysAPI serves deployments, their statuses, workflow runs and
// workflow dispatches: what the change list and rollbacks call.
type deploysAPI struct{ *Server }

// contentsAPI serves pull requests, refs, file contents and issues: what
// the postmortem export calls.
type contentsAPI struct{ *Server }

// shapes renders the fake's objects as GitHub's JSON, with URLs under
// base, the fake's address.
type shapes struct{ base string }

// Responses.

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "documentation_url": docsURL})
}

// writeValidation answers 422 "Validation Failed" with one error, the
// shape GitHub uses for field errors.
func writeValidation(w http.ResponseWriter, resource, field, code, msg string) {
	e := map[string]any{"resource": resource, "code": code}
	if field != "" {
		e["field"] = field
	}
	if msg != "" {
		e["message"] = msg
	}
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message": "Validation Failed", "errors": []any{e}, "documentation_url": docsURL,
	})
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 10<<20)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

// paginate returns the requested page of items and sets GitHub's Link
// header: per_page defaults to 30 and caps at 100.
func paginate[T any](s *Server, w http.ResponseWriter, r *http.Request, items []T) []T {
	q := r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page <= 0 {
		page = 1
	}
	last := max((len(items)+per-1)/per, 1)
	link := func(p int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(per))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, s.srv.URL, r.URL.Path, q.Encode(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	start := min((page-1)*per, len(items))
	end := min(start+per, len(items))
	return items[start:end]
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func user(login string) map[string]any {
	kind := "User"
	if strings.HasSuffix(login, "[bot]") {
		kind = "Bot"
	}
	return map[string]any{"login": login, "id": len(login), "type": kind}
}

func (s shapes) apiURL(r *repoState) string  { return s.base + "/repos/" + r.fullName() }
func (s shapes) htmlURL(r *repoState) string { return s.base + "/" + r.fullName() }

func (s shapes) repoJSON(r *repoState) map[string]any {
	out := map[string]any{
		"id": r.id, "name": r.name, "full_name": r.fullName(), "private": false,
		"owner": user(r.owner), "default_branch": r.defaultBranch, "archived": r.archived,
		"html_url": s.htmlURL(r), "url": s.apiURL(r),
	}
	if r.customProperties != nil {
		out["custom_properties"] = r.customProperties
	}
	return out
}

func (s *deploysAPI) getRepo(w http.ResponseWriter, _ *http.Request, r *repoState) {
	writeJSON(w, http.StatusOK, s.repoJSON(r))
}

// Deployments.

func (s shapes) deploymentJSON(r *repoState, d *Deployment) map[string]any {
	payload := d.Payload
	if payload == nil {
		payload = map[string]any{}
	}
	u := fmt.Sprintf("%s/deployments/%d", s.apiURL(r), d.ID)
	updated := d.CreatedAt
	if st, ok := latestStatus(d); ok && st.CreatedAt.After(updated) {
		updated = st.CreatedAt
	}
	return map[string]any{
		"id": d.ID, "node_id": fmt.Sprintf("DE_%d", d.ID), "url": u, "sha": d.SHA, "ref": d.Ref,
		"task": d.Task, "payload": payload, "environment": d.Environment, "original_environment": d.Environment,
		"description": d.Description, "creator": user(d.Creator),
		// GitHub moves a deployment's updated_at to its latest status.
		"created_at": ts(d.CreatedAt), "updated_at": ts(updated),
		"statuses_url": u + "/statuses", "repository_url": s.apiURL(r),
		"transient_environment": d.Transient, "production_environment": d.production(),
	}
}

func (s shapes) deploymentStatusJSON(r *repoState, d *Deployment, st DeploymentStatus) map[string]any {
	u := fmt.Sprintf("%s/deployments/%d", s.apiURL(r), d.ID)
	return map[string]any{
		"id": st.ID, "node_id": fmt.Sprintf("DES_%d", st.ID), "url": fmt.Sprintf("%s/statuses/%d", u, st.ID),
		"state": st.State, "creator": user(st.Creator), "description": st.Description,
		"environment": d.Environment, "target_url": st.TargetURL, "log_url": st.LogURL,
		"environment_url": st.EnvironmentURL, "created_at": ts(st.CreatedAt), "updated_at": ts(st.CreatedAt),
		"deployment_url": u, "repository_url": s.apiURL(r),
	}
}

func (s *deploysAPI) listDeployments(w http.ResponseWriter, req *http.Request, r *repoState) {
	q := req.URL.Query()
	var out []*Deployment
	for _, d := range r.deployments {
		if (q.Get("sha") == "" || q.Get("sha") == d.SHA) && (q.Get("ref") == "" || q.Get("ref") == d.Ref) &&
			(q.Get("task") == "" || q.Get("task") == d.Task) &&
			(q.Get("environment") == "" || q.Get("environment") == d.Environment) {
			out = append(out, d)
		}
	}
	// Newest first, as GitHub lists them.
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	items := []map[string]any{}
	for _, d := range paginate(s.Server, w, req, out) {
		items = append(items, s.deploymentJSON(r, d))
	}
	writeJSON(w, http.StatusOK, items)
}

func (s *deploysAPI) findDeployment(w http.ResponseWriter, req *http.Request, r *repoState) *Deployment {
	id, err := strconv.ParseInt(req.PathValue("id"), 10, 64)
	if d := r.deployment(id); err == nil && d != nil {
		return d
	}
	writeError(w, http.StatusNotFound, "Not Found")
	return nil
}

func (s *deploysAPI) getDeployment(w http.ResponseWriter, req *http.Request, r *repoState) {
	if d := s.findDeployment(w, req, r); d != nil {
		writeJSON(w, http.StatusOK, s.deploymentJSON(r, d))
	}
}

// resolveRef finds the commit a ref names: a branch or a known sha.
func resolveRef(r *repoState, ref string) (string, bool) {
	if sha, ok := r.branches[strings.TrimPrefix(ref, "refs/heads/")]; ok {
		return sha, true
	}
	if r.commits[ref] {
		return ref, true
	}
	return "", false
}

func (s *deploysAPI) createDeployment(w http.ResponseWriter, req *http.Request, r *repoState) {
	var body struct {
		Ref                  string    `json:"ref"`
		Task                 string    `json:"task"`
		AutoMerge            *bool     `json:"auto_merge"`
		RequiredContexts     *[]string `json:"required_contexts"`
		Payload              any       `json:"payload"`
		Environment          string    `json:"environment"`
		Description          string    `json:"description"`
		TransientEnvironment bool      `json:"transient_environment"`
	}
	if !decode(w, req, &body) {
		return
	}
	if body.Ref == "" {
		writeValidation(w, "Deployment", "ref", "missing_field", "")
		return
	}
	sha, ok := resolveRef(r, body.Ref)
	if !ok {
		writeValidation(w, "Deployment", "ref", "invalid", fmt.Sprintf("No ref found for: %s", body.Ref))
		return
	}
	// auto_merge defaults to true: GitHub tries to merge the default branch
	// into an older ref and refuses when that is not a fast-forward, which
	// is why rollbacks must send auto_merge:false.
	if (body.AutoMerge == nil || *body.AutoMerge) && sha != r.branches[r.defaultBranch] {
		writeError(w, http.StatusConflict, fmt.Sprintf("Conflict merging %s into %s.", r.defaultBranch, body.Ref))
		return
	}
	d := &Deployment{
		ID: s.id(), SHA: sha, Ref: body.Ref, Task: body.Task, Environment: body.Environment,
		Description: body.Description, Creator: s.login, CreatedAt: s.clock(), Transient: body.TransientEnvironment,
	}
	if d.Task == "" {
		d.Task = "deploy"
	}
	if d.Environment == "" {
		d.Environment = "production"
	}
	switch p := body.Payload.(type) {
	case map[string]any:
		d.Payload = p
	case string:
		// GitHub accepts a JSON string payload and stores the object it holds.
		_ = json.Unmarshal([]byte(p), &d.Payload)
	}
	r.deployments = append(r.deployments, d)
	writeJSON(w, http.StatusCreated, s.deploymentJSON(r, d))
}

func (s *deploysAPI) listDeploymentStatuses(w http.ResponseWriter, req *http.Request, r *repoState) {
	d := s.findDeployment(w, req, r)
	if d == nil {
		return
	}
	sts := slices.Clone(d.Statuses)
	slices.Reverse(sts) // newest first
	items := []map[string]any{}
	for _, st := range paginate(s.Server, w, req, sts) {
		items = append(items, s.deploymentStatusJSON(r, d, st))
	}
	writeJSON(w, http.StatusOK, items)
}

func (s *deploysAPI) createDeploymentStatus(w http.ResponseWriter, req *http.Request, r *repoState) {
	d := s.findDeployment(w, req, r)
	if d == nil {
		return
	}
	var body struct {
		State          string `json:"state"`
		LogURL         string `json:"log_url"`
		TargetURL      string `json:"target_url"`
		EnvironmentURL string `json:"environment_url"`
		Description    string `json:"description"`
		AutoInactive   *bool  `json:"auto_inactive"`
	}
	if !decode(w, req, &body) {
		return
	}
	switch body.State {
	case "error", "failure", "inactive", "in_progress", "queued", "pending", "success":
	default:
		writeValidation(w, "DeploymentStatus", "state", "invalid", "")
		return
	}
	st := DeploymentStatus{
		ID: s.id(), State: body.State, LogURL: body.LogURL, TargetURL: body.TargetURL,
		EnvironmentURL: body.EnvironmentURL, Description: body.Description, Creator: s.login, CreatedAt: s.clock(),
	}
	d.Statuses = append(d.Statuses, st)
	if st.State == "success" && (body.AutoInactive == nil || *body.AutoInactive) {
		autoInactivate(r, d, st.CreatedAt, st.Creator, s.id)
	}
	writeJSON(w, http.StatusCreated, s.deploymentStatusJSON(r, d, st))
}

// Pull requests.

func (s shapes) pullJSON(r *repoState, p *PullRequest) map[string]any {
	var merged any
	if p.MergedAt != nil {
		merged = ts(*p.MergedAt)
	}
	headSHA := p.HeadSHA
	if headSHA == "" {
		headSHA = r.branches[p.Head]
	}
	out := map[string]any{
		"id": p.Number, "number": p.Number, "title": p.Title, "body": p.Body, "state": p.State,
		"html_url":  fmt.Sprintf("%s/pull/%d", s.htmlURL(r), p.Number),
		"url":       fmt.Sprintf("%s/pulls/%d", s.apiURL(r), p.Number),
		"user":      user(p.User),
		"head":      map[string]any{"ref": p.Head, "sha": headSHA, "label": r.owner + ":" + p.Head},
		"base":      map[string]any{"ref": p.Base, "sha": r.branches[p.Base], "label": r.owner + ":" + p.Base},
		"merged_at": merged, "merge_commit_sha": p.MergeCommitSHA,
		"created_at": ts(p.CreatedAt), "updated_at": ts(p.UpdatedAt),
	}
	if p.MergedBy != "" {
		out["merged_by"] = user(p.MergedBy)
	}
	return out
}

func (s *contentsAPI) listPulls(w http.ResponseWriter, req *http.Request, r *repoState) {
	q := req.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var out []*PullRequest
	for _, p := range r.pulls {
		if (state == "all" || p.State == state) && pullMatches(q, r.owner, p) {
			out = append(out, p)
		}
	}
	sortPulls(out, q.Get("sort"), q.Get("direction"))
	items := []map[string]any{}
	for _, p := range paginate(s.Server, w, req, out) {
		items = append(items, s.pullJSON(r, p))
	}
	writeJSON(w, http.StatusOK, items)
}

// pullMatches reports whether the pull request has the base and head the
// query asks for; owner is the repository's.
func pullMatches(q url.Values, owner string, p *PullRequest) bool {
	if b := q.Get("base"); b != "" && p.Base != b {
		return false
	}
	if h := q.Get("head"); h != "" {
		// GitHub wants "user:ref-name"; a bare branch name matches nothing.
		o, branch, ok := strings.Cut(h, ":")
		if !ok || !strings.EqualFold(o, owner) || branch != p.Head {
			return false
		}
	}
	return true
}

// sortPulls orders pull requests as GitHub does: by created (the default,
// newest first) or updated, in the direction asked.
func sortPulls(out []*PullRequest, sortBy, dir string) {
	if sortBy == "" {
		sortBy = "created"
	}
	if dir == "" {
		dir = "asc"
		if sortBy == "created" {
			dir = "desc"
		}
	}
	key := func(p *PullRequest) time.Time {
		if sortBy == "updated" {
			return p.UpdatedAt
		}
		return p.CreatedAt
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := key(out[i]), key(out[j])
		if dir == "desc" {
			return a.After(b)
		}
		return a.Before(b)
	})
}

func (s *contentsAPI) getPull(w http.ResponseWriter, req *http.Request, r *repoState) {
	n, _ := strconv.Atoi(req.PathValue("number"))
	p := r.pull(n)
	if p == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.pullJSON(r, p))
}

func (s *contentsAPI) createPull(w http.ResponseWriter, req *http.Request, r *repoState) {
	var body struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
	}
	if !decode(w, req, &body) {
		return
	}
	s.record(req, map[string]*string{"title": &body.Title, "body": &body.Body})
	head := body.Head
	if owner, branch, ok := strings.Cut(head, ":"); ok && strings.EqualFold(owner, r.owner) {
		head = branch
	}
	if tooLong(w, "PullRequest", &body.Title, &body.Body) {
		return
	}
	switch {
	case body.Title == "":
		writeValidation(w, "PullRequest", "title", "missing_field", "")
		return
	case r.branches[body.Base] == "":
		writeValidation(w, "PullRequest", "base", "invalid", "")
		return
	case r.branches[head] == "":
		writeValidation(w, "PullRequest", "head", "invalid", "")
		return
	case r.branches[head] == r.branches[body.Base]:
		writeValidation(w, "PullRequest", "", "custom", fmt.Sprintf("No commits between %s and %s", body.Base, head))
		return
	}
	for _, p := range r.pulls {
		if p.State == "open" && p.Head == head && p.Base == body.Base {
			writeValidation(w, "PullRequest", "", "custom", fmt.Sprintf("A pull request already exists for %s:%s.", r.owner, head))
			return
		}
	}
	now := s.clock()
	p := &PullRequest{
		Number: r.number(), Title: body.Title, Body: body.Body, User: s.login, Head: head,
		Base: body.Base, State: "open", CreatedAt: now, UpdatedAt: now,
	}
	r.pulls = append(r.pulls, p)
	writeJSON(w, http.StatusCreated, s.pullJSON(r, p))
}

// Workflow runs.

func (s shapes) runJSON(r *repoState, run *WorkflowRun) map[string]any {
	var conclusion any
	if run.Conclusion != "" {
		conclusion = run.Conclusion
	}
	var wfID int64
	if w := r.workflows[run.Workflow]; w != nil {
		wfID = w.ID
	}
	return map[string]any{
		"id": run.ID, "name": run.Name, "display_title": run.DisplayTitle, "run_number": run.RunNumber,
		"event": run.Event, "status": run.Status, "conclusion": conclusion,
		"head_branch": run.HeadBranch, "head_sha": run.HeadSHA,
		"path": ".github/workflows/" + run.Workflow, "workflow_id": wfID,
		"html_url": fmt.Sprintf("%s/actions/runs/%d", s.htmlURL(r), run.ID),
		"url":      fmt.Sprintf("%s/actions/runs/%d", s.apiURL(r), run.ID),
		"actor":    user(run.Actor), "triggering_actor": user(run.Actor),
		"created_at": ts(run.CreatedAt), "updated_at": ts(run.UpdatedAt), "run_started_at": ts(run.CreatedAt),
		"run_attempt": max(run.RunAttempt, 1),
		"repository":  s.repoJSON(r),
	}
}

func (s shapes) workflowJSON(r *repoState, w *Workflow) map[string]any {
	return map[string]any{
		"id": w.ID, "name": w.Name, "path": ".github/workflows/" + w.File, "state": "active",
		"html_url": fmt.Sprintf("%s/blob/%s/.github/workflows/%s", s.htmlURL(r), r.defaultBranch, w.File),
	}
}

func (s *deploysAPI) listRuns(w http.ResponseWriter, req *http.Request, r *repoState) {
	wf := req.PathValue("workflow")
	if _, ok := r.workflows[wf]; !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	q := req.URL.Query()
	match, err := parseCreated(q.Get("created"))
	if err != nil {
		writeValidation(w, "WorkflowRun", "created", "invalid", err.Error())
		return
	}
	var out []*WorkflowRun
	for _, run := range r.runs {
		if run.Workflow == wf && match(run.CreatedAt) && runMatches(q, run) {
			out = append(out, run)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	items := []map[string]any{}
	for _, run := range paginate(s.Server, w, req, out) {
		items = append(items, s.runJSON(r, run))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(out), "workflow_runs": items})
}

// runMatches reports whether the run has the event, branch, status (or
// conclusion) and head SHA the query asks for.
func runMatches(q url.Values, run *WorkflowRun) bool {
	if e := q.Get("event"); e != "" && run.Event != e {
		return false
	}
	if b := q.Get("branch"); b != "" && run.HeadBranch != b {
		return false
	}
	if st := q.Get("status"); st != "" && run.Status != st && run.Conclusion != st {
		return false
	}
	sha := q.Get("head_sha")
	return sha == "" || run.HeadSHA == sha
}

// createdComparisons are the one-sided forms of the created filter, longest
// operator first.
var createdComparisons = []struct {
	op    string
	match func(t, at time.Time) bool
}{
	{">=", func(t, at time.Time) bool { return !t.Before(at) }},
	{"<=", func(t, at time.Time) bool { return !t.After(at) }},
	{">", func(t, at time.Time) bool { return t.After(at) }},
	{"<", func(t, at time.Time) bool { return t.Before(at) }},
}

// parseCreated reads GitHub's date-range syntax for the created filter:
// a..b, >=a, >a, <=a, <a, or a single date, with dates or date-times.
func parseCreated(v string) (func(time.Time) bool, error) {
	if v == "" {
		return func(time.Time) bool { return true }, nil
	}
	if a, b, ok := strings.Cut(v, ".."); ok {
		from, err := parseSearchTime(a)
		if err != nil {
			return nil, err
		}
		to, err := parseSearchTime(b)
		if err != nil {
			return nil, err
		}
		return func(t time.Time) bool { return !t.Before(from) && !t.After(to) }, nil
	}
	for _, c := range createdComparisons {
		if rest, ok := strings.CutPrefix(v, c.op); ok {
			at, err := parseSearchTime(rest)
			if err != nil {
				return nil, err
			}
			return func(t time.Time) bool { return c.match(t, at) }, nil
		}
	}
	day, err := parseSearchTime(v)
	if err != nil {
		return nil, err
	}
	return func(t time.Time) bool { return !t.Before(day) && t.Before(day.Add(24*time.Hour)) }, nil
}

// parseSearchTime reads a date or date-time in a search qualifier.
func parseSearchTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date %q", s)
}

func (s *deploysAPI) getRun(w http.ResponseWriter, req *http.Request, r *repoState) {
	id, _ := strconv.ParseInt(req.PathValue("id"), 10, 64)
	run := r.run(id)
	if run == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.runJSON(r, run))
}

func (s *deploysAPI) dispatch(w http.ResponseWriter, req *http.Request, r *repoState) {
	wf, ok := r.workflows[req.PathValue("workflow")]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	var body struct {
		Ref              string         `json:"ref"`
		Inputs           map[string]any `json:"inputs"`
		ReturnRunDetails *bool          `json:"return_run_details"`
	}
	if !decode(w, req, &body) {
		return
	}
	// GitHub Enterprise Server before return_run_details validates the
	// body's keys and refuses the one it does not know.
	if body.ReturnRunDetails != nil && s.legacyDispatch && s.legacyRefusal != 0 {
		writeError(w, s.legacyRefusal, "Invalid request.\n\n\"return_run_details\" is not a permitted key.")
		return
	}
	if body.Ref == "" {
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"ref\" wasn't supplied.")
		return
	}
	if !wf.Dispatchable {
		writeError(w, http.StatusUnprocessableEntity, "Workflow does not have 'workflow_dispatch' trigger")
		return
	}
	// A dispatch runs the workflow file as it is on a branch or tag, never
	// on a bare commit.
	branch := strings.TrimPrefix(body.Ref, "refs/heads/")
	sha, ok := r.branches[branch]
	if !ok {
		writeError(w, http.StatusUnprocessableEntity, "No ref found for: "+body.Ref)
		return
	}
	if len(body.Inputs) > 25 {
		writeError(w, http.StatusUnprocessableEntity, "inputs are too large.")
		return
	}
	if wf.Inputs != nil {
		var unexpected []string
		for k := range body.Inputs {
			if !slices.Contains(wf.Inputs, k) {
				unexpected = append(unexpected, strconv.Quote(k))
			}
		}
		if len(unexpected) > 0 {
			sort.Strings(unexpected)
			writeError(w, http.StatusUnprocessableEntity, "Unexpected inputs provided: ["+strings.Join(unexpected, ", ")+"]")
			return
		}
	}
	now := s.clock()
	run := &WorkflowRun{
		ID: s.id(), Workflow: wf.File, Name: wf.Name, DisplayTitle: wf.Name, Event: "workflow_dispatch",
		Status: "queued", HeadBranch: branch, HeadSHA: sha, Actor: s.login, Inputs: maps.Clone(body.Inputs),
		CreatedAt: now, UpdatedAt: now, RunNumber: r.runNumber(wf.File),
	}
	if v, ok := body.Inputs[wf.RunNameInput].(string); ok && wf.RunNameInput != "" && v != "" {
		run.DisplayTitle = v
	}
	r.runs = append(r.runs, run)
	details := body.ReturnRunDetails != nil && *body.ReturnRunDetails && !s.legacyDispatch
	r.dispatches = append(r.dispatches, Dispatch{Workflow: wf.File, Ref: body.Ref, Inputs: maps.Clone(body.Inputs), At: now, RunID: run.ID,
		ReturnedRunDetails: details})
	if !details {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// return_run_details: 200 with the run's id, API URL and web URL.
	writeJSON(w, http.StatusOK, map[string]any{
		"workflow_run_id": run.ID,
		"run_url":         fmt.Sprintf("%s/actions/runs/%d", s.apiURL(r), run.ID),
		"html_url":        fmt.Sprintf("%s/actions/runs/%d", s.htmlURL(r), run.ID),
	})
}

// Git refs.

func (s shapes) refJSON(r *repoState, branch, sha string) map[string]any {
	return map[string]any{
		"ref": "refs/heads/" + branch, "node_id": "REF_" + branch,
		"url":    s.apiURL(r) + "/git/refs/heads/" + branch,
		"object": map[string]any{"sha": sha, "type": "commit", "url": s.apiURL(r) + "/git/commits/" + sha},
	}
}

func (s *contentsAPI) getRef(w http.ResponseWriter, req *http.Request, r *repoState) {
	branch, ok := strings.CutPrefix(req.PathValue("ref"), "heads/")
	sha := r.branches[branch]
	if !ok || sha == "" {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.refJSON(r, branch, sha))
}

func (s *contentsAPI) createRef(w http.ResponseWriter, req *http.Request, r *repoState) {
	var body struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if !decode(w, req, &body) {
		return
	}
	branch, ok := strings.CutPrefix(body.Ref, "refs/heads/")
	switch {
	case !ok || branch == "" || strings.HasSuffix(branch, "/") || strings.Contains(branch, ".."):
		writeError(w, http.StatusUnprocessableEntity, "Reference name is invalid")
		return
	case r.branches[branch] != "":
		writeError(w, http.StatusUnprocessableEntity, "Reference already exists")
		return
	case !r.commits[body.SHA]:
		writeError(w, http.StatusUnprocessableEntity, "Object does not exist")
		return
	}
	r.branches[branch] = body.SHA
	// The new branch holds the tree of the branch whose head it starts from.
	r.files[branch] = map[string]file{}
	for b, sha := range r.branches {
		if b != branch && sha == body.SHA {
			maps.Copy(r.files[branch], r.files[b])
			break
		}
	}
	writeJSON(w, http.StatusCreated, s.refJSON(r, branch, body.SHA))
}

// Contents.

func (s shapes) contentJSON(r *repoState, branch, p string, f file) map[string]any {
	return map[string]any{
		"type": "file", "name": path.Base(p), "path": p, "sha": f.sha, "size": len(f.content),
		"url":      fmt.Sprintf("%s/contents/%s?ref=%s", s.apiURL(r), p, url.QueryEscape(branch)),
		"html_url": fmt.Sprintf("%s/blob/%s/%s", s.htmlURL(r), branch, p),
	}
}

// maxInlineContent is the largest file, in bytes, whose content Get
// repository content answers base64-encoded in its JSON; a larger one (up
// to 100 MB) comes with "encoding": "none" and empty content, and only the
// raw media type gets it (GitHub changelog, 2022-05-03).
const maxInlineContent = 1 << 20

// rawMediaType reports whether accept asks for a file's raw content:
// application/vnd.github.raw, its v3 spelling, or raw+json.
func rawMediaType(accept string) bool {
	for _, t := range strings.Split(accept, ",") {
		t, _, _ = strings.Cut(strings.TrimSpace(t), ";")
		switch t {
		case "application/vnd.github.raw", "application/vnd.github.v3.raw", "application/vnd.github.raw+json":
			return true
		}
	}
	return false
}

func (s *contentsAPI) getContents(w http.ResponseWriter, req *http.Request, r *repoState) {
	branch := req.URL.Query().Get("ref")
	if branch == "" {
		branch = r.defaultBranch
	}
	branch = strings.TrimPrefix(branch, "refs/heads/")
	if _, ok := r.branches[branch]; !ok {
		writeError(w, http.StatusNotFound, "No commit found for the ref "+branch)
		return
	}
	p := req.PathValue("path")
	f, ok := r.files[branch][p]
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if rawMediaType(req.Header.Get("Accept")) {
		w.Header().Set("Content-Type", "application/vnd.github.raw; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, f.content)
		return
	}
	out := s.contentJSON(r, branch, p, f)
	if len(f.content) > maxInlineContent {
		// GitHub gives such a file's sha and size, not its content.
		out["encoding"], out["content"] = "none", ""
		writeJSON(w, http.StatusOK, out)
		return
	}
	out["encoding"] = "base64"
	// GitHub wraps the base64 at 60 characters; clients must cope.
	enc := base64.StdEncoding.EncodeToString([]byte(f.content))
	var b strings.Builder
	for len(enc) > 60 {
		b.WriteString(enc[:60] + "\n")
		enc = enc[60:]
	}
	b.WriteString(enc)
	out["content"] = b.String()
	writeJSON(w, http.StatusOK, out)
}

func (s *contentsAPI) putContents(w http.ResponseWriter, req *http.Request, r *repoState) {
	var body struct {
		Message *string `json:"message"`
		Content *string `json:"content"`
		SHA     string  `json:"sha"`
		Branch  string  `json:"branch"`
	}
	if !decode(w, req, &body) {
		return
	}
	switch {
	case body.Message == nil:
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"message\" wasn't supplied.")
		return
	case body.Content == nil:
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"content\" wasn't supplied.")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(*body.Content)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "content is not valid Base64")
		return
	}
	content := string(raw)
	s.record(req, map[string]*string{"content": &content, "message": body.Message})
	branch := body.Branch
	if branch == "" {
		branch = r.defaultBranch
	}
	if _, ok := r.branches[branch]; !ok {
		writeError(w, http.StatusNotFound, "Branch "+branch+" not found")
		return
	}
	p := req.PathValue("path")
	old, exists := r.files[branch][p]
	switch {
	case exists && body.SHA == "":
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"sha\" wasn't supplied.")
		return
	case exists && body.SHA != old.sha:
		writeError(w, http.StatusConflict, fmt.Sprintf("%s does not match %s", p, body.SHA))
		return
	}
	f := file{content: string(raw), sha: blobSHA(string(raw))}
	if r.files[branch] == nil {
		r.files[branch] = map[string]file{}
	}
	r.files[branch][p] = f
	commit := s.newCommit(r)
	r.branches[branch] = commit
	status := http.StatusCreated
	if exists {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{
		"content": s.contentJSON(r, branch, p, f),
		"commit":  map[string]any{"sha": commit, "message": *body.Message},
	})
}

// Issues.

func (s shapes) issueJSON(r *repoState, i *Issue) map[string]any {
	labels := []any{}
	for _, l := range i.Labels {
		labels = append(labels, map[string]any{"name": l})
	}
	assignees := []any{}
	for _, a := range i.Assignees {
		assignees = append(assignees, user(a))
	}
	return map[string]any{
		"id": i.Number, "number": i.Number, "title": i.Title, "body": i.Body, "state": i.State,
		"labels": labels, "assignees": assignees, "user": user(i.User),
		"html_url":   fmt.Sprintf("%s/issues/%d", s.htmlURL(r), i.Number),
		"url":        fmt.Sprintf("%s/issues/%d", s.apiURL(r), i.Number),
		"created_at": ts(i.CreatedAt), "updated_at": ts(i.UpdatedAt),
		"state_reason": nullable(i.StateReason), "closed_at": nullableTime(i.ClosedAt),
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullableTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

func (s *contentsAPI) listIssues(w http.ResponseWriter, req *http.Request, r *repoState) {
	q := req.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var want []string
	if l := q.Get("labels"); l != "" {
		want = strings.Split(l, ",")
	}
	// creator names the login that opened the issue or pull request.
	creator := q.Get("creator")
	byCreator := func(login string) bool { return creator == "" || strings.EqualFold(login, creator) }
	// GitHub lists pull requests as issues too, marked with pull_request.
	type entry struct {
		at   time.Time
		item map[string]any
	}
	var out []entry
	for _, i := range r.issues {
		if (state == "all" || i.State == state) && containsAll(i.Labels, want) && byCreator(i.User) {
			out = append(out, entry{i.CreatedAt, s.issueJSON(r, i)})
		}
	}
	for _, p := range r.pulls {
		if (state == "all" || p.State == state) && len(want) == 0 && byCreator(p.User) {
			out = append(out, entry{p.CreatedAt, s.pullAsIssue(r, p)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.After(out[j].at) })
	items := []map[string]any{}
	for _, e := range paginate(s.Server, w, req, out) {
		items = append(items, e.item)
	}
	writeJSON(w, http.StatusOK, items)
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, strings.TrimSpace(w)) }) {
			return false
		}
	}
	return true
}

type issueBody struct {
	Title     *string   `json:"title"`
	Body      *string   `json:"body"`
	State     *string   `json:"state"`
	Labels    *[]string `json:"labels"`
	Assignees *[]string `json:"assignees"`
}

// Limits GitHub sets on an issue's or pull request's text, in characters.
const (
	maxTitle = 256
	maxBody  = 65536
)

// tooLong answers 422 when the title or body passes GitHub's limits, with
// GitHub's message ("body is too long (maximum is 65536 characters)").
func tooLong(w http.ResponseWriter, resource string, title, body *string) bool {
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"title", title, maxTitle}, {"body", body, maxBody}} {
		if f.v != nil && utf8.RuneCountInString(*f.v) > f.max {
			writeValidation(w, resource, f.name, "custom", fmt.Sprintf("%s is too long (maximum is %d characters)", f.name, f.max))
			return true
		}
	}
	return false
}

func (s *contentsAPI) createIssue(w http.ResponseWriter, req *http.Request, r *repoState) {
	if r.issuesOff {
		writeError(w, http.StatusGone, "Issues are disabled for this repo")
		return
	}
	var body issueBody
	if !decode(w, req, &body) {
		return
	}
	s.record(req, map[string]*string{"title": body.Title, "body": body.Body})
	if body.Title == nil || *body.Title == "" {
		writeValidation(w, "Issue", "title", "missing_field", "")
		return
	}
	if tooLong(w, "Issue", body.Title, body.Body) {
		return
	}
	body = s.withoutPushOnly(body)
	if !assignable(w, r, body) {
		return
	}
	now := s.clock()
	i := &Issue{Number: r.number(), Title: *body.Title, State: "open", User: s.login, CreatedAt: now, UpdatedAt: now}
	s.applyIssue(i, body)
	r.issues = append(r.issues, i)
	writeJSON(w, http.StatusCreated, s.issueJSON(r, i))
}

// withoutPushOnly drops from an issue request what only users with push
// access may set, labels and assignees, when the token's user has none:
// GitHub drops them silently and carries out the rest.
func (s *contentsAPI) withoutPushOnly(body issueBody) issueBody {
	if s.noPush {
		body.Labels, body.Assignees = nil, nil
	}
	return body
}

// assignable answers 422 when the request assigns the issue to a login
// the repository does not let be assigned (SetAssignable), as GitHub
// answers: Validation Failed, with an error whose value is the login,
// resource Issue, field assignees and code invalid. Nothing is changed.
func assignable(w http.ResponseWriter, r *repoState, body issueBody) bool {
	if body.Assignees == nil || r.assignable == nil {
		return true
	}
	for _, login := range *body.Assignees {
		if !r.assignable[strings.ToLower(login)] {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
				"message":           "Validation Failed",
				"errors":            []any{map[string]any{"value": login, "resource": "Issue", "field": "assignees", "code": "invalid"}},
				"documentation_url": docsURL,
			})
			return false
		}
	}
	return true
}

func (s *contentsAPI) applyIssue(i *Issue, body issueBody) {
	if body.Title != nil {
		i.Title = *body.Title
	}
	if body.Body != nil {
		i.Body = *body.Body
	}
	if body.State != nil {
		i.State = *body.State
	}
	if body.Labels != nil {
		i.Labels = slices.Clone(*body.Labels)
	}
	if body.Assignees != nil {
		i.Assignees = slices.Clone(*body.Assignees)
	}
}

func (s *contentsAPI) findIssue(w http.ResponseWriter, req *http.Request, r *repoState) *Issue {
	n, _ := strconv.Atoi(req.PathValue("number"))
	if i := r.issue(n); i != nil {
		return i
	}
	if r.deletedIssues[n] {
		writeError(w, http.StatusGone, "This issue was deleted")
		return nil
	}
	writeError(w, http.StatusNotFound, "Not Found")
	return nil
}

// pullAsIssue answers a pull request read through the issues API, as
// GitHub does: every pull request is an issue, marked with pull_request.
func (s *contentsAPI) pullAsIssue(r *repoState, p *PullRequest) map[string]any {
	item := s.pullJSON(r, p)
	item["pull_request"] = map[string]any{"url": item["url"], "html_url": item["html_url"]}
	return item
}

func (s *contentsAPI) getIssue(w http.ResponseWriter, req *http.Request, r *repoState) {
	n, _ := strconv.Atoi(req.PathValue("number"))
	if p := r.pull(n); p != nil {
		writeJSON(w, http.StatusOK, s.pullAsIssue(r, p))
		return
	}
	if i := s.findIssue(w, req, r); i != nil {
		writeJSON(w, http.StatusOK, s.issueJSON(r, i))
	}
}

func (s *contentsAPI) editIssue(w http.ResponseWriter, req *http.Request, r *repoState) {
	n, _ := strconv.Atoi(req.PathValue("number"))
	if p := r.pull(n); p != nil {
		// The issues API edits a pull request's title and description
		// as it edits an issue's.
		var body issueBody
		if !decode(w, req, &body) {
			return
		}
		if tooLong(w, "Issue", body.Title, body.Body) {
			return
		}
		if body.Title != nil {
			p.Title = *body.Title
		}
		if body.Body != nil {
			p.Body = *body.Body
		}
		p.UpdatedAt = s.clock()
		writeJSON(w, http.StatusOK, s.pullAsIssue(r, p))
		return
	}
	i := s.findIssue(w, req, r)
	if i == nil {
		return
	}
	var body issueBody
	if !decode(w, req, &body) {
		return
	}
	s.record(req, map[string]*string{"title": body.Title, "body": body.Body})
	if body.Title != nil && *body.Title == "" {
		writeValidation(w, "Issue", "title", "missing_field", "")
		return
	}
	if tooLong(w, "Issue", body.Title, body.Body) {
		return
	}
	if body.State != nil && *body.State != "open" && *body.State != "closed" {
		writeValidation(w, "Issue", "state", "invalid", "")
		return
	}
	body = s.withoutPushOnly(body)
	if !assignable(w, r, body) {
		return
	}
	s.applyIssue(i, body)
	i.UpdatedAt = s.clock()
	writeJSON(w, http.StatusOK, s.issueJSON(r, i))
}

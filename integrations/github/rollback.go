package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// Rollback methods, from ServicePolicy.GitHub.Rollback.
const (
	MethodWorkflow   = "workflow"
	MethodDeployment = "deployment"
)

// rollbackKeyField is the deployment payload field that carries the plan's
// key, so a repeated Execute finds the deployment it already created.
const rollbackKeyField = "firebreak_rollback_key"

// dispatchSkew is how far before our dispatch time the listing of runs
// looks for the one we dispatched: GitHub's clock and ours differ a
// little, and GitHub stamps whole seconds.
const dispatchSkew = 5 * time.Second

// deployRollbacker rolls a deploy back by dispatching the service's deploy
// workflow or by creating a deployment of the previous good commit.
type deployRollbacker struct{ *api }

// Handles reports whether the change is a GitHub deploy, or a successful
// run of a deploy workflow, with a commit to roll back from. A deploy
// reported as inactive was superseded by a later one: rolling it back
// would undo nothing that is running.
func (c *deployRollbacker) Handles(ch incident.ChangeEvent) bool {
	if ch.Source != Source || ch.Ref == "" || repoOf(ch) == "" {
		return false
	}
	switch ch.Kind {
	case incident.ChangeDeploy:
		return ch.Environment != "" && ch.Data["state"] != "inactive"
	case incident.ChangeWorkflow:
		return ch.Data["conclusion"] == "success"
	}
	return false
}

// repoOf finds the change's repository: in Data, or in the ExternalID
// ("deployment:<owner/name>:<id>").
func repoOf(ch incident.ChangeEvent) string {
	if r := ch.Data["repo"]; r != "" {
		return r
	}
	parts := strings.Split(ch.ExternalID, ":")
	if len(parts) >= 3 && strings.Count(parts[1], "/") == 1 {
		return parts[1]
	}
	return ""
}

// Plan finds the last successful deployment to the change's environment
// before the change, of another commit, and plans to redeploy that commit.
// For a workflow run the environment is the one its commit was deployed
// to, or the service's only environment. EINVALID when there is nothing to
// roll back to or the service's settings cannot do it.
func (c *deployRollbacker) Plan(ctx context.Context, ch incident.ChangeEvent, svc incident.ServicePolicy) (incident.RollbackPlan, error) {
	if !c.Handles(ch) {
		return incident.RollbackPlan{}, incident.Errorf(incident.EINVALID, "GitHub cannot roll back this change: only deploys and successful deploy workflow runs can be rolled back.")
	}
	full := repoOf(ch)
	r, err := parseRepo(full)
	if err != nil {
		return incident.RollbackPlan{}, err
	}
	method := svc.GitHub.Rollback
	if method == "" {
		method = MethodDeployment
		if svc.GitHub.DeployWorkflow != "" {
			method = MethodWorkflow
		}
	}
	if method == MethodWorkflow && svc.GitHub.DeployWorkflow == "" {
		return incident.RollbackPlan{}, incident.Errorf(incident.EINVALID, "Service %s rolls back with a workflow but names no deploy workflow in the policy file.", svc.Key)
	}

	bad := badDeploy{env: ch.Environment, sha: ch.Ref, at: ch.OccurredAt}
	bad.id, _ = strconv.ParseInt(ch.Data["deployment_id"], 10, 64)
	if ch.Kind == incident.ChangeWorkflow {
		if bad, err = c.deployOfRun(ctx, r, ch, svc); err != nil {
			return incident.RollbackPlan{}, err
		}
	}
	// The deploy must still be what runs: rolling back a deploy that a
	// newer one replaced (a fix shipped during the incident) would undo
	// the newer one too.
	cur, prev, err := c.liveAndPrevious(ctx, r, bad)
	if err != nil {
		return incident.RollbackPlan{}, err
	}
	if cur != nil && cur.GetSHA() != bad.sha {
		return incident.RollbackPlan{}, replacedError(r, bad.env, bad.sha, cur, "")
	}
	if prev == nil {
		return incident.RollbackPlan{}, incident.Errorf(incident.EINVALID,
			"No earlier successful deployment of %s to %s; nothing to roll back to.", r, bad.env)
	}
	to := prev.GetSHA()
	desc := fmt.Sprintf("Redeploy %s to %s at %s (from %s) with a new GitHub deployment.", r, bad.env, shortSHA(to), shortSHA(bad.sha))
	workflow := ""
	if method == MethodWorkflow {
		workflow = svc.GitHub.DeployWorkflow
		desc = fmt.Sprintf("Redeploy %s to %s at %s (from %s) by running %s.", r, bad.env, shortSHA(to), shortSHA(bad.sha), workflow)
	}
	// The key names the deployment rolled back when it is known: the
	// same commit deployed again later is a new rollback, not the one
	// that finished, while a double click, or the deploy and its workflow
	// run, still plan one.
	key := fmt.Sprintf("github:%s:%s:%s->%s", r, bad.env, bad.sha, to)
	if bad.id != 0 {
		key = fmt.Sprintf("github:%s:%s:%d:%s->%s", r, bad.env, bad.id, bad.sha, to)
	}
	return incident.RollbackPlan{
		Key:         key,
		Kind:        incident.ChangeDeploy,
		Source:      Source,
		Description: desc,
		Repo:        r.String(),
		Environment: bad.env,
		FromRef:     bad.sha,
		ToRef:       to,
		Method:      method,
		Workflow:    workflow,
		ChangeID:    ch.Source + ":" + ch.ExternalID,
	}, nil
}

// badDeploy is the deployment being rolled back.
type badDeploy struct {
	env string
	sha string
	id  int64 // 0 when unknown
	at  time.Time
}

// before reports whether d was created before the bad deployment.
func (b badDeploy) before(d *gh.Deployment) bool {
	if b.id != 0 {
		return d.GetID() < b.id // ids only grow
	}
	return d.GetCreatedAt().Before(b.at)
}

// after reports whether d was created after the bad deployment.
func (b badDeploy) after(d *gh.Deployment) bool {
	if b.id != 0 {
		return d.GetID() > b.id
	}
	return d.GetCreatedAt().After(b.at)
}

// eachDeployment calls fn with the environment's deployments newest first,
// one page of a single listing at a time, until fn says to stop or they
// run out (after maxPages pages).
func (c *deployRollbacker) eachDeployment(ctx context.Context, r repoRef, env string, fn func(*gh.Deployment) (bool, error)) error {
	opts := &gh.DeploymentsListOptions{Environment: env, ListOptions: gh.ListOptions{PerPage: perPage}}
	for page := 0; page < maxPages; page++ {
		ds, resp, err := c.gh.Repositories.ListDeployments(ctx, r.owner, r.name, opts)
		if err != nil {
			return c.wrap(err, "list deployments", r)
		}
		for _, d := range ds {
			if stop, err := fn(d); err != nil || stop {
				return err
			}
		}
		if resp.NextPage == 0 {
			return nil
		}
		opts.Page = resp.NextPage
	}
	return nil
}

// live reports whether deployment d runs or is on its way: its latest
// status is success, or it is queued, pending or in progress. A deployment
// that failed, or that nothing reported on, is not.
func (c *deployRollbacker) live(ctx context.Context, r repoRef, d *gh.Deployment) (bool, error) {
	sts, err := c.statuses(ctx, r, d.GetID())
	if err != nil || len(sts) == 0 {
		return false, err
	}
	switch sts[0].GetState() {
	case "success", "queued", "pending", "in_progress":
		return true, nil
	}
	return false, nil
}

// liveDeploy walks the environment's deployments newest first and returns
// the first that is live, looking at up to maxDeployments of them; nil
// when none is.
func (c *deployRollbacker) liveDeploy(ctx context.Context, r repoRef, env string) (*gh.Deployment, error) {
	var found *gh.Deployment
	checked := 0
	err := c.eachDeployment(ctx, r, env, func(d *gh.Deployment) (bool, error) {
		if checked == maxDeployments {
			return true, nil
		}
		checked++
		ok, err := c.live(ctx, r, d)
		if ok {
			found = d
		}
		return ok, err
	})
	return found, err
}

// liveAndPrevious walks the environment's deployments once, newest first,
// for what a plan needs to know: cur, the first live deployment newer than
// the bad one, and prev, the first deployment before it, of another
// commit, that ever reported success. Any success counts for prev, not
// only the latest status: GitHub marks superseded deployments inactive.
// A live deployment of another commit ends the walk, since the plan is
// refused then; a redeploy of the bad commit does not. Each search looks
// at up to maxDeployments deployments; nil when it finds none.
func (c *deployRollbacker) liveAndPrevious(ctx context.Context, r repoRef, bad badDeploy) (cur, prev *gh.Deployment, err error) {
	newerDone := false
	newer, older := 0, 0
	err = c.eachDeployment(ctx, r, bad.env, func(d *gh.Deployment) (bool, error) {
		if !newerDone && bad.after(d) {
			if newer == maxDeployments {
				newerDone = true
				return false, nil
			}
			newer++
			ok, err := c.live(ctx, r, d)
			if ok {
				cur, newerDone = d, true
				return d.GetSHA() != bad.sha, nil
			}
			return false, err
		}
		newerDone = true
		if !bad.before(d) || d.GetSHA() == bad.sha {
			return false, nil
		}
		if older == maxDeployments {
			return true, nil
		}
		older++
		sts, err := c.statuses(ctx, r, d.GetID())
		if err != nil {
			return false, err
		}
		for _, st := range sts {
			if st.GetState() == "success" {
				prev = d
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return cur, prev, nil
}

// replacedError refuses to roll back from the commit from in env of r
// while cur, a deployment of another commit, runs there or is on its way.
// to, when known, is the commit the rollback would deploy.
func replacedError(r repoRef, env, from string, cur *gh.Deployment, to string) error {
	undo := ""
	if to != "" {
		undo = " to " + shortSHA(to)
	}
	return incident.Errorf(incident.EINVALID,
		"%s is no longer what runs in %s of %s: deployment %d of %s came after it, and rolling back%s would undo that too. "+
			"List the changes again with What changed? and roll back the newest deploy, or roll back by hand.",
		shortSHA(from), env, r, cur.GetID(), shortSHA(cur.GetSHA()), undo)
}

// deployOfRun finds where a workflow run's commit went: its newest
// deployment, else the service's only environment.
func (c *deployRollbacker) deployOfRun(ctx context.Context, r repoRef, ch incident.ChangeEvent, svc incident.ServicePolicy) (badDeploy, error) {
	ds, _, err := c.gh.Repositories.ListDeployments(ctx, r.owner, r.name, &gh.DeploymentsListOptions{SHA: ch.Ref, ListOptions: gh.ListOptions{PerPage: perPage}})
	if err != nil {
		return badDeploy{}, c.wrap(err, "list deployments", r)
	}
	for _, d := range ds {
		if len(svc.GitHub.Environments) == 0 || contains(svc.GitHub.Environments, d.GetEnvironment()) {
			return badDeploy{env: d.GetEnvironment(), sha: ch.Ref, id: d.GetID(), at: d.GetCreatedAt().Time}, nil
		}
	}
	if len(svc.GitHub.Environments) == 1 {
		return badDeploy{env: svc.GitHub.Environments[0], sha: ch.Ref, at: ch.OccurredAt}, nil
	}
	return badDeploy{}, incident.Errorf(incident.EINVALID,
		"Can't tell which environment the workflow run deployed %s@%s to; roll back its deployment instead.", r, shortSHA(ch.Ref))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Execute carries out the plan once per plan.Key.
//
// With the deployment method it first looks for a deployment whose payload
// carries the key and returns it instead of creating another.
//
// With the workflow method it dispatches the deploy workflow on the
// default branch with inputs sha, environment and reason; the reason holds
// the key. It asks GitHub for the run the dispatch starts
// (return_run_details) and follows that run. A GitHub that does not say
// (204, or an older GitHub Enterprise Server refusing the field) leaves
// only the run's display title to go by, so the run is found only when the
// workflow sets `run-name: ${{ inputs.reason }}`; a run is never taken for
// ours because of when it was created, since anyone may dispatch the same
// workflow at the same time. A repeated Execute finds an earlier dispatch
// the same way, by the key in a run's title; without it the caller's
// durable job, which records the run and executes a plan once, is what
// keeps a rollback from being dispatched twice. A dispatch GitHub may have
// carried out without answering (5xx, a timeout) is never sent again: the
// bot follows the run its own login started meanwhile, or fails the round
// saying where to look (see afterUnansweredDispatch).
func (c *deployRollbacker) Execute(ctx context.Context, plan incident.RollbackPlan, actor string) (incident.RollbackRun, error) {
	if plan.Source != Source || plan.Repo == "" || plan.ToRef == "" || plan.Environment == "" || plan.Key == "" {
		return incident.RollbackRun{}, incident.Errorf(incident.EINVALID, "This rollback plan is incomplete; plan the rollback again.")
	}
	r, err := parseRepo(plan.Repo)
	if err != nil {
		return incident.RollbackRun{}, err
	}
	info, err := c.repo(ctx, r)
	if err != nil {
		return incident.RollbackRun{}, err
	}
	switch plan.Method {
	case MethodWorkflow:
		return c.executeWorkflow(ctx, info, plan, actor)
	case MethodDeployment:
		return c.executeDeployment(ctx, info, plan, actor)
	}
	return incident.RollbackRun{}, incident.Errorf(incident.EINVALID, "Unknown rollback method %q: use workflow or deployment.", plan.Method)
}

func (c *deployRollbacker) executeDeployment(ctx context.Context, info repoInfo, plan incident.RollbackPlan, actor string) (incident.RollbackRun, error) {
	r := info.ref
	existing, err := c.keyedDeployment(ctx, r, plan)
	if err != nil {
		return incident.RollbackRun{}, err
	}
	if existing != nil {
		c.log.Info("github: rollback deployment already exists",
			slog.String("repo", r.String()), slog.Int64("deployment_id", existing.GetID()))
		return c.Progress(ctx, deploymentRun(plan, info, existing))
	}
	if err := c.checkNotReplaced(ctx, r, plan); err != nil {
		return incident.RollbackRun{}, err
	}
	d, _, err := c.gh.Repositories.CreateDeployment(ctx, r.owner, r.name, &gh.DeploymentRequest{
		Ref:         gh.String(plan.ToRef),
		Environment: gh.String(plan.Environment),
		// auto_merge would merge the default branch into the old commit,
		// which is the opposite of a rollback; required contexts are
		// skipped because the old commit's checks passed when it shipped.
		AutoMerge:        gh.Bool(false),
		RequiredContexts: &[]string{},
		Description:      gh.String("rollback by firebreak"),
		Payload: map[string]any{
			rollbackKeyField: plan.Key,
			"rollback_from":  plan.FromRef,
			"requested_by":   actor,
		},
	})
	if err != nil {
		return incident.RollbackRun{}, c.wrap(err, "create a deployment", r)
	}
	c.log.Info("github: rollback deployment created",
		slog.String("repo", r.String()), slog.String("environment", plan.Environment),
		slog.Int64("deployment_id", d.GetID()), slog.String("sha", plan.ToRef))
	run := deploymentRun(plan, info, d)
	run.Detail = "Waiting for the deploy system to pick up the deployment."
	return run, nil
}

// keyedDeployment finds the deployment of the plan's target commit to its
// environment whose payload carries the plan's key: the one an earlier
// Execute of the plan created. nil when there is none.
func (c *deployRollbacker) keyedDeployment(ctx context.Context, r repoRef, plan incident.RollbackPlan) (*gh.Deployment, error) {
	existing, _, err := c.listDeployments(ctx, r, gh.DeploymentsListOptions{SHA: plan.ToRef, Environment: plan.Environment}, time.Time{})
	if err != nil {
		return nil, err
	}
	for _, d := range existing {
		var payload map[string]any
		if json.Unmarshal(d.Payload, &payload) == nil && payload[rollbackKeyField] == plan.Key {
			return d, nil
		}
	}
	return nil, nil
}

// checkNotReplaced refuses to carry out a plan when, since it was made, a
// deployment of a commit other than the plan's two took over the
// environment or is on its way there (someone shipped a fix while the
// rollback waited for its approval or its retry): rolling back would undo
// it. EINVALID, which fails the round at once and says why.
func (c *deployRollbacker) checkNotReplaced(ctx context.Context, r repoRef, plan incident.RollbackPlan) error {
	cur, err := c.liveDeploy(ctx, r, plan.Environment)
	if err != nil {
		return err
	}
	if cur != nil && cur.GetSHA() != plan.FromRef && cur.GetSHA() != plan.ToRef {
		return replacedError(r, plan.Environment, plan.FromRef, cur, plan.ToRef)
	}
	return nil
}

func deploymentRun(plan incident.RollbackPlan, info repoInfo, d *gh.Deployment) incident.RollbackRun {
	return incident.RollbackRun{
		Plan:       plan,
		ExternalID: strconv.FormatInt(d.GetID(), 10),
		URL:        info.htmlURL + "/deployments",
		Status:     "queued",
	}
}

func (c *deployRollbacker) executeWorkflow(ctx context.Context, info repoInfo, plan incident.RollbackPlan, actor string) (incident.RollbackRun, error) {
	if plan.Workflow == "" {
		return incident.RollbackRun{}, incident.Errorf(incident.EINVALID, "This rollback plan names no workflow; plan the rollback again.")
	}
	r := info.ref
	earlier, err := c.dispatchRuns(ctx, info, plan, time.Time{})
	if err != nil {
		return incident.RollbackRun{}, err
	}
	if run := runNamingKey(earlier, plan.Key); run != nil {
		c.log.Info("github: rollback workflow run already exists",
			slog.String("repo", r.String()), slog.Int64("run_id", run.GetID()))
		return c.Progress(ctx, workflowRun(plan, run))
	}
	if err := c.checkNotReplaced(ctx, r, plan); err != nil {
		return incident.RollbackRun{}, err
	}
	at := c.now()
	dispatched, err := c.dispatch(ctx, r, plan.Workflow, dispatchRequest{
		Ref: info.defaultBranch,
		Inputs: map[string]any{
			"sha":         plan.ToRef,
			"environment": plan.Environment,
			"reason":      dispatchReason(plan, actor),
		},
	})
	if err != nil && mayHaveActed(err) {
		return c.afterUnansweredDispatch(ctx, info, plan, at, earlier, err)
	}
	if err != nil {
		return incident.RollbackRun{}, err
	}
	c.log.Info("github: rollback workflow dispatched",
		slog.String("repo", r.String()), slog.String("workflow", plan.Workflow),
		slog.String("environment", plan.Environment), slog.String("sha", plan.ToRef),
		slog.Int64("run_id", dispatched.GetID()))
	if dispatched != nil {
		link := dispatched.HTMLURL
		if link == "" {
			link = fmt.Sprintf("%s/actions/runs/%d", info.htmlURL, dispatched.ID)
		}
		return incident.RollbackRun{
			Plan:       plan,
			ExternalID: strconv.FormatInt(dispatched.ID, 10),
			URL:        link,
			Status:     "queued",
			Detail:     fmt.Sprintf("Dispatched %s on %s; its run is queued.", plan.Workflow, info.defaultBranch),
		}, nil
	}
	// GitHub did not say which run it started: only a run whose title
	// carries the key is ours.
	run, err := c.findDispatchedRun(ctx, info, plan, at)
	if err != nil || run == nil {
		// The dispatch went through; finding its run is best effort, and
		// Progress tries again.
		if err != nil {
			c.log.Warn("github: could not find the dispatched run", slog.String("repo", r.String()), slog.Any("error", err))
		}
		return unknownRun(plan, info), nil
	}
	return workflowRun(plan, run), nil
}

// mayHaveActed reports whether a dispatch that failed with err may have
// started a run all the same: GitHub answered 5xx, or the answer never
// came (a timeout, a dropped connection). A refusal (4xx), a rate limit, a
// connection that was never made and an open circuit breaker did nothing.
func mayHaveActed(err error) bool {
	if errors.Is(err, outbound.ErrBreakerOpen) {
		return false
	}
	var rl *outbound.RateLimitedError
	if errors.As(err, &rl) {
		return false
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode >= 500
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	var un *outbound.UnavailableError
	var ue *url.Error
	return errors.As(err, &un) || errors.As(err, &ue)
}

// afterUnansweredDispatch handles a dispatch whose answer was lost (err):
// GitHub may have started the run. Sending it again could deploy twice,
// and the rollback job would send it again on any error it may retry, so
// the bot looks for the run instead: one whose title names the key, else
// the one workflow_dispatch run its own login started since, of those not
// listed before the dispatch (earlier). Found, it is followed; not found,
// the round fails (EINVALID, which the job does not retry) saying where to
// look, and a person decides whether to retry.
func (c *deployRollbacker) afterUnansweredDispatch(ctx context.Context, info repoInfo, plan incident.RollbackPlan, at time.Time,
	earlier []*gh.WorkflowRun, err error) (incident.RollbackRun, error) {
	r := info.ref
	log := c.log.With(slog.String("repo", r.String()), slog.String("workflow", plan.Workflow))
	log.Warn("github: the dispatch was not answered; looking for the run it may have started", slog.Any("error", err))
	if run, ferr := c.startedSince(ctx, info, plan, at, earlier); ferr != nil {
		log.Warn("github: could not look for the dispatched run", slog.Any("error", ferr))
	} else if run != nil {
		log.Info("github: found the run of the unanswered dispatch", slog.Int64("run_id", run.GetID()))
		return workflowRun(plan, run), nil
	}
	what := "nothing in time"
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		what = fmt.Sprintf("HTTP %d", er.Response.StatusCode)
	}
	return incident.RollbackRun{}, &apiError{"dispatch workflow " + plan.Workflow, incident.Errorf(incident.EINVALID,
		"GitHub answered %s to the dispatch of %s, which may have started a run all the same, so the bot did not dispatch it again. "+
			"Check %s/actions/workflows/%s and retry the rollback if no run started.",
		what, plan.Workflow, info.htmlURL, plan.Workflow), err}
}

// startedSince finds the run an unanswered dispatch started: the run whose
// title names the key, else the only run dispatched since at, by the
// bot's own login, that is not among earlier and names no other rollback.
func (c *deployRollbacker) startedSince(ctx context.Context, info repoInfo, plan incident.RollbackPlan, at time.Time,
	earlier []*gh.WorkflowRun) (*gh.WorkflowRun, error) {
	runs, err := c.dispatchRuns(ctx, info, plan, at)
	if err != nil {
		return nil, err
	}
	if run := runNamingKey(runs, plan.Key); run != nil {
		return run, nil
	}
	self, err := c.selfLogin(ctx)
	if err != nil {
		return nil, err
	}
	known := map[int64]bool{}
	for _, run := range earlier {
		known[run.GetID()] = true
	}
	var found *gh.WorkflowRun
	for _, run := range runs {
		by := run.GetTriggeringActor().GetLogin()
		if by == "" {
			by = run.GetActor().GetLogin()
		}
		if known[run.GetID()] || !strings.EqualFold(by, self) || strings.Contains(run.GetDisplayTitle(), "firebreak rollback ") {
			continue
		}
		if found != nil {
			return nil, nil // two candidates: neither is surely ours
		}
		found = run
	}
	return found, nil
}

// unknownRun is a dispatched rollback whose run GitHub has not named and no
// run's title identifies yet.
func unknownRun(plan incident.RollbackPlan, info repoInfo) incident.RollbackRun {
	return incident.RollbackRun{
		Plan:   plan,
		URL:    fmt.Sprintf("%s/actions/workflows/%s", info.htmlURL, plan.Workflow),
		Status: "queued",
		Detail: fmt.Sprintf("Dispatched %s on %s; GitHub did not say which run it started, and no run's title names this rollback yet "+
			"(set `run-name: ${{ inputs.reason }}` in the workflow so the bot can tell its run apart).", plan.Workflow, info.defaultBranch),
	}
}

// dispatchRequest is the body of a workflow dispatch. go-github v60's
// CreateWorkflowDispatchEventRequest has no return_run_details.
type dispatchRequest struct {
	Ref              string         `json:"ref"`
	Inputs           map[string]any `json:"inputs,omitempty"`
	ReturnRunDetails *bool          `json:"return_run_details,omitempty"`
}

// dispatchedRun is GitHub's answer to a dispatch with return_run_details.
type dispatchedRun struct {
	ID      int64  `json:"workflow_run_id"`
	RunURL  string `json:"run_url"`
	HTMLURL string `json:"html_url"`
}

// GetID returns the run's id, 0 for a nil run.
func (d *dispatchedRun) GetID() int64 {
	if d == nil {
		return 0
	}
	return d.ID
}

// dispatch dispatches the workflow and asks GitHub for the run it starts
// (return_run_details): GitHub answers 200 with the run's id. nil, without
// an error, means GitHub did not say: it answered 204, or it is an older
// GitHub Enterprise Server that refused the field (400 or 422 naming it)
// and the dispatch was sent again without it.
func (c *deployRollbacker) dispatch(ctx context.Context, r repoRef, workflow string, body dispatchRequest) (*dispatchedRun, error) {
	op := "dispatch workflow " + workflow
	send := func(details bool) (*dispatchedRun, error) {
		body.ReturnRunDetails = nil
		if details {
			body.ReturnRunDetails = gh.Bool(true)
		}
		u := fmt.Sprintf("repos/%s/%s/actions/workflows/%s/dispatches", url.PathEscape(r.owner), url.PathEscape(r.name), url.PathEscape(workflow))
		req, err := c.gh.NewRequest(http.MethodPost, u, body)
		if err != nil {
			return nil, err
		}
		var out dispatchedRun
		resp, err := c.gh.Do(ctx, req, &out)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusNoContent || out.ID == 0 {
			return nil, nil
		}
		return &out, nil
	}
	run, err := send(true)
	if err != nil && refusesRunDetails(err) {
		// Nothing was dispatched: GitHub validates the body first.
		c.log.Info("github: GitHub does not return dispatched runs; dispatching without return_run_details",
			slog.String("repo", r.String()), slog.String("workflow", workflow))
		run, err = send(false)
	}
	if err != nil {
		return nil, c.wrap(err, op, r)
	}
	return run, nil
}

// refusesRunDetails reports whether GitHub refused return_run_details as a
// field it does not know, as GitHub Enterprise Server releases that
// predate it (3.20 and older) do.
func refusesRunDetails(err error) bool {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return false
	}
	if s := er.Response.StatusCode; s != http.StatusBadRequest && s != http.StatusUnprocessableEntity {
		return false
	}
	return strings.Contains(er.Error(), "return_run_details")
}

// dispatchReason is the reason input; it carries the plan's key so a
// workflow that shows it as its run name makes the run recognisable.
func dispatchReason(plan incident.RollbackPlan, actor string) string {
	return fmt.Sprintf("firebreak rollback %s requested by %s", plan.Key, actor)
}

// findDispatchedRun looks among recent workflow_dispatch runs of the plan's
// workflow for the one this plan started: the one whose display title (or
// name) carries the key. since, when set, only narrows the listing to runs
// created from shortly before it on; a run is never taken for ours by its
// creation time, since anyone may dispatch the workflow meanwhile.
func (c *deployRollbacker) findDispatchedRun(ctx context.Context, info repoInfo, plan incident.RollbackPlan, since time.Time) (*gh.WorkflowRun, error) {
	runs, err := c.dispatchRuns(ctx, info, plan, since)
	if err != nil {
		return nil, err
	}
	return runNamingKey(runs, plan.Key), nil
}

// dispatchRuns lists the newest workflow_dispatch runs of the plan's
// workflow on the default branch, created from shortly before since on
// when since is set.
func (c *deployRollbacker) dispatchRuns(ctx context.Context, info repoInfo, plan incident.RollbackPlan, since time.Time) ([]*gh.WorkflowRun, error) {
	opts := &gh.ListWorkflowRunsOptions{Event: "workflow_dispatch", Branch: info.defaultBranch, ListOptions: gh.ListOptions{PerPage: perPage}}
	if !since.IsZero() {
		opts.Created = ">=" + since.Add(-dispatchSkew).UTC().Format(time.RFC3339)
	}
	runs, _, err := c.gh.Actions.ListWorkflowRunsByFileName(ctx, info.ref.owner, info.ref.name, plan.Workflow, opts)
	if err != nil {
		return nil, c.wrap(err, "list runs of workflow "+plan.Workflow, info.ref)
	}
	return runs.WorkflowRuns, nil
}

// runNamingKey returns the run whose display title (or name) carries the
// key, or nil.
func runNamingKey(runs []*gh.WorkflowRun, key string) *gh.WorkflowRun {
	for _, run := range runs {
		if incident.NamesKey(run.GetDisplayTitle(), key) || incident.NamesKey(run.GetName(), key) {
			return run
		}
	}
	return nil
}

func workflowRun(plan incident.RollbackPlan, run *gh.WorkflowRun) incident.RollbackRun {
	out := incident.RollbackRun{Plan: plan, ExternalID: strconv.FormatInt(run.GetID(), 10), URL: run.GetHTMLURL()}
	switch run.GetStatus() {
	case "completed":
		if run.GetConclusion() == "success" {
			out.Status = "succeeded"
			out.Detail = fmt.Sprintf("%s run #%d succeeded.", plan.Workflow, run.GetRunNumber())
		} else {
			out.Status = "failed"
			out.Detail = fmt.Sprintf("%s run #%d ended: %s.", plan.Workflow, run.GetRunNumber(), run.GetConclusion())
		}
	case "in_progress":
		out.Status = "in_progress"
		out.Detail = fmt.Sprintf("%s run #%d is running.", plan.Workflow, run.GetRunNumber())
	default: // queued, requested, waiting, pending
		out.Status = "queued"
		out.Detail = fmt.Sprintf("%s run #%d is %s.", plan.Workflow, run.GetRunNumber(), run.GetStatus())
	}
	return out
}

// Progress reads the workflow run's status and conclusion, or the rollback
// deployment's statuses, into run.Status: queued, in_progress, succeeded or
// failed. A run without an id (GitHub did not name it, or the bot lost its
// answer) is found by the plan's key: the workflow run whose title names
// it, the deployment whose payload carries it.
func (c *deployRollbacker) Progress(ctx context.Context, run incident.RollbackRun) (incident.RollbackRun, error) {
	plan := run.Plan
	r, err := parseRepo(plan.Repo)
	if err != nil {
		return run, err
	}
	switch plan.Method {
	case MethodWorkflow:
		if run.ExternalID == "" {
			info, err := c.repo(ctx, r)
			if err != nil {
				return run, err
			}
			found, err := c.findDispatchedRun(ctx, info, plan, time.Time{})
			if err != nil {
				return run, err
			}
			if found == nil {
				// Still unknown: keep waiting for a run that names the
				// rollback rather than guess.
				return unknownRun(plan, info), nil
			}
			return workflowRun(plan, found), nil
		}
		id, err := strconv.ParseInt(run.ExternalID, 10, 64)
		if err != nil {
			return run, incident.Errorf(incident.EINVALID, "Workflow run id %q is not a number.", run.ExternalID)
		}
		wr, _, err := c.gh.Actions.GetWorkflowRunByID(ctx, r.owner, r.name, id)
		if err != nil {
			return run, c.wrap(err, "read workflow run", r)
		}
		return workflowRun(plan, wr), nil
	case MethodDeployment:
		if run.ExternalID == "" {
			return c.keyedProgress(ctx, r, run)
		}
		id, err := strconv.ParseInt(run.ExternalID, 10, 64)
		if err != nil {
			return run, incident.Errorf(incident.EINVALID, "Deployment id %q is not a number.", run.ExternalID)
		}
		sts, err := c.statuses(ctx, r, id)
		if err != nil {
			return run, err
		}
		return deploymentProgress(run, sts), nil
	}
	return run, incident.Errorf(incident.EINVALID, "Unknown rollback method %q: use workflow or deployment.", plan.Method)
}

// keyedProgress follows a rollback deployment whose id the bot does not
// know (GitHub's answer to its creation was lost): the deployment carrying
// the plan's key, else, while there is none, a run still waiting for it.
func (c *deployRollbacker) keyedProgress(ctx context.Context, r repoRef, run incident.RollbackRun) (incident.RollbackRun, error) {
	d, err := c.keyedDeployment(ctx, r, run.Plan)
	if err != nil {
		return run, err
	}
	if d == nil {
		run.Status = "queued"
		run.Detail = fmt.Sprintf("No deployment of %s to %s carries this rollback's key yet.", shortSHA(run.Plan.ToRef), run.Plan.Environment)
		return run, nil
	}
	sts, err := c.statuses(ctx, r, d.GetID())
	if err != nil {
		return run, err
	}
	run.ExternalID = strconv.FormatInt(d.GetID(), 10)
	return deploymentProgress(run, sts), nil
}

// deploymentProgress maps a deployment's statuses, newest first.
func deploymentProgress(run incident.RollbackRun, sts []*gh.DeploymentStatus) incident.RollbackRun {
	if len(sts) == 0 {
		run.Status = "queued"
		run.Detail = "Waiting for the deploy system to pick up the deployment."
		return run
	}
	latest := sts[0]
	if u := latest.GetLogURL(); u != "" {
		run.URL = u
	} else if u := latest.GetTargetURL(); u != "" {
		run.URL = u
	}
	state := latest.GetState()
	switch state {
	case "queued", "pending":
		run.Status = "queued"
	case "in_progress":
		run.Status = "in_progress"
	case "success":
		run.Status = "succeeded"
	case "inactive":
		// Inactive means a later deployment replaced this one; it counts
		// as done if it had succeeded first.
		run.Status = "failed"
		for _, st := range sts {
			if st.GetState() == "success" {
				run.Status = "succeeded"
			}
		}
	default: // failure, error
		run.Status = "failed"
	}
	run.Detail = fmt.Sprintf("The deployment is %s.", strings.ReplaceAll(state, "_", " "))
	if d := latest.GetDescription(); d != "" {
		run.Detail = fmt.Sprintf("The deployment is %s: %s", strings.ReplaceAll(state, "_", " "), d)
	}
	return run
}

package github

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/firebreakhq/firebreak/incident"
)

const (
	perPage = 100
	// maxPages bounds every listing: a changes window is hours long, so more
	// than a thousand deploys or pull requests in it means something else is
	// wrong, and the bot must not spend its rate limit finding out.
	maxPages = 10
	// maxDeployments bounds the deployments whose statuses are read, one
	// call each, per repository and environment.
	maxDeployments = 50
	// startLookback is how long before the window a deploy or run may have
	// started and still finish inside it: a change counts when it finishes
	// (or last moves), and GitHub Actions stops a job after 6 hours.
	startLookback = 6 * time.Hour
)

// changeLister is the change source: deployments, merged pull requests
// and deploy workflow runs.
type changeLister struct{ *api }

// Changes lists the service's deployments (at their latest status, passing
// over inactive: see describingStatus), the pull requests merged into each
// repository's default branch, and the runs
// of its deploy workflow that finished or last moved in [from, to], oldest
// first; a deploy or run started up to startLookback before the window
// counts when it finished inside it. A service
// with no repositories gets none, without a call. ENOTFOUND names a
// repository or workflow GitHub does not show; EUNAVAILABLE when GitHub is
// down or rate limiting (then with a RetryAfter wait).
func (c *changeLister) Changes(ctx context.Context, svc incident.ServicePolicy, from, to time.Time) ([]incident.ChangeEvent, error) {
	out, _, err := c.ChangesCut(ctx, svc, from, to)
	return out, err
}

// ChangesCut is Changes, with the lists it read only the newest of: more
// than maxDeployments deployments to one environment of a repository, or
// more pull requests or runs than maxPages pages hold.
func (c *changeLister) ChangesCut(ctx context.Context, svc incident.ServicePolicy, from, to time.Time) ([]incident.ChangeEvent, []incident.SourceCut, error) {
	out := []incident.ChangeEvent{}
	var cuts []incident.SourceCut
	for _, full := range svc.GitHub.Repos {
		r, err := parseRepo(full)
		if err != nil {
			return nil, nil, err
		}
		info, err := c.repo(ctx, r)
		if err != nil {
			return nil, nil, err
		}
		envs := svc.GitHub.Environments
		if len(envs) == 0 {
			envs = []string{""} // every environment
		}
		for _, env := range envs {
			got, cut, err := c.deployChanges(ctx, svc.Key, info, env, from, to)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, got...)
			cuts = append(cuts, cut...)
		}
		prs, cut, err := c.pullChanges(ctx, svc.Key, info, from, to)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, prs...)
		cuts = append(cuts, cut...)
		if wf := svc.GitHub.DeployWorkflow; wf != "" {
			runs, cut, err := c.runChanges(ctx, svc.Key, info, wf, from, to)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, runs...)
			cuts = append(cuts, cut...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].OccurredAt.Before(out[j].OccurredAt) })
	return out, cuts, nil
}

// cut says the lister read only the newest read of what.
func cut(what string, read int) []incident.SourceCut {
	return []incident.SourceCut{{Source: "GitHub", What: what, Read: read}}
}

func inWindow(t, from, to time.Time) bool { return !t.Before(from) && !t.After(to) }

// listDeployments pages through deployments newest first and stops at the
// first page that reaches back before since; more reports that it stopped
// at maxPages with older ones still to list.
func (c *api) listDeployments(ctx context.Context, r repoRef, opts gh.DeploymentsListOptions, since time.Time) (_ []*gh.Deployment, more bool, _ error) {
	opts.PerPage = perPage
	var all []*gh.Deployment
	for page := 0; page < maxPages; page++ {
		ds, resp, err := c.gh.Repositories.ListDeployments(ctx, r.owner, r.name, &opts)
		if err != nil {
			return nil, false, c.wrap(err, "list deployments", r)
		}
		all = append(all, ds...)
		if len(ds) == 0 || resp.NextPage == 0 || ds[len(ds)-1].GetCreatedAt().Before(since) {
			return all, false, nil
		}
		opts.Page = resp.NextPage
	}
	return all, true, nil
}

// statuses returns a deployment's statuses, newest first.
func (c *api) statuses(ctx context.Context, r repoRef, id int64) ([]*gh.DeploymentStatus, error) {
	sts, _, err := c.gh.Repositories.ListDeploymentStatuses(ctx, r.owner, r.name, id, &gh.ListOptions{PerPage: perPage})
	if err != nil {
		return nil, c.wrap(err, "list deployment statuses", r)
	}
	// GitHub lists the newest first, but ids only grow, so sort on them
	// rather than trust the order.
	sort.SliceStable(sts, func(i, j int) bool { return sts[i].GetID() > sts[j].GetID() })
	return sts, nil
}

func (c *changeLister) deployChanges(ctx context.Context, svcKey string, info repoInfo, env string, from, to time.Time) ([]incident.ChangeEvent, []incident.SourceCut, error) {
	since := from.Add(-startLookback)
	ds, more, err := c.listDeployments(ctx, info.ref, gh.DeploymentsListOptions{Environment: env}, since)
	if err != nil {
		return nil, nil, err
	}
	what := "deployments in " + info.ref.String()
	if env != "" {
		what = "deployments to " + env + " in " + info.ref.String()
	}
	var out []incident.ChangeEvent
	read := 0
	for _, d := range ds {
		if !inWindow(d.GetCreatedAt().Time, since, to) {
			continue
		}
		// A deployment's updated_at moves with each status, so one last
		// updated before the window cannot have moved inside it.
		if d.UpdatedAt != nil && d.GetUpdatedAt().Before(from) {
			continue
		}
		if read == maxDeployments {
			c.log.Warn("github: too many deployments in the changes window; listing the newest",
				slog.String("repo", info.ref.String()), slog.String("environment", env), slog.Int("limit", maxDeployments))
			return out, cut(what, read), nil
		}
		read++
		sts, err := c.statuses(ctx, info.ref, d.GetID())
		if err != nil {
			return nil, nil, err
		}
		if ch := deployChange(svcKey, info.ref.String(), info.htmlURL, d, describingStatus(d, sts)); incident.ChangeInWindow(ch, from, to) {
			out = append(out, ch)
		}
	}
	if more {
		return out, cut(what, read), nil
	}
	return out, nil, nil
}

// describingStatus picks the status that describes a deployment, from its
// statuses newest first: the latest, nil before the first. GitHub marks a
// deployment inactive when a later one to its environment succeeds
// (auto_inactive), which says nothing happened to this one, so an inactive
// status is passed over for the last other one: the deployment reads as
// the success it was, when it was. One that was only ever marked inactive
// reads as inactive at its creation.
func describingStatus(d *gh.Deployment, sts []*gh.DeploymentStatus) *gh.DeploymentStatus {
	for _, st := range sts {
		if st.GetState() != "inactive" {
			return st
		}
	}
	if len(sts) == 0 {
		return nil
	}
	only := *sts[len(sts)-1]
	only.CreatedAt = d.CreatedAt
	return &only
}

// deploymentExternalID is shared by the API listing and the
// deployment_status webhook, so both report the same change.
func deploymentExternalID(repo string, id int64) string {
	return fmt.Sprintf("deployment:%s:%d", repo, id)
}

// deployChange reports a deployment at its latest status st (nil before
// the first): it happened when that status was set, and the status id,
// which only grows, orders the reports of one deployment.
func deployChange(svcKey, repo, repoHTML string, d *gh.Deployment, st *gh.DeploymentStatus) incident.ChangeEvent {
	state := "pending"
	env := d.GetEnvironment()
	link := repoHTML + "/deployments"
	at := d.GetCreatedAt().Time
	var revision int64
	if st != nil {
		state = st.GetState()
		revision = st.GetID()
		if t := st.GetCreatedAt().Time; !t.IsZero() {
			at = t
		}
		if st.GetEnvironment() != "" {
			env = st.GetEnvironment()
		}
		switch {
		case st.GetLogURL() != "":
			link = st.GetLogURL()
		case st.GetTargetURL() != "":
			link = st.GetTargetURL()
		}
	}
	data := map[string]string{
		"deployment_id":        strconv.FormatInt(d.GetID(), 10),
		incident.DataStartedAt: d.GetCreatedAt().Time.UTC().Format(time.RFC3339),
		"state":                state,
		"repo":                 repo,
		"ref":                  d.GetRef(),
		"task":                 d.GetTask(),
	}
	if d.GetDescription() != "" {
		data["description"] = d.GetDescription()
	}
	return incident.ChangeEvent{
		Source:      Source,
		ExternalID:  deploymentExternalID(repo, d.GetID()),
		Kind:        incident.ChangeDeploy,
		Service:     svcKey,
		Summary:     fmt.Sprintf("Deploy %s@%s to %s (%s)", repo, shortSHA(d.GetSHA()), env, state),
		Actor:       d.GetCreator().GetLogin(),
		URL:         link,
		Environment: env,
		Ref:         d.GetSHA(),
		OccurredAt:  at.UTC(),
		Revision:    revision,
		Data:        data,
	}
}

func (c *changeLister) pullChanges(ctx context.Context, svcKey string, info repoInfo, from, to time.Time) ([]incident.ChangeEvent, []incident.SourceCut, error) {
	// There is no merged filter: list closed pull requests by last update,
	// newest first, and stop once updates predate the window (a merge
	// updates the pull request, so nothing merged in it is older).
	opts := &gh.PullRequestListOptions{
		State: "closed", Base: info.defaultBranch, Sort: "updated", Direction: "desc",
		ListOptions: gh.ListOptions{PerPage: perPage},
	}
	var out []incident.ChangeEvent
	for page := 0; page < maxPages; page++ {
		prs, resp, err := c.gh.PullRequests.List(ctx, info.ref.owner, info.ref.name, opts)
		if err != nil {
			return nil, nil, c.wrap(err, "list pull requests", info.ref)
		}
		for _, pr := range prs {
			if pr.MergedAt == nil || !inWindow(pr.GetMergedAt().Time, from, to) {
				continue
			}
			out = append(out, pullChange(svcKey, info, pr))
		}
		if len(prs) == 0 || resp.NextPage == 0 || prs[len(prs)-1].GetUpdatedAt().Before(from) {
			return out, nil, nil
		}
		opts.Page = resp.NextPage
	}
	c.log.Warn("github: too many pull requests in the changes window; listing the newest",
		slog.String("repo", info.ref.String()), slog.Int("pages", maxPages))
	return out, cut("pull requests merged into "+info.defaultBranch+" in "+info.ref.String(), len(out)), nil
}

func pullChange(svcKey string, info repoInfo, pr *gh.PullRequest) incident.ChangeEvent {
	repo := info.ref.String()
	actor := pr.GetMergedBy().GetLogin()
	if actor == "" {
		actor = pr.GetUser().GetLogin()
	}
	return incident.ChangeEvent{
		Source:     Source,
		ExternalID: fmt.Sprintf("pull_request:%s:%d", repo, pr.GetNumber()),
		Kind:       incident.ChangePullRequest,
		Service:    svcKey,
		Summary:    fmt.Sprintf("Merged %s#%d into %s: %s", repo, pr.GetNumber(), info.defaultBranch, pr.GetTitle()),
		Actor:      actor,
		URL:        pr.GetHTMLURL(),
		Ref:        pr.GetMergeCommitSHA(),
		OccurredAt: pr.GetMergedAt().Time.UTC(),
		Data: map[string]string{
			"number": strconv.Itoa(pr.GetNumber()),
			"repo":   repo,
			"base":   info.defaultBranch,
			"head":   pr.GetHead().GetRef(),
			"author": pr.GetUser().GetLogin(),
		},
	}
}

// createdRange renders GitHub's created filter for [from, to].
func createdRange(from, to time.Time) string {
	return from.UTC().Format(time.RFC3339) + ".." + to.UTC().Format(time.RFC3339)
}

func (c *changeLister) runChanges(ctx context.Context, svcKey string, info repoInfo, workflow string, from, to time.Time) ([]incident.ChangeEvent, []incident.SourceCut, error) {
	opts := &gh.ListWorkflowRunsOptions{Created: createdRange(from.Add(-startLookback), to), ListOptions: gh.ListOptions{PerPage: perPage}}
	var out []incident.ChangeEvent
	for page := 0; page < maxPages; page++ {
		runs, resp, err := c.gh.Actions.ListWorkflowRunsByFileName(ctx, info.ref.owner, info.ref.name, workflow, opts)
		if err != nil {
			return nil, nil, c.wrap(err, "list runs of workflow "+workflow, info.ref)
		}
		for _, run := range runs.WorkflowRuns {
			if ch := runChange(svcKey, info.ref.String(), workflow, run); incident.ChangeInWindow(ch, from, to) {
				out = append(out, ch)
			}
		}
		if resp.NextPage == 0 {
			return out, nil, nil
		}
		opts.Page = resp.NextPage
	}
	c.log.Warn("github: too many workflow runs in the changes window; listing the newest",
		slog.String("repo", info.ref.String()), slog.String("workflow", workflow), slog.Int("pages", maxPages))
	return out, cut("runs of "+workflow+" in "+info.ref.String(), len(out)), nil
}

// runExternalID names a run: the API listing and the workflow_run webhook
// report it under the same id, and each later state replaces the earlier.
func runExternalID(repo string, id int64) string {
	return fmt.Sprintf("workflow_run:%s:%d", repo, id)
}

// runRevision orders the reports of one run: a re-run (a new attempt)
// starts again from queued, and within an attempt the status only moves
// forward.
func runRevision(run *gh.WorkflowRun) int64 {
	rank := 1 // requested, waiting, queued, pending
	switch run.GetStatus() {
	case "in_progress":
		rank = 2
	case "completed":
		rank = 3
	}
	return int64(max(run.GetRunAttempt(), 1))*10 + int64(rank)
}

// runChange reports a run at its current status: it happened when it last
// moved (its completion, once completed).
func runChange(svcKey, repo, workflow string, run *gh.WorkflowRun) incident.ChangeEvent {
	state := run.GetStatus()
	if run.GetConclusion() != "" {
		state += ": " + run.GetConclusion()
	}
	actor := run.GetTriggeringActor().GetLogin()
	if actor == "" {
		actor = run.GetActor().GetLogin()
	}
	at := run.GetUpdatedAt().Time
	if at.IsZero() {
		at = run.GetCreatedAt().Time
	}
	started := run.GetRunStartedAt().Time
	if started.IsZero() {
		started = run.GetCreatedAt().Time
	}
	return incident.ChangeEvent{
		Source:     Source,
		ExternalID: runExternalID(repo, run.GetID()),
		Kind:       incident.ChangeWorkflow,
		Service:    svcKey,
		Summary: fmt.Sprintf("Workflow %s run #%d on %s@%s (%s)",
			workflow, run.GetRunNumber(), repo, shortSHA(run.GetHeadSHA()), state),
		Actor:      actor,
		URL:        run.GetHTMLURL(),
		Ref:        run.GetHeadSHA(),
		OccurredAt: at.UTC(),
		Revision:   runRevision(run),
		Data: map[string]string{
			"run_id":               strconv.FormatInt(run.GetID(), 10),
			"run_number":           strconv.Itoa(run.GetRunNumber()),
			"status":               run.GetStatus(),
			"conclusion":           run.GetConclusion(),
			"head_sha":             run.GetHeadSHA(),
			"head_branch":          run.GetHeadBranch(),
			"event":                run.GetEvent(),
			"display_title":        run.GetDisplayTitle(),
			"workflow":             workflow,
			"repo":                 repo,
			incident.DataStartedAt: started.UTC().Format(time.RFC3339),
		},
	}
}

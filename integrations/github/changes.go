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
)

// Changes lists the service's deployments (with their latest status), the
// pull requests merged into each repository's default branch, and the runs
// of its deploy workflow, created in [from, to], oldest first. A service
// with no repositories gets none, without a call. ENOTFOUND names a
// repository or workflow GitHub does not show; EUNAVAILABLE when GitHub is
// down or rate limiting (then with a RetryAfter wait).
func (c *Client) Changes(ctx context.Context, svc incident.ServicePolicy, from, to time.Time) ([]incident.ChangeEvent, error) {
	out := []incident.ChangeEvent{}
	for _, full := range svc.GitHub.Repos {
		r, err := parseRepo(full)
		if err != nil {
			return nil, err
		}
		info, err := c.repo(ctx, r)
		if err != nil {
			return nil, err
		}
		envs := svc.GitHub.Environments
		if len(envs) == 0 {
			envs = []string{""} // every environment
		}
		for _, env := range envs {
			got, err := c.deployChanges(ctx, svc.Key, info, env, from, to)
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
		}
		prs, err := c.pullChanges(ctx, svc.Key, info, from, to)
		if err != nil {
			return nil, err
		}
		out = append(out, prs...)
		if wf := svc.GitHub.DeployWorkflow; wf != "" {
			runs, err := c.runChanges(ctx, svc.Key, info, wf, from, to)
			if err != nil {
				return nil, err
			}
			out = append(out, runs...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].OccurredAt.Before(out[j].OccurredAt) })
	return out, nil
}

func inWindow(t, from, to time.Time) bool { return !t.Before(from) && !t.After(to) }

// listDeployments pages through deployments newest first and stops at the
// first page that reaches back before since.
func (c *Client) listDeployments(ctx context.Context, r repoRef, opts gh.DeploymentsListOptions, since time.Time) ([]*gh.Deployment, error) {
	opts.PerPage = perPage
	var all []*gh.Deployment
	for page := 0; page < maxPages; page++ {
		ds, resp, err := c.gh.Repositories.ListDeployments(ctx, r.owner, r.name, &opts)
		if err != nil {
			return nil, c.wrap(err, "list deployments", r)
		}
		all = append(all, ds...)
		if len(ds) == 0 || resp.NextPage == 0 || ds[len(ds)-1].GetCreatedAt().Before(since) {
			break
		}
		opts.Page = resp.NextPage
	}
	return all, nil
}

// statuses returns a deployment's statuses, newest first.
func (c *Client) statuses(ctx context.Context, r repoRef, id int64) ([]*gh.DeploymentStatus, error) {
	sts, _, err := c.gh.Repositories.ListDeploymentStatuses(ctx, r.owner, r.name, id, &gh.ListOptions{PerPage: perPage})
	if err != nil {
		return nil, c.wrap(err, "list deployment statuses", r)
	}
	// GitHub lists the newest first, but ids only grow, so sort on them
	// rather than trust the order.
	sort.SliceStable(sts, func(i, j int) bool { return sts[i].GetID() > sts[j].GetID() })
	return sts, nil
}

func (c *Client) deployChanges(ctx context.Context, svcKey string, info repoInfo, env string, from, to time.Time) ([]incident.ChangeEvent, error) {
	ds, err := c.listDeployments(ctx, info.ref, gh.DeploymentsListOptions{Environment: env}, from)
	if err != nil {
		return nil, err
	}
	var out []incident.ChangeEvent
	for _, d := range ds {
		if !inWindow(d.GetCreatedAt().Time, from, to) {
			continue
		}
		if len(out) == maxDeployments {
			c.log.Warn("github: too many deployments in the changes window; listing the newest",
				slog.String("repo", info.ref.String()), slog.Int("limit", maxDeployments))
			break
		}
		sts, err := c.statuses(ctx, info.ref, d.GetID())
		if err != nil {
			return nil, err
		}
		var latest *gh.DeploymentStatus
		if len(sts) > 0 {
			latest = sts[0]
		}
		out = append(out, deployChange(svcKey, info.ref.String(), info.htmlURL, d, latest))
	}
	return out, nil
}

// deploymentExternalID is shared by the API listing and the
// deployment_status webhook, so both report the same change.
func deploymentExternalID(repo string, id int64) string {
	return fmt.Sprintf("deployment:%s:%d", repo, id)
}

func deployChange(svcKey, repo, repoHTML string, d *gh.Deployment, st *gh.DeploymentStatus) incident.ChangeEvent {
	state := "pending"
	env := d.GetEnvironment()
	link := repoHTML + "/deployments"
	if st != nil {
		state = st.GetState()
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
		"deployment_id": strconv.FormatInt(d.GetID(), 10),
		"state":         state,
		"repo":          repo,
		"ref":           d.GetRef(),
		"task":          d.GetTask(),
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
		OccurredAt:  d.GetCreatedAt().Time.UTC(),
		Data:        data,
	}
}

func (c *Client) pullChanges(ctx context.Context, svcKey string, info repoInfo, from, to time.Time) ([]incident.ChangeEvent, error) {
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
			return nil, c.wrap(err, "list pull requests", info.ref)
		}
		for _, pr := range prs {
			if pr.MergedAt == nil || !inWindow(pr.GetMergedAt().Time, from, to) {
				continue
			}
			out = append(out, pullChange(svcKey, info, pr))
		}
		if len(prs) == 0 || resp.NextPage == 0 || prs[len(prs)-1].GetUpdatedAt().Before(from) {
			break
		}
		opts.Page = resp.NextPage
	}
	return out, nil
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

func (c *Client) runChanges(ctx context.Context, svcKey string, info repoInfo, workflow string, from, to time.Time) ([]incident.ChangeEvent, error) {
	opts := &gh.ListWorkflowRunsOptions{Created: createdRange(from, to), ListOptions: gh.ListOptions{PerPage: perPage}}
	var out []incident.ChangeEvent
	for page := 0; page < maxPages; page++ {
		runs, resp, err := c.gh.Actions.ListWorkflowRunsByFileName(ctx, info.ref.owner, info.ref.name, workflow, opts)
		if err != nil {
			return nil, c.wrap(err, "list runs of workflow "+workflow, info.ref)
		}
		for _, run := range runs.WorkflowRuns {
			if inWindow(run.GetCreatedAt().Time, from, to) {
				out = append(out, runChange(svcKey, info.ref.String(), workflow, run))
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return out, nil
}

// runExternalID names one state of a run: the API listing and the
// workflow_run webhook report the same state under the same id, and a
// run's completion is a change of its own.
func runExternalID(repo string, id int64, status string) string {
	return fmt.Sprintf("workflow_run:%s:%d:%s", repo, id, status)
}

func runChange(svcKey, repo, workflow string, run *gh.WorkflowRun) incident.ChangeEvent {
	state := run.GetStatus()
	if run.GetConclusion() != "" {
		state += ": " + run.GetConclusion()
	}
	actor := run.GetTriggeringActor().GetLogin()
	if actor == "" {
		actor = run.GetActor().GetLogin()
	}
	return incident.ChangeEvent{
		Source:     Source,
		ExternalID: runExternalID(repo, run.GetID(), run.GetStatus()),
		Kind:       incident.ChangeWorkflow,
		Service:    svcKey,
		Summary: fmt.Sprintf("Workflow %s run #%d on %s@%s (%s)",
			workflow, run.GetRunNumber(), repo, shortSHA(run.GetHeadSHA()), state),
		Actor:      actor,
		URL:        run.GetHTMLURL(),
		Ref:        run.GetHeadSHA(),
		OccurredAt: run.GetCreatedAt().Time.UTC(),
		Data: map[string]string{
			"run_id":      strconv.FormatInt(run.GetID(), 10),
			"run_number":  strconv.Itoa(run.GetRunNumber()),
			"status":      run.GetStatus(),
			"conclusion":  run.GetConclusion(),
			"head_sha":    run.GetHeadSHA(),
			"head_branch": run.GetHeadBranch(),
			"event":       run.GetEvent(),
			"workflow":    workflow,
			"repo":        repo,
		},
	}
}

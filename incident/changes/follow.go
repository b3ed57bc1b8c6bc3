package changes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// follow moves running rollbacks on from a webhook's deploy or
// workflow run. Only open incidents are searched; the polls follow the
// rest.
func (s *Rollbacks) follow(ctx context.Context, c incident.ChangeEvent) error {
	status, ok := runStatusOfChange(c)
	if !ok || c.Data["repo"] == "" {
		return nil
	}
	incs, err := s.store.ListIncidents(ctx, incident.IncidentFilter{OpenOnly: true})
	if err != nil {
		return fmt.Errorf("follow rollbacks: %w", err)
	}
	var errs []error
	for _, inc := range incs {
		rbs, err := s.store.ListRollbacks(ctx, inc.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i := range rbs {
			r := &rbs[i]
			if r.Status != incident.RollbackRunning || r.Plan.Source != c.Source || r.Plan.Kind != incident.ChangeDeploy || !strings.EqualFold(r.Plan.Repo, c.Data["repo"]) {
				continue
			}
			round, start, err := s.rollbackRound(ctx, inc.ID, r)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			// A retry dispatches under its own key: only its run is ours.
			cur := *r
			cur.Plan = execPlan(r, round)
			run, ok := runOfChange(&cur, start, c, status)
			if !ok {
				continue
			}
			if _, err := s.applyRun(ctx, inc, r, round, start, run); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// runStatusOfChange maps a GitHub deployment state or workflow run status
// to a run status; false for states that say nothing about a rollback.
func runStatusOfChange(c incident.ChangeEvent) (string, bool) {
	switch c.Kind {
	case incident.ChangeDeploy:
		switch c.Data["state"] {
		case "queued", "pending":
			return "queued", true
		case "in_progress":
			return "in_progress", true
		case "success":
			return "succeeded", true
		case "failure", "error":
			return "failed", true
		}
	case incident.ChangeWorkflow:
		switch c.Data["status"] {
		case "completed":
			if c.Data["conclusion"] == "success" {
				return "succeeded", true
			}
			return "failed", true
		case "in_progress":
			return "in_progress", true
		case "queued", "requested", "waiting", "pending":
			return "queued", true
		}
	}
	return "", false
}

// runOfChange decides whether a deploy or workflow run belongs to a
// rollback: the deployment or run it created, or, before that id is known,
// a deployment of the target commit to the environment from the rollback's
// start on, or a run of the deploy workflow whose title names the plan's
// key (r.Plan.Key, the key of the round running). A workflow run is never
// taken for the rollback's because of when it was created or which commit
// it runs: anyone may dispatch the deploy workflow at the same time, and
// until a run names the key the rollback waits for its poll.
func runOfChange(r *incident.Rollback, start time.Time, c incident.ChangeEvent, status string) (incident.RollbackRun, bool) {
	p := r.Plan
	recent := !c.OccurredAt.Before(start.Add(-rollbackSkew))
	run := incident.RollbackRun{Plan: p, URL: c.URL, Status: status, Detail: c.Summary + "."}
	switch c.Kind {
	case incident.ChangeDeploy:
		id := c.Data["deployment_id"]
		if p.Method == "deployment" {
			if r.ExternalID != "" {
				if id != r.ExternalID {
					return run, false
				}
				return run, true
			}
			run.ExternalID = id
		}
		// A workflow that deploys creates a deployment of the commit too.
		return run, c.Ref == p.ToRef && c.Environment == p.Environment && recent
	case incident.ChangeWorkflow:
		if p.Method != "workflow" {
			return run, false
		}
		id := c.Data["run_id"]
		if r.ExternalID != "" {
			return run, id == r.ExternalID
		}
		run.ExternalID = id
		sameWorkflow := p.Workflow == "" || c.Data["workflow"] == "" || c.Data["workflow"] == p.Workflow
		return run, id != "" && sameWorkflow && incident.NamesKey(c.Data["display_title"], p.Key)
	}
	return run, false
}

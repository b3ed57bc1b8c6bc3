package changes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
)

// RecordChange stores a change delivered by a webhook. A change without a
// service is matched to one: a GitHub deploy by its repository
// (Data["repo"]) and environment among the services' github repos and
// environments, a GitHub workflow run by its repository and workflow file
// (Data["workflow"]) among the services' deploy workflows, a flag change by
// its provider (Source), key (Ref), project (Data["project"], empty meaning
// "default") and environment among the services' flags. A GitHub deploy or
// run that matches no service is not a change to anything the bot watches
// (a test workflow, a GitHub Pages deploy) and is not recorded. A later
// state of a stored change (a deployment's failure after its in_progress)
// replaces it. A GitHub deploy or workflow run that belongs to a running
// rollback also moves that rollback on, even when the change itself is not
// recorded. ECONFLICT, returned as is, means the change was recorded before
// at this state or a later one (a redelivery, or a late delivery); a
// failure to move a rollback on is returned instead, never as ECONFLICT, so
// that the delivery is retried.
func (s *Service) RecordChange(ctx context.Context, c incident.ChangeEvent) error {
	if c.Service == "" {
		c.Service = serviceOfChange(s.policy, c)
	}
	if c.OccurredAt.IsZero() {
		c.OccurredAt = s.clock.Now()
	}
	var err error
	if c.Service != "" || !isGitHubRun(c) {
		stored := c
		err = s.store.AddChangeEvent(ctx, &stored)
		if err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
			return fmt.Errorf("record change %s %s: %w", c.Source, c.ExternalID, err)
		}
	}
	// A deployment reports each of its states under one id, so a late
	// state is a "duplicate" that still carries the rollback's progress.
	// A failure to apply it is returned even for a duplicate, so that the
	// sender (GitHub) is answered 5xx and redelivers, rather than 200.
	if perr := s.rollbacks.follow(ctx, c); perr != nil {
		if incident.ErrorCode(perr) == incident.ECONFLICT {
			perr = errors.Join(incident.Errorf(incident.EUNAVAILABLE, "A rollback's progress could not be recorded; try again."), perr)
		}
		return fmt.Errorf("record change %s %s: move a running rollback on: %w", c.Source, c.ExternalID, perr)
	}
	return err
}

// isGitHubRun reports whether c is a GitHub deploy or workflow run: those
// are only changes of the services that watch them.
func isGitHubRun(c incident.ChangeEvent) bool {
	return c.Source == "github" && c.Data["repo"] != "" && (c.Kind == incident.ChangeDeploy || c.Kind == incident.ChangeWorkflow)
}

// serviceOfChange finds the service a change belongs to, or "".
func serviceOfChange(policy incident.Policy, c incident.ChangeEvent) string {
	if repo := c.Data["repo"]; repo != "" && c.Kind != incident.ChangeFlag {
		return serviceOfRepoChange(policy, c, repo)
	}
	if c.Kind == incident.ChangeFlag && c.Ref != "" {
		return serviceOfFlagChange(policy, c)
	}
	return ""
}

// serviceOfRepoChange finds the first service whose GitHub settings watch
// c, a change in repo, or "".
func serviceOfRepoChange(policy incident.Policy, c incident.ChangeEvent, repo string) string {
	for _, k := range policy.ServiceKeys() {
		gh := policy.Services[k].GitHub
		if slices.ContainsFunc(gh.Repos, func(r string) bool { return strings.EqualFold(r, repo) }) && watchesRepoChange(gh, c) {
			return k
		}
	}
	return ""
}

// watchesRepoChange reports whether a service with the GitHub settings gh
// counts c, a change in one of its repositories, as its own.
func watchesRepoChange(gh incident.GitHubService, c incident.ChangeEvent) bool {
	if c.Kind == incident.ChangeWorkflow {
		// Only the deploy workflow changes production; tests
		// and linters run in the same repository.
		return gh.DeployWorkflow != "" && strings.EqualFold(gh.DeployWorkflow, c.Data["workflow"])
	}
	// One repository may deploy several services, one per
	// environment, and deploy elsewhere (github-pages).
	return len(gh.Environments) == 0 || slices.Contains(gh.Environments, c.Environment)
}

// serviceOfFlagChange finds the first service that names c's flag, or "".
func serviceOfFlagChange(policy incident.Policy, c incident.ChangeEvent) string {
	project := flagProject(c.Data["project"])
	for _, k := range policy.ServiceKeys() {
		for _, f := range policy.Services[k].Flags {
			if f.Provider == c.Source && f.Key == c.Ref && flagProject(f.Project) == project &&
				(f.Environment == "" || c.Environment == "" || f.Environment == c.Environment) {
				return k
			}
		}
	}
	return ""
}

func flagProject(p string) string {
	if p == "" {
		return "default"
	}
	return p
}

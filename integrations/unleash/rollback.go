package unleash

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/flagoff"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// planner plans this provider's flag turn-offs.
var planner = flagoff.Planner{Source: Source, Name: "Unleash", Article: "an"}

// Handles reports whether ch is an Unleash flag change that names its flag.
func (c *Client) Handles(ch incident.ChangeEvent) bool { return planner.Handles(ch) }

// Plan turns the change's flag off in the change's environment. The project
// and environment come from the change, else from the service's matching
// flag. EINVALID when the change is not an Unleash flag change or no
// environment is known.
func (c *Client) Plan(_ context.Context, ch incident.ChangeEvent, svc incident.ServicePolicy) (incident.RollbackPlan, error) {
	return planner.Plan(ch, svc)
}

// Execute turns the flag off in the plan's environment. Turning off a flag
// that is already off changes nothing, so executing twice is harmless. The
// request is sent once: when Unleash fails (5xx, a timeout) it may have
// turned the flag off all the same, so the flag is read back, and a flag
// that is off is a success. ENOTFOUND when the project, flag or environment
// does not exist, EFORBIDDEN when the token may not make the change (the
// environment requires a change request, say), EINVALID when Unleash
// refuses it otherwise, EUNAVAILABLE when it fails and the flag is still on.
func (c *Client) Execute(ctx context.Context, plan incident.RollbackPlan, _ string) (incident.RollbackRun, error) {
	if err := planner.Check(plan); err != nil {
		return incident.RollbackRun{}, err
	}
	err := c.do(outbound.WithOperation(ctx, "features.environment.off"), http.MethodPost, envPath(plan)+"/off", nil,
		fmt.Sprintf("Unleash has no flag %s in project %s with an environment %s.", plan.Flag, plan.Project, plan.Environment))
	if err != nil && incident.ErrorCode(err) == incident.EUNAVAILABLE {
		if f, rerr := c.readFeature(ctx, plan); rerr == nil && f.isOff(plan.Environment) {
			err = nil
		}
	}
	if err != nil {
		return incident.RollbackRun{}, fmt.Errorf("unleash: turn off flag %s: %w", plan.Flag, err)
	}
	return incident.RollbackRun{
		Plan:   plan,
		URL:    c.flagURL(plan.Project, plan.Flag),
		Status: flagoff.StatusSucceeded,
		Detail: flagoff.OffDetail(plan),
	}, nil
}

// featureRep is the part of a feature the bot reads.
type featureRep struct {
	Environments []struct {
		Name    string `json:"name"`
		Enabled bool   `json:"enabled"`
	} `json:"environments"`
}

// isOff reports whether the feature is known to be off in env.
func (f featureRep) isOff(env string) bool {
	on, known := f.enabled(env)
	return known && !on
}

// enabled reports whether the feature is on in env, and whether env is
// one of its environments.
func (f featureRep) enabled(env string) (on, known bool) {
	for _, e := range f.Environments {
		if e.Name == env {
			return e.Enabled, true
		}
	}
	return false, false
}

// Progress reports a finished run as it is; Execute only returns finished
// runs, so any other status (a turn-off whose answer was lost) reads the
// flag's state to settle it: off succeeded, still on failed.
func (c *Client) Progress(ctx context.Context, run incident.RollbackRun) (incident.RollbackRun, error) {
	if flagoff.Settled(run) {
		return run, nil
	}
	plan := run.Plan
	if err := planner.Check(plan); err != nil {
		return run, err
	}
	f, err := c.readFeature(ctx, plan)
	if err != nil {
		return run, fmt.Errorf("unleash: read flag %s: %w", plan.Flag, err)
	}
	on, known := f.enabled(plan.Environment)
	return flagoff.Follow(run, on, known), nil
}

// readFeature reads the plan's flag.
func (c *Client) readFeature(ctx context.Context, plan incident.RollbackPlan) (featureRep, error) {
	var f featureRep
	err := c.do(outbound.WithOperation(ctx, "features.get"), http.MethodGet, featurePath(plan), &f,
		fmt.Sprintf("Unleash has no flag %s in project %s.", plan.Flag, plan.Project))
	return f, err
}

func featurePath(plan incident.RollbackPlan) string {
	return "/api/admin/projects/" + url.PathEscape(plan.Project) + "/features/" + url.PathEscape(plan.Flag)
}

func envPath(plan incident.RollbackPlan) string {
	return featurePath(plan) + "/environments/" + url.PathEscape(plan.Environment)
}

func (c *Client) flagURL(project, flag string) string {
	return fmt.Sprintf("%s/projects/%s/features/%s", c.base, url.PathEscape(project), url.PathEscape(flag))
}

package unleash

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// Rollback method and run states this package uses.
const (
	methodOff       = "off"
	statusSucceeded = "succeeded"
	statusFailed    = "failed"
)

// Handles reports whether ch is an Unleash flag change that names its flag.
func (c *Client) Handles(ch incident.ChangeEvent) bool {
	return ch.Source == Source && ch.Kind == incident.ChangeFlag && ch.Ref != ""
}

// Plan turns the change's flag off in the change's environment. The project
// and environment come from the change, else from the service's matching
// flag. EINVALID when the change is not an Unleash flag change or no
// environment is known.
func (c *Client) Plan(_ context.Context, ch incident.ChangeEvent, svc incident.ServicePolicy) (incident.RollbackPlan, error) {
	if !c.Handles(ch) {
		return incident.RollbackPlan{}, incident.Errorf(incident.EINVALID, "This change is not an Unleash flag change, so Unleash cannot roll it back.")
	}
	project, env := ch.Data["project"], ch.Environment
	for _, f := range svc.Flags {
		if f.Provider == Source && f.Key == ch.Ref {
			if project == "" {
				project = f.Project
			}
			if env == "" {
				env = f.Environment
			}
			break
		}
	}
	project = projectOf(project)
	if env == "" {
		return incident.RollbackPlan{}, incident.Errorf(incident.EINVALID,
			"The change to flag %s does not say which Unleash environment it was in, so the bot cannot tell where to turn it off; set the environment on the service's flag in the policy file.", ch.Ref)
	}
	return incident.RollbackPlan{
		Key:         fmt.Sprintf("%s:off:%s/%s/%s:%s", Source, project, env, ch.Ref, ch.ExternalID),
		Kind:        incident.ChangeFlag,
		Source:      Source,
		Description: fmt.Sprintf("Turn off flag %s in %s/%s (Unleash).", ch.Ref, project, env),
		Environment: env,
		Method:      methodOff,
		Project:     project,
		Flag:        ch.Ref,
		ChangeID:    ch.Source + ":" + ch.ExternalID,
	}, nil
}

// Execute turns the flag off in the plan's environment. Turning off a flag
// that is already off changes nothing, so executing twice is harmless.
// ENOTFOUND when the project, flag or environment does not exist, EINVALID
// when Unleash refuses (a change request is required, say), EUNAVAILABLE
// when it fails.
func (c *Client) Execute(ctx context.Context, plan incident.RollbackPlan, _ string) (incident.RollbackRun, error) {
	if err := checkPlan(plan); err != nil {
		return incident.RollbackRun{}, err
	}
	// Unleash's off endpoint is idempotent, so the transport may retry it.
	ctx = outbound.WithIdempotent(outbound.WithOperation(ctx, "features.environment.off"))
	err := c.do(ctx, http.MethodPost, envPath(plan)+"/off", nil,
		fmt.Sprintf("Unleash has no flag %s in project %s with an environment %s.", plan.Flag, plan.Project, plan.Environment))
	if err != nil {
		return incident.RollbackRun{}, fmt.Errorf("unleash: turn off flag %s: %w", plan.Flag, err)
	}
	return incident.RollbackRun{
		Plan:   plan,
		URL:    c.flagURL(plan.Project, plan.Flag),
		Status: statusSucceeded,
		Detail: fmt.Sprintf("Flag %s is off in %s.", plan.Flag, plan.Environment),
	}, nil
}

// featureRep is the part of a feature the bot reads.
type featureRep struct {
	Environments []struct {
		Name    string `json:"name"`
		Enabled bool   `json:"enabled"`
	} `json:"environments"`
}

// Progress reports a finished run as it is; Execute only returns finished
// runs, so any other status reads the flag's state to settle it.
func (c *Client) Progress(ctx context.Context, run incident.RollbackRun) (incident.RollbackRun, error) {
	if run.Status == statusSucceeded || run.Status == statusFailed {
		return run, nil
	}
	plan := run.Plan
	if err := checkPlan(plan); err != nil {
		return run, err
	}
	var f featureRep
	err := c.do(outbound.WithOperation(ctx, "features.get"), http.MethodGet, featurePath(plan), &f,
		fmt.Sprintf("Unleash has no flag %s in project %s.", plan.Flag, plan.Project))
	if err != nil {
		return run, fmt.Errorf("unleash: read flag %s: %w", plan.Flag, err)
	}
	for _, e := range f.Environments {
		if e.Name == plan.Environment && !e.Enabled {
			run.Status = statusSucceeded
			run.Detail = fmt.Sprintf("Flag %s is off in %s.", plan.Flag, plan.Environment)
		}
	}
	return run, nil
}

func checkPlan(plan incident.RollbackPlan) error {
	if plan.Source != Source || plan.Method != methodOff || plan.Project == "" || plan.Flag == "" || plan.Environment == "" {
		return incident.Errorf(incident.EINVALID, "This rollback plan is not an Unleash flag turn-off.")
	}
	return nil
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

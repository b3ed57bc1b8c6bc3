package launchdarkly

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// Rollback methods and run states this package uses.
const (
	methodOff       = "off"
	statusSucceeded = "succeeded"
	statusFailed    = "failed"
)

// Handles reports whether c is a LaunchDarkly flag change that names its
// flag.
func (c *Client) Handles(ch incident.ChangeEvent) bool {
	return ch.Source == Source && ch.Kind == incident.ChangeFlag && ch.Ref != ""
}

// Plan turns the change's flag off in the change's environment. The project
// and environment come from the change, else from the service's matching
// flag. EINVALID when the change is not a LaunchDarkly flag change or no
// environment is known.
func (c *Client) Plan(_ context.Context, ch incident.ChangeEvent, svc incident.ServicePolicy) (incident.RollbackPlan, error) {
	if !c.Handles(ch) {
		return incident.RollbackPlan{}, incident.Errorf(incident.EINVALID, "This change is not a LaunchDarkly flag change, so LaunchDarkly cannot roll it back.")
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
			"The change to flag %s does not say which LaunchDarkly environment it was in, so the bot cannot tell where to turn it off; set the environment on the service's flag in the policy file.", ch.Ref)
	}
	return incident.RollbackPlan{
		Key:         fmt.Sprintf("%s:off:%s/%s/%s:%s", Source, project, env, ch.Ref, ch.ExternalID),
		Kind:        incident.ChangeFlag,
		Source:      Source,
		Description: fmt.Sprintf("Turn off flag %s in %s/%s (LaunchDarkly).", ch.Ref, project, env),
		Environment: env,
		Method:      methodOff,
		Project:     project,
		Flag:        ch.Ref,
		ChangeID:    ch.Source + ":" + ch.ExternalID,
	}, nil
}

// flagRep is the part of a flag representation the bot reads.
type flagRep struct {
	Key          string `json:"key"`
	Version      int64  `json:"_version"`
	Environments map[string]struct {
		On bool `json:"on"`
	} `json:"environments"`
}

// semanticPatch is the body of a semantic-patch flag update.
type semanticPatch struct {
	EnvironmentKey string        `json:"environmentKey"`
	Comment        string        `json:"comment,omitempty"`
	Instructions   []instruction `json:"instructions"`
}

type instruction struct {
	Kind string `json:"kind"`
}

// Execute turns the flag off with a semantic patch. Turning off a flag that
// is already off changes nothing, so executing a plan twice is harmless;
// the run has succeeded once LaunchDarkly accepts the patch. ENOTFOUND when
// the flag does not exist, EINVALID when LaunchDarkly refuses the change
// (a pending approval, say), EUNAVAILABLE when it fails.
func (c *Client) Execute(ctx context.Context, plan incident.RollbackPlan, actor string) (incident.RollbackRun, error) {
	if err := checkPlan(plan); err != nil {
		return incident.RollbackRun{}, err
	}
	body, err := json.Marshal(semanticPatch{
		EnvironmentKey: plan.Environment,
		Comment:        "incident rollback by " + actor,
		Instructions:   []instruction{{Kind: "turnFlagOff"}},
	})
	if err != nil {
		return incident.RollbackRun{}, fmt.Errorf("launchdarkly: encode patch: %w", err)
	}
	// Turning a flag off twice is harmless, so the transport may retry.
	ctx = outbound.WithIdempotent(outbound.WithOperation(ctx, "flags.patch"))
	var flag flagRep
	err = c.do(ctx, http.MethodPatch, flagPath(plan.Project, plan.Flag), SemanticPatchContentType, body, &flag,
		fmt.Sprintf("LaunchDarkly has no flag %s in project %s.", plan.Flag, plan.Project))
	if err != nil {
		return incident.RollbackRun{}, fmt.Errorf("launchdarkly: turn off flag %s: %w", plan.Flag, err)
	}
	run := incident.RollbackRun{
		Plan:       plan,
		ExternalID: strconv.FormatInt(flag.Version, 10),
		URL:        siteLink(c.base, plan.Project, plan.Environment, plan.Flag),
		Status:     statusSucceeded,
		Detail:     fmt.Sprintf("Flag %s is off in %s.", plan.Flag, plan.Environment),
	}
	if st, ok := flag.Environments[plan.Environment]; ok && st.On {
		run.Status = statusFailed
		run.Detail = fmt.Sprintf("LaunchDarkly accepted the change but flag %s is still on in %s.", plan.Flag, plan.Environment)
	}
	return run, nil
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
	ctx = outbound.WithOperation(ctx, "flags.get")
	var flag flagRep
	err := c.do(ctx, http.MethodGet, flagPath(plan.Project, plan.Flag)+"?env="+url.QueryEscape(plan.Environment), "", nil, &flag,
		fmt.Sprintf("LaunchDarkly has no flag %s in project %s.", plan.Flag, plan.Project))
	if err != nil {
		return run, fmt.Errorf("launchdarkly: read flag %s: %w", plan.Flag, err)
	}
	if st, ok := flag.Environments[plan.Environment]; ok && !st.On {
		run.Status = statusSucceeded
		run.Detail = fmt.Sprintf("Flag %s is off in %s.", plan.Flag, plan.Environment)
	}
	return run, nil
}

func checkPlan(plan incident.RollbackPlan) error {
	if plan.Source != Source || plan.Method != methodOff || plan.Project == "" || plan.Flag == "" || plan.Environment == "" {
		return incident.Errorf(incident.EINVALID, "This rollback plan is not a LaunchDarkly flag turn-off.")
	}
	return nil
}

func flagPath(project, key string) string {
	return flagsPath + "/" + url.PathEscape(project) + "/" + url.PathEscape(key)
}

package launchdarkly

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/flagoff"
	"github.com/firebreakhq/firebreak/integrations/outbound"
)

// planner plans this provider's flag turn-offs.
var planner = flagoff.Planner{Source: Source, Name: "LaunchDarkly", Article: "a"}

// Handles reports whether c is a LaunchDarkly flag change that names its
// flag.
func (c *Client) Handles(ch incident.ChangeEvent) bool { return planner.Handles(ch) }

// Plan turns the change's flag off in the change's environment. The project
// and environment come from the change, else from the service's matching
// flag. EINVALID when the change is not a LaunchDarkly flag change or no
// environment is known.
func (c *Client) Plan(_ context.Context, ch incident.ChangeEvent, svc incident.ServicePolicy) (incident.RollbackPlan, error) {
	return planner.Plan(ch, svc)
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
// the run has succeeded once LaunchDarkly accepts the patch. The patch is
// sent once: when LaunchDarkly fails (5xx, a timeout) it may have applied it
// all the same, so the flag is read back, and a flag that is off is a
// success. ENOTFOUND when the flag does not exist, EINVALID when
// LaunchDarkly refuses the change (a pending approval, say), EFORBIDDEN
// when the token may not change the flag, EUNAVAILABLE when it fails or is
// busy with a concurrent change (409) and the flag is still on.
func (c *Client) Execute(ctx context.Context, plan incident.RollbackPlan, actor string) (incident.RollbackRun, error) {
	if err := planner.Check(plan); err != nil {
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
	var flag flagRep
	err = c.do(outbound.WithOperation(ctx, "flags.patch"), http.MethodPatch, flagPath(plan.Project, plan.Flag), SemanticPatchContentType, body, &flag,
		notFoundFlag(plan))
	if err != nil && incident.ErrorCode(err) == incident.EUNAVAILABLE {
		if read, rerr := c.readFlag(ctx, plan); rerr == nil && isOff(read, plan.Environment) {
			flag, err = read, nil
		}
	}
	if err != nil {
		return incident.RollbackRun{}, fmt.Errorf("launchdarkly: turn off flag %s: %w", plan.Flag, err)
	}
	run := incident.RollbackRun{
		Plan:       plan,
		ExternalID: strconv.FormatInt(flag.Version, 10),
		URL:        siteLink(c.base, plan.Project, plan.Environment, plan.Flag),
		Status:     flagoff.StatusSucceeded,
		Detail:     flagoff.OffDetail(plan),
	}
	if st, ok := flag.Environments[plan.Environment]; ok && st.On {
		run.Status = flagoff.StatusFailed
		run.Detail = fmt.Sprintf("LaunchDarkly accepted the change but flag %s is still on in %s.", plan.Flag, plan.Environment)
	}
	return run, nil
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
	flag, err := c.readFlag(ctx, plan)
	if err != nil {
		return run, fmt.Errorf("launchdarkly: read flag %s: %w", plan.Flag, err)
	}
	st, known := flag.Environments[plan.Environment]
	return flagoff.Follow(run, st.On, known), nil
}

// readFlag reads the plan's flag in the plan's environment.
func (c *Client) readFlag(ctx context.Context, plan incident.RollbackPlan) (flagRep, error) {
	var flag flagRep
	err := c.do(outbound.WithOperation(ctx, "flags.get"), http.MethodGet, flagPath(plan.Project, plan.Flag)+"?env="+url.QueryEscape(plan.Environment), "", nil, &flag,
		notFoundFlag(plan))
	return flag, err
}

// isOff reports whether flag is known to be off in env.
func isOff(flag flagRep, env string) bool {
	st, ok := flag.Environments[env]
	return ok && !st.On
}

func notFoundFlag(plan incident.RollbackPlan) string {
	return fmt.Sprintf("LaunchDarkly has no flag %s in project %s.", plan.Flag, plan.Project)
}

func flagPath(project, key string) string {
	return flagsPath + "/" + url.PathEscape(project) + "/" + url.PathEscape(key)
}

// Package flagoff plans the rollback of a feature flag change the one way
// every flag provider (LaunchDarkly, Unleash) does it: turn the changed
// flag off in the environment the change happened in. The providers only
// send the request and read the flag's state back.
package flagoff

import (
	"fmt"

	"github.com/firebreakhq/firebreak/incident"
)

// The rollback method and the run states flag providers use.
const (
	MethodOff       = "off"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// DefaultProject is the project a flag lives in when neither the change nor
// the service's flag names one; both LaunchDarkly and Unleash call their
// first project "default".
const DefaultProject = "default"

// Planner plans turning a provider's flags off.
type Planner struct {
	// Source is the provider key of its changes and plans
	// (incident.ProviderLaunchDarkly).
	Source string
	// Name is the provider as people write it ("LaunchDarkly"), with the
	// article that goes before it ("a" or "an").
	Name, Article string
}

// Handles reports whether ch is a flag change of the provider that names
// its flag.
func (p Planner) Handles(ch incident.ChangeEvent) bool {
	return ch.Source == p.Source && ch.Kind == incident.ChangeFlag && ch.Ref != ""
}

// Plan turns the change's flag off in the change's environment. The project
// and environment come from the change, else from the service's matching
// flag; the project defaults to DefaultProject. EINVALID when the change is
// not the provider's flag change or no environment is known.
func (p Planner) Plan(ch incident.ChangeEvent, svc incident.ServicePolicy) (incident.RollbackPlan, error) {
	if !p.Handles(ch) {
		return incident.RollbackPlan{}, incident.Errorf(incident.EINVALID, "This change is not %s %s flag change, so %s cannot roll it back.", p.Article, p.Name, p.Name)
	}
	project, env := ch.Data["project"], ch.Environment
	for _, f := range svc.Flags {
		if f.Provider == p.Source && f.Key == ch.Ref {
			if project == "" {
				project = f.Project
			}
			if env == "" {
				env = f.Environment
			}
			break
		}
	}
	if project == "" {
		project = DefaultProject
	}
	if env == "" {
		return incident.RollbackPlan{}, incident.Errorf(incident.EINVALID,
			"The change to flag %s does not say which %s environment it was in, so the bot cannot tell where to turn it off; set the environment on the service's flag in the policy file.", ch.Ref, p.Name)
	}
	return incident.RollbackPlan{
		Key:         fmt.Sprintf("%s:off:%s/%s/%s:%s", p.Source, project, env, ch.Ref, ch.ExternalID),
		Kind:        incident.ChangeFlag,
		Source:      p.Source,
		Description: fmt.Sprintf("Turn off flag %s in %s/%s (%s).", ch.Ref, project, env, p.Name),
		Environment: env,
		Method:      MethodOff,
		Project:     project,
		Flag:        ch.Ref,
		ChangeID:    ch.Source + ":" + ch.ExternalID,
	}, nil
}

// Check returns EINVALID unless plan is one of the provider's flag
// turn-offs with its project, flag and environment.
func (p Planner) Check(plan incident.RollbackPlan) error {
	if plan.Source != p.Source || plan.Method != MethodOff || plan.Project == "" || plan.Flag == "" || plan.Environment == "" {
		return incident.Errorf(incident.EINVALID, "This rollback plan is not %s %s flag turn-off.", p.Article, p.Name)
	}
	return nil
}

// Settled reports whether run has finished, one way or the other.
func Settled(run incident.RollbackRun) bool {
	return run.Status == StatusSucceeded || run.Status == StatusFailed
}

// OffDetail says that the plan's flag is off.
func OffDetail(plan incident.RollbackPlan) string {
	return fmt.Sprintf("Flag %s is off in %s.", plan.Flag, plan.Environment)
}

// Follow settles a run that is not settled from the flag's state in the
// plan's environment (on, when known): off is a success, on a failure. A
// provider's Execute answers only settled runs, so one that is not is a
// turn-off whose answer was lost: a flag still on was not turned off (or
// was turned on again), and a person decides whether to retry.
func Follow(run incident.RollbackRun, on, known bool) incident.RollbackRun {
	switch {
	case !known:
	case on:
		run.Status = StatusFailed
		run.Detail = fmt.Sprintf("Flag %s is still on in %s.", run.Plan.Flag, run.Plan.Environment)
	default:
		run.Status = StatusSucceeded
		run.Detail = OffDetail(run.Plan)
	}
	return run
}

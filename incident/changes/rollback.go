package changes

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// Pacing of rollbacks.
const (
	// rollbackPollEvery and maxRollbackPolls follow a rollback for ten
	// minutes; webhooks report it sooner and longer when configured.
	rollbackPollEvery = 15 * time.Second
	maxRollbackPolls  = 40
	// rollbackAttempts bounds executing a rollback; a refusal by the
	// provider is final at once.
	rollbackAttempts = 5
	// rollbackSkew is how long before a rollback started a provider may
	// stamp a change that still belongs to it: clocks differ.
	rollbackSkew = time.Minute
	// recordTimeout bounds recording a confirmed rollback, which goes on
	// past the click's deadline.
	recordTimeout = 10 * time.Second
)

// Steps of the JobRollback job.
const (
	rollbackStepApproval = "approval"
	rollbackStepExecute  = "execute"
	rollbackStepFailed   = "failed"
)

// rollbackPayload is the input of JobRollback and JobRollbackProgress.
type rollbackPayload struct {
	Key  string `json:"key"`
	Step string `json:"step,omitempty"`
	// Round counts retries: 0 is the first execution.
	Round int `json:"round"`
	// Actor is on whose behalf the rollback runs.
	Actor string `json:"actor,omitempty"`
	Poll  int    `json:"poll,omitempty"`
}

// rollbackSourceID names one step of one round of a rollback on the
// timeline, so each step is recorded and said once.
func rollbackSourceID(key string, round int, step string) string {
	return fmt.Sprintf("rollback:%s#%d:%s", key, round, step)
}

// execPlan is the plan handed to the provider: a retry carries a key of its
// own, since providers execute a plan once per key and the first attempt's
// run has failed.
func execPlan(r *incident.Rollback, round int) incident.RollbackPlan {
	p := r.Plan
	if round > 0 {
		p.Key = fmt.Sprintf("%s#retry%d", r.Key, round)
	}
	return p
}

// RollbackRule says who may confirm a rollback of the planned change and
// whether a second person must approve, for the confirmation form.
func (s *Rollbacks) RollbackRule(ctx context.Context, inc *incident.Incident, plan incident.RollbackPlan) incident.Notice {
	c := change(plan)
	sev, err := s.rollbackSeverity(ctx, inc, c)
	if err != nil {
		sev = inc.Severity
	}
	n := incident.Notice{Kind: incident.NoticeRollbackRule, Incident: inc.Key(), Values: map[string]string{
		"who": strings.Join(s.policy.RollbackRefs(c), ","), "environment": c.Environment, "severity": sev.String()}}
	if s.policy.TwoPersonFor(c.Environment, sev) {
		n.Values["approval"] = "true"
	}
	return n
}

// rollbackNotice is a notice about r, naming what it rolls back.
func rollbackNotice(kind incident.NoticeKind, inc *incident.Incident, r *incident.Rollback, actor string) incident.Notice {
	p := r.Plan
	v := map[string]string{"plan": p.Description}
	for k, x := range map[string]string{"flag": p.Flag, "repo": p.Repo, "environment": p.Environment, "to": shortRef(p.ToRef), "url": r.URL} {
		if x != "" {
			v[k] = x
		}
	}
	return incident.Notice{Kind: kind, Incident: inc.Key(), Actor: actor, Values: v}
}

// change is the part of the planned change the permission model reads.
func change(p incident.RollbackPlan) incident.ChangeEvent {
	return incident.ChangeEvent{Service: p.Service, Environment: p.Environment, Kind: p.Kind, Source: p.Source}
}

// checkMayRollback decides whether actor may roll back c from inc; the
// decision says whether a second person must approve. EFORBIDDEN (a
// *Refusal) when not. c is the planned change (change of a plan): its
// environment is where the rollback runs.
func (s *Rollbacks) checkMayRollback(ctx context.Context, inc *incident.Incident, c incident.ChangeEvent, actor string) (incident.Decision, error) {
	sev, err := s.rollbackSeverity(ctx, inc, c)
	if err != nil {
		return incident.Decision{}, err
	}
	return s.authorizeRollback(ctx, inc, c, sev, actor)
}

// authorizeRollback asks the permission model whether actor may roll back
// c from inc, with sev the highest severity involved.
func (s *Rollbacks) authorizeRollback(ctx context.Context, inc *incident.Incident, c incident.ChangeEvent, sev incident.Severity, actor string) (incident.Decision, error) {
	d, err := s.core.Authorize(ctx, incident.Request{Subject: incident.Subject{User: actor}, Action: incident.ActRollback, Incident: inc, Change: &c, Severity: sev})
	if err != nil {
		return incident.Decision{}, fmt.Errorf("check permission: %w", err)
	}
	return d, d.Err()
}

// checkMayPlan refuses, before the provider is asked to plan, someone who
// may roll back the listed change c in no environment its plan can run in:
// c's own, or, when c names none (a workflow run, an Unleash flag update,
// whose plan finds the environment), any environment of the policy. It
// decides nothing else: the decision that counts is made on the plan
// (checkMayRollback), so an owner of staging asking to roll back a run
// that redeploys production is refused once the plan says so.
func (s *Rollbacks) checkMayPlan(ctx context.Context, inc *incident.Incident, c incident.ChangeEvent, actor string) error {
	sev, err := s.rollbackSeverity(ctx, inc, c)
	if err != nil {
		return err
	}
	_, refused := s.authorizeRollback(ctx, inc, c, sev, actor)
	if c.Environment != "" || incident.ErrorCode(refused) != incident.EFORBIDDEN {
		return refused
	}
	for _, env := range slices.Sorted(maps.Keys(s.policy.Environments)) {
		if len(s.policy.Environments[env].Owners) == 0 {
			continue
		}
		c.Environment = env
		switch _, err := s.authorizeRollback(ctx, inc, c, sev, actor); {
		case err == nil:
			return nil
		case incident.ErrorCode(err) != incident.EFORBIDDEN:
			return err
		}
	}
	return refused
}

// servicePolicyOf is the policy of the change's service, else of the
// incident's.
func (s *Rollbacks) servicePolicyOf(inc *incident.Incident, c incident.ChangeEvent) incident.ServicePolicy {
	if svc, ok := s.policy.Services[c.Service]; ok {
		return svc
	}
	return s.policy.Services[inc.Service]
}

// rollbackerForPlan finds the rollbacker of a stored plan: the first that
// handles a change of the plan's source, kind, subject and environment.
func (s *Rollbacks) rollbackerForPlan(p incident.RollbackPlan) incident.Rollbacker {
	ref := p.Flag
	if ref == "" {
		ref = p.FromRef
	}
	return rollbackerFor(s.rollbackers, incident.ChangeEvent{Source: p.Source, Kind: p.Kind, Ref: ref, Environment: p.Environment,
		Data: map[string]string{"repo": p.Repo, "project": p.Project, "conclusion": "success"}})
}

// planRollback finds the change a button names, checks that actor may roll
// it back and plans it; the decision says whether a second person must
// approve.
func (s *Rollbacks) planRollback(ctx context.Context, id int64, value, actor string) (*incident.Incident, incident.RollbackPlan, incident.Decision, error) {
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, incident.RollbackPlan{}, incident.Decision{}, err
	}
	if inc.Status == incident.StatusClosed {
		return nil, incident.RollbackPlan{}, incident.Decision{}, closedRollback(inc)
	}
	c, err := findChange(ctx, s.store, value)
	if err != nil {
		return nil, incident.RollbackPlan{}, incident.Decision{}, err
	}
	rb := rollbackerFor(s.rollbackers, c)
	if rb == nil {
		return nil, incident.RollbackPlan{}, incident.Decision{}, incident.Errorf(incident.EINVALID, "The bot cannot roll back this change: no configured integration undoes it.")
	}
	if c.Service == "" {
		c.Service = serviceOfChange(s.policy, c)
	}
	// Permission first: someone who may roll back nothing the plan can
	// touch causes no call to the provider.
	if err := s.checkMayPlan(ctx, inc, c, actor); err != nil {
		return nil, incident.RollbackPlan{}, incident.Decision{}, err
	}
	plan, err := rb.Plan(ctx, c, s.servicePolicyOf(inc, c))
	if err != nil {
		return nil, incident.RollbackPlan{}, incident.Decision{}, fmt.Errorf("plan the rollback: %w", err)
	}
	if plan.Key == "" {
		return nil, incident.RollbackPlan{}, incident.Decision{}, incident.Errorf(incident.EINTERNAL, "The rollback plan has no key.")
	}
	if plan.ChangeID == "" {
		plan.ChangeID = c.Source + ":" + c.ExternalID
	}
	plan.Service = c.Service
	if plan.Environment == "" {
		plan.Environment = c.Environment
	}
	// The decision is the plan's: the service and environment the
	// rollback runs in, which a listed change may not name (a workflow run
	// redeploys where its commit went). The confirmation form
	// (RollbackRule), an approval and a retry decide on the same plan.
	d, err := s.checkMayRollback(ctx, inc, change(plan), actor)
	if err != nil {
		return nil, incident.RollbackPlan{}, incident.Decision{}, err
	}
	return inc, plan, d, nil
}

// PlanRollback says exactly what rolling back a listed change would do,
// for the confirmation form; value is the change's button value. It does
// not change anything. EFORBIDDEN unless actor may roll back the planned
// change (an owner of its service or of the environment the plan runs
// in, or a member of the rollback group), ENOTFOUND for a change no
// longer recorded, EINVALID when the change cannot be rolled back,
// ECONFLICT for a closed incident.
func (s *Rollbacks) PlanRollback(ctx context.Context, id int64, value, actor string) (incident.RollbackPlan, error) {
	_, plan, _, err := s.planRollback(ctx, id, value, actor)
	return plan, err
}

// RequestRollback confirms a rollback: it plans it again, checks the actor
// again and records it, once per plan. For a severity that needs two
// people, the rollback waits for ApproveRollback and a message with an
// Approve button is posted; otherwise it starts at once in a job. A second
// request of the same rollback (a double click) returns the first one and
// ECONFLICT saying who requested it. A rollback of the same change in
// another incident does not stand in for this one when it failed, or waits
// for an approval, in an incident that is closed since (whose buttons
// start nothing any more), nor when it is a drill's dry run, done or to
// come, which changes nothing: this one is requested anew, under the
// plan's key numbered once more. Errors are PlanRollback's.
func (s *Rollbacks) RequestRollback(ctx context.Context, id int64, value, actor string) (*incident.Rollback, error) {
	inc, plan, d, err := s.planRollback(ctx, id, value, actor)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	// The plan is made and the person confirmed: recording it is not cut
	// short by the click's deadline, which a slow provider may have spent.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	base := plan.Key
	for gen := 1; ; gen++ {
		if gen > 1 {
			plan.Key = fmt.Sprintf("%s#%d", base, gen)
		}
		r, err := s.recordRequest(wctx, inc, plan, d.SecondPerson, actor)
		if incident.ErrorCode(err) != incident.ECONFLICT {
			if err != nil {
				return nil, fmt.Errorf("request rollback: %w", err)
			}
			return r, nil
		}
		existing, err := s.store.GetRollback(wctx, plan.Key)
		if err != nil {
			return nil, fmt.Errorf("request rollback: %w", err)
		}
		if stale, err := s.standsInForNothing(wctx, existing, inc); err != nil {
			return nil, fmt.Errorf("request rollback: %w", err)
		} else if stale && gen < maxRequestGenerations {
			continue
		}
		return existing, incident.Errorf(incident.ECONFLICT, "This rollback was already requested by %s %s ago; it %s.",
			incident.User(existing.RequestedBy), incident.Since(existing.CreatedAt, now), rollbackState(existing))
	}
}

// maxRequestGenerations bounds how many times one change's rollback is
// requested anew after ending unfinished in closed incidents.
const maxRequestGenerations = 20

// recordRequest records a requested rollback of plan in inc, with its
// timeline line and the job that asks for its approval or runs it:
// ECONFLICT when a rollback under the plan's key exists.
func (s *Rollbacks) recordRequest(ctx context.Context, inc *incident.Incident, plan incident.RollbackPlan, twoPerson bool, actor string) (*incident.Rollback, error) {
	r := &incident.Rollback{IncidentID: inc.ID, Key: plan.Key, Plan: plan, Status: incident.RollbackRunning, RequestedBy: actor}
	if twoPerson {
		r.Status = incident.RollbackAwaitingApproval
	}
	n := rollbackNotice(incident.NoticeRollbackRequested, inc, r, actor)
	ev := s.rollbackEvent(r, 0, "requested", actor, s.noticeText(n), true)
	say := &n
	step, key := rollbackStepExecute, r.Key
	if twoPerson {
		n.Values["approval"] = "true"
		ev.Text = s.noticeText(n)
		// The approval request carries the line itself, with its button.
		say = nil
		step, key = rollbackStepApproval, r.Key+":approval"
	}
	// The rollback, its timeline line and the job that runs it are one
	// fact, so none is left without the others.
	err := s.store.Atomic(ctx, func(tx incident.Tx) error {
		rtx, err := rollbacksIn(tx)
		if err != nil {
			return err
		}
		if err := rtx.AddRollback(ctx, r); err != nil {
			return err
		}
		if _, err := s.recordRollbackStepIn(ctx, tx, inc.ID, ev, say); err != nil {
			return err
		}
		return s.scheduleRollbackOn(ctx, tx, key, rollbackPayload{Key: r.Key, Step: step, Actor: actor})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// standsInForNothing reports whether r, a rollback of the same plan in
// another incident than inc, leaves inc's rollback still to do: it failed
// or waits for an approval in an incident that is closed (nothing can move
// it on any more, since a closed incident's Retry and Approve buttons
// start nothing), or it is a drill's dry run.
func (s *Rollbacks) standsInForNothing(ctx context.Context, r *incident.Rollback, inc *incident.Incident) (bool, error) {
	if r.IncidentID == inc.ID {
		return false, nil
	}
	other, err := s.store.GetIncident(ctx, r.IncidentID)
	if err != nil {
		return false, err
	}
	if s.dryRun(r, other) {
		return true, nil
	}
	ended := r.Status == incident.RollbackFailed || r.Status == incident.RollbackAwaitingApproval
	return ended && other.Status == incident.StatusClosed, nil
}

// dryRun reports whether r, a rollback of inc, changes nothing: inc is a
// drill and r was dry-run, or has not been carried out and will be dry-run
// since the policy keeps drills' rollbacks dry runs. A drill's rollback
// that drills.allow_rollback let run for real is a real one.
func (s *Rollbacks) dryRun(r *incident.Rollback, inc *incident.Incident) bool {
	if !inc.Drill {
		return false
	}
	if r.Status == incident.RollbackSucceeded {
		return r.Detail == dryRunDetail
	}
	return !s.policy.Drills.AllowRollback && r.ExternalID == ""
}

// rollbackState describes a rollback's status after "it".
func rollbackState(r *incident.Rollback) string {
	switch r.Status {
	case incident.RollbackAwaitingApproval:
		return "is waiting for a second person's approval"
	case incident.RollbackRunning:
		return "is running"
	case incident.RollbackSucceeded:
		return "succeeded"
	case incident.RollbackFailed:
		return "failed; use its Retry button"
	}
	return "is " + string(r.Status)
}

// closedRollback refuses to start a rollback, or a round of one, for a
// closed incident: its approval and retry buttons stay in the channel.
func closedRollback(inc *incident.Incident) error {
	return incident.Errorf(incident.ECONFLICT, "%s is closed; a closed incident cannot start a rollback.", inc.Key())
}

// ApproveRollback is the second person's approval of a rollback that waits
// for one; it starts the rollback. EFORBIDDEN when the approver requested
// the rollback or may not roll back, ECONFLICT when it no longer waits,
// ENOTFOUND for an unknown key.
func (s *Rollbacks) ApproveRollback(ctx context.Context, key, actor string) (*incident.Rollback, error) {
	r, inc, err := s.rollbackAndIncident(ctx, key)
	if err != nil {
		return nil, err
	}
	if r.Status != incident.RollbackAwaitingApproval {
		return r, incident.Errorf(incident.ECONFLICT, "This rollback no longer waits for approval: it %s.", rollbackState(r))
	}
	if inc.Status == incident.StatusClosed {
		return nil, closedRollback(inc)
	}
	if actor == r.RequestedBy {
		return nil, &incident.Refusal{Action: incident.ActRollback, Reason: "a second person must approve, and you requested this rollback",
			WhoCan: principals(s.policy.RollbackRefs(incident.ChangeEvent{Service: r.Plan.Service, Environment: r.Plan.Environment}))}
	}
	// The approver needs the same right as the requester.
	if _, err := s.checkMayRollback(ctx, inc, change(r.Plan), actor); err != nil {
		return nil, err
	}
	// The round the approval is for: a retry that needed a second
	// person waits for its approval as round n.
	round, _, err := s.rollbackRound(ctx, inc.ID, r)
	if err != nil {
		return nil, err
	}
	jobKey := r.Key
	if round > 0 {
		jobKey = fmt.Sprintf("%s#retry%d", r.Key, round)
	}
	// The approval, its timeline event and the job that runs the rollback
	// are one fact.
	err = s.store.Atomic(ctx, func(tx incident.Tx) error {
		rtx, err := rollbacksIn(tx)
		if err != nil {
			return err
		}
		if cur, err := tx.GetIncident(ctx, inc.ID); err != nil {
			return err
		} else if cur.Status == incident.StatusClosed {
			return closedRollback(cur)
		}
		r, err = rtx.UpdateRollback(ctx, r.ID, func(cur *incident.Rollback) error {
			if cur.Status != incident.RollbackAwaitingApproval {
				return incident.Errorf(incident.ECONFLICT, "This rollback was already approved by %s.", incident.User(cur.ApprovedBy))
			}
			cur.Status, cur.ApprovedBy = incident.RollbackRunning, actor
			return nil
		})
		if err != nil {
			return err
		}
		n := rollbackNotice(incident.NoticeRollbackApproved, inc, r, actor)
		n.User = r.RequestedBy
		if _, err := s.recordRollbackStepIn(ctx, tx, inc.ID, s.rollbackEvent(r, round, "approved", actor, s.noticeText(n), true), &n); err != nil {
			return err
		}
		return s.scheduleRollbackOn(ctx, tx, jobKey, rollbackPayload{Key: r.Key, Step: rollbackStepExecute, Round: round, Actor: r.RequestedBy})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// RetryRollback runs a failed rollback again, from its Retry button. The
// actor must still be allowed to roll back; a double click retries once.
// ECONFLICT unless the rollback failed, EFORBIDDEN as for a request.
func (s *Rollbacks) RetryRollback(ctx context.Context, key, actor string) (*incident.Rollback, error) {
	r, inc, err := s.rollbackAndIncident(ctx, key)
	if err != nil {
		return nil, err
	}
	if r.Status != incident.RollbackFailed {
		return r, incident.Errorf(incident.ECONFLICT, "There is nothing to retry: the rollback %s.", rollbackState(r))
	}
	if inc.Status == incident.StatusClosed {
		return nil, closedRollback(inc)
	}
	d, err := s.checkMayRollback(ctx, inc, change(r.Plan), actor)
	if err != nil {
		return nil, err
	}
	round, _, err := s.rollbackRound(ctx, inc.ID, r)
	if err != nil {
		return nil, err
	}
	round++
	// The retry event claims the round: of two clicks, one records it.
	// The event, the new status and the job are one fact.
	n := rollbackNotice(incident.NoticeRollbackRetry, inc, r, actor)
	if d.SecondPerson {
		n.Values["approval"] = "true"
	}
	err = s.store.Atomic(ctx, func(tx incident.Tx) error {
		if fresh, err := s.recordRollbackStepIn(ctx, tx, inc.ID, s.rollbackEvent(r, round, "retry", actor, s.noticeText(n), true), &n); err != nil {
			return err
		} else if !fresh {
			return incident.Errorf(incident.ECONFLICT, "Someone is already retrying this rollback.")
		}
		rtx, err := rollbacksIn(tx)
		if err != nil {
			return err
		}
		r, err = rtx.UpdateRollback(ctx, r.ID, func(cur *incident.Rollback) error {
			if cur.Status != incident.RollbackFailed {
				return incident.Errorf(incident.ECONFLICT, "There is nothing to retry: the rollback %s.", rollbackState(cur))
			}
			cur.ExternalID, cur.URL, cur.Detail = "", "", ""
			if d.SecondPerson {
				// The two-person rule holds for every run: the retry
				// waits for someone other than its requester.
				cur.Status, cur.RequestedBy, cur.ApprovedBy = incident.RollbackAwaitingApproval, actor, ""
				return nil
			}
			cur.Status = incident.RollbackRunning
			return nil
		})
		if err != nil {
			return fmt.Errorf("retry rollback: %w", err)
		}
		if d.SecondPerson {
			return s.scheduleRollbackOn(ctx, tx, fmt.Sprintf("%s#retry%d:approval", r.Key, round),
				rollbackPayload{Key: r.Key, Step: rollbackStepApproval, Round: round, Actor: actor})
		}
		return s.scheduleRollbackOn(ctx, tx, fmt.Sprintf("%s#retry%d", r.Key, round),
			rollbackPayload{Key: r.Key, Step: rollbackStepExecute, Round: round, Actor: actor})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Rollbacks) rollbackAndIncident(ctx context.Context, key string) (*incident.Rollback, *incident.Incident, error) {
	r, err := s.store.GetRollback(ctx, key)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil, nil, incident.Errorf(incident.ENOTFOUND, "That rollback no longer exists.")
	} else if err != nil {
		return nil, nil, err
	}
	inc, err := s.store.GetIncident(ctx, r.IncidentID)
	if err != nil {
		return nil, nil, err
	}
	return r, inc, nil
}

// principals names policy references as the people who may do something.
func principals(refs []string) []incident.Principal {
	out := make([]incident.Principal, 0, len(refs))
	for _, r := range refs {
		out = append(out, incident.Principal{Kind: incident.PrincipalRef, ID: r})
	}
	return out
}

// rollbackSeverity is the highest severity involved in rolling back c
// from inc: the most severe inc has been, and that of every open incident
// the change may be behind — those of c's service and those that name no
// service (a plain "/incident declare P1 checkout is down" may be about any
// of them); every open incident when c names no service. A rollback group
// member cannot go around the two-person rule from a side incident of a
// lower severity, nor by lowering the severity for the click.
func (s *Rollbacks) rollbackSeverity(ctx context.Context, inc *incident.Incident, c incident.ChangeEvent) (incident.Severity, error) {
	sev := inc.MostSevere()
	open, err := s.store.ListIncidents(ctx, incident.IncidentFilter{OpenOnly: true})
	if err != nil {
		return sev, fmt.Errorf("read the open incidents: %w", err)
	}
	for _, o := range open {
		if o.Drill != inc.Drill || c.Service != "" && o.Service != "" && o.Service != c.Service {
			continue
		}
		if m := o.MostSevere(); m.Valid() && m < sev {
			sev = m
		}
	}
	return sev, nil
}

// RollbackIncident returns the incident a rollback belongs to, for
// checking where its buttons were clicked. ENOTFOUND for an unknown key.
func (s *Rollbacks) RollbackIncident(ctx context.Context, key string) (*incident.Incident, error) {
	_, inc, err := s.rollbackAndIncident(ctx, key)
	return inc, err
}

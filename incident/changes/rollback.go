package changes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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
// *Refusal) when not.
func (s *Rollbacks) checkMayRollback(ctx context.Context, inc *incident.Incident, c incident.ChangeEvent, actor string) (incident.Decision, error) {
	sev, err := s.rollbackSeverity(ctx, inc, c)
	if err != nil {
		return incident.Decision{}, err
	}
	d, err := s.core.Authorize(ctx, incident.Request{Subject: incident.Subject{User: actor}, Action: incident.ActRollback, Incident: inc, Change: &c, Severity: sev})
	if err != nil {
		return incident.Decision{}, fmt.Errorf("check permission: %w", err)
	}
	return d, d.Err()
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
		return nil, incident.RollbackPlan{}, incident.Decision{}, incident.Errorf(incident.ECONFLICT, "%s is closed; a closed incident cannot start a rollback.", inc.Key())
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
	// Permission first: a refused person causes no call to the provider.
	d, err := s.checkMayRollback(ctx, inc, c, actor)
	if err != nil {
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
	// The permission model decided on the change's service and
	// environment; the plan carries them so an approval is decided alike.
	plan.Service = c.Service
	if plan.Environment == "" {
		plan.Environment = c.Environment
	}
	return inc, plan, d, nil
}

// PlanRollback says exactly what rolling back a listed change would do,
// for the confirmation form; value is the change's button value. It does
// not change anything. EFORBIDDEN unless actor is the IC or in the
// rollback group, ENOTFOUND for a change no longer recorded, EINVALID when
// the change cannot be rolled back, ECONFLICT for a closed incident.
func (s *Rollbacks) PlanRollback(ctx context.Context, id int64, value, actor string) (incident.RollbackPlan, error) {
	_, plan, _, err := s.planRollback(ctx, id, value, actor)
	return plan, err
}

// RequestRollback confirms a rollback: it plans it again, checks the actor
// again and records it, once per plan. For a severity that needs two
// people, the rollback waits for ApproveRollback and a message with an
// Approve button is posted; otherwise it starts at once in a job. A second
// request of the same rollback (a double click) returns the first one and
// ECONFLICT saying who requested it. Errors are PlanRollback's.
func (s *Rollbacks) RequestRollback(ctx context.Context, id int64, value, actor string) (*incident.Rollback, error) {
	inc, plan, d, err := s.planRollback(ctx, id, value, actor)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	twoPerson := d.SecondPerson
	r := &incident.Rollback{IncidentID: inc.ID, Key: plan.Key, Plan: plan, Status: incident.RollbackRunning, RequestedBy: actor}
	if twoPerson {
		r.Status = incident.RollbackAwaitingApproval
	}
	if err := s.store.AddRollback(ctx, r); incident.ErrorCode(err) == incident.ECONFLICT {
		existing, gerr := s.store.GetRollback(ctx, plan.Key)
		if gerr != nil {
			return nil, fmt.Errorf("request rollback: %w", gerr)
		}
		return existing, incident.Errorf(incident.ECONFLICT, "This rollback was already requested by %s %s ago; it %s.",
			incident.Mention(existing.RequestedBy), incident.Since(existing.CreatedAt, now), rollbackState(existing))
	} else if err != nil {
		return nil, fmt.Errorf("request rollback: %w", err)
	}
	n := rollbackNotice(incident.NoticeRollbackRequested, inc, r, actor)
	ev := s.rollbackEvent(r, 0, "requested", actor, s.noticeText(n), true)
	if twoPerson {
		n.Values["approval"] = "true"
		ev.Text = s.noticeText(n)
		// The approval request carries the line itself, with its button.
		if _, err := s.recordRollbackStep(ctx, inc.ID, ev, nil); err != nil {
			return r, err
		}
	} else if _, err := s.recordRollbackStep(ctx, inc.ID, ev, &n); err != nil {
		return r, err
	}
	step, key := rollbackStepExecute, r.Key
	if twoPerson {
		step, key = rollbackStepApproval, r.Key+":approval"
	}
	if err := s.scheduleRollback(ctx, key, rollbackPayload{Key: r.Key, Step: step, Actor: actor}); err != nil {
		if twoPerson {
			// It keeps waiting for a second person: a failed one could
			// be started by a single Retry.
			return r, err
		}
		// Nothing will run it: mark it failed so Retry can start it.
		_, _ = s.store.UpdateRollback(ctx, r.ID, func(cur *incident.Rollback) error {
			cur.Status, cur.Detail = incident.RollbackFailed, "The rollback could not be scheduled."
			return nil
		})
		return r, err
	}
	return r, nil
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
		r, err = rtx.UpdateRollback(ctx, r.ID, func(cur *incident.Rollback) error {
			if cur.Status != incident.RollbackAwaitingApproval {
				return incident.Errorf(incident.ECONFLICT, "This rollback was already approved by %s.", incident.Mention(cur.ApprovedBy))
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
		return nil, incident.Errorf(incident.ECONFLICT, "%s is closed; a closed incident cannot start a rollback.", inc.Key())
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

func (s *Rollbacks) scheduleRollback(ctx context.Context, jobKey string, p rollbackPayload) error {
	return s.scheduleRollbackOn(ctx, s.sched, jobKey, p)
}

func (s *Rollbacks) scheduleRollbackOn(ctx context.Context, sched incident.Scheduler, jobKey string, p rollbackPayload) error {
	payload, _ := json.Marshal(p)
	if _, err := sched.Schedule(ctx, incident.Job{Kind: JobRollback, Key: jobKey, Payload: payload, MaxAttempts: rollbackAttempts}); err != nil {
		return fmt.Errorf("schedule the rollback: %w", err)
	}
	return nil
}

func (s *Rollbacks) scheduleProgress(ctx context.Context, key string, round, poll int) error {
	payload, _ := json.Marshal(rollbackPayload{Key: key, Round: round, Poll: poll})
	_, err := s.sched.Schedule(ctx, incident.Job{Kind: JobRollbackProgress, Key: fmt.Sprintf("%s#%d:poll%d", key, round, poll),
		Payload: payload, RunAt: s.clock.Now().Add(rollbackPollEvery), MaxAttempts: 3})
	if err != nil {
		return fmt.Errorf("schedule following the rollback: %w", err)
	}
	return nil
}

// rollbackEvent is the timeline event of one step of a rollback.
func (s *Rollbacks) rollbackEvent(r *incident.Rollback, round int, step, actor, text string, key bool) incident.TimelineEvent {
	return incident.TimelineEvent{IncidentID: r.IncidentID, Kind: incident.EventRollback, Actor: orBot(actor), At: s.clock.Now(), Key: key, Text: text,
		SourceID: rollbackSourceID(r.Key, round, step),
		Data:     map[string]string{"key": r.Key, "step": step, "round": strconv.Itoa(round), "kind": string(r.Plan.Kind), "source": r.Plan.Source}}
}

// recordRollbackStep stores a step on the timeline and, with a notice,
// says it in the channel through the sync job, which also refreshes the
// panel. A step already recorded is neither stored nor said again: it
// returns false. On a closed incident the step is only stored.
func (s *Rollbacks) recordRollbackStep(ctx context.Context, incidentID int64, ev incident.TimelineEvent, n *incident.Notice) (bool, error) {
	var fresh bool
	err := s.store.Atomic(ctx, func(tx incident.Tx) error {
		var err error
		fresh, err = s.recordRollbackStepIn(ctx, tx, incidentID, ev, n)
		return err
	})
	return fresh, err
}

// recordRollbackStepIn is recordRollbackStep on a transaction that the
// caller commits.
func (s *Rollbacks) recordRollbackStepIn(ctx context.Context, tx incident.Tx, incidentID int64, ev incident.TimelineEvent, n *incident.Notice) (bool, error) {
	if n == nil {
		switch err := tx.AddTimelineEvent(ctx, &ev); {
		case err == nil:
			return true, nil
		case incident.ErrorCode(err) == incident.ECONFLICT:
			return false, nil
		default:
			return false, fmt.Errorf("record rollback step: %w", err)
		}
	}
	called := false
	_, err := s.core.ChangeIn(ctx, tx, incidentID, func(*incident.Incident) ([]incident.TimelineEvent, []incident.Notice, error) {
		called = true
		return []incident.TimelineEvent{ev}, []incident.Notice{*n}, nil
	})
	switch {
	case err == nil:
		return true, nil
	case incident.ErrorCode(err) == incident.ECONFLICT && called:
		return false, nil // recorded and said before
	case incident.ErrorCode(err) == incident.ECONFLICT:
		return s.recordRollbackStepIn(ctx, tx, incidentID, ev, nil) // closed
	}
	return false, fmt.Errorf("record rollback step: %w", err)
}

// rollbackRound reads how many times the rollback was retried, which is
// the round now running, and when that round started.
func (s *Rollbacks) rollbackRound(ctx context.Context, incidentID int64, r *incident.Rollback) (int, time.Time, error) {
	events, err := s.store.ListTimeline(ctx, incidentID)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read the rollback's timeline: %w", err)
	}
	round := 0
	for _, ev := range events {
		if ev.Kind == incident.EventRollback && ev.Data["key"] == r.Key && ev.Data["step"] == "retry" {
			round++
		}
	}
	start := r.UpdatedAt
	started := rollbackSourceID(r.Key, round, "started")
	for _, ev := range events {
		if ev.SourceID == started {
			start = ev.At
		}
	}
	return round, start, nil
}

// runRollback is the JobRollback handler.
func (s *Rollbacks) runRollback(ctx context.Context, payload []byte) error {
	var p rollbackPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode rollback payload: %w: %w", err, incident.ErrJobCancel)
	}
	r, inc, err := s.rollbackAndIncident(ctx, p.Key)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return fmt.Errorf("rollback: %w: %w", err, incident.ErrJobCancel)
	} else if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	switch p.Step {
	case rollbackStepApproval:
		return s.askApproval(ctx, inc, r, p.Round)
	case rollbackStepExecute:
		return s.executeRollback(ctx, inc, r, p)
	case rollbackStepFailed:
		return s.reportRollbackFailure(ctx, inc, r, p.Round)
	}
	return fmt.Errorf("unknown rollback step %q: %w", p.Step, incident.ErrJobCancel)
}

// askApproval posts the request for a second person's approval, once.
func (s *Rollbacks) askApproval(ctx context.Context, inc *incident.Incident, r *incident.Rollback, round int) error {
	if r.Status != incident.RollbackAwaitingApproval {
		return nil
	}
	sourceID := rollbackSourceID(r.Key, round, "approval")
	if asked, err := hasEvent(ctx, s.store, inc.ID, sourceID); err != nil || asked {
		return err
	}
	if inc.ChannelID == "" {
		return incident.RetryLater(2*time.Second, "%s has no channel yet", inc.Key())
	}
	n := rollbackNotice(incident.NoticeRollbackApproval, inc, r, r.RequestedBy)
	n.User = r.RequestedBy
	n.Values["environment"] = r.Plan.Environment
	n.Values["who"] = strings.Join(s.policy.RollbackRefs(change(r.Plan)), ",")
	n.Buttons = []incident.Button{{Action: incident.ActionApproveRol, Text: "Approve rollback", Value: r.Key, Style: "danger"}}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("ask for the rollback's approval: %w", err)
	}
	ev := s.rollbackEvent(r, round, "approval", r.RequestedBy, "Approval requested for the rollback", false)
	if _, err := s.recordRollbackStep(ctx, inc.ID, ev, nil); err != nil {
		s.log.ErrorContext(ctx, "could not record the approval request", "incident", inc.Key(), "err", err)
	}
	return nil
}

// executeRollback runs one round of a rollback and starts following it.
func (s *Rollbacks) executeRollback(ctx context.Context, inc *incident.Incident, r *incident.Rollback, p rollbackPayload) error {
	switch r.Status {
	case incident.RollbackFailed:
		// A redelivered job of a round that failed: make sure it was said.
		return s.reportRollbackFailure(ctx, inc, r, p.Round)
	case incident.RollbackRunning:
	default:
		return nil
	}
	round, _, err := s.rollbackRound(ctx, inc.ID, r)
	if err != nil {
		return err
	}
	if round != p.Round {
		return nil // a retry took over
	}
	if started, err := hasEvent(ctx, s.store, inc.ID, rollbackSourceID(r.Key, round, "started")); err != nil {
		return err
	} else if started {
		return s.scheduleProgress(ctx, r.Key, round, 1) // executed before; keep following it
	}
	if inc.Drill && !s.policy.Drills.AllowRollback {
		return s.dryRunRollback(ctx, inc, r, round, p.Actor)
	}
	rb := s.rollbackerForPlan(r.Plan)
	if rb == nil {
		return s.failRollback(ctx, inc, r, round, "No configured integration can carry out this rollback any more.")
	}
	run, err := rb.Execute(ctx, execPlan(r, round), p.Actor)
	if err != nil {
		attempt, max := incident.JobAttempt(ctx)
		code := incident.ErrorCode(err)
		refused := code == incident.EINVALID || code == incident.EFORBIDDEN || code == incident.ENOTFOUND
		if !refused && (max == 0 || attempt < max) {
			return fmt.Errorf("execute rollback %s: %w", r.Key, err)
		}
		s.log.WarnContext(ctx, "rollback failed", "incident", inc.Key(), "key", r.Key, "err", err)
		return s.failRollback(ctx, inc, r, round, incident.ErrorMessage(err))
	}
	r, err = s.store.UpdateRollback(ctx, r.ID, func(cur *incident.Rollback) error {
		if run.ExternalID != "" {
			cur.ExternalID = run.ExternalID
		}
		if run.URL != "" {
			cur.URL = run.URL
		}
		cur.Detail = run.Detail
		return nil
	})
	if err != nil {
		return fmt.Errorf("record the rollback's run: %w", err)
	}
	n := rollbackNotice(incident.NoticeRollbackStarted, inc, r, p.Actor)
	if r.ApprovedBy != "" && round == 0 {
		n.User = r.ApprovedBy
	}
	ev := s.rollbackEvent(r, round, "started", p.Actor, s.noticeText(n), true)
	// A run that finished at once is said by its outcome alone.
	say := &n
	if run.Status == "succeeded" {
		say = nil
	}
	if _, err := s.recordRollbackStep(ctx, inc.ID, ev, say); err != nil {
		return err
	}
	r, err = s.applyRun(ctx, inc, r, round, ev.At, run)
	if err != nil {
		return err
	}
	if r.Status != incident.RollbackRunning {
		return nil
	}
	return s.scheduleProgress(ctx, r.Key, round, 1)
}

// failRollback records a round's failure and says it with a Retry button.
func (s *Rollbacks) failRollback(ctx context.Context, inc *incident.Incident, r *incident.Rollback, round int, detail string) error {
	r, err := s.store.UpdateRollback(ctx, r.ID, func(cur *incident.Rollback) error {
		cur.Status, cur.Detail = incident.RollbackFailed, detail
		return nil
	})
	if err != nil {
		return fmt.Errorf("record the rollback's failure: %w", err)
	}
	return s.reportRollbackFailure(ctx, inc, r, round)
}

// reportRollbackFailure posts a failed round with a Retry button, once.
func (s *Rollbacks) reportRollbackFailure(ctx context.Context, inc *incident.Incident, r *incident.Rollback, round int) error {
	if r.Status != incident.RollbackFailed {
		return nil
	}
	sourceID := rollbackSourceID(r.Key, round, "failed")
	if said, err := hasEvent(ctx, s.store, inc.ID, sourceID); err != nil || said {
		return err
	}
	if inc.ChannelID == "" {
		return incident.RetryLater(2*time.Second, "%s has no channel yet", inc.Key())
	}
	n := rollbackNotice(incident.NoticeRollbackFailed, inc, r, r.Plan.Source)
	n.Values["detail"] = r.Detail
	n.Buttons = []incident.Button{{Action: incident.ActionRetryRoll, Text: "Retry rollback", Value: r.Key, Style: "danger"}}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("report the failed rollback: %w", err)
	}
	ev := s.rollbackEvent(r, round, "failed", r.Plan.Source, s.noticeText(n), true)
	if _, err := s.recordRollbackStep(ctx, inc.ID, ev, nil); err != nil {
		s.log.ErrorContext(ctx, "could not record the failed rollback", "incident", inc.Key(), "err", err)
	}
	return nil
}

// applyRun applies what a provider says about a running rollback, from a
// poll or a webhook: the stored rollback follows it, and the channel hears
// when it is in progress and when it ends. A rollback no longer running is
// left as it is.
func (s *Rollbacks) applyRun(ctx context.Context, inc *incident.Incident, r *incident.Rollback, round int, start time.Time, run incident.RollbackRun) (*incident.Rollback, error) {
	status := incident.RollbackRunning
	switch run.Status {
	case "succeeded":
		status = incident.RollbackSucceeded
	case "failed":
		status = incident.RollbackFailed
	}
	settled := incident.Errorf(incident.ECONFLICT, "the rollback is no longer running")
	updated, err := s.store.UpdateRollback(ctx, r.ID, func(cur *incident.Rollback) error {
		if cur.Status != incident.RollbackRunning {
			return settled
		}
		if run.ExternalID != "" {
			cur.ExternalID = run.ExternalID
		}
		if run.URL != "" {
			cur.URL = run.URL
		}
		if run.Detail != "" {
			cur.Detail = run.Detail
		}
		cur.Status = status
		return nil
	})
	if errors.Is(err, settled) {
		return s.store.GetRollback(ctx, r.Key)
	} else if err != nil {
		return nil, fmt.Errorf("record the rollback's progress: %w", err)
	}
	switch status {
	case incident.RollbackRunning:
		if run.Status == "in_progress" {
			n := rollbackNotice(incident.NoticeRollbackProgress, inc, updated, updated.Plan.Source)
			_, err = s.recordRollbackStep(ctx, inc.ID, s.rollbackEvent(updated, round, "in_progress", updated.Plan.Source, s.noticeText(n), true), &n)
		}
	case incident.RollbackSucceeded:
		n := rollbackNotice(incident.NoticeRollbackSucceeded, inc, updated, updated.Plan.Source)
		n.User = updated.RequestedBy
		n.Values["after"] = incident.Since(start, s.clock.Now())
		if updated.Detail != "" {
			n.Values["detail"] = updated.Detail
		}
		_, err = s.recordRollbackStep(ctx, inc.ID, s.rollbackEvent(updated, round, "succeeded", updated.Plan.Source, s.noticeText(n), true), &n)
	case incident.RollbackFailed:
		payload := rollbackPayload{Key: updated.Key, Step: rollbackStepFailed, Round: round}
		err = s.scheduleRollback(ctx, fmt.Sprintf("%s#%d:failed", updated.Key, round), payload)
	}
	return updated, err
}

// runRollbackProgress is the JobRollbackProgress handler: it asks the
// provider how far the rollback got, and asks again later until it ends
// or the polls run out.
func (s *Rollbacks) runRollbackProgress(ctx context.Context, payload []byte) error {
	var p rollbackPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode rollback progress: %w: %w", err, incident.ErrJobCancel)
	}
	r, inc, err := s.rollbackAndIncident(ctx, p.Key)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil
	} else if err != nil {
		return fmt.Errorf("rollback progress: %w", err)
	}
	if r.Status != incident.RollbackRunning {
		return nil // a webhook got there first
	}
	round, start, err := s.rollbackRound(ctx, inc.ID, r)
	if err != nil {
		return err
	}
	if round != p.Round {
		return nil // a retry follows its own run
	}
	rb := s.rollbackerForPlan(r.Plan)
	if rb == nil {
		return nil
	}
	run, err := rb.Progress(ctx, incident.RollbackRun{Plan: execPlan(r, round), ExternalID: r.ExternalID, URL: r.URL, Status: "in_progress", Detail: r.Detail})
	if err != nil {
		// One failed poll is not the rollback failing: ask again later.
		s.log.WarnContext(ctx, "could not read a rollback's progress", "incident", inc.Key(), "key", r.Key, "err", err)
	} else {
		if r, err = s.applyRun(ctx, inc, r, round, start, run); err != nil {
			return err
		}
		if r.Status != incident.RollbackRunning {
			return nil
		}
	}
	if p.Poll >= maxRollbackPolls {
		n := rollbackNotice(incident.NoticeRollbackUnfollowed, inc, r, "bot")
		n.Values["after"] = incident.Since(start, s.clock.Now())
		_, err := s.recordRollbackStep(ctx, inc.ID, s.rollbackEvent(r, round, "unfollowed", "bot", s.noticeText(n), false), &n)
		return err
	}
	return s.scheduleProgress(ctx, r.Key, round, p.Poll+1)
}

func shortRef(ref string) string {
	if len(ref) > 7 {
		return ref[:7]
	}
	return ref
}

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
			run, ok := runOfChange(r, start, c, status)
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
// a deployment of the target commit to the environment or a run of the
// deploy workflow at the target commit, from the rollback's start on.
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
		byWorkflow := p.Workflow != "" && c.Data["workflow"] == p.Workflow && c.Data["event"] == "workflow_dispatch"
		return run, recent && (c.Ref == p.ToRef || byWorkflow)
	}
	return run, false
}

// dryRunRollback stands in for a drill's rollback: it says exactly what
// would have run, changes nothing, and counts as done, so the drill goes on.
func (s *Rollbacks) dryRunRollback(ctx context.Context, inc *incident.Incident, r *incident.Rollback, round int, actor string) error {
	const detail = "dry run: a drill changes nothing unless drills.allow_rollback is set"
	r, err := s.store.UpdateRollback(ctx, r.ID, func(cur *incident.Rollback) error {
		cur.Status, cur.Detail = incident.RollbackSucceeded, detail
		return nil
	})
	if err != nil {
		return fmt.Errorf("record the dry-run rollback: %w", err)
	}
	n := rollbackNotice(incident.NoticeRollbackStarted, inc, r, actor)
	n.Values["dry_run"] = "true"
	delete(n.Values, "url")
	ev := s.rollbackEvent(r, round, "started", actor, s.noticeText(n), true)
	ev.Data["dry_run"] = "true"
	_, err = s.recordRollbackStep(ctx, inc.ID, ev, &n)
	return err
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
// from inc: inc's own, and that of every open incident of c's service.
func (s *Rollbacks) rollbackSeverity(ctx context.Context, inc *incident.Incident, c incident.ChangeEvent) (incident.Severity, error) {
	sev := inc.Severity
	if c.Service == "" {
		return sev, nil
	}
	open, err := s.store.ListIncidents(ctx, incident.IncidentFilter{OpenOnly: true})
	if err != nil {
		return sev, fmt.Errorf("read the open incidents of %s: %w", c.Service, err)
	}
	for _, o := range open {
		if o.Service == c.Service && o.Severity.Valid() && o.Severity < sev {
			sev = o.Severity
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

// rollbacksIn is the store's transaction as a keeper of rollbacks: the
// store's Atomic hands out a transaction with all of its methods.
func rollbacksIn(tx incident.Tx) (RollbackStore, error) {
	rs, ok := tx.(RollbackStore)
	if !ok {
		return nil, fmt.Errorf("the store's transaction (%T) does not keep rollbacks", tx)
	}
	return rs, nil
}

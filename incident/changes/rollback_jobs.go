package changes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// rollbackRun runs a requested rollback: each round asked for approval when
// the rule says so, executed (or dry-run for a drill), recorded and followed
// until the provider says it is done.
type rollbackRun struct{ *Rollbacks }

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
		Payload:  incident.RollbackData{Key: r.Key, Step: step, Round: round, Kind: r.Plan.Kind, Source: r.Plan.Source}}
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
		if d, ok := ev.Payload.(incident.RollbackData); ok && d.Key == r.Key && d.Step == "retry" {
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
func (s rollbackRun) runRollback(ctx context.Context, payload []byte) error {
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
func (s rollbackRun) askApproval(ctx context.Context, inc *incident.Incident, r *incident.Rollback, round int) error {
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
func (s rollbackRun) executeRollback(ctx context.Context, inc *incident.Incident, r *incident.Rollback, p rollbackPayload) error {
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
	if inc.Status == incident.StatusClosed {
		// Closed after the rollback was approved or retried, before
		// this job ran: nothing is carried out.
		return s.failRollback(ctx, inc, r, round, inc.Key()+" was closed before the rollback started, so nothing was rolled back.")
	}
	if inc.Drill && !s.policy.Drills.AllowRollback {
		return s.dryRunRollback(ctx, inc, r, round, p.Actor)
	}
	return s.startRound(ctx, inc, r, round, p.Actor)
}

// startRound carries out a round of a rollback through its integration,
// says it started and follows the run.
func (s rollbackRun) startRound(ctx context.Context, inc *incident.Incident, r *incident.Rollback, round int, actor string) error {
	rb := s.rollbackerForPlan(r.Plan)
	if rb == nil {
		return s.failRollback(ctx, inc, r, round, "No configured integration can carry out this rollback any more.")
	}
	sent, unanswered, err := s.claimExecution(ctx, inc, r, round, actor)
	if err != nil {
		return err
	}
	if unanswered {
		return s.resumeRound(ctx, inc, r, round, actor)
	}
	run, err := rb.Execute(ctx, execPlan(r, round), actor)
	if err != nil {
		if aerr := s.recordAnswer(ctx, inc, r, round, sent, err); aerr != nil {
			// The next attempt finds the execution unanswered and
			// follows it rather than sending it again.
			return fmt.Errorf("execute rollback %s: %w; record the answer: %w", r.Key, err, aerr)
		}
		return s.executeFailed(ctx, inc, r, round, err)
	}
	r, err = s.recordRun(ctx, r, run)
	if err != nil {
		return err
	}
	at, err := s.sayStarted(ctx, inc, r, round, actor, run)
	if err != nil {
		return err
	}
	r, err = s.applyRun(ctx, inc, r, round, at, run)
	if err != nil {
		return err
	}
	if r.Status != incident.RollbackRunning {
		return nil
	}
	return s.scheduleProgress(ctx, r.Key, round, 1)
}

// Steps that keep track of a round's executions on the timeline: each
// execution is recorded as sent before the integration is asked, and as
// answered when the integration's answer was an error. An execution sent
// and never answered may have been carried out, its answer lost with the
// job (a database that refused to record the run, a crash): it is never
// sent again.
const (
	stepSent     = "sent"
	stepAnswered = "answered"
)

// claimExecution records that the round's next execution is sent, and
// returns its number. unanswered reports that an earlier execution of the
// round was sent and its answer never recorded, or that another worker
// claimed this one at the same moment: nothing is sent then.
func (s rollbackRun) claimExecution(ctx context.Context, inc *incident.Incident, r *incident.Rollback, round int, actor string) (n int, unanswered bool, err error) {
	events, err := s.store.ListTimeline(ctx, inc.ID)
	if err != nil {
		return 0, false, fmt.Errorf("read the rollback's timeline: %w", err)
	}
	sent, answered := 0, 0
	for _, ev := range events {
		d, ok := ev.Payload.(incident.RollbackData)
		if !ok || d.Key != r.Key || d.Round != round {
			continue
		}
		switch d.Step {
		case stepSent:
			sent++
		case stepAnswered:
			answered++
		}
	}
	if sent > answered {
		return 0, true, nil
	}
	ev := s.rollbackEvent(r, round, stepSent, actor, "Rollback sent: "+r.Plan.Description, false)
	ev.SourceID = rollbackSourceID(r.Key, round, fmt.Sprintf("%s.%d", stepSent, sent))
	fresh, err := s.recordRollbackStep(ctx, inc.ID, ev, nil)
	if err != nil {
		return 0, false, err
	}
	return sent, !fresh, nil
}

// recordAnswer records that execution n of the round was answered with
// err, so that the next attempt may send it again.
func (s rollbackRun) recordAnswer(ctx context.Context, inc *incident.Incident, r *incident.Rollback, round, n int, err error) error {
	ev := s.rollbackEvent(r, round, stepAnswered, r.Plan.Source, "Rollback answered: "+incident.ErrorMessage(err), false)
	ev.SourceID = rollbackSourceID(r.Key, round, fmt.Sprintf("%s.%d", stepAnswered, n))
	_, rerr := s.recordRollbackStep(ctx, inc.ID, ev, nil)
	return rerr
}

// resumeRound takes over a round whose execution was sent and whose answer
// was never recorded. The integration may have carried it out, so it is
// not sent again: the round is said to have started and is followed, by
// the run recorded if there is one, else by what the integration finds of
// the plan's key; a round whose run never shows fails when the bot stops
// looking, saying where to look, with Retry.
func (s rollbackRun) resumeRound(ctx context.Context, inc *incident.Incident, r *incident.Rollback, round int, actor string) error {
	s.log.WarnContext(ctx, "a rollback was sent and its answer not recorded; following it instead of sending it again",
		"incident", inc.Key(), "key", r.Key, "round", round)
	run := incident.RollbackRun{Plan: execPlan(r, round), ExternalID: r.ExternalID, URL: r.URL, Status: "queued", Detail: r.Detail}
	if _, err := s.sayStarted(ctx, inc, r, round, actor, run); err != nil {
		return err
	}
	return s.scheduleProgress(ctx, r.Key, round, 1)
}

// executeFailed handles an integration's refusal or failure to execute a
// round: retried while attempts are left, unless refused, then recorded
// as failed.
func (s rollbackRun) executeFailed(ctx context.Context, inc *incident.Incident, r *incident.Rollback, round int, err error) error {
	attempt, max := incident.JobAttempt(ctx)
	code := incident.ErrorCode(err)
	refused := code == incident.EINVALID || code == incident.EFORBIDDEN || code == incident.ENOTFOUND
	if !refused && (max == 0 || attempt < max) {
		return fmt.Errorf("execute rollback %s: %w", r.Key, err)
	}
	s.log.WarnContext(ctx, "rollback failed", "incident", inc.Key(), "key", r.Key, "err", err)
	return s.failRollback(ctx, inc, r, round, incident.ErrorMessage(err))
}

// recordRun stores what the integration said of the run it started.
func (s rollbackRun) recordRun(ctx context.Context, r *incident.Rollback, run incident.RollbackRun) (*incident.Rollback, error) {
	r, err := s.store.UpdateRollback(ctx, r.ID, func(cur *incident.Rollback) error {
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
		return nil, fmt.Errorf("record the rollback's run: %w", err)
	}
	return r, nil
}

// sayStarted records that a round started, and says it unless the run
// already finished; it returns when the round started.
func (s rollbackRun) sayStarted(ctx context.Context, inc *incident.Incident, r *incident.Rollback, round int, actor string, run incident.RollbackRun) (time.Time, error) {
	n := rollbackNotice(incident.NoticeRollbackStarted, inc, r, actor)
	if r.ApprovedBy != "" && round == 0 {
		n.User = r.ApprovedBy
	}
	ev := s.rollbackEvent(r, round, "started", actor, s.noticeText(n), true)
	// A run that finished at once is said by its outcome alone.
	say := &n
	if run.Status == "succeeded" {
		say = nil
	}
	if _, err := s.recordRollbackStep(ctx, inc.ID, ev, say); err != nil {
		return ev.At, err
	}
	return ev.At, nil
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
func (s rollbackRun) runRollbackProgress(ctx context.Context, payload []byte) error {
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
	if p.Poll >= maxRollbackPolls && r.ExternalID == "" {
		return s.failUnseenRun(ctx, inc, r, round, start)
	}
	if p.Poll >= maxRollbackPolls {
		n := rollbackNotice(incident.NoticeRollbackUnfollowed, inc, r, "bot")
		n.Values["after"] = incident.Since(start, s.clock.Now())
		_, err := s.recordRollbackStep(ctx, inc.ID, s.rollbackEvent(r, round, "unfollowed", "bot", s.noticeText(n), false), &n)
		return err
	}
	return s.scheduleProgress(ctx, r.Key, round, p.Poll+1)
}

// failUnseenRun fails a round whose run the provider never named (GitHub
// accepted a dispatch, but no run showed that it is the rollback's) when
// the polls run out: left running, nothing would ever move it on, and
// Retry and a new request would both be refused as already running. The
// detail says where to look, since a run may have started unseen.
func (s rollbackRun) failUnseenRun(ctx context.Context, inc *incident.Incident, r *incident.Rollback, round int, start time.Time) error {
	detail := fmt.Sprintf("No run of it was found in %s, so the bot stopped following it. %s Check the provider, and retry only if none started.",
		incident.Since(start, s.clock.Now()), r.Detail)
	updated, err := s.store.UpdateRollback(ctx, r.ID, func(cur *incident.Rollback) error {
		if cur.Status != incident.RollbackRunning || cur.ExternalID != "" {
			return errRunSeen
		}
		cur.Status, cur.Detail = incident.RollbackFailed, strings.TrimSpace(detail)
		return nil
	})
	if errors.Is(err, errRunSeen) {
		return nil // a webhook found the run meanwhile
	} else if err != nil {
		return fmt.Errorf("record the rollback's failure: %w", err)
	}
	s.log.WarnContext(ctx, "rollback run never found", "incident", inc.Key(), "key", r.Key)
	return s.reportRollbackFailure(ctx, inc, updated, round)
}

// errRunSeen stops failUnseenRun when the run was found or the rollback
// settled meanwhile.
var errRunSeen = errors.New("the rollback's run was found")

func shortRef(ref string) string {
	if len(ref) > 7 {
		return ref[:7]
	}
	return ref
}

// dryRunDetail is the detail of a drill's rollback that was dry-run.
const dryRunDetail = "dry run: a drill changes nothing unless drills.allow_rollback is set"

// dryRunRollback stands in for a drill's rollback: it says exactly what
// would have run, changes nothing, and counts as done, so the drill goes on.
// It is done for the drill only: a rollback of the same change requested
// from another incident is a rollback of its own.
func (s rollbackRun) dryRunRollback(ctx context.Context, inc *incident.Incident, r *incident.Rollback, round int, actor string) error {
	r, err := s.store.UpdateRollback(ctx, r.ID, func(cur *incident.Rollback) error {
		cur.Status, cur.Detail = incident.RollbackSucceeded, dryRunDetail
		return nil
	})
	if err != nil {
		return fmt.Errorf("record the dry-run rollback: %w", err)
	}
	n := rollbackNotice(incident.NoticeRollbackStarted, inc, r, actor)
	n.Values["dry_run"] = "true"
	delete(n.Values, "url")
	ev := s.rollbackEvent(r, round, "started", actor, s.noticeText(n), true)
	d, _ := ev.Payload.(incident.RollbackData)
	d.DryRun = true
	ev.Payload = d
	_, err = s.recordRollbackStep(ctx, inc.ID, ev, &n)
	return err
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

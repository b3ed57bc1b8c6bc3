package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Job kinds of the update-nag timers.
const (
	// JobNag checks whether an update is overdue and nags when it is.
	JobNag = "incident.nag"
	// JobAckCheck checks the severity's response-time target.
	JobAckCheck = "incident.ack_check"
)

// nagSlack is how early a nag job may run and still count as due: timers
// fire a little early or late, never exactly on time.
const nagSlack = time.Second

// reminders keeps responders talking: the update nag at each severity's
// cadence (escalating to the IC directly and then to the backup) and the
// response-time check that calls on the backup when nobody acknowledged a
// P1 or P2 in time. Both are durable timers, re-planned whenever a change
// moves their due time.
type reminders struct {
	policy     Policy
	incidents  IncidentStore
	timeline   TimelineStore
	pages      PageReader
	sched      Scheduler
	notices    NoticePoster
	clock      Clock
	log        *slog.Logger
	observer   Observer
	noticeText func(Notice) string
}

type nagPayload struct {
	IncidentID int64 `json:"incident_id"`
	Due        int64 `json:"due"` // unix seconds
}

// NextNagAt returns when the next update nag is due, and false when the
// incident gets no nags: its severity has no cadence, it is not open, or it
// is mitigated and the policy pauses nags then. SnoozedUntil, when set,
// is the due time (a snooze, a promised next update, or the gap after a
// nag); otherwise the clock runs from the last update (or the
// declaration), one cadence per unanswered nag.
func NextNagAt(inc *Incident, p Policy) (time.Time, bool) {
	every := p.Severity(inc.Severity).UpdateEvery
	if every <= 0 || !inc.Status.Open() {
		return time.Time{}, false
	}
	if inc.Status == StatusMitigated && p.PauseNagsWhenMitigated {
		return time.Time{}, false
	}
	if inc.SnoozedUntil != nil {
		return *inc.SnoozedUntil, true
	}
	return lastUpdate(inc).Add(every * time.Duration(inc.NagCount+1)), true
}

// quietLimit is the longest a snooze or a promised next update holds an
// incident's reminders off: three of its cadences (P1 30 minutes, P2 45),
// when missing updates would have called the backup, so neither can
// silence an incident longer than the ladder would take to escalate it.
func quietLimit(every time.Duration) time.Duration { return 3 * every }

// maxTopGap is the longest gap between nags at the top of the ladder
// (unless the cadence itself is longer).
const maxTopGap = time.Hour

// nagGap is how long after the nag at level the next one comes: one
// cadence while the ladder climbs; at its top (the backup called), twice
// the previous gap each time, up to an hour, so an incident everyone has
// left is not called to the backup every few minutes for ever.
func nagGap(every time.Duration, level int) time.Duration {
	limit := max(every, maxTopGap)
	gap := every
	for l := 3; l <= level && gap < limit; l++ {
		gap *= 2
	}
	return min(gap, limit)
}

// promiseNext sets when the next reminder is due after an update posted
// at that promises the next one in next (zero: the severity's cadence).
// The promise is kept within quietLimit.
func promiseNext(i *Incident, p Policy, at time.Time, next time.Duration) {
	i.LastUpdateAt, i.NagCount, i.SnoozedUntil = &at, 0, nil
	every := p.Severity(i.Severity).UpdateEvery
	if next > 0 && every > 0 {
		due := at.Add(min(next, quietLimit(every)))
		i.SnoozedUntil = &due
	}
}

// restartNags starts the reminder ladder again for a new IC, who has just
// taken over: they get one cadence from now to post before its first
// step, and its later steps name and message them. A promise or a snooze
// that holds the reminders off longer still holds while the ladder had
// not started climbing.
func restartNags(i *Incident, p Policy, now time.Time) {
	every := p.Severity(i.Severity).UpdateEvery
	if every <= 0 {
		i.NagCount = 0
		return
	}
	due := now.Add(every)
	if i.NagCount == 0 && i.SnoozedUntil != nil && i.SnoozedUntil.After(due) {
		due = *i.SnoozedUntil
	}
	i.NagCount, i.SnoozedUntil = 0, &due
}

// retimeNags keeps the reminders in step with a severity change from
// prev: a shorter cadence applies at once, so no snooze, promise or gap
// set for the old severity holds the next reminder off longer than one
// new cadence from now.
func retimeNags(i *Incident, prev Severity, p Policy, now time.Time) {
	old, every := p.Severity(prev).UpdateEvery, p.Severity(i.Severity).UpdateEvery
	if every <= 0 || i.SnoozedUntil == nil || (old > 0 && every >= old) {
		return
	}
	if limit := now.Add(every); i.SnoozedUntil.After(limit) {
		i.SnoozedUntil = &limit
	}
}

// timerAt is when a timer due at due runs, and the due time its key and
// payload carry: due itself while it is ahead, else now. A due time
// already past (a reminder overdue when a raise brings the cadence back)
// may be the key of a timer that ran and ended then, which the engine
// keeps for a day and would take the new timer for; now is a key no timer
// has had. Two plans of one overdue timer a few seconds apart get two
// timers: the reminder's claim (claimNag) and the response-time check's
// claim (claimAckMissed) let only one of them speak.
func timerAt(due, now time.Time) time.Time {
	if due.After(now) {
		return due
	}
	return now
}

// planNag schedules the nag timer for the incident's next due time. Timers
// are keyed by incident and due time, so planning the same due time twice
// (from two replicas, or two changes) stores one timer; a timer left over
// from an earlier plan finds nothing due when it fires and re-plans.
func (s *reminders) planNag(ctx context.Context, sched Scheduler, inc *Incident) error {
	due, ok := NextNagAt(inc, s.policy)
	if !ok {
		return nil
	}
	due = timerAt(due, s.clock.Now())
	payload, _ := json.Marshal(nagPayload{IncidentID: inc.ID, Due: due.Unix()})
	_, err := sched.Schedule(ctx, Job{Kind: JobNag, Key: fmt.Sprintf("nag:%d:%d", inc.ID, due.Unix()), Payload: payload, RunAt: due, Urgent: true})
	if err != nil {
		return fmt.Errorf("schedule the next update nag of %s: %w", inc.Key(), err)
	}
	return nil
}

// timerPlanner is where a response-time check is planned: a change's
// transaction, which also reads the timeline the change is writing.
type timerPlanner interface {
	Scheduler
	TimelineStore
}

// planAckCheck schedules the response-time check of a severity with a
// target, at its deadline (ackDeadline), which counts from when the
// incident reached its severity (severitySince, read from the timeline).
func (s *reminders) planAckCheck(ctx context.Context, tx timerPlanner, inc *Incident) error {
	if !s.needsAckCheck(inc) {
		return nil
	}
	events, err := tx.ListTimeline(ctx, inc.ID)
	if err != nil {
		return fmt.Errorf("schedule the response-time check of %s: %w", inc.Key(), err)
	}
	since, _ := severitySince(inc, events)
	return s.planAckCheckFrom(ctx, tx, inc, since)
}

// needsAckCheck reports whether the incident's severity has a response
// target not met yet.
func (s *reminders) needsAckCheck(inc *Incident) bool {
	return s.policy.Severity(inc.Severity).RespondWithin > 0 && inc.AcknowledgedAt == nil
}

// planAckCheckFrom is planAckCheck with the target counting from since. A
// declare passes its own time: a new incident has no severity change to
// read, and its transaction, on the acknowledgement's path, no read to spare.
func (s *reminders) planAckCheckFrom(ctx context.Context, sched Scheduler, inc *Incident, since time.Time) error {
	if !s.needsAckCheck(inc) {
		return nil
	}
	target := s.policy.Severity(inc.Severity).RespondWithin
	at := timerAt(since.Add(target), s.clock.Now())
	payload, _ := json.Marshal(nagPayload{IncidentID: inc.ID, Due: at.Unix()})
	_, err := sched.Schedule(ctx, Job{Kind: JobAckCheck, Key: fmt.Sprintf("ack:%d:%d", inc.ID, at.Unix()), Payload: payload, RunAt: at, Urgent: true})
	if err != nil {
		return fmt.Errorf("schedule the response-time check of %s: %w", inc.Key(), err)
	}
	return nil
}

// severitySince is when the incident reached its severity or a more
// severe one, for the last time, from the severity changes on its
// timeline: the response-time target counts from there, so a P3 raised to
// P1 after two hours has P1's target from the raise, and a P1 lowered to P2
// keeps the P2 target it had from the declare. raised reports that it
// counts from a raise rather than the declare.
func severitySince(inc *Incident, events []TimelineEvent) (at time.Time, raised bool) {
	at = inc.DeclaredAt
	for _, ev := range events {
		d, ok := ev.Payload.(SeverityChangedData)
		if ev.Kind != EventSeverityChanged || !ok {
			continue
		}
		if d.From > inc.Severity && d.To <= inc.Severity && ev.At.After(at) {
			at, raised = ev.At, true
		}
	}
	return at, raised
}

// ackTimers is the planner of the checks re-planned by a check that ran.
type ackTimers struct {
	Scheduler
	TimelineStore
}

// loadTimer decodes a timer's payload and reads its incident; a nil
// incident with no error means the incident is gone and the timer dies.
func (s *reminders) loadTimer(ctx context.Context, payload []byte, decoding, what string) (nagPayload, *Incident, error) {
	var p nagPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return p, nil, fmt.Errorf("decode %s: %w: %w", decoding, err, ErrJobCancel)
	}
	inc, err := s.incidents.GetIncident(ctx, p.IncidentID)
	if ErrorCode(err) == ENOTFOUND {
		return p, nil, nil
	} else if err != nil {
		return p, nil, fmt.Errorf("%s: %w", what, err)
	}
	return p, inc, nil
}

// runNag is the JobNag handler.
func (s *reminders) runNag(ctx context.Context, payload []byte) error {
	p, inc, err := s.loadTimer(ctx, payload, "nag payload", "nag")
	if inc == nil {
		return err
	}
	now := s.clock.Now()
	if level, unbacked, ok, err := s.claimedByThisJob(ctx, inc); err != nil {
		return err
	} else if ok {
		return s.sayNag(ctx, inc, level, unbacked, now)
	}
	due, ok := NextNagAt(inc, s.policy)
	if !ok {
		return nil // resolved, paused, or no cadence: the timer dies here
	}
	if due.After(now.Add(nagSlack)) {
		if due.Unix() == p.Due {
			return NotDue(inc.Key()+"'s update reminder", due, now)
		}
		// An update, snooze or severity change moved the clock on.
		return s.planNag(ctx, s.sched, inc)
	}
	if inc.ChannelID == "" {
		return RetryLater(5*time.Second, "%s has no channel yet", inc.Key())
	}
	level := inc.NagCount + 1
	unbacked, err := s.firstUnbacked(ctx, inc, level, now)
	if err != nil {
		return err
	}
	claimed, err := s.claimNag(ctx, inc, level, unbacked, now)
	if claimed == nil {
		return err
	}
	return s.sayNag(ctx, claimed, level, unbacked, now)
}

// firstUnbacked reports whether the nag at level is the one to say that
// nobody backs the IC up: the first rung that would call the backup, the
// first time the incident's reminders reach it. An update or a new IC
// starts the ladder over, and its next climb does not say it again.
func (s *reminders) firstUnbacked(ctx context.Context, inc *Incident, level int, now time.Time) (bool, error) {
	if NagNotice(inc, s.policy, level, now).Values["unbacked"] != "true" {
		return false, nil
	}
	events, err := s.timeline.ListTimeline(ctx, inc.ID)
	if err != nil {
		return false, fmt.Errorf("nag: %w", err)
	}
	for _, ev := range events {
		if ev.Kind == EventNag && strings.Contains(ev.SourceID, unbackedMark) {
			return false, nil
		}
	}
	return true, nil
}

// sayNag posts the claimed nag at level in the incident channel (and the
// second one, or one the channel refused, to the IC directly), then plans
// the next. Within a job the posts are keyed by the job: a failure keeps
// the claim and fails the job, and its retry (claimedByThisJob) says the
// same nag again, finding what the failed attempt posted instead of
// posting it twice. After the last attempt the next nag is planned all the
// same, so that one nag lost to Slack does not end the ladder.
func (s *reminders) sayNag(ctx context.Context, claimed *Incident, level int, unbacked bool, now time.Time) error {
	posted, err := s.postNag(ctx, claimed, level, unbacked, now)
	if err != nil {
		if attempt, max := JobAttempt(ctx); max > 0 && attempt >= max {
			if perr := s.planNag(ctx, s.sched, claimed); perr != nil {
				return errors.Join(err, perr)
			}
		}
		return err
	}
	if err := s.planNag(ctx, s.sched, claimed); err != nil {
		return err
	}
	// Counted once the run's last step is done: a run that fails after
	// its post retries, finds the post and counts it then, not twice.
	if posted {
		s.observer.NagSent(claimed, level)
	}
	return nil
}

// postNag says the nag; posted reports whether the channel took it. It
// says that nobody backs the IC up only when unbacked (firstUnbacked). At a
// rung that also messages the IC directly, the message goes first, so that
// the channel says whether it reached them; a channel that then refuses
// the nag is said to the IC in a second message.
func (s *reminders) postNag(ctx context.Context, claimed *Incident, level int, unbacked bool, now time.Time) (posted bool, err error) {
	n := NagNotice(claimed, s.policy, level, now)
	if !unbacked {
		delete(n.Values, "unbacked")
	}
	direct := directRung(n, level)
	if direct {
		why, err := s.tellCommanderOnce(ctx, claimed, level, now, "")
		if err != nil {
			return false, err
		}
		if why != "" {
			n.Values["dm_failed"] = why
		}
	}
	_, err = s.notices.PostNag(ctx, claimed.ChannelID, claimed, n)
	switch {
	case err != nil && refusal(err) == nil:
		return false, fmt.Errorf("post nag for %s: %w", claimed.Key(), err)
	case err != nil && direct && n.Values["dm_failed"] != "":
		// Slack would not take the IC's message at this rung either.
		s.log.WarnContext(ctx, "the update reminder could not be posted in the incident's channel, nor sent to the IC",
			"incident", claimed.Key(), "level", level, "err", err)
		return false, nil
	case err != nil && direct:
		// The IC was messaged at this rung already, pointed at the
		// channel: they are told that it would not take the reminder,
		// and why, in a second message (its own text, its own key).
		s.log.WarnContext(ctx, "the update reminder could not be posted in the incident's channel; telling the IC directly",
			"incident", claimed.Key(), "level", level, "err", err)
		_, err := s.tellCommanderOnce(ctx, claimed, level, now, ErrorMessage(err))
		return false, err
	case err != nil:
		// The channel will not take it however often it is asked (it
		// was archived, the bot removed from it): the ladder goes on,
		// and each rung is said to the IC directly instead.
		s.log.WarnContext(ctx, "the update reminder could not be posted in the incident's channel; telling the IC directly",
			"incident", claimed.Key(), "level", level, "err", err)
		_, err := s.tellCommanderOnce(ctx, claimed, level, now, ErrorMessage(err))
		return false, err
	}
	return true, nil
}

// tellCommanderOnce tells the IC of the nag. A rate limit or a failure
// that may pass fails the job, which says it again; Slack's refusal for
// good (the IC deactivated, a bot) is logged and returned as why, a
// sentence for the channel, and the ladder goes on: retrying it would only
// hold the next reminders back for hours.
func (s *reminders) tellCommanderOnce(ctx context.Context, claimed *Incident, level int, now time.Time, undelivered string) (why string, err error) {
	err = s.tellCommander(ctx, claimed, now, undelivered)
	if r := refusal(err); err != nil && r != nil {
		s.log.WarnContext(ctx, "the IC could not be told of the update reminder; the reminders go on",
			"incident", claimed.Key(), "level", level, "err", err)
		return ErrorMessage(r), nil
	}
	return "", err
}

// nagSource is the source id of the timeline event of the nag at level:
// the last update and the due time tell a restarted ladder's nags (a new
// IC) from the first ones at the same level since the same update, the
// mark of the one nag that says nobody backs the IC up (unbacked) keeps
// it to once per incident, and the job that claimed it lets that job's
// retry find its claim.
func nagSource(ctx context.Context, level int, last, due time.Time, unbacked bool) string {
	src := fmt.Sprintf("nag:%d:%d:%d", level, last.Unix(), due.Unix())
	if unbacked {
		src += unbackedMark
	}
	if id := JobID(ctx); id != 0 {
		src += fmt.Sprintf("|job=%d", id)
	}
	return src
}

// unbackedMark marks the source id of the nag that says nobody backs the
// IC up.
const unbackedMark = "|unbacked"

// claimedByThisJob returns the level of the nag an earlier attempt of this
// job claimed, and whether it is the one to say nobody backs the IC up, when that nag is still the incident's latest and nothing
// has answered it since (no update, no new ladder): the attempt may have
// stopped before posting it (a Slack failure, the process killed), so the
// retry posts it under the job's key, which finds a copy that landed.
func (s *reminders) claimedByThisJob(ctx context.Context, inc *Incident) (level int, unbacked, ok bool, err error) {
	// Only a rerun can find its own claim: the engine counts a run that
	// was postponed (a rate limit) or stopped as an attempt too.
	id := JobID(ctx)
	if attempt, _ := JobAttempt(ctx); id == 0 || attempt <= 1 || inc.NagCount == 0 {
		return 0, false, false, nil
	}
	if _, ok := NextNagAt(inc, s.policy); !ok || inc.ChannelID == "" {
		return 0, false, false, nil // resolved, paused or no cadence since
	}
	events, err := s.timeline.ListTimeline(ctx, inc.ID)
	if err != nil {
		return 0, false, false, fmt.Errorf("nag: %w", err)
	}
	suffix := fmt.Sprintf("|job=%d", id)
	for _, ev := range events {
		if ev.Kind != EventNag || !strings.HasSuffix(ev.SourceID, suffix) {
			continue
		}
		var last int64
		if _, err := fmt.Sscanf(ev.SourceID, "nag:%d:%d:", &level, &last); err != nil {
			continue
		}
		if level == inc.NagCount && last == lastUpdate(inc).Unix() {
			return level, strings.Contains(ev.SourceID, unbackedMark), true, nil
		}
	}
	return 0, false, false, nil
}

// claimNag claims the nag at level before it is posted, so two timers that
// both find it due post it once: a nil incident with no error means
// another timer claimed it, or a change since the timer read the incident
// (a resolution, a snooze, a lower severity, on this replica or another)
// means it is no longer due; that change planned the next timer. The next
// reminder comes a full gap (nagGap) after this one, even when this one
// was late (the bot was down): one nag per gap, never a burst to catch up.
// The nag's timeline event is written with the claim, naming the job, so
// that the job's retry finds a claim it did not get to post.
func (s *reminders) claimNag(ctx context.Context, inc *Incident, level int, unbacked bool, now time.Time) (*Incident, error) {
	claimed, err := s.incidents.UpdateIncident(ctx, inc.ID, func(i *Incident) ([]TimelineEvent, error) {
		if i.NagCount != inc.NagCount || !sameTime(i.LastUpdateAt, inc.LastUpdateAt) {
			return nil, Errorf(ECONFLICT, "the nag was already posted")
		}
		due, ok := NextNagAt(i, s.policy)
		if !ok || due.After(now.Add(nagSlack)) {
			return nil, errNagMoved
		}
		ev := TimelineEvent{IncidentID: i.ID, Kind: EventNag, Actor: "bot", At: now,
			Text: fmt.Sprintf("Update nag #%d", level), SourceID: nagSource(ctx, level, lastUpdate(i), due, unbacked)}
		i.NagCount = level
		next := now.Add(nagGap(s.policy.Severity(i.Severity).UpdateEvery, level))
		i.SnoozedUntil = &next
		return []TimelineEvent{ev}, nil
	})
	switch {
	case errors.Is(err, errNagMoved):
		// Planned again from what the incident says now; a plan the
		// change made is the same timer.
		cur, err := s.incidents.GetIncident(ctx, inc.ID)
		if err != nil {
			return nil, fmt.Errorf("nag: %w", err)
		}
		return nil, s.planNag(ctx, s.sched, cur)
	case ErrorCode(err) == ECONFLICT:
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("nag: %w", err)
	}
	return claimed, nil
}

// errNagMoved aborts a nag's claim when a change since its timer read the
// incident means it is no longer due.
var errNagMoved = Errorf(ECONFLICT, "the nag is no longer due")

// tellCommander sends a nag to the IC directly: the second one, or any
// that the channel refused, with why (undelivered), which goes to the
// declarer while the role is empty.
func (s *reminders) tellCommander(ctx context.Context, inc *Incident, now time.Time, undelivered string) error {
	to := inc.Commander
	if to == "" && undelivered != "" && inc.DeclaredBy != "bot" {
		// Nobody would hear of it otherwise.
		to = inc.DeclaredBy
	}
	if to == "" {
		return nil
	}
	dm := Notice{Kind: NoticeNagDirect, Incident: inc.Key(), Actor: "bot", User: to, Drill: inc.Drill,
		Values: map[string]string{"silent": Since(lastUpdate(inc), now), "channel": inc.ChannelID}}
	if undelivered != "" {
		dm.Values["undelivered"] = undelivered
	}
	if err := s.notices.Tell(ctx, ReplyTarget{UserID: to}, dm); err != nil {
		return fmt.Errorf("message the IC of %s about a missed update: %w", inc.Key(), err)
	}
	return nil
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func lastUpdate(inc *Incident) time.Time {
	if inc.LastUpdateAt != nil {
		return *inc.LastUpdateAt
	}
	return inc.DeclaredAt
}

// backupOf is who backs the IC up: the policy's IC group, else the comms
// lead.
func backupOf(inc *Incident, p Policy) (group, user string) {
	if p.CommanderGroup != "" {
		return p.CommanderGroup, ""
	}
	return "", inc.Roles[RoleComms]
}

// NagNotice is the update reminder: level 1 calls on the IC; level 2 is
// also sent to the IC directly; level 3 and later also call on the backup.
// An incident without an IC is asked to choose one first, and calls on the
// backup from level 2, as there is nobody to message directly. With
// nobody to back the IC up (no commander group, no comms lead), level 3
// and later are sent to the IC directly again ("direct" is "again"), and
// the first rung that would call the backup says nobody else is called
// ("unbacked"; the reminders say it only the first time an incident
// reaches that rung, firstUnbacked). "snooze" says how long the nag's
// Snooze button silences.
func NagNotice(inc *Incident, p Policy, level int, now time.Time) Notice {
	group, user := backupOf(inc, p)
	n := Notice{Kind: NoticeNag, Incident: inc.Key(), Actor: "bot", User: inc.Commander, Drill: inc.Drill,
		Values: map[string]string{"silent": Since(lastUpdate(inc), now), "level": strconv.Itoa(level), "group": group, "backup": user,
			"snooze": DurationWords(snoozeFor(p, inc.Severity))}}
	if group != "" || user != "" {
		return n
	}
	firstBackupRung := 3
	if inc.Commander == "" {
		firstBackupRung = 2
	} else if level >= 3 {
		n.Values["direct"] = "again"
	}
	if level == firstBackupRung {
		n.Values["unbacked"] = "true"
	}
	return n
}

// directRung reports whether the nag n is also sent to the IC directly.
func directRung(n Notice, level int) bool {
	return n.User != "" && (level == 2 || n.Values["direct"] == "again")
}

// runAckCheck is the JobAckCheck handler: it says so in the channel, and
// calls on the backup, when a P1 or P2 was not acknowledged in time. It
// says so once per incident: a severity change that moves the target
// after it was missed does not say it again.
func (s *reminders) runAckCheck(ctx context.Context, payload []byte) error {
	p, inc, err := s.loadTimer(ctx, payload, "ack check", "ack check")
	if inc == nil {
		return err
	}
	sp := s.policy.Severity(inc.Severity)
	// Mitigated, the incident has had its response: nobody is called on
	// for an acknowledgement it no longer needs.
	if inc.AcknowledgedAt != nil || !inc.Status.Open() || inc.Status == StatusMitigated || sp.RespondWithin <= 0 {
		return nil
	}
	now := s.clock.Now()
	events, err := s.timeline.ListTimeline(ctx, inc.ID)
	if err != nil {
		return fmt.Errorf("ack check: %w", err)
	}
	since, raised := severitySince(inc, events)
	if deadline := since.Add(sp.RespondWithin); deadline.After(now.Add(nagSlack)) {
		if deadline.Unix() == p.Due {
			return NotDue(inc.Key()+"'s response-time check", deadline, now)
		}
		// The severity changed to a later target.
		return s.planAckCheck(ctx, ackTimers{s.sched, s.timeline}, inc)
	}
	if inc.ChannelID == "" {
		return RetryLater(5*time.Second, "%s has no channel yet", inc.Key())
	}
	claimed, mine := ackClaim(ctx, events)
	if claimed && !mine {
		return nil // already said, at this target or an earlier severity's
	}
	n := ackMissedNotice(inc, s.policy, since, raised, now)
	if err := s.addRepageButtons(ctx, inc, &n); err != nil {
		return fmt.Errorf("ack check: %w", err)
	}
	if !claimed {
		if mine, err := s.claimAckMissed(ctx, inc, s.noticeText(n), now); !mine {
			return err
		}
	}
	// Claimed, then said: a post Slack failed fails the job, and its retry
	// finds its own claim and posts again (the post is keyed by the job, so
	// one that landed although its call failed is found, not posted twice).
	if _, err := s.notices.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("ack check: %w", err)
	}
	return nil
}

// claimAckMissed records the "not acknowledged" warning before it is
// said, naming the job, so that of two checks running at once (two timers
// of an overdue incident, two replicas) only the one whose record landed
// says it: mine is false when another check's did.
func (s *reminders) claimAckMissed(ctx context.Context, inc *Incident, text string, now time.Time) (mine bool, err error) {
	ev := TimelineEvent{IncidentID: inc.ID, Kind: EventAckMissed, Actor: "bot", At: now, Key: true, Text: text,
		SourceID: "ack_missed", Payload: AckMissedData{Job: JobID(ctx)}}
	err = s.timeline.AddTimelineEvent(ctx, &ev)
	switch {
	case err == nil:
		return true, nil
	case ErrorCode(err) != ECONFLICT:
		return false, fmt.Errorf("ack check: %w", err)
	}
	events, err := s.timeline.ListTimeline(ctx, inc.ID)
	if err != nil {
		return false, fmt.Errorf("ack check: %w", err)
	}
	_, mine = ackClaim(ctx, events)
	return mine, nil
}

// ackClaim reports whether the timeline records the "not acknowledged"
// warning (claimed), and whether this job claimed it (mine): an earlier
// attempt of the job that did not get to post it, which the retry says.
func ackClaim(ctx context.Context, events []TimelineEvent) (claimed, mine bool) {
	job := JobID(ctx)
	for _, ev := range events {
		if ev.Kind != EventAckMissed {
			continue
		}
		d, _ := ev.Payload.(AckMissedData)
		if job != 0 && d.Job == job {
			return true, true
		}
		claimed = true
	}
	return claimed, false
}

// ackMissedNotice says the severity's response-time target, counted
// from since (a raise to the severity when raised), was missed and calls
// on the backup.
func ackMissedNotice(inc *Incident, p Policy, since time.Time, raised bool, now time.Time) Notice {
	sp := p.Severity(inc.Severity)
	target := sp.TargetText
	if target == "" {
		target = DurationWords(sp.RespondWithin)
	}
	group, user := backupOf(inc, p)
	n := Notice{Kind: NoticeAckMissed, Incident: inc.Key(), Actor: "bot", User: inc.Commander,
		Values: map[string]string{"target": target, "severity": inc.Severity.String(), "ago": Since(since, now), "group": group, "backup": user}}
	if raised {
		n.Values["raised"] = "true"
	}
	return n
}

// addRepageButtons gives each page nobody acknowledged a Re-page button.
func (s *reminders) addRepageButtons(ctx context.Context, inc *Incident, n *Notice) error {
	pages, err := s.pages.ListPages(ctx, inc.ID)
	if err != nil {
		return err
	}
	for _, pg := range pages {
		if pg.AcknowledgedAt == nil && pg.Status != "resolved" && len(n.Buttons) < 5 {
			n.Buttons = append(n.Buttons, Button{Action: ActionRepage, Text: "Re-page " + pg.Service, Value: fmt.Sprintf("%d|%s", inc.ID, pg.Service), Style: "danger"})
		}
	}
	if len(n.Buttons) > 0 {
		n.Values["unacknowledged"] = strconv.Itoa(len(n.Buttons))
	}
	return nil
}

// Snooze silences an incident's nags for the policy's snooze time, at
// most quietLimit of its severity; it never brings a reminder forward.
// Only the IC or the commander group may snooze (EFORBIDDEN otherwise);
// an incident without reminders to snooze (not open, a severity without a
// cadence, paused while mitigated) is ECONFLICT.
func (s *Service) Snooze(ctx context.Context, id int64, actor string) (*Incident, error) {
	if err := s.authz.authorizeOn(ctx, id, actor, ActSnooze); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	return s.changeTelling(ctx, id, false, func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
		every := s.policy.Severity(i.Severity).UpdateEvery
		due, ok := NextNagAt(i, s.policy)
		switch {
		case !i.Status.Open():
			return nil, nil, Errorf(ECONFLICT, "%s is %s; it has no update reminders to snooze.", i.Key(), strings.ToLower(i.Status.Label()))
		case every <= 0:
			return nil, nil, Errorf(ECONFLICT, "%s is %s, which has no update reminders to snooze.", i.Key(), i.Severity)
		case !ok:
			return nil, nil, Errorf(ECONFLICT, "%s is mitigated; its update reminders are paused until it goes back to investigating.", i.Key())
		}
		until := now.Add(snoozeFor(s.policy, i.Severity))
		if due.After(until) {
			until = due
		}
		i.SnoozedUntil = &until
		n := Notice{Kind: NoticeSnoozed, Incident: i.Key(), Actor: actor, Values: map[string]string{"until": until.In(s.policy.Location).Format("15:04 MST")}}
		return []TimelineEvent{{Kind: EventNote, Actor: actor, At: now, Text: s.noticeText(n)}}, &syncPayload{Notices: []Notice{n}}, nil
	}, nil)
}

// snoozeFor is how long a snooze silences an incident of severity sev.
func snoozeFor(p Policy, sev Severity) time.Duration {
	return min(p.Snooze, quietLimit(p.Severity(sev).UpdateEvery))
}

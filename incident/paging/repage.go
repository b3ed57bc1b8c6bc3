package paging

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// maxAutoRepages bounds how often the bot escalates or re-pages one
// service by itself; past that the Re-page button remains, and PagerDuty's
// own escalation policy keeps going.
const maxAutoRepages = 3

// timerSlack is how early a re-page job may run and still count as due:
// timers fire a little early or late, never exactly on time.
const timerSlack = time.Second

type repagePayload struct {
	IncidentID int64  `json:"incident_id"`
	PageKey    string `json:"page"`
	// Step counts the bot's escalations of this page, from 1.
	Step int `json:"step"`
	// Due is when the page is overdue, in unix seconds.
	Due int64 `json:"due"`
}

// repager follows a page once it is sent: it invites the people paged into
// the channel and escalates or pages again when nobody acknowledges in time.
type repager struct{ *Service }

type invitePayload struct {
	IncidentID int64  `json:"incident_id"`
	PageKey    string `json:"page"`
}

// followPage plans, on sched, what follows a new page: its people are
// invited into the channel, and it is escalated if nobody acknowledges it
// within the severity's response target.
func (s repager) followPage(ctx context.Context, sched incident.Scheduler, inc *incident.Incident, page *incident.Page, source string) error {
	if err := s.scheduleInvitePaged(ctx, sched, page, source); err != nil {
		return err
	}
	target := s.policy.Severity(inc.Severity).RespondWithin
	if target <= 0 {
		return nil
	}
	// Due by the bot's clock, which runs the job: the page's CreatedAt
	// may be PagerDuty's (its created_at), whatever the skew between them.
	return s.scheduleRepage(ctx, sched, repagePayload{IncidentID: inc.ID, PageKey: page.DedupKey, Step: 1}, s.clock.Now().Add(target))
}

// scheduleRepage plans an escalation check on the urgent queue: it is
// part of paging, and must not wait behind slow work.
func (s repager) scheduleRepage(ctx context.Context, sched incident.Scheduler, p repagePayload, at time.Time) error {
	p.Due = at.Unix()
	payload, _ := json.Marshal(p)
	if _, err := sched.Schedule(ctx, incident.Job{Kind: JobRepage, Key: fmt.Sprintf("repage:%s:%d", p.PageKey, p.Step), Payload: payload,
		RunAt: at, MaxAttempts: pageAttempts, Urgent: true}); err != nil {
		return fmt.Errorf("schedule the re-page of %s: %w", p.PageKey, err)
	}
	return nil
}

// scheduleInvitePaged invites the people a page reached, once per reason
// (the page, an escalation, a reassignment).
func (s repager) scheduleInvitePaged(ctx context.Context, sched incident.Scheduler, page *incident.Page, reason string) error {
	if _, ok := s.pager.(incident.PageResponders); !ok {
		return nil
	}
	payload, _ := json.Marshal(invitePayload{IncidentID: page.IncidentID, PageKey: page.DedupKey})
	if _, err := sched.Schedule(ctx, incident.Job{Kind: JobInvitePaged, Key: "invite-paged:" + page.DedupKey + ":" + reason, Payload: payload,
		MaxAttempts: 5, Urgent: true}); err != nil {
		return fmt.Errorf("schedule inviting the people paged: %w", err)
	}
	return nil
}

// runRepage is the JobRepage handler. When the page is still not
// acknowledged at the severity's response target, PagerDuty escalates it to
// the next level; a page that cannot escalate is sent again, with the
// backup, as a new page. The channel is told either way, with a Re-page
// button for doing it again by hand.
func (s repager) runRepage(ctx context.Context, payload []byte) error {
	var p repagePayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode re-page: %w: %w", err, incident.ErrJobCancel)
	}
	inc, err := s.store.GetIncident(ctx, p.IncidentID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil
	} else if err != nil {
		return fmt.Errorf("re-page: %w", err)
	}
	page, err := s.store.FindPage(ctx, "pagerduty", p.PageKey)
	if err != nil {
		return fmt.Errorf("re-page %s: %w: %w", p.PageKey, err, incident.ErrJobCancel)
	}
	sp := s.policy.Severity(inc.Severity)
	if !awaitsAck(inc, page, sp) {
		return nil
	}
	if now, due := s.clock.Now(), time.Unix(p.Due, 0); due.After(now.Add(timerSlack)) {
		// Run before its time by this process's clock (the job engine
		// goes by the database's): the same job waits for it.
		return incident.NotDue("the re-page of "+p.PageKey, due, now)
	}
	if inc.ChannelID == "" {
		return incident.RetryLater(5*time.Second, "%s has no channel yet", inc.Key())
	}
	source := fmt.Sprintf("repage:%s:%d", page.DedupKey, p.Step)
	svc, ok := s.policy.Services[page.Service]
	if !ok {
		return nil
	}
	if _, ok := followUpPager(s.pager, s.policy, inc, page.Service); !ok {
		skipDrillFollowUp(ctx, s.log, inc, page, "escalate")
		return nil
	}
	n := repageNotice(inc, page, svc, sp)
	if done, err := s.repaged(ctx, inc, page, source, n); err != nil || done {
		return err
	}
	escalated, err := s.escalate(ctx, inc, page, p, source, sp.RespondWithin, n)
	if err != nil || escalated {
		return err
	}
	return s.pageAgain(ctx, inc, page, p.Step, source, n)
}

// repaged reports whether this step of the re-page was carried out and
// recorded already. A job that finds it recorded says it in the channel
// again: the run that recorded it may have stopped before saying it (Slack
// failed or rate limited it, the process died), and the post, keyed by
// the job, finds a copy that landed rather than posting a second one. A
// record that is only a note (the channel heard PagerDuty report it) is
// not said.
func (s repager) repaged(ctx context.Context, inc *incident.Incident, page *incident.Page, source string, n incident.Notice) (bool, error) {
	events, err := s.store.ListTimeline(ctx, inc.ID)
	if err != nil {
		return false, fmt.Errorf("re-page: %w", err)
	}
	i := slices.IndexFunc(events, func(ev incident.TimelineEvent) bool { return ev.SourceID == source })
	if i < 0 {
		return false, nil
	}
	ev := events[i]
	if incident.JobID(ctx) == 0 || !ev.Key {
		return true, nil
	}
	n.Values["action"] = "paged_again"
	if d, _ := ev.Payload.(incident.PagedData); d.Level > 0 {
		// As it was said: the page may have been reassigned since.
		// (A record made before it kept them: the page's.)
		n.Values["action"], n.Values["assignees"] = "escalated", cmp.Or(d.Assignees, strings.Join(page.Assignees, ", "))
	}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		return true, fmt.Errorf("say the re-page of %s: %w", page.DedupKey, err)
	}
	return true, nil
}

// awaitsAck reports whether page still waits for an acknowledgement that
// the severity's response target expects. A mitigated incident has had its
// response: nobody is woken for it.
func awaitsAck(inc *incident.Incident, page *incident.Page, sp incident.SeverityPolicy) bool {
	return inc.Status.Open() && inc.Status != incident.StatusMitigated && sp.RespondWithin > 0 && page.AcknowledgedAt == nil &&
		page.Status != "acknowledged" && page.Status != "resolved"
}

// repageNotice is the channel's notice of a re-page, with a Re-page button.
func repageNotice(inc *incident.Incident, page *incident.Page, svc incident.ServicePolicy, sp incident.SeverityPolicy) incident.Notice {
	target := sp.TargetText
	if target == "" {
		target = incident.DurationWords(sp.RespondWithin)
	}
	return incident.Notice{Kind: incident.NoticeRepage, Incident: inc.Key(), Actor: "bot", Drill: inc.Drill,
		Values:  map[string]string{"service": svc.Name, "target": target},
		Buttons: []incident.Button{{Action: incident.ActionRepage, Text: "Re-page " + page.Service, Value: fmt.Sprintf("%d|%s", inc.ID, page.Service), Style: "danger"}}}
}

// pageAgain pages the page's service again, with the backup, and says so
// in the channel, unless the service was paged again as often as it may
// be. The new page is planned in the transaction that records this step
// of the re-page (source), so a retry of the job, which finds the step
// recorded, never counts the new page as one more reason to page again.
func (s repager) pageAgain(ctx context.Context, inc *incident.Incident, page *incident.Page, step int, source string, n incident.Notice) error {
	pages, err := s.store.ListPages(ctx, inc.ID)
	if err != nil {
		return fmt.Errorf("re-page: %w", err)
	}
	sent := 0
	for _, pg := range pages {
		if pg.Service == page.Service {
			sent++
		}
	}
	if sent > maxAutoRepages {
		return nil // the button remains; PagerDuty keeps escalating
	}
	round, err := s.keys.nextRound(ctx, inc.ID, page.Service, pages, 0)
	if err != nil {
		return fmt.Errorf("re-page: %w", err)
	}
	n.Values["action"] = "paged_again"
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventPaged, Actor: "bot", At: s.clock.Now(), Key: true, Text: s.noticeText(n),
		SourceID: source, Payload: incident.PagedData{Service: page.Service, Page: page.DedupKey, Repage: step}}
	err = s.store.Atomic(ctx, func(tx incident.Tx) error {
		if err := tx.AddTimelineEvent(ctx, &ev); err != nil {
			return err
		}
		return s.schedulePage(ctx, tx, pagePayload{IncidentID: inc.ID, Service: page.Service, Actor: "bot", Round: round, Backup: true})
	})
	if incident.ErrorCode(err) == incident.ECONFLICT {
		return nil // another run of the step did it
	} else if err != nil {
		return fmt.Errorf("re-page: %w", err)
	}
	// A failure retries the job, which finds the step recorded and says
	// it again (repaged).
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("say the re-page of %s: %w", page.DedupKey, err)
	}
	return nil
}

// escalate asks the provider to move an unacknowledged page on to the next
// level, records the escalated page with what follows it (inviting its
// people, the next check) and says it in the channel with n. It returns
// false when the provider cannot escalate this page (it is paged again
// instead).
//
// A page the provider has acknowledged or resolved already has no level
// to escalate to (answeredPage): its answer is recorded, and no level is
// kept for the step.
//
// The level is decided once per step and kept on the record of the
// escalation (markEscalating) before the provider is asked: the provider
// may carry the escalation out and fail to answer (a 5xx, a timeout), and
// the retry of the job then escalates to that same level, which the page
// is at already, rather than to the one after it. Asked for a level the
// page is at or past, the provider changes nothing; the outcome is still
// recorded, and said unless the channel heard it from PagerDuty already.
//
// The provider reports the escalation by webhook, and may deliver that
// report before its answer to the call: before the bot has recorded the
// page's new people. So the escalation is recorded as in flight before the
// call (markEscalating), and a report of an escalation or reassignment of
// the page waits meanwhile (see applyPageEvent): once the escalation is
// recorded, the report of it is the echo of what the store shows, and a
// report of anything else is news.
func (s repager) escalate(ctx context.Context, inc *incident.Incident, page *incident.Page, p repagePayload, source string, every time.Duration, n incident.Notice) (bool, error) {
	pager, _ := followUpPager(s.pager, s.policy, inc, page.Service)
	esc, ok := pager.(incident.PageEscalator)
	if !ok {
		return false, nil
	}
	level, err := s.escalationLevel(ctx, esc, page, p.Step)
	if found := answeredPage(err); found != nil {
		// Answered in PagerDuty, and the bot has not heard: nobody is
		// woken, and the step keeps no level. A retry (recording the
		// answer failed) asks PagerDuty again, which may have the page
		// triggered again by then (its acknowledgement timed out), and
		// then escalates it for real.
		return true, s.answeredAlready(ctx, page, found, p.Step, false)
	}
	if cannotEscalate(err) {
		s.log.InfoContext(ctx, "the page cannot escalate; paging again", "incident", inc.Key(), "page", page.DedupKey, "reason", incident.ErrorMessage(err))
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("escalate page %s: %w", page.DedupKey, err) // nothing was asked of the provider yet
	}
	if level, err = s.markEscalating(ctx, page, p.Step, level); err != nil {
		return false, err // nothing was asked of the provider yet
	}
	updated, changed, err := esc.EscalateTo(ctx, *page, level)
	if err != nil {
		s.escalationFailed(ctx, page, p.Step, err)
		if cannotEscalate(err) {
			s.log.InfoContext(ctx, "the page cannot escalate; paging again", "incident", inc.Key(), "page", page.DedupKey, "reason", incident.ErrorMessage(err))
			return false, nil
		}
		// Maybe done all the same: the retry asks for the same level.
		return false, fmt.Errorf("escalate page %s: %w", page.DedupKey, err)
	}
	if !changed && (updated.Status == "acknowledged" || updated.Status == "resolved") {
		// Answered in PagerDuty, and the bot has not heard (no webhook,
		// or a delivery PagerDuty retries later): nobody is woken.
		return true, s.answeredAlready(ctx, page, updated, p.Step, true)
	}
	n.Values["action"], n.Values["assignees"] = "escalated", strings.Join(updated.Assignees, ", ")
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventPaged, Actor: "bot", At: s.clock.Now(), Key: true, Text: s.noticeText(n),
		SourceID: source, Payload: incident.PagedData{Service: page.Service, Page: page.DedupKey, Repage: p.Step, Level: level, Assignees: strings.Join(updated.Assignees, ", ")}}
	var next *repagePayload
	if p.Step < maxAutoRepages {
		next = &repagePayload{IncidentID: inc.ID, PageKey: page.DedupKey, Step: p.Step + 1}
	}
	// PagerDuty has acted, so what it did is recorded even when the job's
	// time is up.
	rec, cancel := recordContext(ctx)
	defer cancel()
	said, err := s.recordEscalation(rec, page, updated, changed, p.Step, &ev, next, every)
	if err != nil {
		// A retry would ask PagerDuty again. What can still be done is
		// done on its own.
		s.log.WarnContext(ctx, "could not record the escalation", "incident", inc.Key(), "page", page.DedupKey, "err", err)
		if err := s.followEscalation(rec, s.sched, page, source, next, every); err != nil {
			s.log.WarnContext(ctx, "could not plan what follows the escalation", "page", page.DedupKey, "err", err)
		}
	}
	if said {
		return true, nil
	}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		// PagerDuty has acted and the escalation is recorded: the retry
		// finds it recorded and only says it (repaged).
		return true, fmt.Errorf("say the escalation of %s: %w", page.DedupKey, err)
	}
	return true, nil
}

// answeredAlready records what the re-page found: the provider has the
// page acknowledged (or resolved) already, so it was not escalated. The
// escalation in flight (marked, when the provider was asked to escalate)
// ends with a note saying so, and the provider's
// acknowledgement (who, when) or resolution is recorded as its webhook
// would have recorded it: said once in the channel, the first
// acknowledgement counting for the time to acknowledge, and the webhook's
// own report of it, delivered later, an echo.
func (s repager) answeredAlready(ctx context.Context, page, found *incident.Page, step int, marked bool) error {
	rec, cancel := recordContext(ctx)
	defer cancel()
	if marked {
		_, err := s.store.UpdateTimelineEvent(rec, page.IncidentID, escalatingSource(page.DedupKey, step), func(e *incident.TimelineEvent) error {
			d, _ := e.Payload.(incident.PagedData)
			d.Event = ""
			e.Payload = d
			e.Text = fmt.Sprintf("The page for %s was not escalated: PagerDuty has it %s already.", page.Service, found.Status)
			if found.AcknowledgedBy != "" {
				e.Text = fmt.Sprintf("The page for %s was not escalated: PagerDuty has it %s already, by %s.", page.Service, found.Status, found.AcknowledgedBy)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("record the end of the escalation of %s: %w", page.DedupKey, err)
		}
	}
	statusAt := s.clock.Now()
	if found.StatusAt != nil {
		statusAt = *found.StatusAt
	}
	source := fmt.Sprintf("state:%s:%d:%s", page.DedupKey, page.Retriggers, found.Status)
	if found.Status == "resolved" {
		ev := incident.PageEvent{DeliveryID: source, Kind: incident.PageResolved, ExternalID: page.ExternalID, DedupKey: page.DedupKey, At: statusAt}
		return s.applyPageEvent(rec, page, ev, false)
	}
	r := ackReport{agent: found.AcknowledgedBy, at: statusAt, statusAt: statusAt, sourceID: "pd:" + source}
	if found.AcknowledgedAt != nil {
		r.at, r.statusAt = *found.AcknowledgedAt, *found.AcknowledgedAt
	}
	return s.applyAck(rec, page, r)
}

// answered is the error of a PageEscalator's NextEscalationLevel when the
// provider has the page acknowledged or resolved already: the page has no
// level to escalate to, and Answered returns it as the provider has it
// (its status and, when acknowledged, who acknowledged it and when).
type answered interface {
	error
	Answered() *incident.Page
}

// answeredPage is the page as the provider has it when err says the
// provider has it answered already (answered), else nil.
func answeredPage(err error) *incident.Page {
	var a answered
	if errors.As(err, &a) {
		return a.Answered()
	}
	return nil
}

// cannotEscalate reports whether err says the provider cannot escalate the
// page (it is paged again instead).
func cannotEscalate(err error) bool {
	code := incident.ErrorCode(err)
	return err != nil && (code == incident.EINVALID || code == incident.ENOTFOUND || code == incident.EFORBIDDEN)
}

// escalationLevel is the level a step of the re-page escalates the page
// to: the one the record of its escalation keeps, decided by an attempt of
// the step before this one; else the one after the level the page is at
// now, as the provider says (an answered error when the provider has the
// page answered: there is none).
func (s repager) escalationLevel(ctx context.Context, esc incident.PageEscalator, page *incident.Page, step int) (int, error) {
	events, err := s.store.ListTimeline(ctx, page.IncidentID)
	if err != nil {
		return 0, err
	}
	source := escalatingSource(page.DedupKey, step)
	for _, ev := range events {
		if d, ok := ev.Payload.(incident.PagedData); ok && ev.SourceID == source && d.Level > 0 {
			return d.Level, nil
		}
	}
	return esc.NextEscalationLevel(ctx, *page)
}

// recordEscalation records the page escalated to updated, the end of the
// escalation in flight, the re-page's event ev and what follows it (inviting
// the people, the next check) as one fact: a report of the escalation
// waiting for it sees all of it or none. said is set when the channel was
// told already: ev was recorded by a run of the job that went before, or
// the provider found the page escalated already (changed false) and the
// channel heard PagerDuty report the people it has now; ev is then
// recorded as a note, off the postmortem's key events.
func (s repager) recordEscalation(ctx context.Context, page, updated *incident.Page, changed bool, step int, ev *incident.TimelineEvent, next *repagePayload, every time.Duration) (said bool, err error) {
	err = atomic(ctx, s.store, func(tx incident.Tx, pages Tx) error {
		// The page is written first: its row lock orders this after a
		// concurrent report of the page, whose line the timeline then shows.
		var before []string
		if _, err := pages.UpdatePage(ctx, page.ID, func(pg *incident.Page) error {
			before = pg.Assignees
			pg.Assignees = updated.Assignees
			if updated.StatusAt == nil {
				pg.Status = updated.Status // not ordered: PagerDuty gave no time
				return nil
			}
			if reportedBefore(pg, *updated.StatusAt) {
				// PagerDuty reported a later change already (the
				// escalation acknowledged, the incident resolved): the
				// status stays as that change left it, with the people
				// the escalation assigned.
				return nil
			}
			reported(pg, *updated.StatusAt)
			pg.Status = updated.Status
			return nil
		}); err != nil {
			return err
		}
		said = false
		if !changed && sameNames(before, updated.Assignees) {
			events, err := tx.ListTimeline(ctx, page.IncidentID)
			if err != nil {
				return err
			}
			said = !assignedByBot(events, page.DedupKey)
		}
		if err := endEscalating(ctx, tx, page, step, ""); err != nil {
			return err
		}
		note := *ev
		if said {
			d, _ := ev.Payload.(incident.PagedData)
			note.Key = false
			note.Text = fmt.Sprintf("The re-page found the page for %s at level %d already, as PagerDuty reported, paging %s; nothing more was asked of PagerDuty.",
				page.Service, d.Level, strings.Join(updated.Assignees, ", "))
		}
		if err := tx.AddTimelineEvent(ctx, &note); incident.ErrorCode(err) == incident.ECONFLICT {
			said = true
		} else if err != nil {
			return err
		}
		return s.followEscalation(ctx, tx, page, ev.SourceID, next, every)
	})
	return said, err
}

// followEscalation plans, on sched, inviting the people an escalation
// reached and the next check (next, when the bot may escalate again).
func (s repager) followEscalation(ctx context.Context, sched incident.Scheduler, page *incident.Page, source string, next *repagePayload, every time.Duration) error {
	if err := s.scheduleInvitePaged(ctx, sched, page, source); err != nil {
		return err
	}
	if next == nil {
		return nil
	}
	return s.scheduleRepage(ctx, sched, *next, s.clock.Now().Add(every))
}

// escalationInFlightFor bounds how long an escalation counts as in flight:
// longer than an attempt of the job may last (the job engine cancels one
// after a minute by default), so that an escalation whose job stopped
// without a word (the process killed during the call) holds PagerDuty's
// reports of the page back for no longer than this.
const escalationInFlightFor = 2 * time.Minute

// escalatingPrefix starts the source id of the record of an escalation of
// a page by the bot.
const escalatingPrefix = "escalating:"

// escalatingSource is the source id of the record of the bot's escalation
// of a page, at a step of its re-page.
func escalatingSource(pageKey string, step int) string {
	return fmt.Sprintf("%s%s:%d", escalatingPrefix, pageKey, step)
}

// markEscalating records, before the provider is asked, that the bot is
// escalating the page to level: a note on the timeline, off the
// postmortem's key events, whose payload's Event is PageEscalated while the
// escalation is in flight (escalationInFlight). A later attempt of the
// same step marks it in flight again, from now, and keeps the level the
// first attempt recorded: it returns the level kept.
func (s repager) markEscalating(ctx context.Context, page *incident.Page, step, level int) (int, error) {
	now := s.clock.Now()
	text := func(level int) string {
		return fmt.Sprintf("Asked PagerDuty to escalate the page for %s to level %d: nobody acknowledged it.", page.Service, level)
	}
	data := incident.PagedData{Service: page.Service, Page: page.DedupKey, Event: incident.PageEscalated, Repage: step, Level: level}
	ev := incident.TimelineEvent{IncidentID: page.IncidentID, Kind: incident.EventPaged, Actor: "bot", At: now, Text: text(level),
		SourceID: escalatingSource(page.DedupKey, step), Payload: data}
	err := s.store.AddTimelineEvent(ctx, &ev)
	if incident.ErrorCode(err) == incident.ECONFLICT {
		_, err = s.store.UpdateTimelineEvent(ctx, page.IncidentID, ev.SourceID, func(e *incident.TimelineEvent) error {
			if d, ok := e.Payload.(incident.PagedData); ok && d.Level > 0 {
				level = d.Level // decided once
			}
			data.Level = level
			e.At, e.Text, e.Payload = now, text(level), data
			return nil
		})
	}
	if err != nil {
		return 0, fmt.Errorf("record the escalation of %s: %w", page.DedupKey, err)
	}
	return level, nil
}

// endEscalating records that the bot's escalation of the page is no
// longer in flight: done (why empty), or not done for that reason.
func endEscalating(ctx context.Context, ts incident.TimelineStore, page *incident.Page, step int, why string) error {
	_, err := ts.UpdateTimelineEvent(ctx, page.IncidentID, escalatingSource(page.DedupKey, step), func(e *incident.TimelineEvent) error {
		d, _ := e.Payload.(incident.PagedData)
		d.Event = ""
		e.Payload = d
		if why != "" {
			e.Text = fmt.Sprintf("Asking PagerDuty to escalate the page for %s failed: %s", page.Service, why)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record the end of the escalation of %s: %w", page.DedupKey, err)
	}
	return nil
}

// escalationFailed ends the escalation in flight that the provider refused
// or failed, so that PagerDuty's reports of the page are not held back: a
// job that stops meanwhile (the context cancelled) still ends it.
func (s repager) escalationFailed(ctx context.Context, page *incident.Page, step int, cause error) {
	rec, cancel := recordContext(ctx)
	defer cancel()
	if err := endEscalating(rec, s.store, page, step, incident.ErrorMessage(cause)); err != nil {
		// Held back no longer than escalationInFlightFor.
		s.log.WarnContext(ctx, "could not record the failed escalation", "page", page.DedupKey, "err", err)
	}
}

// recordTimeout bounds recording what the provider did once the job's
// context is done.
const recordTimeout = 10 * time.Second

// recordContext is ctx for recording what the provider did: not cancelled
// with the job (the provider acted, and a retry would act again), and
// bounded by recordTimeout.
func recordContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
}

// escalationInFlight reports whether the timeline shows the bot escalating
// the page now: asked of the provider, neither recorded nor failed yet, and
// asked less than escalationInFlightFor ago.
func escalationInFlight(events []incident.TimelineEvent, pageKey string, now time.Time) bool {
	for _, ev := range events {
		d, ok := ev.Payload.(incident.PagedData)
		if ok && ev.Kind == incident.EventPaged && strings.HasPrefix(ev.SourceID, escalatingPrefix) && d.Page == pageKey &&
			d.Event == incident.PageEscalated && now.Before(ev.At.Add(escalationInFlightFor)) {
			return true
		}
	}
	return false
}

// runInvitePaged is the JobInvitePaged handler: the people a page reached
// are invited into the incident channel, matched to Slack by e-mail.
func (s repager) runInvitePaged(ctx context.Context, payload []byte) error {
	var p invitePayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode invite: %w: %w", err, incident.ErrJobCancel)
	}
	if _, ok := s.pager.(incident.PageResponders); !ok {
		return nil
	}
	inc, err := s.store.GetIncident(ctx, p.IncidentID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil
	} else if err != nil {
		return fmt.Errorf("invite the people paged: %w", err)
	}
	if !inc.Status.Open() {
		return nil
	}
	if inc.ChannelID == "" {
		return incident.RetryLater(2*time.Second, "%s has no channel yet", inc.Key())
	}
	page, err := s.store.FindPage(ctx, "pagerduty", p.PageKey)
	if err != nil {
		return fmt.Errorf("invite the people paged: %w: %w", err, incident.ErrJobCancel)
	}
	pager, ok := followUpPager(s.pager, s.policy, inc, page.Service)
	if !ok {
		skipDrillFollowUp(ctx, s.log, inc, page, "invite whom the page reached")
		return nil
	}
	r, ok := pager.(incident.PageResponders)
	if !ok {
		return nil
	}
	emails, err := r.Responders(ctx, *page)
	if c := incident.ErrorCode(err); c == incident.EINVALID || c == incident.ENOTFOUND || c == incident.EFORBIDDEN {
		s.log.InfoContext(ctx, "cannot tell who the page reached", "incident", inc.Key(), "page", p.PageKey, "reason", incident.ErrorMessage(err))
		return nil
	} else if err != nil {
		return fmt.Errorf("who the page reached: %w", err)
	}
	return s.inviteByEmail(ctx, inc, emails)
}

// inviteByEmail invites the people with a Slack account by these e-mails
// into the incident channel.
func (s repager) inviteByEmail(ctx context.Context, inc *incident.Incident, emails []string) error {
	if len(emails) == 0 {
		return nil
	}
	ids, missing, err := s.chat.ResolveUsers(ctx, emails)
	var unresolved *incident.UnresolvedError
	if err != nil && !errors.As(err, &unresolved) {
		return fmt.Errorf("find the people paged in Slack: %w", err)
	}
	if len(missing) > 0 {
		s.log.InfoContext(ctx, "people paged without a Slack account by that e-mail", "incident", inc.Key(), "emails", strings.Join(missing, ", "))
	}
	// A lookup that failed keeps out only its own person: the others are
	// invited now, and the retry looks again.
	if len(ids) > 0 {
		// Whom Slack refused the chat logs; the others are in.
		if _, err := incident.InviteRefusals(s.chat.Invite(ctx, inc.ChannelID, ids)); err != nil {
			return fmt.Errorf("invite the people paged: %w", err)
		}
	}
	if err != nil {
		return fmt.Errorf("find the people paged in Slack: %w", err)
	}
	return nil
}

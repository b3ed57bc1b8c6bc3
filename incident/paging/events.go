package paging

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

type ackPagePayload struct {
	PageKey string               `json:"page"`
	User    string               `json:"user"`
	Reply   incident.ReplyTarget `json:"reply"`
	// Round is how many times the page went back to triggered before the
	// click (Page.Retriggers): an acknowledgement in a later round is a new
	// one.
	Round int `json:"round,omitempty"`
}

// ackKey is what keys a Slack acknowledgement of the page in a round: its
// job (with the person) and its timeline event.
func ackKey(pageKey string, round int) string {
	if round == 0 {
		return pageKey
	}
	return fmt.Sprintf("%s#%d", pageKey, round)
}

// AcknowledgePage acknowledges a page in PagerDuty as the person who
// clicked, mapped by their Slack e-mail, when they may (guard's
// mayAcknowledge: EFORBIDDEN otherwise). It runs as a job: the click is
// answered at once, and PagerDuty's webhook confirms it in the channel.
func (s *Service) AcknowledgePage(ctx context.Context, pageKey string, user string, reply incident.ReplyTarget) error {
	page, err := s.store.FindPage(ctx, "pagerduty", pageKey)
	if err != nil {
		return incident.Errorf(incident.ENOTFOUND, "That page no longer exists.")
	}
	if page.Status == "resolved" {
		// PagerDuty would open a resolved incident again to acknowledge
		// it, with nobody left to resolve it.
		return incident.Errorf(incident.ECONFLICT, "The page for %s is resolved already, so there is nothing to acknowledge.", page.Service)
	}
	inc, err := s.store.GetIncident(ctx, page.IncidentID)
	if err != nil {
		return err
	}
	if err := (guard{s}).mayAcknowledge(ctx, inc, page, user); err != nil {
		return err
	}
	// A double click acknowledges once; a click after PagerDuty put the
	// page back to triggered (the acknowledgement timed out) is a new
	// acknowledgement. The page row counts those rounds, so the click is
	// answered after one read whatever the length of the timeline.
	round := page.Retriggers
	payload, _ := json.Marshal(ackPagePayload{PageKey: pageKey, User: user, Reply: reply, Round: round})
	_, err = s.sched.Schedule(ctx, incident.Job{Kind: JobAckPage, Key: "ack:" + ackKey(pageKey, round) + ":" + user, Payload: payload, MaxAttempts: 5, Urgent: true})
	return err
}

// resolvedAlready tells user that the page they clicked Acknowledge on is
// resolved, so nothing was sent to PagerDuty.
func resolvedAlready(page *incident.Page, user string) incident.Notice {
	return incident.Notice{Kind: incident.NoticePageAckRefused, User: user, Values: map[string]string{"resolved": "true", "service": page.Service}}
}

func (s *Service) runAckPage(ctx context.Context, payload []byte) error {
	var p ackPagePayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode ack: %w: %w", err, incident.ErrJobCancel)
	}
	page, err := s.store.FindPage(ctx, "pagerduty", p.PageKey)
	if err != nil {
		return fmt.Errorf("acknowledge: %w: %w", err, incident.ErrJobCancel)
	}
	refused := func(reason string) incident.Notice {
		return incident.Notice{Kind: incident.NoticePageAckRefused, User: p.User, Values: map[string]string{"error": reason}}
	}
	if page.Status == "resolved" {
		// Resolved since the click: not sent, as AcknowledgePage.
		return tellFromJob(ctx, s.log, s.chat, p.Reply, resolvedAlready(page, p.User))
	}
	email, err := s.chat.UserEmail(ctx, p.User)
	if err != nil || email == "" {
		return tellFromJob(ctx, s.log, s.chat, p.Reply, refused(""))
	}
	pager, ok, err := s.pagerOf(ctx, page, "acknowledge")
	if err != nil {
		return fmt.Errorf("acknowledge: %w", err)
	} else if !ok {
		return nil
	}
	pdAt, err := pager.Acknowledge(ctx, *page, email)
	if err != nil {
		// ECONFLICT: PagerDuty has the page acknowledged already, by
		// somebody else, or no longer open; asking again would get the
		// same answer, and the webhook says what happened in the channel.
		if c := incident.ErrorCode(err); c == incident.ENOTFOUND || c == incident.EINVALID || c == incident.EFORBIDDEN || c == incident.ECONFLICT {
			// Asked again, PagerDuty gives the same answer: a retry
			// only says it.
			return tellFromJob(ctx, s.log, s.chat, p.Reply, refused(incident.ErrorMessage(err)))
		}
		return fmt.Errorf("acknowledge page %s: %w", p.PageKey, err)
	}
	// Said and counted at the bot's time of the click; ordered among
	// PagerDuty's reports by PagerDuty's time of it, when it gave one.
	return s.applyAck(ctx, page, ackReport{slackUser: p.User, at: s.clock.Now(), statusAt: pdAt, sourceID: "slack-ack:" + ackKey(p.PageKey, p.Round),
		ackedBefore: page.Status == "acknowledged"})
}

// HandlePageEvent applies a PagerDuty webhook delivery: a line in the
// channel, a timeline event, the panel refreshed, and on the first
// acknowledgement the incident's acknowledged time. A redelivery (same
// delivery id) changes nothing.
//
// An event that reports what the page already is, is an echo: PagerDuty
// reports every change, the bot's own too (an acknowledgement from Slack,
// the resolution of the pages of a resolved incident, the bot's escalation
// or backup reassignment), and those were said when the bot made them. An
// echo records only its dedupe marker. A genuine change always follows
// another: PagerDuty acknowledges again only after incident.unacknowledged
// (or reopened), which put the page back to triggered, and resolves again
// only after incident.reopened. A resolved page stays resolved until
// incident.reopened: a report from before the resolution, delivered after
// it, is recorded and changes nothing, except that a late acknowledgement
// still counts as the page's (and the incident's) first.
//
// An escalation or reassignment reported while the bot is escalating the
// page (PagerDuty may report the bot's escalation before answering the
// call) is applied by a job once the bot has recorded its escalation, so
// that the report of it is known as its echo.
func (s *Service) HandlePageEvent(ctx context.Context, ev incident.PageEvent) error {
	return s.handlePageEvent(ctx, ev, false)
}

// pageEventPayload is a PagerDuty report held back while the bot escalated
// the page (JobPageEvent).
type pageEventPayload struct {
	DeliveryID string                 `json:"delivery_id"`
	Kind       incident.PageEventKind `json:"kind"`
	ExternalID string                 `json:"external_id,omitempty"`
	DedupKey   string                 `json:"dedup_key,omitempty"`
	Agent      string                 `json:"agent,omitempty"`
	AgentEmail string                 `json:"agent_email,omitempty"`
	Assignees  []string               `json:"assignees,omitempty"`
	At         time.Time              `json:"at"`
	// Since is when the bot first held back a report about a page of
	// its own it had not recorded yet (zero for one held back while the
	// bot escalated the page).
	Since time.Time `json:"since,omitzero"`
}

// escalationPoll is how often a report held back checks whether the bot's
// escalation of its page is recorded; it takes about one call to PagerDuty.
const escalationPoll = time.Second

// runPageEvent is the JobPageEvent handler: it applies the report once the
// bot's escalation of the page is over (recorded, failed, or in flight for
// longer than escalationInFlightFor).
func (s *Service) runPageEvent(ctx context.Context, payload []byte) error {
	var p pageEventPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode page event: %w: %w", err, incident.ErrJobCancel)
	}
	ev := incident.PageEvent{DeliveryID: p.DeliveryID, Kind: p.Kind, ExternalID: p.ExternalID, DedupKey: p.DedupKey, Agent: p.Agent,
		AgentEmail: p.AgentEmail, Assignees: p.Assignees, At: p.At}
	err := s.handlePageEvent(ctx, ev, true)
	switch {
	case errors.Is(err, errEscalating):
		return incident.RetryLater(escalationPoll, "the bot is escalating the page %s", cmp.Or(p.DedupKey, p.ExternalID))
	case errors.Is(err, errPageUnrecorded) && !p.Since.IsZero() && s.clock.Now().Sub(p.Since) < unrecordedPageWait:
		return incident.RetryLater(unrecordedPagePoll, "the page %s is not recorded yet", p.DedupKey)
	case errors.Is(err, errPageUnrecorded):
		s.log.WarnContext(ctx, "a PagerDuty report about a page of the bot's that was never recorded is dropped",
			"dedup_key", p.DedupKey, "kind", p.Kind, "delivery", p.DeliveryID, "held_since", p.Since)
		return nil
	}
	return err
}

// errPageUnrecorded says a report is about a page the bot opened (its
// dedup key names an incident of the bot's) that the bot has not recorded
// yet: PagerDuty answered the page call late, or the bot died between the
// call and the record and its job will record the page when retried.
var errPageUnrecorded = errors.New("the page is not recorded yet")

const (
	// unrecordedPagePoll is how often a report held back checks whether
	// its page is recorded.
	unrecordedPagePoll = 2 * time.Second
	// unrecordedPageWait bounds how long such a report is held back: the
	// page job's retries after a crash (the takeover, then its backoff)
	// record the page well within it.
	unrecordedPageWait = 10 * time.Minute
)

// pageOfOurs reports whether a report's dedup key is one this installation
// pages under (firebreak-<installation>-<incident id>-<service>..., or
// firebreak-<incident id>-<service>... from before installations were
// named in keys) for an incident it holds.
func (s *Service) pageOfOurs(ctx context.Context, dedupKey string) (bool, error) {
	id, ok, err := s.keys.incident(ctx, dedupKey)
	if err != nil || !ok {
		return false, err
	}
	if _, err := s.store.GetIncident(ctx, id); incident.ErrorCode(err) == incident.ENOTFOUND {
		return false, nil // another installation's, on the same account
	} else if err != nil {
		return false, fmt.Errorf("find the incident of page %s: %w", dedupKey, err)
	}
	return true, nil
}

// handlePageEvent is HandlePageEvent, and JobPageEvent's when held:
// errEscalating while the bot is still escalating the page.
func (s *Service) handlePageEvent(ctx context.Context, ev incident.PageEvent, held bool) error {
	var page *incident.Page
	var err error
	for _, ref := range []string{ev.DedupKey, ev.ExternalID} {
		if ref == "" {
			continue
		}
		if page, err = s.store.FindPage(ctx, "pagerduty", ref); err == nil {
			break
		} else if incident.ErrorCode(err) != incident.ENOTFOUND {
			// The store failed: the sender must deliver the event again.
			return fmt.Errorf("find the page of %s: %w", ref, err)
		}
	}
	if page != nil && otherIncident(page, ev) {
		// Under the page's key, PagerDuty opened another incident since
		// (the page was sent again after it was resolved there): a late
		// report about the one before changes nothing.
		s.log.InfoContext(ctx, "a PagerDuty report about an earlier incident under the page's key is dropped", "page", page.DedupKey,
			"pagerduty_incident", ev.ExternalID, "page_incident", page.ExternalID, "kind", ev.Kind, "delivery", ev.DeliveryID)
		return nil
	}
	if page == nil {
		// A report about a page the bot opened but has not recorded
		// (an acknowledgement from the phone while the page call was
		// answered late) is held back until it is, not lost.
		ours, err := s.pageOfOurs(ctx, ev.DedupKey)
		switch {
		case err != nil:
			return err
		case !ours:
			return nil // not a page of ours
		case held:
			return errPageUnrecorded
		}
		return holdPageEvent(ctx, s.sched, ev, s.clock.Now())
	}
	switch ev.Kind {
	case incident.PageAcknowledged:
		r := ackReport{agent: ev.Agent, at: ev.At, statusAt: ev.At, sourceID: "pd:" + ev.DeliveryID}
		if r.at.IsZero() {
			r.at = s.clock.Now()
		}
		return s.applyAck(ctx, page, r)
	default:
		return s.applyPageEvent(ctx, page, ev, held)
	}
}

// otherIncident reports whether ev is about another provider incident than
// page, a REST page (whose ExternalID is the provider's incident id, not
// its dedup key) found by its dedup key.
func otherIncident(page *incident.Page, ev incident.PageEvent) bool {
	return ev.ExternalID != "" && page.ExternalID != "" && page.ExternalID != page.DedupKey && ev.ExternalID != page.ExternalID &&
		ev.ExternalID != page.DedupKey
}

// errEscalating says a report about a page waits: the bot is escalating it.
var errEscalating = errors.New("the bot is escalating the page")

// holdPageEvent schedules, on sched, the job that applies ev once the bot's
// escalation of its page is recorded: one per delivery.
func holdPageEvent(ctx context.Context, sched incident.Scheduler, ev incident.PageEvent, since time.Time) error {
	payload, _ := json.Marshal(pageEventPayload{DeliveryID: ev.DeliveryID, Kind: ev.Kind, ExternalID: ev.ExternalID, DedupKey: ev.DedupKey,
		Agent: ev.Agent, AgentEmail: ev.AgentEmail, Assignees: ev.Assignees, At: ev.At, Since: since})
	job := incident.Job{Kind: JobPageEvent, Payload: payload, MaxAttempts: 10, Urgent: true}
	if ev.DeliveryID != "" {
		job.Key = "page-event:pd:" + ev.DeliveryID
	}
	if _, err := sched.Schedule(ctx, job); err != nil {
		return fmt.Errorf("hold the page event until the escalation is recorded: %w", err)
	}
	return nil
}

// errRedelivered rolls back a transaction whose dedupe marker was already
// recorded: the event was applied before.
var errRedelivered = errors.New("already applied")

// ackReport is one report of an acknowledgement: from Slack (slackUser) or
// from PagerDuty (agent).
type ackReport struct {
	slackUser, agent string
	// at is when it is said to have happened: PagerDuty's occurred_at
	// for its report, the bot's time of the click for Slack's.
	at time.Time
	// statusAt is PagerDuty's time of the acknowledgement (its
	// occurred_at, or its answer's last_status_change_at for an
	// acknowledgement from Slack), which orders it among the page's other
	// changes; zero when PagerDuty gave none.
	statusAt time.Time
	sourceID string
	// ackedBefore is set when the page was acknowledged already before
	// this acknowledgement was made (someone acknowledges from Slack a page
	// acknowledged in PagerDuty): it is then not the echo of one recorded.
	ackedBefore bool
}

// applyAck records an acknowledgement once per source id, and says it once:
// when the page is acknowledged already (PagerDuty's webhook for an
// acknowledgement made from Slack, or the other way round when the webhook
// is first), it records only the dedupe marker.
func (s *Service) applyAck(ctx context.Context, page *incident.Page, r ackReport) error {
	slackUser, agent, at := r.slackUser, r.agent, r.at
	who := agent
	if who == "" && slackUser == "" {
		who = "someone"
	}
	// The page's CreatedAt is PagerDuty's time of it when PagerDuty gave
	// one, and then so is statusAt.
	after := incident.Since(page.CreatedAt, cmp.Or(r.statusAt, at))
	n := incident.Notice{Kind: incident.NoticePageAcknowledged, Actor: orBot(slackUser), User: slackUser,
		Values: map[string]string{"agent": agent, "after": after}}
	// The dedupe marker (the event's source id), the page and the incident
	// change together, or not at all so that a redelivery applies them. The
	// page is read and written first: its row lock orders this report
	// after a concurrent one about the same page.
	err := atomic(ctx, s.store, func(tx incident.Tx, pages Tx) error {
		echo, stale, first := false, false, false
		dated := !r.statusAt.IsZero()
		if _, err := pages.UpdatePage(ctx, page.ID, func(p *incident.Page) error {
			// A page resolved after it was acknowledged has this
			// acknowledgement, or a later report of it, on record.
			if echo = p.Status == "acknowledged" && !r.ackedBefore || p.Status == "resolved" && p.AcknowledgedAt != nil; echo {
				if dated {
					reported(p, r.statusAt)
				}
				return nil
			}
			first = p.AcknowledgedAt == nil
			if first {
				t := at
				p.AcknowledgedAt, p.AcknowledgedBy = &t, who
			}
			if dated && reportedBefore(p, r.statusAt) {
				// Acknowledged before a change PagerDuty reported
				// already (an unacknowledgement, an escalation, the
				// resolution): the page stays as that change left it.
				// The first acknowledgement is still said and counts
				// for the time to acknowledge, and so is one made from
				// Slack, whose person clicked; a later report is only
				// recorded.
				stale = !first && slackUser == ""
				return nil
			}
			if dated {
				reported(p, r.statusAt)
			}
			if p.Status != "resolved" {
				// Delivered after the resolution, the acknowledgement
				// still counts, but only incident.reopened opens the
				// page again.
				p.Status = "acknowledged"
			}
			return nil
		}); err != nil {
			return fmt.Errorf("record acknowledgement: %w", err)
		}
		if stale {
			return s.recordEcho(ctx, tx, page, incident.PageAcknowledged, at, r.sourceID,
				fmt.Sprintf("PagerDuty reported the page for %s acknowledged by %s at %s, after it reported a later change; the page stays as that change left it.",
					page.Service, cmp.Or(agent, "someone"), at.UTC().Format(time.RFC3339)))
		}
		if echo {
			text := fmt.Sprintf("PagerDuty reported the page for %s acknowledged by %s; that acknowledgement was already recorded.", page.Service, cmp.Or(agent, "someone"))
			if slackUser != "" {
				text = fmt.Sprintf("The page for %s was acknowledged from Slack; PagerDuty's report of it was recorded first.", page.Service)
			}
			return s.recordEcho(ctx, tx, page, incident.PageAcknowledged, at, r.sourceID, text)
		}
		if err := tx.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: page.IncidentID, Kind: incident.EventAcknowledged, Actor: orBot(slackUser),
			At: at, Key: true, Text: s.noticeText(n), SourceID: r.sourceID, Payload: incident.AcknowledgedData{Page: page.DedupKey, By: who, User: slackUser}}); incident.ErrorCode(err) == incident.ECONFLICT {
			return errRedelivered
		} else if err != nil {
			return fmt.Errorf("record acknowledgement: %w", err)
		}
		_, err := s.core.ChangeIn(ctx, tx, page.IncidentID, func(i *incident.Incident) ([]incident.TimelineEvent, []incident.Notice, error) {
			if i.AcknowledgedAt == nil {
				t := at
				i.AcknowledgedAt = &t // MTTA counts from the first acknowledgement
			}
			n.Incident = i.Key()
			return nil, []incident.Notice{n}, nil
		})
		if incident.ErrorCode(err) == incident.ECONFLICT {
			return nil // closed meanwhile
		}
		return err
	})
	if errors.Is(err, errRedelivered) {
		return nil
	}
	return err
}

// reportedBefore reports whether a change PagerDuty dates at happened
// before the one it last reported for p: delivered late, it is older than
// the page's state.
func reportedBefore(p *incident.Page, at time.Time) bool {
	return p.StatusAt != nil && at.Before(*p.StatusAt)
}

// reported notes that PagerDuty reported a change of p dated at, keeping
// the latest.
func reported(p *incident.Page, at time.Time) {
	if p.StatusAt == nil || at.After(*p.StatusAt) {
		t := at
		p.StatusAt = &t
	}
}

// recordEcho records the dedupe marker of an event that reports what the
// page already is: a timeline line for the record, off the postmortem's key
// events, and nothing said in the channel. It is the bot's own note (its
// actor is the bot): PagerDuty changed nothing. errRedelivered when the
// marker is there already.
func (s *Service) recordEcho(ctx context.Context, tx incident.Tx, page *incident.Page, kind incident.PageEventKind, at time.Time, sourceID, text string) error {
	err := tx.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: page.IncidentID, Kind: incident.EventPaged, Actor: "bot", At: at,
		Text: text, SourceID: sourceID, Payload: incident.PagedData{Page: page.DedupKey, Event: kind}})
	if incident.ErrorCode(err) == incident.ECONFLICT {
		return errRedelivered
	} else if err != nil {
		return fmt.Errorf("record page event: %w", err)
	}
	return nil
}

// isEcho reports whether ev reports what p already is: resolved when it is
// resolved; escalated or reassigned, with the status it has, to the people
// the bot itself last assigned it to (its page, backup page or escalation:
// byBot). Such an event follows a change the bot made and said itself.
func isEcho(p *incident.Page, ev incident.PageEvent, status string, byBot bool) bool {
	switch ev.Kind {
	case incident.PageResolved:
		return p.Status == "resolved"
	case incident.PageEscalated, incident.PageReassigned:
		return byBot && p.Status == status && len(ev.Assignees) > 0 && sameNames(p.Assignees, ev.Assignees)
	}
	return false
}

// staleAfterResolved reports whether ev, about a page that is resolved,
// comes from before its resolution: PagerDuty may deliver a report late
// (a redelivery after a failed attempt), and a resolved incident opens
// again only with incident.reopened, so an unacknowledgement, escalation
// or reassignment delivered after the resolution changes nothing, nor
// does a reopening that happened before it.
func staleAfterResolved(p *incident.Page, ev incident.PageEvent) bool {
	if p.Status != "resolved" {
		return false
	}
	switch ev.Kind {
	case incident.PageResolved:
		return false // an echo, or a redelivery
	case incident.PageReopened:
		// Ordered by PagerDuty's time of the resolution (StatusAt); a page
		// from before StatusAt was kept has only ResolvedAt.
		if ev.At.IsZero() {
			return false
		}
		if p.StatusAt != nil {
			return reportedBefore(p, ev.At)
		}
		return p.ResolvedAt != nil && ev.At.Before(*p.ResolvedAt)
	}
	return true
}

// assignedByBot reports whether the page's people were last set by the
// bot (the page, a backup page, an escalation) rather than by an event
// PagerDuty reported, every one of which carries the incident's assignees.
// Echo markers are the bot's own records, acknowledgements assign nobody,
// and an escalation is the bot's once recorded (its re-page), not when
// asked.
func assignedByBot(events []incident.TimelineEvent, key string) bool {
	byBot := true // the bot sent the page
	for _, ev := range events {
		d, ok := ev.Payload.(incident.PagedData)
		if ev.Kind != incident.EventPaged || !ok || d.Page != key || d.Event == incident.PageAcknowledged ||
			strings.HasPrefix(ev.SourceID, escalatingPrefix) {
			continue
		}
		byBot = ev.Actor != "pagerduty"
	}
	return byBot
}

// sameNames reports whether a and b hold the same names, in any order.
func sameNames(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

// applyPageEvent records what the provider did to a page (unacknowledged
// again, escalated, reassigned, resolved, reopened) once per delivery; an
// echo of a change the bot made records only its dedupe marker, and a page
// resolved once the incident is resolved is recorded without a word in the
// channel. An escalation or reassignment reported while the bot is
// escalating the page waits for the bot to record its escalation: it is
// handed to a job (JobPageEvent), or, when that job is applying it (held),
// errEscalating.
func (s *Service) applyPageEvent(ctx context.Context, page *incident.Page, ev incident.PageEvent, held bool) error {
	switch ev.Kind {
	case incident.PageUnacknowledged, incident.PageEscalated, incident.PageReopened, incident.PageReassigned, incident.PageResolved:
	default:
		return nil
	}
	// Only a report PagerDuty dated is ordered among the page's others.
	dated, at := !ev.At.IsZero(), ev.At
	if !dated {
		at = s.clock.Now()
	}
	agent := ev.Agent
	if agent == "" {
		agent = "PagerDuty"
	}
	n := incident.Notice{Kind: incident.NoticePageEvent, Actor: "pagerduty",
		Values: map[string]string{"event": string(ev.Kind), "service": page.Service, "agent": agent, "assignees": strings.Join(ev.Assignees, ", ")}}
	err := atomic(ctx, s.store, func(tx incident.Tx, pages Tx) error {
		byBot, over := false, false
		switch ev.Kind {
		case incident.PageEscalated, incident.PageReassigned:
			events, err := tx.ListTimeline(ctx, page.IncidentID)
			if err != nil {
				return fmt.Errorf("record page event: %w", err)
			}
			if escalationInFlight(events, page.DedupKey, s.clock.Now()) {
				// Maybe the report of that escalation, before the bot
				// recorded the page's new people: it waits for them.
				if held {
					return errEscalating
				}
				return holdPageEvent(ctx, tx, ev, time.Time{})
			}
			byBot = assignedByBot(events, page.DedupKey)
		case incident.PageResolved:
			// The incident's resolution resolves its pages: the bot's
			// own resolve may be reported before it recorded it, and
			// either way the channel heard the incident resolved.
			inc, err := tx.GetIncident(ctx, page.IncidentID)
			if err != nil {
				return fmt.Errorf("record page event: %w", err)
			}
			over = !inc.Status.Open()
		}
		echo, stale, late := false, false, false
		if _, err := pages.UpdatePage(ctx, page.ID, func(p *incident.Page) error {
			if stale = staleAfterResolved(p, ev); stale {
				return nil
			}
			if late = dated && reportedBefore(p, at); late {
				return nil
			}
			var status string
			switch ev.Kind {
			case incident.PageUnacknowledged, incident.PageEscalated, incident.PageReopened:
				status = "triggered"
			case incident.PageReassigned:
				status = p.Status
			case incident.PageResolved:
				status = "resolved"
			}
			if dated {
				reported(p, at)
			}
			if echo = isEcho(p, ev, status, byBot); echo {
				return nil
			}
			p.Status = status
			if ev.Kind == incident.PageUnacknowledged || ev.Kind == incident.PageReopened {
				// Recorded with this delivery's timeline event, or not
				// at all: a redelivery rolls both back.
				p.Retriggers++
			}
			if len(ev.Assignees) > 0 {
				p.Assignees = ev.Assignees
			}
			switch ev.Kind {
			case incident.PageResolved:
				t := at
				p.ResolvedAt = &t
			case incident.PageReopened:
				p.ResolvedAt = nil // open again: it has not been resolved
			}
			return nil
		}); err != nil {
			return fmt.Errorf("record page event: %w", err)
		}
		switch {
		case stale:
			return s.recordEcho(ctx, tx, page, ev.Kind, at, "pd:"+ev.DeliveryID,
				fmt.Sprintf("PagerDuty's report that the page for %s was %s by %s arrived after the page was resolved; it stays resolved.", page.Service, ev.Kind, agent))
		case late:
			return s.recordEcho(ctx, tx, page, ev.Kind, at, "pd:"+ev.DeliveryID,
				fmt.Sprintf("PagerDuty reported the page for %s %s by %s at %s, after it reported a later change; the page stays as that change left it.",
					page.Service, ev.Kind, agent, at.UTC().Format(time.RFC3339)))
		case echo:
			return s.recordEcho(ctx, tx, page, ev.Kind, at, "pd:"+ev.DeliveryID,
				fmt.Sprintf("PagerDuty reported the page for %s %s by %s; that change was already recorded.", page.Service, ev.Kind, agent))
		case over:
			return s.recordEcho(ctx, tx, page, ev.Kind, at, "pd:"+ev.DeliveryID,
				fmt.Sprintf("PagerDuty reported the page for %s resolved by %s, after the incident was resolved.", page.Service, agent))
		}
		if err := tx.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: page.IncidentID, Kind: incident.EventPaged, Actor: "pagerduty", At: at,
			Text: s.noticeText(n), SourceID: "pd:" + ev.DeliveryID, Payload: incident.PagedData{Page: page.DedupKey, Event: ev.Kind}}); incident.ErrorCode(err) == incident.ECONFLICT {
			return errRedelivered
		} else if err != nil {
			return fmt.Errorf("record page event: %w", err)
		}
		if ev.Kind == incident.PageEscalated || ev.Kind == incident.PageReassigned {
			if err := (repager{s}).scheduleInvitePaged(ctx, tx, page, "pd:"+ev.DeliveryID); err != nil {
				return err
			}
		}
		_, err := s.core.ChangeIn(ctx, tx, page.IncidentID, func(i *incident.Incident) ([]incident.TimelineEvent, []incident.Notice, error) {
			n.Incident = i.Key()
			return nil, []incident.Notice{n}, nil
		})
		if incident.ErrorCode(err) == incident.ECONFLICT {
			return nil
		}
		return err
	})
	if errors.Is(err, errRedelivered) {
		return nil
	}
	return err
}

// runResolvePages resolves an incident's open pages when it is resolved.
// Every page is tried, whatever became of the others. A page the provider
// refuses to resolve for good (EINVALID, EFORBIDDEN, ENOTFOUND: no token,
// a routing key no longer configured, the incident deleted there) is not
// tried again, and the channel is told at once that it stays open there; a
// failure that may pass retries the job for the pages still open, and is
// told in the channel at the last attempt.
func (s *Service) runResolvePages(ctx context.Context, payload []byte) error {
	var p pagePayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode resolve pages: %w: %w", err, incident.ErrJobCancel)
	}
	pages, err := s.store.ListPages(ctx, p.IncidentID)
	if err != nil {
		return err
	}
	events, err := s.store.ListTimeline(ctx, p.IncidentID)
	if err != nil {
		return err
	}
	attempt, attempts := incident.JobAttempt(ctx)
	last := attempts > 0 && attempt >= attempts
	var retry []error
	for _, page := range pages {
		if page.Status == "resolved" {
			continue
		}
		source := fmt.Sprintf("resolvefail:%s:%d", page.DedupKey, p.Resolution)
		if slices.ContainsFunc(events, func(ev incident.TimelineEvent) bool { return ev.SourceID == source }) {
			continue // refused for good, and said
		}
		err := (resolver{s}).resolve(ctx, page)
		if err == nil {
			continue
		}
		if permanent(err) || last {
			s.log.WarnContext(ctx, "could not resolve the page", "page", page.DedupKey, "err", err)
			if err := (resolver{s}).failed(ctx, page, source, err); err != nil {
				retry = append(retry, err)
			}
			continue
		}
		retry = append(retry, fmt.Errorf("resolve page %s: %w", page.DedupKey, err))
	}
	return errors.Join(retry...)
}

// permanent reports whether the provider refused for good: asked again, it
// gives the same answer.
func permanent(err error) bool {
	code := incident.ErrorCode(err)
	return code == incident.EINVALID || code == incident.EFORBIDDEN || code == incident.ENOTFOUND
}

// resolver resolves an incident's pages when it is resolved.
type resolver struct{ *Service }

// resolve resolves one page at the provider and records it resolved.
func (s resolver) resolve(ctx context.Context, page incident.Page) error {
	pager, ok, err := s.pagerOf(ctx, &page, "resolve")
	if err != nil {
		return err
	} else if !ok {
		return nil // the page stays open, as the drill's PagerDuty has it
	}
	pdAt, err := pager.Resolve(ctx, page)
	if err != nil {
		return err
	}
	_, err = s.store.UpdatePage(ctx, page.ID, func(pg *incident.Page) error {
		if pdAt.IsZero() {
			// PagerDuty gave no time (the Events API): resolved
			// now by the bot's clock, and not ordered.
			pg.Status = "resolved"
			t := s.clock.Now()
			pg.ResolvedAt = &t
			return nil
		}
		if reportedBefore(pg, pdAt) {
			// PagerDuty reported a later change already (the
			// incident reopened after the bot resolved it): the
			// page stays as that change left it.
			return nil
		}
		reported(pg, pdAt)
		pg.Status, pg.ResolvedAt = "resolved", &pdAt
		return nil
	})
	return err
}

// failed says in the incident's channel, once (source marks it on the
// timeline), that a page could not be resolved and why: it stays open at
// the provider, for someone to resolve there.
func (s resolver) failed(ctx context.Context, page incident.Page, source string, cause error) error {
	inc, err := s.store.GetIncident(ctx, page.IncidentID)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("Resolving the page for %s in PagerDuty failed: %s The page stays open there; resolve it in PagerDuty.",
		serviceName(s.policy, page.Service), strings.TrimSpace(incident.ErrorMessage(cause)))
	if inc.ChannelID != "" {
		n := incident.Notice{Kind: incident.NoticeMessage, Incident: inc.Key(), Drill: inc.Drill,
			Values: map[string]string{"message": incident.EscapeText(text)}}
		if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
			return fmt.Errorf("say the page of %s was not resolved: %w", page.Service, err)
		}
	}
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventProviderFailure, Actor: "pagerduty", At: s.clock.Now(), Text: text, SourceID: source}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		return fmt.Errorf("record the page of %s was not resolved: %w", page.Service, err)
	}
	return nil
}

type onCallPayload struct {
	Service string               `json:"service"`
	Reply   incident.ReplyTarget `json:"reply"`
}

// OnCall answers "/incident oncall [service]" from a job, through the reply
// target: the lookup goes to PagerDuty, off the 3-second path.
func (s *Service) OnCall(ctx context.Context, service string, reply incident.ReplyTarget) error {
	if _, ok := s.policy.Services[service]; !ok {
		return incident.Errorf(incident.EINVALID, "Unknown service %q. Known services: %s.", service, strings.Join(s.policy.ServiceKeys(), ", "))
	}
	if !canPage(s.pager, s.policy.Services[service]) {
		return incident.Errorf(incident.EINVALID, "PagerDuty is not configured for %s.", service)
	}
	payload, _ := json.Marshal(onCallPayload{Service: service, Reply: reply})
	_, err := s.sched.Schedule(ctx, incident.Job{Kind: JobOnCall, Payload: payload, MaxAttempts: 3, Urgent: true})
	return err
}

func (s *Service) runOnCall(ctx context.Context, payload []byte) error {
	var p onCallPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode on-call: %w: %w", err, incident.ErrJobCancel)
	}
	svc := s.policy.Services[p.Service]
	people, err := s.pager.OnCall(ctx, svc)
	if err != nil {
		if attempt, max := incident.JobAttempt(ctx); attempt >= max {
			return tellFromJob(ctx, s.log, s.chat, p.Reply, incident.Notice{Kind: incident.NoticeOnCall, Values: map[string]string{"service": svc.Name, "error": incident.ErrorMessage(err)}})
		}
		return err
	}
	n := incident.Notice{Kind: incident.NoticeOnCall, Values: map[string]string{"service": svc.Name}}
	for _, o := range people {
		until := ""
		if !o.Until.IsZero() {
			until = o.Until.In(s.policy.Location).Format("Mon 15:04 MST")
		}
		n.Items = append(n.Items, incident.Notice{Kind: incident.NoticeOnCallLevel,
			Values: map[string]string{"level": fmt.Sprint(o.Level), "name": o.Name, "schedule": o.Schedule, "until": until}})
	}
	return tellFromJob(ctx, s.log, s.chat, p.Reply, n)
}

// tellFromJob tells the person who asked, from a job. Within a job Tell
// fails only when the message was not delivered: a rate limit or a failure
// that may pass fails the job, whose retry tells them (after Slack's
// Retry-After, for a rate limit); Slack's refusal for good (the person
// deactivated) is logged and ends there, since a retry would repeat the
// job's work (asking PagerDuty again) for a message that cannot arrive.
func tellFromJob(ctx context.Context, log *slog.Logger, chat interface {
	Tell(context.Context, incident.ReplyTarget, incident.Notice) error
}, to incident.ReplyTarget, n incident.Notice) error {
	err := chat.Tell(ctx, to, n)
	if err != nil && incident.Refused(err) {
		log.WarnContext(ctx, "the answer could not be given: Slack refused it", "user", to.UserID, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("tell %s: %w", to.UserID, err)
	}
	return nil
}

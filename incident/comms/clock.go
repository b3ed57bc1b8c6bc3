package comms

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// Clock steps.
const (
	stepDraft           = "draft"
	stepNudge           = "nudge"
	stepEscalate        = "escalate"
	stepStale           = "stale"
	stepEmail           = "email"
	stepOfferUpdate     = "offer_update"
	stepOfferResolution = "offer_resolution"
	// stepOfferReopen offers, after a reopen, the update that reopens a
	// public incident left resolved by its resolution notice.
	stepOfferReopen = "offer_reopen"
)

// NoticeStatusPageReopenOffer: the incident was reopened after its
// resolution notice, and the status page still shows it resolved; offers
// to post Values["body"] (user text), an update that reopens the public
// incident on Values["provider"]. Buttons post it or edit it.
const NoticeStatusPageReopenOffer incident.NoticeKind = "statuspage_reopen_offer"

// refReopen starts the ref of the update a reopen offers; the reopen's
// time follows.
const refReopen = "reopen-"

// Timeline source ids of the clock, so each step is said once.
const (
	srcDraft         = "comms:draft"
	srcNudge         = "comms:nudge"
	srcEscalate      = "comms:escalate"
	srcDeclined      = "comms:declined"
	srcEmailProposed = "comms:email:proposed"
	srcEmailDecision = "comms:email:decision"
	srcDataConcern   = "comms:data_concern"
)

// leeway is how early a step may run and still count as due: timers
// fire a little early or late, never exactly on time.
const leeway = time.Second

type commsPayload struct {
	IncidentID int64  `json:"incident_id"`
	Step       string `json:"step"`
	Due        int64  `json:"due,omitempty"` // unix seconds
	Ref        string `json:"ref,omitempty"`
	// Start is when the status page clock of a draft, nudge or escalation
	// started (unix seconds): the declaration, or the raise to a severity
	// with a clock. Jobs planned before it was added lack it.
	Start int64 `json:"start,omitempty"`
	// Late marks a reopen offer planned by a resolution notice rather than
	// by the reopen: one that landed after the reopen, or was dropped by it
	// after an attempt that may have reached the provider.
	Late bool `json:"late,omitempty"`
}

// clockOn reports whether the incident's severity runs the status page clock.
func (s *Service) clockOn(inc *incident.Incident) bool {
	_, _, ok := s.pub.StatusPageFor(inc)
	return ok && s.policy.Severity(inc.Severity).StatusPageWithin > 0
}

// commsHook plans the clock's steps after each lifecycle change.
func (s *Service) commsHook(ctx context.Context, c incident.Change) error {
	inc := c.Incident
	switch c.Kind {
	case incident.EventSeverityChanged:
		// The clock starts at the raise, as committed (the incident as
		// the change left it), not when its hooks run: a retried hooks
		// job plans the same steps.
		start := inc.UpdatedAt
		if start.IsZero() {
			start = s.clock.Now()
		}
		if err := s.planComms(ctx, s.sched, inc, start); err != nil {
			return err
		}
		return s.pub.planComponents(ctx, inc)
	case incident.EventUpdatePosted:
		if inc.PublicID != "" && c.Update != nil {
			if err := scheduleComms(ctx, s.sched, commsPayload{IncidentID: inc.ID, Step: stepOfferUpdate, Ref: strconv.FormatInt(c.Update.ID, 10)}, time.Time{}); err != nil {
				return err
			}
		}
		return s.pub.planComponents(ctx, inc)
	case incident.EventStatusChanged:
		switch incident.Status(c.To) {
		case incident.StatusResolved:
			// The components are operational once resolved, whether or not
			// anyone posts the resolution notice.
			if err := s.pub.planComponents(ctx, inc); err != nil {
				return err
			}
			if inc.PublicID != "" {
				return scheduleComms(ctx, s.sched, commsPayload{IncidentID: inc.ID, Step: stepOfferResolution, Ref: strconv.FormatInt(inc.UpdatedAt.UnixNano(), 10)}, time.Time{})
			}
		case incident.StatusInvestigating, incident.StatusMitigated:
			if err := s.pub.planComponents(ctx, inc); err != nil {
				return err
			}
			if inc.PublicID != "" && incident.Status(c.From) == incident.StatusResolved {
				// A reopen: the components show the outage at once; the
				// public incident, if its resolution notice went out, is
				// reopened by an update someone approves.
				return scheduleComms(ctx, s.sched, commsPayload{IncidentID: inc.ID, Step: stepOfferReopen, Ref: strconv.FormatInt(inc.UpdatedAt.UnixNano(), 10)}, time.Time{})
			}
		}
	}
	return nil
}

// planComms schedules, on sched (the declare's transaction), the status
// page clock from start (the declaration, or a raise to a severity that has
// a clock) and the customer e-mail check.
func (s *Service) planComms(ctx context.Context, sched incident.Scheduler, inc *incident.Incident, start time.Time) error {
	sp := s.policy.Severity(inc.Severity)
	if s.clockOn(inc) && inc.PublicID == "" {
		within := sp.StatusPageWithin
		steps := []struct {
			step string
			at   time.Time
		}{{stepDraft, time.Time{}}, {stepNudge, start.Add(within / 2)}, {stepEscalate, start.Add(within)}}
		for _, st := range steps {
			p := commsPayload{IncidentID: inc.ID, Step: st.step, Start: start.Unix()}
			if !st.at.IsZero() {
				p.Due = st.at.Unix()
			}
			if err := scheduleComms(ctx, sched, p, st.at); err != nil {
				return err
			}
		}
	}
	if sp.CustomerEmailAfter > 0 {
		at := inc.DeclaredAt.Add(sp.CustomerEmailAfter)
		if err := scheduleComms(ctx, sched, commsPayload{IncidentID: inc.ID, Step: stepEmail, Due: at.Unix()}, at); err != nil {
			return err
		}
	}
	return nil
}

// scheduleComms schedules a clock step on the urgent queue: customers
// waiting to hear from us must not wait behind Slack housekeeping.
func scheduleComms(ctx context.Context, sched incident.Scheduler, p commsPayload, at time.Time) error {
	payload, _ := json.Marshal(p)
	key := fmt.Sprintf("comms:%d:%s", p.IncidentID, p.Step)
	switch p.Step {
	case stepDraft:
	case stepOfferUpdate, stepOfferResolution, stepOfferReopen:
		key += ":" + p.Ref
	default:
		key += ":" + strconv.FormatInt(p.Due, 10) + p.Ref
	}
	if _, err := sched.Schedule(ctx, incident.Job{Kind: JobComms, Key: key, Payload: payload, RunAt: at, MaxAttempts: 8, Urgent: true}); err != nil {
		return fmt.Errorf("schedule the comms clock: %w", err)
	}
	return nil
}

// statusPagePost is a status page event's payload.
func statusPagePost(ev incident.TimelineEvent) incident.StatusPageData {
	d, _ := ev.Payload.(incident.StatusPageData)
	return d
}

// lastPublicPost returns when the incident was last posted publicly.
func lastPublicPost(events []incident.TimelineEvent) (time.Time, bool) {
	var last time.Time
	for _, ev := range events {
		if ev.Kind == incident.EventStatusPage && statusPagePost(ev).Kind != incident.PostComponents && ev.At.After(last) {
			last = ev.At
		}
	}
	return last, !last.IsZero()
}

// runComms is the JobComms handler.
func (s *Service) runComms(ctx context.Context, payload []byte) error {
	var p commsPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode comms step: %w: %w", err, incident.ErrJobCancel)
	}
	inc, err := s.store.GetIncident(ctx, p.IncidentID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil
	} else if err != nil {
		return fmt.Errorf("comms: %w", err)
	}
	src, events, err := s.timelineBySource(ctx, inc.ID)
	if err != nil {
		return err
	}
	_, declined := src[srcDeclined]
	switch p.Step {
	case stepDraft, stepNudge, stepEscalate:
		if !inc.Status.Open() || inc.PublicID != "" || declined || !s.clockOn(inc) {
			return nil // posted, not customer-facing, over, or no clock any more
		}
		return s.clockStep(ctx, inc, p, src)
	case stepStale:
		return s.staleStep(ctx, inc, p, src, events)
	case stepEmail:
		return s.emailStep(ctx, inc, p, src)
	case stepOfferUpdate, stepOfferResolution:
		return s.offerStep(ctx, inc, p, src)
	case stepOfferReopen:
		return s.reopenStep(ctx, inc, p, src, events)
	}
	return nil
}

// clockStep posts the draft, the nudge or the escalation, once each.
func (s *Service) clockStep(ctx context.Context, inc *incident.Incident, p commsPayload, src map[string]incident.TimelineEvent) error {
	source := map[string]string{stepDraft: srcDraft, stepNudge: srcNudge, stepEscalate: srcEscalate}[p.Step]
	if _, done := src[source]; done {
		return nil
	}
	if inc.ChannelID == "" {
		return incident.RetryLater(time.Second, "%s has no channel yet", inc.Key())
	}
	if _, drafted := src[srcDraft]; p.Step != stepDraft && !drafted {
		// The reminders refer to the draft: it goes first.
		return incident.RetryLater(time.Second, "%s has no status page draft yet", inc.Key())
	}
	now := s.clock.Now()
	within := s.policy.Severity(inc.Severity).StatusPageWithin
	start := clockStart(inc, p, within)
	n, err := s.clockNotice(ctx, inc, p.Step, start, within, now)
	if err != nil {
		return err
	}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("comms %s for %s: %w", p.Step, inc.Key(), err)
	}
	// The step is recorded once it is said in the channel and to the
	// person it calls on: until then a retry says it again, and the keyed
	// posts find what an earlier attempt said.
	if p.Step != stepDraft {
		if err := s.tellCalledOn(ctx, inc, p.Step, start, now); err != nil {
			return err
		}
	}
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventComms, Actor: "bot", At: now, Key: p.Step == stepEscalate, SourceID: source,
		Text: map[string]string{
			stepDraft:    "Status page draft proposed",
			stepNudge:    "Status page reminder: not posted yet",
			stepEscalate: fmt.Sprintf("Status page target of %s missed: escalated", minutes(within)),
		}[p.Step]}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		return fmt.Errorf("comms: %w", err)
	}
	return nil
}

// clockStart is when the status page clock of step started: the
// declaration, or the raise to a severity with a clock, as planned. A job
// planned before the payload carried it tells it by its due time, or for
// a draft not at all (the declaration).
func clockStart(inc *incident.Incident, p commsPayload, within time.Duration) time.Time {
	if p.Start != 0 {
		return time.Unix(p.Start, 0)
	}
	if p.Step == stepDraft || p.Due == 0 {
		return inc.DeclaredAt
	}
	if p.Step == stepNudge {
		return time.Unix(p.Due, 0).Add(-within / 2)
	}
	return time.Unix(p.Due, 0).Add(-within)
}

// clockNotice is the channel's notice of step, with the buttons that
// publish, edit or decline the draft.
func (s *Service) clockNotice(ctx context.Context, inc *incident.Incident, step string, start time.Time, within time.Duration, now time.Time) (incident.Notice, error) {
	deadline := start.Add(within)
	// Each step shows the draft its Publish button posts.
	body, err := s.draftBody(ctx, inc, incident.PostAcknowledge, "")
	if err != nil {
		return incident.Notice{}, err
	}
	value := publishValue(inc.ID, incident.PostAcknowledge, "", body)
	buttons := []incident.Button{
		{Action: incident.ActionStatusPagePublish, Text: "Publish", Value: value, Style: "primary"},
		{Action: incident.ActionStatusPageEdit, Text: "Edit", Value: value},
		{Action: incident.ActionStatusPageDecline, Text: "Not customer-facing", Value: strconv.FormatInt(inc.ID, 10)},
	}
	n := incident.Notice{Incident: inc.Key(), Actor: "bot", Buttons: buttons, Values: map[string]string{"within": minutes(within), "body": body}}
	switch step {
	case stepDraft:
		provider, _, _ := s.pub.StatusPageFor(inc)
		n.Kind = incident.NoticeStatusPageDraft
		n.Values["provider"], n.Values["by"] = provider.Title(), deadline.In(s.policy.Location).Format("15:04 MST")
	case stepNudge:
		n.Kind, n.User = incident.NoticeStatusPageNudge, commsLead(inc)
		n.Values["left"] = minutes(max(deadline.Sub(now), 0))
	case stepEscalate:
		n.Kind, n.User = incident.NoticeStatusPageEscalate, inc.Commander
		n.Values["after"] = minutes(now.Sub(start))
		if group, user := backupOf(inc, s.policy); group != "" {
			n.Values["group"] = group
		} else if user != inc.Commander {
			n.Prev = user
		}
	}
	return n, nil
}

// tellCalledOn messages the person a reminder calls on directly: the comms
// lead for a nudge, the commander for an escalation.
func (s *Service) tellCalledOn(ctx context.Context, inc *incident.Incident, step string, start, now time.Time) error {
	dmTo := commsLead(inc)
	if step == stepEscalate {
		dmTo = inc.Commander
	}
	if dmTo == "" {
		return nil
	}
	dm := incident.Notice{Kind: incident.NoticeStatusPageReminder, Incident: inc.Key(), Actor: "bot", User: dmTo, Drill: inc.Drill,
		Values: map[string]string{"after": incident.Since(start, now), "channel": inc.ChannelID}}
	if err := s.chat.Tell(ctx, incident.ReplyTarget{UserID: dmTo}, dm); err != nil {
		if incident.Refused(err) {
			// Deactivated, a bot: the channel heard it, and the step
			// is recorded rather than failing on every attempt.
			s.log.WarnContext(ctx, "the status page reminder could not be sent directly; Slack refused it", "incident", inc.Key(), "user", dmTo, "err", err)
			return nil
		}
		return fmt.Errorf("message %s about the status page of %s: %w", dmTo, inc.Key(), err)
	}
	return nil
}

// staleStep proposes the "still investigating" update when nothing was
// posted publicly for the policy's StaleAfter.
func (s *Service) staleStep(ctx context.Context, inc *incident.Incident, p commsPayload, src map[string]incident.TimelineEvent, events []incident.TimelineEvent) error {
	every := s.policy.Comms.StaleAfter
	if every <= 0 || !inc.Status.Open() || inc.PublicID == "" {
		return nil
	}
	now := s.clock.Now()
	if at := time.Unix(p.Due, 0); at.After(now.Add(leeway)) {
		return incident.NotDue(inc.Key()+"'s quiet-spell check", at, now)
	}
	last, _ := lastPublicPost(events)
	// To the second, as the timers' keys: a later due is another timer's.
	if due := last.Add(every).Truncate(time.Second); due.After(now.Add(leeway)) {
		return s.planStale(ctx, inc, last) // posted since: the clock moved on
	}
	source := fmt.Sprintf("comms:stale:%d", p.Due)
	if _, done := src[source]; done {
		return nil
	}
	if inc.ChannelID == "" {
		return incident.RetryLater(2*time.Second, "%s has no channel yet", inc.Key())
	}
	body, err := s.draftBody(ctx, inc, incident.PostStillInvestigating, "")
	if err != nil {
		return err
	}
	value := publishValue(inc.ID, incident.PostStillInvestigating, strconv.FormatInt(p.Due, 10), body)
	n := incident.Notice{Kind: incident.NoticeStatusPageStale, Incident: inc.Key(), Actor: "bot", User: commsLead(inc),
		Values: map[string]string{"quiet": minutes(now.Sub(last)), "body": body}, Buttons: []incident.Button{
			{Action: incident.ActionStatusPagePublish, Text: "Post to status page", Value: value, Style: "primary"},
			{Action: incident.ActionStatusPageEdit, Text: "Edit", Value: value},
		}}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("propose a status page update for %s: %w", inc.Key(), err)
	}
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventComms, Actor: "bot", At: now, SourceID: source,
		Text: fmt.Sprintf("Status page update proposed after %s without one", incident.Since(last, now))}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		return fmt.Errorf("comms: %w", err)
	}
	// Still nothing after another spell: propose again then.
	return scheduleComms(ctx, s.sched, commsPayload{IncidentID: inc.ID, Step: stepStale, Due: now.Add(every).Unix()}, now.Add(every))
}

// emailStep proposes the customer e-mail once: to a severity's incident
// still open after CustomerEmailAfter, or at once for a data concern.
func (s *Service) emailStep(ctx context.Context, inc *incident.Incident, p commsPayload, src map[string]incident.TimelineEvent) error {
	_, concern := src[srcDataConcern]
	_, proposed := src[srcEmailProposed]
	_, decided := src[srcEmailDecision]
	if proposed || decided {
		return nil
	}
	sp := s.policy.Severity(inc.Severity)
	now := s.clock.Now()
	if !concern {
		if sp.CustomerEmailAfter <= 0 || !inc.Status.Open() {
			return nil // fixed in time, or no longer a severity that e-mails
		}
		if at := time.Unix(p.Due, 0); at.After(now.Add(leeway)) {
			return incident.NotDue(inc.Key()+"'s customer e-mail check", at, now)
		}
		// To the second, as the timers' keys: a later due is another timer's.
		if due := inc.DeclaredAt.Add(sp.CustomerEmailAfter).Truncate(time.Second); due.After(now.Add(leeway)) {
			return nil // the severity changed; its own check is planned
		}
	}
	if inc.ChannelID == "" {
		return incident.RetryLater(2*time.Second, "%s has no channel yet", inc.Key())
	}
	body, err := s.renderComms(ctx, inc, "comms_customer_email.tmpl", "")
	if err != nil {
		return err
	}
	why := fmt.Sprintf("%s has been open for %s", inc.Key(), minutes(now.Sub(inc.DeclaredAt)))
	if concern {
		why = fmt.Sprintf("%s was flagged for a data concern", inc.Key())
	}
	lead := commsLead(inc)
	id := strconv.FormatInt(inc.ID, 10)
	n := incident.Notice{Kind: incident.NoticeCustomerEmail, Incident: inc.Key(), Actor: "bot", User: lead,
		Values: map[string]string{"open_for": minutes(now.Sub(inc.DeclaredAt)), "concern": fmt.Sprint(concern), "body": strings.TrimSpace(body)},
		Buttons: []incident.Button{
			{Action: incident.ActionEmailSent, Text: "Sent", Value: id, Style: "primary"},
			{Action: incident.ActionEmailNotNeeded, Text: "Not needed", Value: id},
		}}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("propose the customer e-mail for %s: %w", inc.Key(), err)
	}
	// Recorded once the comms lead is told too: until then a retry says
	// it again, and the keyed posts find what an earlier attempt said.
	if lead != "" {
		dm := incident.Notice{Kind: incident.NoticeCustomerEmailReminder, Incident: inc.Key(), Actor: "bot", User: lead, Drill: inc.Drill,
			Values: map[string]string{"channel": inc.ChannelID}}
		if err := s.chat.Tell(ctx, incident.ReplyTarget{UserID: lead}, dm); err != nil && incident.Refused(err) {
			// The channel heard it: the proposal is recorded, not made
			// again by every attempt and by later e-mail jobs.
			s.log.WarnContext(ctx, "the customer e-mail reminder could not be sent directly; Slack refused it", "incident", inc.Key(), "user", lead, "err", err)
		} else if err != nil {
			return fmt.Errorf("message %s about the customer e-mail of %s: %w", lead, inc.Key(), err)
		}
	}
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventComms, Actor: "bot", At: now, SourceID: srcEmailProposed,
		Text: "Customer e-mail proposed: " + why}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		return fmt.Errorf("comms: %w", err)
	}
	return nil
}

// offerStep offers to mirror a status update, or to post the resolution
// notice, on the status page.
func (s *Service) offerStep(ctx context.Context, inc *incident.Incident, p commsPayload, src map[string]incident.TimelineEvent) error {
	if inc.PublicID == "" {
		return nil
	}
	kind := incident.PostUpdate
	if p.Step == stepOfferResolution {
		if inc.Status != incident.StatusResolved && inc.Status != incident.StatusClosed {
			return nil // reopened meanwhile
		}
		kind = incident.PostResolution
	} else if !inc.Status.Open() {
		return nil
	}
	source := "comms:offer:" + kind + ":" + p.Ref
	if _, done := src[source]; done {
		return nil
	}
	if _, done := src[postPayload{Kind: kind, Ref: p.Ref}.source()]; done {
		return nil
	}
	if inc.ChannelID == "" {
		return incident.RetryLater(2*time.Second, "%s has no channel yet", inc.Key())
	}
	body, err := s.draftBody(ctx, inc, kind, p.Ref)
	if err != nil {
		return err
	}
	value := publishValue(inc.ID, kind, p.Ref, body)
	n := incident.Notice{Kind: incident.NoticeStatusPageOffer, Incident: inc.Key(), Actor: "bot", Values: map[string]string{"post": kind, "body": body},
		Buttons: []incident.Button{
			{Action: incident.ActionStatusPagePublish, Text: "Post to status page", Value: value, Style: "primary"},
			{Action: incident.ActionStatusPageEdit, Text: "Edit", Value: value},
		}}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("offer the status page post for %s: %w", inc.Key(), err)
	}
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventComms, Actor: "bot", At: s.clock.Now(), SourceID: source,
		Text: "Status page " + map[string]string{incident.PostUpdate: "update", incident.PostResolution: "resolution notice"}[kind] + " offered"}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		return fmt.Errorf("comms: %w", err)
	}
	return nil
}

// reopenStep offers, after a reopen, the update that reopens the public
// incident, when the resolution notice left it resolved on the status page:
// the components already show the outage again.
func (s *Service) reopenStep(ctx context.Context, inc *incident.Incident, p commsPayload, src map[string]incident.TimelineEvent, events []incident.TimelineEvent) error {
	resolved, since := lastPublicStatus(events) == incident.PublicResolved, resolutionTried(events)
	if inc.PublicID == "" || !inc.Status.Open() || !resolved && since.IsZero() {
		return nil // resolved again meanwhile, or the public incident is open
	}
	ref := refReopen + p.Ref
	source := "comms:offer:" + incident.PostUpdate + ":" + ref
	if _, done := src[source]; done {
		return nil
	}
	if p.Late && reopenOffered(events, since) {
		return nil // the reopen offered it, knowing what the notice did
	}
	if inc.ChannelID == "" {
		return incident.RetryLater(2*time.Second, "%s has no channel yet", inc.Key())
	}
	body, err := s.draftBody(ctx, inc, incident.PostUpdate, ref)
	if err != nil {
		return err
	}
	value := publishValue(inc.ID, incident.PostUpdate, ref, body)
	provider, _, _ := s.pub.StatusPageFor(inc)
	title := "the status page"
	if provider != nil {
		title = provider.Title()
	}
	n := incident.Notice{Kind: NoticeStatusPageReopenOffer, Incident: inc.Key(), Actor: "bot", Values: map[string]string{"body": body, "provider": title},
		Buttons: []incident.Button{
			{Action: incident.ActionStatusPagePublish, Text: "Post to status page", Value: value, Style: "primary"},
			{Action: incident.ActionStatusPageEdit, Text: "Edit", Value: value},
		}}
	if !resolved {
		n.Values["maybe"] = "true"
	}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("offer the status page update of the reopen of %s: %w", inc.Key(), err)
	}
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventComms, Actor: "bot", At: s.clock.Now(), SourceID: source,
		Text: "Status page update offered: reopened after the resolution notice"}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		return fmt.Errorf("comms: %w", err)
	}
	return nil
}

// resolutionTried returns when a resolution notice last failed after the
// last post recorded, zero when none did: an attempt whose answer was lost
// may have left the public incident resolved all the same.
func resolutionTried(events []incident.TimelineEvent) time.Time {
	var at time.Time
	for _, ev := range events {
		switch d := ev.Payload.(type) {
		case incident.StatusPageData:
			if ev.Kind == incident.EventStatusPage && d.Kind != incident.PostComponents {
				at = time.Time{}
			}
		case incident.ProviderFailureData:
			if ev.Kind == incident.EventProviderFailure && d.Kind == incident.PostResolution {
				at = ev.At
			}
		}
	}
	return at
}

// reopenOffered reports whether the update that reopens the public
// incident was offered at or after since (and at all, for zero since).
func reopenOffered(events []incident.TimelineEvent, since time.Time) bool {
	for _, ev := range events {
		if strings.HasPrefix(ev.SourceID, "comms:offer:"+incident.PostUpdate+":"+refReopen) && !ev.At.Before(since) {
			return true
		}
	}
	return false
}

// lastPublicStatus returns the status the public incident was last posted
// with, "" when none was.
func lastPublicStatus(events []incident.TimelineEvent) incident.PublicStatus {
	var st incident.PublicStatus
	for _, ev := range events {
		if ev.Kind == incident.EventStatusPage {
			if d := statusPagePost(ev); d.Status != "" {
				st = d.Status
			}
		}
	}
	return st
}

// Decline records that the incident is not customer-facing: the status page
// clock stops. ECONFLICT when it is already public.
func (s *Service) Decline(ctx context.Context, id int64, actor string) (*incident.Incident, error) {
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorizePublish(ctx, inc, actor); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	return s.change(ctx, id, func(i *incident.Incident) ([]incident.TimelineEvent, []incident.Notice, error) {
		if i.PublicID != "" {
			return nil, nil, incident.Errorf(incident.ECONFLICT, "%s is already on the status page: %s", i.Key(), i.PublicURL)
		}
		n := incident.Notice{Kind: incident.NoticeNotCustomerFacing, Incident: i.Key(), Actor: actor}
		return []incident.TimelineEvent{{Kind: incident.EventComms, Actor: actor, At: now, Key: true, Text: s.noticeText(n), SourceID: srcDeclined}},
			[]incident.Notice{n}, nil
	})
}

// CustomerEmail records the comms lead's answer to the customer e-mail
// proposal: sent, or not needed. The timeline and the postmortem keep it.
// ECONFLICT when it was already recorded; EFORBIDDEN unless actor may
// publish (the IC, the comms lead or a publisher).
func (s *Service) CustomerEmail(ctx context.Context, id int64, sent bool, actor string) (*incident.Incident, error) {
	cur, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorizePublish(ctx, cur, actor); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	inc, err := s.store.UpdateIncident(ctx, id, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		n := s.emailDecision(i, actor, sent, now)
		return []incident.TimelineEvent{{Kind: incident.EventComms, Actor: actor, At: now, Key: true, Text: s.noticeText(n), SourceID: srcEmailDecision,
			Payload: incident.CommsStepData{Email: map[bool]string{true: incident.EmailSent, false: incident.EmailNotNeeded}[sent]}}}, nil
	})
	if incident.ErrorCode(err) == incident.ECONFLICT {
		return nil, incident.Errorf(incident.ECONFLICT, "The customer e-mail decision is already recorded.")
	} else if err != nil {
		return nil, err
	}
	events, err := s.store.ListTimeline(ctx, id)
	if err != nil {
		return inc, err
	}
	for _, ev := range events {
		if ev.SourceID == srcEmailDecision {
			d, _ := ev.Payload.(incident.CommsStepData)
			n := s.emailDecision(inc, ev.Actor, d.Email == incident.EmailSent, ev.At)
			return inc, s.core.Notify(ctx, inc, n)
		}
	}
	return inc, nil
}

// emailDecision is the notice of the customer e-mail decision.
func (s *Service) emailDecision(inc *incident.Incident, actor string, sent bool, at time.Time) incident.Notice {
	if sent {
		return incident.Notice{Kind: incident.NoticeCustomerEmailSent, Incident: inc.Key(), Actor: actor,
			Values: map[string]string{"at": at.In(s.policy.Location).Format("15:04 MST")}}
	}
	return incident.Notice{Kind: incident.NoticeCustomerEmailNotNeeded, Incident: inc.Key(), Actor: actor}
}

// FlagDataConcern records that customer data may be affected, which
// proposes the customer e-mail at once whatever the severity. EFORBIDDEN
// unless actor may publish (the IC, the comms lead or a publisher).
func (s *Service) FlagDataConcern(ctx context.Context, id int64, actor string) (*incident.Incident, error) {
	cur, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorizePublish(ctx, cur, actor); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	inc, err := s.change(ctx, id, func(i *incident.Incident) ([]incident.TimelineEvent, []incident.Notice, error) {
		n := incident.Notice{Kind: incident.NoticeDataConcern, Incident: i.Key(), Actor: actor}
		return []incident.TimelineEvent{{Kind: incident.EventComms, Actor: actor, At: now, Key: true, Text: s.noticeText(n), SourceID: srcDataConcern}},
			[]incident.Notice{n}, nil
	})
	if incident.ErrorCode(err) == incident.ECONFLICT && inc == nil {
		got, gerr := s.store.GetIncident(ctx, id)
		if gerr == nil && got.Status != incident.StatusClosed {
			return nil, incident.Errorf(incident.ECONFLICT, "%s is already flagged for a data concern.", got.Key())
		}
		return nil, err
	} else if err != nil {
		return nil, err
	}
	return inc, scheduleComms(ctx, s.sched, commsPayload{IncidentID: id, Step: stepEmail, Due: now.Unix(), Ref: "data"}, time.Time{})
}

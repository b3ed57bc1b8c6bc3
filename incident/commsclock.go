package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Job kinds of the communication clock.
const (
	// JobComms runs one step of the clock: the draft at declare, the
	// nudge, the escalation, the stale-update and customer e-mail
	// proposals, and the offers after an update or a resolve.
	JobComms = "incident.comms"
	// JobStatusPagePost posts to the status page.
	JobStatusPagePost = "incident.status_page_post"
)

// Button actions of the communication clock's messages.
const (
	ActionStatusPagePublish = "statuspage_publish"
	ActionStatusPageEdit    = "statuspage_edit"
	ActionStatusPageDecline = "statuspage_decline"
	ActionStatusPageRetry   = "statuspage_retry"
	ActionEmailSent         = "customer_email_sent"
	ActionEmailNotNeeded    = "customer_email_not_needed"
)

// Kinds of public post, each pre-filled from its comms template.
const (
	// PostAcknowledge is the first post: we know, we are investigating.
	PostAcknowledge = "ack"
	// PostUpdate mirrors a status update; its ref is the update's id.
	PostUpdate = "update"
	// PostStillInvestigating is the proposal after a quiet spell.
	PostStillInvestigating = "stale"
	// PostResolution is the resolution notice.
	PostResolution = "resolution"
	// postComponents changes component states without a message.
	postComponents = "components"
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
)

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

// statusPageAttempts bounds a post's retries; with the engine's backoff
// they span about two hours.
const statusPageAttempts = 12

// maxPublicBody bounds a public post's text.
const maxPublicBody = 5000

type commsPayload struct {
	IncidentID int64  `json:"incident_id"`
	Step       string `json:"step"`
	Due        int64  `json:"due,omitempty"` // unix seconds
	Ref        string `json:"ref,omitempty"`
}

type postPayload struct {
	IncidentID int64  `json:"incident_id"`
	Kind       string `json:"kind"`
	Ref        string `json:"ref,omitempty"`
	Body       string `json:"body,omitempty"`
	Actor      string `json:"actor,omitempty"`
	Round      int    `json:"round,omitempty"`
}

func (p postPayload) source() string { return "statuspage:" + p.Kind + ":" + p.Ref }

// StatusPageFor returns the status page that publishes the incident's
// service and the service's mapping, and false when none is configured. A
// drill never reaches the public status page, and neither does an incident
// whose service is not mapped to the status page (no provider nor
// components in the policy).
func (s *Service) StatusPageFor(inc *Incident) (StatusPage, StatusPageService, bool) {
	sp, known := s.policy.Services[inc.Service]
	svc := sp.StatusPage
	if inc.Drill || inc.Service == "" || !known || (svc.Provider == "" && len(svc.Components) == 0) {
		return nil, svc, false
	}
	for _, sp := range s.statusPages {
		if svc.Provider == "" || sp.Name() == svc.Provider {
			return sp, svc, true
		}
	}
	return nil, svc, false
}

// clockOn reports whether the incident's severity runs the status page clock.
func (s *Service) clockOn(inc *Incident) bool {
	_, _, ok := s.StatusPageFor(inc)
	return ok && s.policy.Severity(inc.Severity).StatusPageWithin > 0
}

// authorizePublish checks that actor may post inc on the status page: the
// permission model's ActPublish.
func (s *Service) authorizePublish(ctx context.Context, inc *Incident, actor string) error {
	return s.authorize(ctx, Request{Subject: Subject{User: actor}, Action: ActPublish, Incident: inc})
}

// commsHook plans the clock's steps after each lifecycle change.
func (s *Service) commsHook(ctx context.Context, c Change) error {
	inc := c.Incident
	switch c.Kind {
	case EventSeverityChanged:
		if err := s.planComms(ctx, s.sched, inc, s.clock.Now()); err != nil {
			return err
		}
		return s.planComponents(ctx, inc)
	case EventUpdatePosted:
		if inc.PublicID != "" && c.Update != nil {
			if err := s.scheduleComms(ctx, commsPayload{IncidentID: inc.ID, Step: stepOfferUpdate, Ref: strconv.FormatInt(c.Update.ID, 10)}, time.Time{}); err != nil {
				return err
			}
		}
		return s.planComponents(ctx, inc)
	case EventStatusChanged:
		if Status(c.To) == StatusResolved && inc.PublicID != "" {
			return s.scheduleComms(ctx, commsPayload{IncidentID: inc.ID, Step: stepOfferResolution, Ref: strconv.FormatInt(inc.UpdatedAt.UnixNano(), 10)}, time.Time{})
		}
		if Status(c.To) == StatusInvestigating || Status(c.To) == StatusMitigated {
			return s.planComponents(ctx, inc)
		}
	}
	return nil
}

// planComms schedules, on sched (the declare's transaction), the status
// page clock from start (the declaration, or a raise to a severity that has
// a clock) and the customer e-mail check.
func (s *Service) planComms(ctx context.Context, sched Scheduler, inc *Incident, start time.Time) error {
	sp := s.policy.Severity(inc.Severity)
	if s.clockOn(inc) && inc.PublicID == "" {
		within := sp.StatusPageWithin
		steps := []struct {
			step string
			at   time.Time
		}{{stepDraft, time.Time{}}, {stepNudge, start.Add(within / 2)}, {stepEscalate, start.Add(within)}}
		for _, st := range steps {
			if err := scheduleComms(ctx, sched, commsPayload{IncidentID: inc.ID, Step: st.step, Due: st.at.Unix()}, st.at); err != nil {
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

func (s *Service) scheduleComms(ctx context.Context, p commsPayload, at time.Time) error {
	return scheduleComms(ctx, s.sched, p, at)
}

// scheduleComms schedules a clock step on the urgent queue: customers
// waiting to hear from us must not wait behind Slack housekeeping.
func scheduleComms(ctx context.Context, sched Scheduler, p commsPayload, at time.Time) error {
	payload, _ := json.Marshal(p)
	key := fmt.Sprintf("comms:%d:%s", p.IncidentID, p.Step)
	switch p.Step {
	case stepDraft:
	case stepOfferUpdate, stepOfferResolution:
		key += ":" + p.Ref
	default:
		key += ":" + strconv.FormatInt(p.Due, 10) + p.Ref
	}
	if _, err := sched.Schedule(ctx, Job{Kind: JobComms, Key: key, Payload: payload, RunAt: at, MaxAttempts: 8, Urgent: true}); err != nil {
		return fmt.Errorf("schedule the comms clock: %w", err)
	}
	return nil
}

// planComponents brings the public components in line with the incident's
// severity and status, when it is public and open.
func (s *Service) planComponents(ctx context.Context, inc *Incident) error {
	if inc.PublicID == "" || !inc.Status.Open() {
		return nil
	}
	cs := componentStatus(inc, s.policy)
	return s.schedulePost(ctx, postPayload{IncidentID: inc.ID, Kind: postComponents, Ref: string(cs) + ":" + strconv.FormatInt(inc.UpdatedAt.UnixNano(), 10)})
}

func (s *Service) schedulePost(ctx context.Context, p postPayload) error {
	payload, _ := json.Marshal(p)
	key := fmt.Sprintf("statuspage:%d:%s:%s:%d", p.IncidentID, p.Kind, p.Ref, p.Round)
	if _, err := s.sched.Schedule(ctx, Job{Kind: JobStatusPagePost, Key: key, Payload: payload, MaxAttempts: statusPageAttempts, Urgent: true}); err != nil {
		return fmt.Errorf("schedule the status page post: %w", err)
	}
	return nil
}

// commsLead is who the clock calls on first: the comms lead, or the IC.
func commsLead(inc *Incident) string {
	if u := inc.Roles[RoleComms]; u != "" {
		return u
	}
	return inc.Commander
}

// timelineBySource reads the incident's events into a map by source id.
func (s *Service) timelineBySource(ctx context.Context, id int64) (map[string]TimelineEvent, []TimelineEvent, error) {
	events, err := s.store.ListTimeline(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("read the timeline: %w", err)
	}
	m := make(map[string]TimelineEvent, len(events))
	for _, ev := range events {
		if ev.SourceID != "" {
			m[ev.SourceID] = ev
		}
	}
	return m, events, nil
}

// lastPublicPost returns when the incident was last posted publicly.
func lastPublicPost(events []TimelineEvent) (time.Time, bool) {
	var last time.Time
	for _, ev := range events {
		if ev.Kind == EventStatusPage && ev.Data["kind"] != postComponents && ev.At.After(last) {
			last = ev.At
		}
	}
	return last, !last.IsZero()
}

// FirstPublicPost returns when the incident first appeared on the status
// page, from its timeline.
func FirstPublicPost(events []TimelineEvent) (time.Time, bool) {
	var first time.Time
	for _, ev := range events {
		if ev.Kind == EventStatusPage && ev.Data["kind"] != postComponents && (first.IsZero() || ev.At.Before(first)) {
			first = ev.At
		}
	}
	return first, !first.IsZero()
}

// runComms is the JobComms handler.
func (s *Service) runComms(ctx context.Context, payload []byte) error {
	var p commsPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode comms step: %w: %w", err, ErrJobCancel)
	}
	inc, err := s.store.GetIncident(ctx, p.IncidentID)
	if ErrorCode(err) == ENOTFOUND {
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
	}
	return nil
}

// clockStep posts the draft, the nudge or the escalation, once each.
func (s *Service) clockStep(ctx context.Context, inc *Incident, p commsPayload, src map[string]TimelineEvent) error {
	source := map[string]string{stepDraft: srcDraft, stepNudge: srcNudge, stepEscalate: srcEscalate}[p.Step]
	if _, done := src[source]; done {
		return nil
	}
	if inc.ChannelID == "" {
		return RetryLater(time.Second, "%s has no channel yet", inc.Key())
	}
	if _, drafted := src[srcDraft]; p.Step != stepDraft && !drafted {
		// The reminders refer to the draft: it goes first.
		return RetryLater(time.Second, "%s has no status page draft yet", inc.Key())
	}
	now := s.clock.Now()
	within := s.policy.Severity(inc.Severity).StatusPageWithin
	start := inc.DeclaredAt
	if p.Step != stepDraft && p.Due != 0 {
		start = time.Unix(p.Due, 0).Add(-within)
		if p.Step == stepNudge {
			start = time.Unix(p.Due, 0).Add(-within / 2)
		}
	}
	deadline := start.Add(within)
	provider, _, _ := s.StatusPageFor(inc)
	value := fmt.Sprintf("%d|%s|", inc.ID, PostAcknowledge)
	buttons := []Button{
		{Action: ActionStatusPagePublish, Text: "Publish", Value: value, Style: "primary"},
		{Action: ActionStatusPageEdit, Text: "Edit", Value: value},
		{Action: ActionStatusPageDecline, Text: "Not customer-facing", Value: strconv.FormatInt(inc.ID, 10)},
	}
	lead := commsLead(inc)
	n := Notice{Incident: inc.Key(), Actor: "bot", Buttons: buttons, Values: map[string]string{"within": minutes(within)}}
	switch p.Step {
	case stepDraft:
		body, err := s.draftBody(ctx, inc, PostAcknowledge, "")
		if err != nil {
			return err
		}
		n.Kind = NoticeStatusPageDraft
		n.Values["provider"], n.Values["by"], n.Values["body"] = provider.Title(), deadline.In(s.policy.Location).Format("15:04 MST"), body
	case stepNudge:
		n.Kind, n.User = NoticeStatusPageNudge, lead
		n.Values["left"] = minutes(max(deadline.Sub(now), 0))
	case stepEscalate:
		n.Kind, n.User = NoticeStatusPageEscalate, inc.Commander
		n.Values["after"] = minutes(now.Sub(start))
		if group, user := backupOf(inc, s.policy); group != "" {
			n.Values["group"] = group
		} else if user != inc.Commander {
			n.Prev = user
		}
	}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("comms %s for %s: %w", p.Step, inc.Key(), err)
	}
	ev := TimelineEvent{IncidentID: inc.ID, Kind: EventComms, Actor: "bot", At: now, Key: p.Step == stepEscalate, SourceID: source,
		Text: map[string]string{
			stepDraft:    "Status page draft proposed",
			stepNudge:    "Status page reminder: not posted yet",
			stepEscalate: fmt.Sprintf("Status page target of %s missed: escalated", minutes(within)),
		}[p.Step]}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && ErrorCode(err) != ECONFLICT {
		return fmt.Errorf("comms: %w", err)
	}
	// The person called on hears it directly too.
	dmTo := lead
	if p.Step == stepEscalate {
		dmTo = inc.Commander
	}
	if p.Step != stepDraft && dmTo != "" {
		dm := Notice{Kind: NoticeStatusPageReminder, Incident: inc.Key(), Actor: "bot", User: dmTo, Drill: inc.Drill,
			Values: map[string]string{"after": Since(start, now), "channel": inc.ChannelID}}
		if err := s.chat.Tell(ctx, ReplyTarget{UserID: dmTo}, dm); err != nil {
			s.log.WarnContext(ctx, "could not message about the status page", "incident", inc.Key(), "err", err)
		}
	}
	return nil
}

// staleStep proposes the "still investigating" update when nothing was
// posted publicly for the policy's StaleAfter.
func (s *Service) staleStep(ctx context.Context, inc *Incident, p commsPayload, src map[string]TimelineEvent, events []TimelineEvent) error {
	every := s.policy.Comms.StaleAfter
	if every <= 0 || !inc.Status.Open() || inc.PublicID == "" {
		return nil
	}
	last, _ := lastPublicPost(events)
	now := s.clock.Now()
	if due := last.Add(every); due.After(now.Add(nagSlack)) {
		return s.planStale(ctx, inc, last) // posted since: the clock moved on
	}
	source := fmt.Sprintf("comms:stale:%d", p.Due)
	if _, done := src[source]; done {
		return nil
	}
	if inc.ChannelID == "" {
		return RetryLater(2*time.Second, "%s has no channel yet", inc.Key())
	}
	body, err := s.draftBody(ctx, inc, PostStillInvestigating, "")
	if err != nil {
		return err
	}
	value := fmt.Sprintf("%d|%s|%d", inc.ID, PostStillInvestigating, p.Due)
	n := Notice{Kind: NoticeStatusPageStale, Incident: inc.Key(), Actor: "bot", User: commsLead(inc),
		Values: map[string]string{"quiet": minutes(now.Sub(last)), "body": body}, Buttons: []Button{
			{Action: ActionStatusPagePublish, Text: "Post to status page", Value: value, Style: "primary"},
			{Action: ActionStatusPageEdit, Text: "Edit", Value: value},
		}}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("propose a status page update for %s: %w", inc.Key(), err)
	}
	ev := TimelineEvent{IncidentID: inc.ID, Kind: EventComms, Actor: "bot", At: now, SourceID: source,
		Text: fmt.Sprintf("Status page update proposed after %s without one", Since(last, now))}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && ErrorCode(err) != ECONFLICT {
		return fmt.Errorf("comms: %w", err)
	}
	// Still nothing after another spell: propose again then.
	return s.scheduleComms(ctx, commsPayload{IncidentID: inc.ID, Step: stepStale, Due: now.Add(every).Unix()}, now.Add(every))
}

// planStale schedules the next quiet-spell check after a public post.
func (s *Service) planStale(ctx context.Context, inc *Incident, last time.Time) error {
	every := s.policy.Comms.StaleAfter
	if every <= 0 || !inc.Status.Open() {
		return nil
	}
	at := last.Add(every)
	return s.scheduleComms(ctx, commsPayload{IncidentID: inc.ID, Step: stepStale, Due: at.Unix()}, at)
}

// emailStep proposes the customer e-mail once: to a severity's incident
// still open after CustomerEmailAfter, or at once for a data concern.
func (s *Service) emailStep(ctx context.Context, inc *Incident, p commsPayload, src map[string]TimelineEvent) error {
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
		if due := inc.DeclaredAt.Add(sp.CustomerEmailAfter); due.After(now.Add(nagSlack)) {
			return nil // the severity changed; its own check is planned
		}
	}
	if inc.ChannelID == "" {
		return RetryLater(2*time.Second, "%s has no channel yet", inc.Key())
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
	n := Notice{Kind: NoticeCustomerEmail, Incident: inc.Key(), Actor: "bot", User: lead,
		Values: map[string]string{"open_for": minutes(now.Sub(inc.DeclaredAt)), "concern": fmt.Sprint(concern), "body": strings.TrimSpace(body)},
		Buttons: []Button{
			{Action: ActionEmailSent, Text: "Sent", Value: id, Style: "primary"},
			{Action: ActionEmailNotNeeded, Text: "Not needed", Value: id},
		}}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("propose the customer e-mail for %s: %w", inc.Key(), err)
	}
	ev := TimelineEvent{IncidentID: inc.ID, Kind: EventComms, Actor: "bot", At: now, SourceID: srcEmailProposed,
		Text: "Customer e-mail proposed: " + why}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && ErrorCode(err) != ECONFLICT {
		return fmt.Errorf("comms: %w", err)
	}
	if lead != "" {
		dm := Notice{Kind: NoticeCustomerEmailReminder, Incident: inc.Key(), Actor: "bot", User: lead, Drill: inc.Drill,
			Values: map[string]string{"channel": inc.ChannelID}}
		if err := s.chat.Tell(ctx, ReplyTarget{UserID: lead}, dm); err != nil {
			s.log.WarnContext(ctx, "could not message about the customer e-mail", "incident", inc.Key(), "err", err)
		}
	}
	return nil
}

// offerStep offers to mirror a status update, or to post the resolution
// notice, on the status page.
func (s *Service) offerStep(ctx context.Context, inc *Incident, p commsPayload, src map[string]TimelineEvent) error {
	if inc.PublicID == "" {
		return nil
	}
	kind := PostUpdate
	if p.Step == stepOfferResolution {
		if inc.Status != StatusResolved && inc.Status != StatusClosed {
			return nil // reopened meanwhile
		}
		kind = PostResolution
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
		return RetryLater(2*time.Second, "%s has no channel yet", inc.Key())
	}
	body, err := s.draftBody(ctx, inc, kind, p.Ref)
	if err != nil {
		return err
	}
	value := fmt.Sprintf("%d|%s|%s", inc.ID, kind, p.Ref)
	n := Notice{Kind: NoticeStatusPageOffer, Incident: inc.Key(), Actor: "bot", Values: map[string]string{"post": kind, "body": body},
		Buttons: []Button{
			{Action: ActionStatusPagePublish, Text: "Post to status page", Value: value, Style: "primary"},
			{Action: ActionStatusPageEdit, Text: "Edit", Value: value},
		}}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("offer the status page post for %s: %w", inc.Key(), err)
	}
	ev := TimelineEvent{IncidentID: inc.ID, Kind: EventComms, Actor: "bot", At: s.clock.Now(), SourceID: source,
		Text: "Status page " + map[string]string{PostUpdate: "update", PostResolution: "resolution notice"}[kind] + " offered"}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && ErrorCode(err) != ECONFLICT {
		return fmt.Errorf("comms: %w", err)
	}
	return nil
}

// PublishInput is a request to post on the status page.
type PublishInput struct {
	// Kind is PostAcknowledge, PostUpdate, PostStillInvestigating or
	// PostResolution; Ref is its argument (the update's id).
	Kind string
	Ref  string
	// Body is the public text; empty posts the template's draft.
	Body  string
	Actor string
}

// ParsePublishValue reads a Publish or Edit button's value: "id|kind|ref".
func ParsePublishValue(v string) (id int64, kind, ref string, err error) {
	parts := strings.SplitN(v, "|", 3)
	if len(parts) != 3 {
		return 0, "", "", Errorf(EINVALID, "The button does not name a status page post.")
	}
	id, perr := strconv.ParseInt(parts[0], 10, 64)
	if perr != nil {
		return 0, "", "", Errorf(EINVALID, "The button does not name an incident.")
	}
	return id, parts[1], parts[2], nil
}

// Publish posts to the status page, from a button or the edit modal. The
// post runs as a durable job: the channel hears when it is up, or why it
// failed. It returns false when the same post was already requested, so a
// double click posts once. EFORBIDDEN when actor may not publish;
// EINVALID when no status page is configured or the text is too long;
// ECONFLICT for a first post of an incident already public.
func (s *Service) Publish(ctx context.Context, id int64, in PublishInput) (bool, error) {
	switch in.Kind {
	case PostAcknowledge, PostUpdate, PostStillInvestigating, PostResolution:
	default:
		return false, Errorf(EINVALID, "Unknown kind of status page post %q.", in.Kind)
	}
	in.Body = strings.TrimSpace(in.Body)
	if utf8.RuneCountInString(in.Body) > maxPublicBody {
		return false, Errorf(EINVALID, "The status page text is too long; keep it within %d characters.", maxPublicBody)
	}
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return false, err
	}
	if err := s.authorizePublish(ctx, inc, in.Actor); err != nil {
		return false, err
	}
	if inc.Drill {
		return false, Errorf(EINVALID, "%s is a drill; drills never post on the public status page.", inc.Key())
	}
	if _, _, ok := s.StatusPageFor(inc); !ok {
		return false, Errorf(EINVALID, "No status page is configured for %s: set STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID, or INSTATUS_API_KEY and INSTATUS_PAGE_ID.", inc.Key())
	}
	if in.Kind == PostAcknowledge && inc.PublicID != "" {
		return false, Errorf(ECONFLICT, "%s is already on the status page: %s", inc.Key(), inc.PublicURL)
	}
	switch {
	case in.Kind != PostResolution && !inc.Status.Open():
		return false, Errorf(ECONFLICT, "%s is %s; only the resolution notice can still be posted.", inc.Key(), strings.ToLower(inc.Status.Label()))
	case in.Kind == PostResolution && inc.Status.Open():
		return false, Errorf(ECONFLICT, "%s is not resolved yet; resolve it first, then post the resolution notice.", inc.Key())
	}
	p := postPayload{IncidentID: id, Kind: in.Kind, Ref: in.Ref, Body: in.Body, Actor: in.Actor}
	payload, _ := json.Marshal(p)
	key := fmt.Sprintf("statuspage:%d:%s:%s:0", id, in.Kind, in.Ref)
	if in.Kind == PostAcknowledge {
		key = fmt.Sprintf("statuspage:%d:first", id)
	}
	scheduled, err := s.sched.Schedule(ctx, Job{Kind: JobStatusPagePost, Key: key, Payload: payload, MaxAttempts: statusPageAttempts, Urgent: true})
	if err != nil {
		return false, fmt.Errorf("schedule the status page post: %w", err)
	}
	return scheduled, nil
}

// Draft returns the pre-filled text of a status page post, for the edit
// modal.
func (s *Service) Draft(ctx context.Context, id int64, kind, ref string) (string, error) {
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return "", err
	}
	return s.draftBody(ctx, inc, kind, ref)
}

// Decline records that the incident is not customer-facing: the status page
// clock stops. ECONFLICT when it is already public.
func (s *Service) Decline(ctx context.Context, id int64, actor string) (*Incident, error) {
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorizePublish(ctx, inc, actor); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	return s.change(ctx, id, func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
		if i.PublicID != "" {
			return nil, nil, Errorf(ECONFLICT, "%s is already on the status page: %s", i.Key(), i.PublicURL)
		}
		n := Notice{Kind: NoticeNotCustomerFacing, Incident: i.Key(), Actor: actor}
		return []TimelineEvent{{Kind: EventComms, Actor: actor, At: now, Key: true, Text: s.noticeText(n), SourceID: srcDeclined}},
			&syncPayload{Notices: []Notice{n}}, nil
	})
}

// CustomerEmail records the comms lead's answer to the customer e-mail
// proposal: sent, or not needed. The timeline and the postmortem keep it.
// ECONFLICT when it was already recorded; EFORBIDDEN unless actor may
// publish (the IC, the comms lead or a publisher).
func (s *Service) CustomerEmail(ctx context.Context, id int64, sent bool, actor string) (*Incident, error) {
	cur, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorizePublish(ctx, cur, actor); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	inc, err := s.store.UpdateIncident(ctx, id, func(i *Incident) ([]TimelineEvent, error) {
		n := s.emailDecision(i, actor, sent, now)
		return []TimelineEvent{{Kind: EventComms, Actor: actor, At: now, Key: true, Text: s.noticeText(n), SourceID: srcEmailDecision,
			Data: map[string]string{"email": map[bool]string{true: "sent", false: "not_needed"}[sent]}}}, nil
	})
	if ErrorCode(err) == ECONFLICT {
		return nil, Errorf(ECONFLICT, "The customer e-mail decision is already recorded.")
	} else if err != nil {
		return nil, err
	}
	events, err := s.store.ListTimeline(ctx, id)
	if err != nil {
		return inc, err
	}
	for _, ev := range events {
		if ev.SourceID == srcEmailDecision {
			n := s.emailDecision(inc, ev.Actor, ev.Data["email"] == "sent", ev.At)
			return inc, s.scheduleSync(ctx, inc, syncPayload{IncidentID: id, Notices: []Notice{n}})
		}
	}
	return inc, nil
}

// emailDecision is the notice of the customer e-mail decision.
func (s *Service) emailDecision(inc *Incident, actor string, sent bool, at time.Time) Notice {
	if sent {
		return Notice{Kind: NoticeCustomerEmailSent, Incident: inc.Key(), Actor: actor,
			Values: map[string]string{"at": at.In(s.policy.Location).Format("15:04 MST")}}
	}
	return Notice{Kind: NoticeCustomerEmailNotNeeded, Incident: inc.Key(), Actor: actor}
}

// FlagDataConcern records that customer data may be affected, which
// proposes the customer e-mail at once whatever the severity. EFORBIDDEN
// unless actor may publish (the IC, the comms lead or a publisher).
func (s *Service) FlagDataConcern(ctx context.Context, id int64, actor string) (*Incident, error) {
	cur, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorizePublish(ctx, cur, actor); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	inc, err := s.change(ctx, id, func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
		n := Notice{Kind: NoticeDataConcern, Incident: i.Key(), Actor: actor}
		return []TimelineEvent{{Kind: EventComms, Actor: actor, At: now, Key: true, Text: s.noticeText(n), SourceID: srcDataConcern}},
			&syncPayload{Notices: []Notice{n}}, nil
	})
	if ErrorCode(err) == ECONFLICT && inc == nil {
		got, gerr := s.store.GetIncident(ctx, id)
		if gerr == nil && got.Status != StatusClosed {
			return nil, Errorf(ECONFLICT, "%s is already flagged for a data concern.", got.Key())
		}
		return nil, err
	} else if err != nil {
		return nil, err
	}
	return inc, s.scheduleComms(ctx, commsPayload{IncidentID: id, Step: stepEmail, Due: now.Unix(), Ref: "data"}, time.Time{})
}

// runStatusPagePost is the JobStatusPagePost handler.
func (s *Service) runStatusPagePost(ctx context.Context, payload []byte) error {
	var p postPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode status page post: %w: %w", err, ErrJobCancel)
	}
	inc, err := s.store.GetIncident(ctx, p.IncidentID)
	if ErrorCode(err) == ENOTFOUND {
		return nil
	} else if err != nil {
		return fmt.Errorf("status page post: %w", err)
	}
	sp, svc, ok := s.StatusPageFor(inc)
	if !ok {
		return nil
	}
	src, events, err := s.timelineBySource(ctx, inc.ID)
	if err != nil {
		return err
	}
	if _, done := src[p.source()]; done {
		return nil // a redelivered job, or a retry that raced the first
	}
	attempt, maxAttempts := JobAttempt(ctx)
	recover := attempt > 1 || p.Round > 0
	cs := componentStatus(inc, s.policy)
	if p.Kind == PostResolution {
		cs = ComponentOperational
	}
	components := map[string]ComponentStatus{}
	for _, c := range svc.Components {
		components[c] = cs
	}
	ref := PublicIncident{Provider: inc.PublicProvider, ID: inc.PublicID, URL: inc.PublicURL}
	now := s.clock.Now()

	if p.Kind == postComponents {
		if inc.PublicID == "" || len(components) == 0 || lastComponents(events) == cs {
			return nil
		}
		if err := sp.SetComponents(ctx, ref, components); err != nil {
			return s.statusPageFailed(ctx, inc, sp, p, err, attempt, maxAttempts)
		}
		n := Notice{Kind: NoticeStatusPageComponents, Incident: inc.Key(), Actor: orBot(p.Actor), Values: map[string]string{"components": cs.Label()}}
		return s.recordPublic(ctx, inc, p, PublicIncident{}, n, now, map[string]string{"components": string(cs)})
	}

	body := p.Body
	if body == "" {
		if body, err = s.draftBody(ctx, inc, p.Kind, p.Ref); err != nil {
			return err
		}
	}
	post := PublicPost{Name: publicName(inc, s.policy), Status: publicStatus(inc.Status), Body: body, Components: components,
		Impact: publicImpact(inc.Severity), Notify: s.policy.Comms.Notify, StartedAt: inc.DeclaredAt}
	switch p.Kind {
	case PostAcknowledge:
		post.Status = PublicInvestigating
	case PostResolution:
		post.Status = PublicResolved
	}
	if inc.Status == StatusResolved && p.Kind != PostResolution {
		post.Status = PublicMonitoring
	}
	var got PublicIncident
	if inc.PublicID == "" {
		got, err = sp.Create(ctx, post, recover)
	} else {
		got, err = sp.Update(ctx, ref, post, recover)
	}
	if err != nil {
		return s.statusPageFailed(ctx, inc, sp, p, err, attempt, maxAttempts)
	}
	got.Provider = sp.Name()
	if got.ID == "" {
		got.ID = inc.PublicID
	}
	if got.URL == "" {
		got.URL = inc.PublicURL
	}
	n := Notice{Kind: NoticeStatusPagePosted, Incident: inc.Key(), Actor: orBot(p.Actor), Values: map[string]string{
		"post": p.Kind, "provider": sp.Title(), "status": string(post.Status), "url": got.URL, "id": got.ID}}
	if inc.PublicID == "" {
		n.Values["first"], n.Values["after"] = "true", Since(inc.DeclaredAt, now)
	}
	data := map[string]string{"status": string(post.Status), "components": string(cs)}
	if err := s.recordPublic(ctx, inc, p, got, n, now, data); err != nil {
		return err
	}
	if p.Kind != PostResolution {
		return s.planStale(ctx, inc, now)
	}
	return nil
}

// recordPublic stores a public post on the incident and its timeline, in
// one transaction, and says it in the channel.
func (s *Service) recordPublic(ctx context.Context, inc *Incident, p postPayload, got PublicIncident, n Notice, now time.Time, data map[string]string) error {
	line := s.noticeText(n)
	data["kind"] = p.Kind
	data["provider"] = got.Provider
	if got.ID != "" {
		data["public_id"], data["url"] = got.ID, got.URL
	}
	updated, err := s.store.UpdateIncident(ctx, inc.ID, func(i *Incident) ([]TimelineEvent, error) {
		if got.ID != "" && i.PublicID == "" {
			i.PublicProvider, i.PublicID, i.PublicURL = got.Provider, got.ID, got.URL
		}
		return []TimelineEvent{{Kind: EventStatusPage, Actor: orBot(p.Actor), At: now, Key: p.Kind != postComponents, Text: line,
			SourceID: p.source(), Data: data}}, nil
	})
	if ErrorCode(err) == ECONFLICT {
		return nil // recorded by a run that raced this one
	} else if err != nil {
		return fmt.Errorf("record the status page post: %w", err)
	}
	return s.scheduleSync(ctx, updated, syncPayload{IncidentID: inc.ID, Notices: []Notice{n}})
}

// statusPageFailed says in the channel, once per post and round, that the
// post failed and why, with a Retry button; a refusal is final, anything
// else is retried with backoff by the job engine.
func (s *Service) statusPageFailed(ctx context.Context, inc *Incident, sp StatusPage, p postPayload, cause error, attempt, maxAttempts int) error {
	code := ErrorCode(cause)
	final := code == EINVALID || code == EFORBIDDEN || code == ENOTFOUND
	last := final || (maxAttempts > 0 && attempt >= maxAttempts)
	s.log.WarnContext(ctx, "status page post failed", "incident", inc.Key(), "kind", p.Kind, "attempt", attempt, "err", cause)
	if inc.ChannelID != "" && (attempt <= 1 || last) {
		source := fmt.Sprintf("statuspage:fail:%s:%s:%d", p.Kind, p.Ref, p.Round)
		if last && !final {
			source += ":last"
		}
		retry := "background"
		switch {
		case final:
			retry = "final"
		case last:
			retry = "gave_up"
		}
		ev := TimelineEvent{IncidentID: inc.ID, Kind: EventProviderFailure, Actor: sp.Name(), At: s.clock.Now(), SourceID: source,
			Text: "Status page post failed: " + ErrorMessage(cause), Data: map[string]string{"kind": p.Kind, "ref": p.Ref, "body": p.Body}}
		if err := s.store.AddTimelineEvent(ctx, &ev); err == nil {
			value := fmt.Sprintf("%d|%s|%s|%d", inc.ID, p.Kind, p.Ref, p.Round+1)
			n := Notice{Kind: NoticeStatusPageFailed, Incident: inc.Key(), Actor: sp.Name(),
				Values:  map[string]string{"provider": sp.Title(), "error": ErrorMessage(cause), "retry": retry},
				Buttons: []Button{{Action: ActionStatusPageRetry, Text: "Retry", Value: value, Style: "danger"}}}
			if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
				s.log.WarnContext(ctx, "could not report the failed status page post", "incident", inc.Key(), "err", err)
			}
		}
	}
	if final {
		return fmt.Errorf("status page post for %s: %w: %w", inc.Key(), cause, ErrJobCancel)
	}
	return fmt.Errorf("status page post for %s: %w", inc.Key(), cause)
}

// RetryStatusPage posts again after a failure, from the Retry button. The
// retry first looks for what an earlier attempt may have posted.
func (s *Service) RetryStatusPage(ctx context.Context, value, actor string) error {
	parts := strings.Split(value, "|")
	if len(parts) != 4 {
		return Errorf(EINVALID, "The button does not name a status page post.")
	}
	id, err1 := strconv.ParseInt(parts[0], 10, 64)
	round, err2 := strconv.Atoi(parts[3])
	if err1 != nil || err2 != nil {
		return Errorf(EINVALID, "The button does not name a status page post.")
	}
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return err
	}
	if err := s.authorizePublish(ctx, inc, actor); err != nil {
		return err
	}
	p := postPayload{IncidentID: id, Kind: parts[1], Ref: parts[2], Actor: actor, Round: round}
	src, _, err := s.timelineBySource(ctx, id)
	if err != nil {
		return err
	}
	if _, done := src[p.source()]; done {
		return Errorf(ECONFLICT, "That post is already on the status page.")
	}
	for k, ev := range src {
		if strings.HasPrefix(k, fmt.Sprintf("statuspage:fail:%s:%s:%d", p.Kind, p.Ref, round-1)) {
			p.Body = ev.Data["body"]
		}
	}
	return s.schedulePost(ctx, p)
}

// lastComponents returns the component state last posted.
func lastComponents(events []TimelineEvent) ComponentStatus {
	var cs ComponentStatus
	for _, ev := range events {
		if ev.Kind == EventStatusPage && ev.Data["components"] != "" {
			cs = ComponentStatus(ev.Data["components"])
		}
	}
	return cs
}

// publicName is the public incident's title: what customers use, never
// the internal title; a private incident shows only its redacted name.
func publicName(inc *Incident, p Policy) string {
	if inc.Private {
		return DisclosedTitle(inc, DiscloseRedacted)
	}
	if svc, ok := p.Services[inc.Service]; ok && svc.Name != "" {
		return "Issue affecting " + truncate(svc.Name, 180)
	}
	return "Service disruption"
}

// templateFor names the comms template of a post kind.
func templateFor(kind string) string {
	switch kind {
	case PostAcknowledge:
		return "comms_statuspage_ack.tmpl"
	case PostResolution:
		return "comms_resolution.tmpl"
	}
	return "comms_statuspage_update.tmpl"
}

// leadingStatus is the "Investigating - " a draft starts with; status pages
// show the status themselves.
var leadingStatus = regexp.MustCompile(`^(?i)(investigating|identified|monitoring|update|resolved)\s+-\s+`)

// draftBody renders the public text of a post kind.
func (s *Service) draftBody(ctx context.Context, inc *Incident, kind, ref string) (string, error) {
	text, err := s.renderComms(ctx, inc, templateFor(kind), ref)
	if err != nil {
		return "", err
	}
	text = leadingStatus.ReplaceAllString(strings.TrimSpace(text), "")
	// The copy-paste drafts end with when they were written; a status page
	// stamps each post itself.
	if i := strings.LastIndex(text, "\n"); i >= 0 && strings.HasPrefix(text[i+1:], "Posted ") {
		text = strings.TrimSpace(text[:i])
	}
	return text, nil
}

// renderComms renders a comms template; with ref naming a status update,
// that update is the latest one.
func (s *Service) renderComms(ctx context.Context, inc *Incident, name, ref string) (string, error) {
	updates, err := s.store.ListStatusUpdates(ctx, inc.ID)
	if err != nil {
		return "", fmt.Errorf("comms: %w", err)
	}
	if ref != "" {
		for i, u := range updates {
			if strconv.FormatInt(u.ID, 10) == ref {
				updates = updates[:i+1]
				break
			}
		}
	}
	data := s.commsData(inc, updates)
	if s.templates == nil {
		return fallbackComms(name, data), nil
	}
	text, err := s.templates.Render(name, data)
	if err != nil {
		return "", fmt.Errorf("comms: %w", err)
	}
	return text, nil
}

// fallbackComms is the text when no templates are loaded.
func fallbackComms(name string, d CommsData) string {
	switch name {
	case "comms_statuspage_ack.tmpl":
		return fmt.Sprintf("We are aware of an issue affecting %s and are investigating. We will post an update within %d minutes.", d.Affected, d.NextUpdateMinutes)
	case "comms_resolution.tmpl":
		return fmt.Sprintf("The issue affecting %s has been resolved.", d.Affected)
	case "comms_customer_email.tmpl":
		return fmt.Sprintf("Subject: %s disruption\n\nWe are writing about a problem that affected %s.", d.Affected, d.Affected)
	}
	return strings.TrimSpace(fmt.Sprintf("We are continuing to investigate the issue affecting %s. %s", d.Affected, d.LatestUpdate))
}

func minutes(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
	}
	m := int(d.Round(time.Minute).Minutes())
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

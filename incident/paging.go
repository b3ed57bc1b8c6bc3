package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Job kinds of paging.
const (
	JobPage         = "incident.page"
	JobAckPage      = "incident.ack_page"
	JobResolvePages = "incident.resolve_pages"
	JobOnCall       = "incident.oncall"
)

// pageChannelWait is how long a page waits for the incident channel, whose
// link it carries, before going out without it. Short: pages come first, and
// under Slack's rate limits (20 new channels a minute) a burst of declares
// must not hold on-call back.
const pageChannelWait = 2 * time.Second

// pageRetryNoChannel is how soon a failed page is tried again while the
// incident has no channel yet, so the failure is said there soon after
// the channel exists (the outbound circuit breaker spares PagerDuty).
const pageRetryNoChannel = 3 * time.Second

// pageAttempts bounds paging retries; the engine's backoff spreads them over
// about an hour, and the channel is told at the first failure and the last.
const pageAttempts = 10

type pagePayload struct {
	IncidentID int64  `json:"incident_id"`
	Service    string `json:"service"`
	Backup     bool   `json:"backup"`
	Actor      string `json:"actor"`
	// Round makes a deliberate re-page a new page; 0 is the first.
	Round int `json:"round"`
}

// PagingEnabled reports whether the service can be paged.
func (s *Service) PagingEnabled(svc ServicePolicy) bool {
	if s.pager == nil {
		return false
	}
	if e, ok := s.pager.(interface{ Enabled(ServicePolicy) bool }); ok {
		return e.Enabled(svc)
	}
	return true
}

// dedupKey names a page at the provider: one per incident, service and
// round, so a retried job never pages twice and a re-page is a new page.
func dedupKey(incidentID int64, service string, round int) string {
	k := fmt.Sprintf("firebreak-%d-%s", incidentID, service)
	if round > 0 {
		k += fmt.Sprintf("-r%d", round)
	}
	return k
}

// planPage schedules the page of a declare or a severity raise, per the
// severity's paging policy (or the declarer's override).
func (s *Service) planPage(ctx context.Context, sched Scheduler, inc *Incident, override *bool, actor string) error {
	sp := s.policy.Severity(inc.Severity)
	page := sp.Paging != PageNone
	if override != nil {
		page = *override
	}
	if !page || inc.Service == "" {
		return nil
	}
	return s.schedulePage(ctx, sched, pagePayload{IncidentID: inc.ID, Service: inc.Service, Backup: sp.Paging == PageOnCallAndBackup, Actor: actor})
}

func (s *Service) schedulePage(ctx context.Context, sched Scheduler, p pagePayload) error {
	payload, _ := json.Marshal(p)
	key := dedupKey(p.IncidentID, p.Service, p.Round)
	if p.Backup {
		key += "-backup"
	}
	if _, err := sched.Schedule(ctx, Job{Kind: JobPage, Key: key, Payload: payload, MaxAttempts: pageAttempts, Urgent: true}); err != nil {
		return fmt.Errorf("schedule page: %w", err)
	}
	return nil
}

// Page pages a service's on-call for an incident: the incident's own
// service, or another one. A page of a service already paged for this
// incident pages again (a new round), which is what the button is for.
func (s *Service) Page(ctx context.Context, id int64, service, actor string) (*Incident, error) {
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, Request{Subject: Subject{User: actor}, Action: ActPage, Incident: inc}); err != nil {
		return nil, err
	}
	if service == "" {
		service = inc.Service
	}
	if service == "" {
		return nil, Errorf(EINVALID, "%s has no affected service; say which to page: `%s page <service>` (%s).", inc.Key(), s.policy.Command, strings.Join(s.policy.ServiceKeys(), ", "))
	}
	svc, ok := s.policy.Services[service]
	if !ok {
		return nil, Errorf(EINVALID, "Unknown service %q. Known services: %s.", service, strings.Join(s.policy.ServiceKeys(), ", "))
	}
	if !s.PagingEnabled(svc) {
		return nil, Errorf(EINVALID, "Paging is not configured for %s: set PAGERDUTY_TOKEN and the service's pagerduty.service_id, or its pagerduty.routing_key.", svc.Name)
	}
	pages, err := s.store.ListPages(ctx, id)
	if err != nil {
		return nil, err
	}
	round := 0
	for _, p := range pages {
		if p.Service == service {
			round++
		}
	}
	return inc, s.schedulePage(ctx, s.sched, pagePayload{IncidentID: id, Service: service, Actor: actor, Round: round,
		Backup: s.policy.Severity(inc.Severity).Paging == PageOnCallAndBackup})
}

// runPage is the JobPage handler. Nothing waits on it: the channel is told
// when the page went out, or that it failed and is being retried.
func (s *Service) runPage(ctx context.Context, payload []byte) error {
	var p pagePayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode page: %w: %w", err, ErrJobCancel)
	}
	inc, err := s.store.GetIncident(ctx, p.IncidentID)
	if err != nil {
		return fmt.Errorf("page: %w", err)
	}
	svc, ok := s.policy.Services[p.Service]
	if !ok || (!s.PagingEnabled(svc) && !inc.Drill) {
		return nil
	}
	key := dedupKey(inc.ID, p.Service, p.Round)
	source := "page:" + key
	if p.Backup {
		source += ":backup"
	}
	if inc.Drill {
		// A drill pages the policy's test service, or nobody.
		test, real := s.drillPagerService(svc)
		if !real || !s.PagingEnabled(test) {
			return s.simulatePage(ctx, inc, p, svc, source)
		}
		svc = test
	}
	page, err := s.store.FindPage(ctx, "pagerduty", key)
	if err != nil && inc.ChannelID == "" && s.clock.Now().Sub(inc.DeclaredAt) < pageChannelWait {
		// The page carries the channel's link; the channel is normally
		// there within a second or two of the declaration.
		return RetryLater(250*time.Millisecond, "%s has no channel yet", inc.Key())
	}
	if err != nil || p.Backup && !s.announced(ctx, inc.ID, source) {
		// Not paged yet, or a raise to a severity that also pages the
		// backup: paging the same dedup key again adds the backup to the
		// open page without paging on-call twice.
		email := ""
		if p.Actor != "" && p.Actor != "bot" {
			email, _ = s.chat.UserEmail(ctx, p.Actor)
		}
		// A private incident's page carries what the policy allows.
		title, details := DisclosedTitle(inc, s.policy.PrivatePages), inc.Description
		if title != inc.Title {
			details = ""
		}
		if inc.Drill {
			title = "[DRILL] " + title
		}
		req := PageRequest{IncidentID: inc.ID, IncidentKey: inc.Key(), Title: title,
			Details: details, Severity: inc.Severity, Service: svc, Urgency: urgency(inc.Severity), FromEmail: email,
			Backup: p.Backup, DedupKey: key, Link: s.channelLink(inc), Runbook: svc.Runbook}
		page, err = s.pager.Page(ctx, req)
		if code := ErrorCode(err); email != "" && (code == EINVALID || code == ENOTFOUND) {
			// The declarer may have no account at the provider: page as
			// the bot rather than not at all.
			s.log.WarnContext(ctx, "paging as the declarer was refused; paging as the bot", "incident", inc.Key(), "err", err)
			req.FromEmail = ""
			page, err = s.pager.Page(ctx, req)
		}
		if err != nil {
			return s.pageFailed(ctx, inc, p, svc, err)
		}
		page.IncidentID, page.Service, page.DedupKey = inc.ID, p.Service, key
		if page.CreatedAt.IsZero() {
			page.CreatedAt = s.clock.Now()
		}
		// The page and what follows it (inviting its people, escalating it
		// if nobody acknowledges) are recorded together.
		if err := s.store.Atomic(ctx, func(tx Tx) error {
			if err := tx.AddPage(ctx, page); err != nil && ErrorCode(err) != ECONFLICT {
				return err
			}
			return s.followPage(ctx, tx, inc, page, source)
		}); err != nil {
			return fmt.Errorf("record page: %w", err)
		}
		s.observer.Paged(inc, p.Service)
	}
	if s.announced(ctx, inc.ID, source) {
		return nil // a redelivered job
	}
	if inc.ChannelID == "" {
		// Paged already; the announcement waits for the channel.
		return RetryLater(2*time.Second, "%s has no channel yet", inc.Key())
	}
	who := "on-call"
	if len(page.Assignees) > 0 {
		who = strings.Join(page.Assignees, ", ")
	}
	if p.Backup {
		who += " (and the backup)"
	}
	text := fmt.Sprintf(":pager: Paged *%s* in PagerDuty: %s.", svc.Name, who)
	if page.URL != "" {
		text += fmt.Sprintf(" <%s|Open in PagerDuty>", page.URL)
	}
	if _, err := s.chat.PostButtons(ctx, inc.ChannelID, text, []Button{{Action: ActionAckPage, Text: "Acknowledge", Value: key, Style: "primary"}}); err != nil {
		return fmt.Errorf("announce the page: %w", err)
	}
	ev := TimelineEvent{IncidentID: inc.ID, Kind: EventPaged, Actor: orBot(p.Actor), At: page.CreatedAt, Key: true, Text: text,
		SourceID: source, Data: map[string]string{"service": p.Service, "page": key}}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && ErrorCode(err) != ECONFLICT {
		return fmt.Errorf("record page: %w", err)
	}
	return nil
}

// announced reports whether the timeline has the event with this source id.
func (s *Service) announced(ctx context.Context, incidentID int64, source string) bool {
	events, err := s.store.ListTimeline(ctx, incidentID)
	if err != nil {
		return false
	}
	for _, ev := range events {
		if ev.SourceID == source {
			return true
		}
	}
	return false
}

// pageRetryEvery is how often a page that failed for a passing reason is
// tried again: steadily, not with a growing backoff, because on-call must
// hear as soon as PagerDuty is back. The retries are snoozes, so they do not
// use up the job's attempts.
const pageRetryEvery = 15 * time.Second

// pageFailed says in the channel, once, that the page did not go out and
// why, with a Retry button, and keeps retrying in the background; a refusal
// (bad configuration, unknown user) is final and said as such.
func (s *Service) pageFailed(ctx context.Context, inc *Incident, p pagePayload, svc ServicePolicy, cause error) error {
	code := ErrorCode(cause)
	final := code == EINVALID || code == EFORBIDDEN || code == ENOTFOUND
	if inc.ChannelID != "" {
		text := fmt.Sprintf(":warning: *Paging %s failed*: %s", svc.Name, ErrorMessage(cause))
		if final {
			text += " Retrying cannot fix this; correct it and use Retry, or page by phone."
		} else {
			text += " Retrying in the background."
		}
		ev := TimelineEvent{IncidentID: inc.ID, Kind: EventProviderFailure, Actor: "pagerduty", At: s.clock.Now(),
			Text: "Paging " + svc.Name + " failed: " + ErrorMessage(cause), SourceID: "pagefail:" + dedupKey(p.IncidentID, p.Service, p.Round)}
		// Said once: the line is posted first (a keyed post, so a retry of
		// this job finds it rather than posting it again) and then marked,
		// so a failed post is retried instead of forgotten.
		if !s.announced(ctx, inc.ID, ev.SourceID) {
			value, _ := json.Marshal(pagePayload{IncidentID: p.IncidentID, Service: p.Service, Round: p.Round + 100, Backup: p.Backup})
			if _, err := s.chat.PostButtons(ctx, inc.ChannelID, text, []Button{{Action: ActionRetryPage, Text: "Retry page", Value: string(value), Style: "danger"}}); err != nil {
				s.log.WarnContext(ctx, "could not report the failed page yet", "incident", inc.Key(), "err", err)
				return fmt.Errorf("report the failed page of %s: %w", inc.Key(), err)
			}
			if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && ErrorCode(err) != ECONFLICT {
				return fmt.Errorf("record the failed page of %s: %w", inc.Key(), err)
			}
		}
	}
	if final {
		return fmt.Errorf("page %s: %w: %w", svc.Name, cause, ErrJobCancel)
	}
	if _, ok := errorRetryAfter(cause); ok {
		return fmt.Errorf("page %s: %w", svc.Name, cause) // rate limited: the engine waits as told
	}
	if inc.ChannelID == "" {
		return RetryLater(pageRetryNoChannel, "paging %s failed: %s", svc.Name, ErrorMessage(cause))
	}
	return RetryLater(pageRetryEvery, "paging %s failed: %s", svc.Name, ErrorMessage(cause))
}

// errorRetryAfter finds a Retry-After in an error chain.
func errorRetryAfter(err error) (time.Duration, bool) {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter(), true
	}
	return 0, false
}

// RetryPage pages again after a failure, from the Retry button.
func (s *Service) RetryPage(ctx context.Context, value, actor string) error {
	var p pagePayload
	if err := json.Unmarshal([]byte(value), &p); err != nil || p.IncidentID == 0 {
		return Errorf(EINVALID, "The button does not name a page.")
	}
	if err := s.authorizeOn(ctx, p.IncidentID, actor, ActPage); err != nil {
		return err
	}
	p.Actor = actor
	p.Round += int(s.clock.Now().Unix() % 1000) // a fresh job even if an earlier retry is pending
	return s.schedulePage(ctx, s.sched, p)
}

func urgency(sev Severity) string {
	if sev <= P2 {
		return "high"
	}
	return "low"
}

func orBot(actor string) string {
	if actor == "" {
		return "bot"
	}
	return actor
}

// channelLink is a web link to the incident channel: Slack's app_redirect
// opens the channel in the app on a phone and in the browser elsewhere,
// where a slack:// link works only with the desktop app installed.
func (s *Service) channelLink(inc *Incident) string {
	if inc.ChannelID == "" {
		return ""
	}
	return "https://slack.com/app_redirect?channel=" + url.QueryEscape(inc.ChannelID)
}

type ackPagePayload struct {
	PageKey string      `json:"page"`
	User    string      `json:"user"`
	Reply   ReplyTarget `json:"reply"`
}

// AcknowledgePage acknowledges a page in PagerDuty as the person who
// clicked, mapped by their Slack e-mail. It runs as a job: the click is
// answered at once, and PagerDuty's webhook confirms it in the channel.
func (s *Service) AcknowledgePage(ctx context.Context, pageKey string, user string, reply ReplyTarget) error {
	if _, err := s.store.FindPage(ctx, "pagerduty", pageKey); err != nil {
		return Errorf(ENOTFOUND, "That page no longer exists.")
	}
	payload, _ := json.Marshal(ackPagePayload{PageKey: pageKey, User: user, Reply: reply})
	_, err := s.sched.Schedule(ctx, Job{Kind: JobAckPage, Key: "ack:" + pageKey + ":" + user, Payload: payload, MaxAttempts: 5, Urgent: true})
	return err
}

func (s *Service) runAckPage(ctx context.Context, payload []byte) error {
	var p ackPagePayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode ack: %w: %w", err, ErrJobCancel)
	}
	page, err := s.store.FindPage(ctx, "pagerduty", p.PageKey)
	if err != nil {
		return fmt.Errorf("acknowledge: %w: %w", err, ErrJobCancel)
	}
	email, err := s.chat.UserEmail(ctx, p.User)
	if err != nil || email == "" {
		_ = s.chat.Reply(ctx, p.Reply, "I could not read your e-mail address from Slack, so I cannot act as you in PagerDuty. Acknowledge in the PagerDuty app instead.")
		return nil
	}
	if err := s.pager.Acknowledge(ctx, *page, email); err != nil {
		if c := ErrorCode(err); c == ENOTFOUND || c == EINVALID || c == EFORBIDDEN {
			_ = s.chat.Reply(ctx, p.Reply, "PagerDuty did not accept the acknowledgement: "+ErrorMessage(err))
			return nil
		}
		return fmt.Errorf("acknowledge page %s: %w", p.PageKey, err)
	}
	return s.applyAck(ctx, page, p.User, "", s.clock.Now(), "slack-ack:"+p.PageKey)
}

// HandlePageEvent applies a PagerDuty webhook delivery: a line in the
// channel, a timeline event, the panel refreshed, and on the first
// acknowledgement the incident's acknowledged time. A redelivery (same
// delivery id) changes nothing.
func (s *Service) HandlePageEvent(ctx context.Context, ev PageEvent) error {
	var page *Page
	var err error
	for _, ref := range []string{ev.DedupKey, ev.ExternalID} {
		if ref == "" {
			continue
		}
		if page, err = s.store.FindPage(ctx, "pagerduty", ref); err == nil {
			break
		} else if ErrorCode(err) != ENOTFOUND {
			// The store failed: the sender must deliver the event again.
			return fmt.Errorf("find the page of %s: %w", ref, err)
		}
	}
	if page == nil {
		return nil // not a page of ours
	}
	at := ev.At
	if at.IsZero() {
		at = s.clock.Now()
	}
	switch ev.Kind {
	case PageAcknowledged:
		return s.applyAck(ctx, page, "", ev.Agent, at, "pd:"+ev.DeliveryID)
	default:
		return s.applyPageEvent(ctx, page, ev, at)
	}
}

// applyAck records an acknowledgement once per source id.
func (s *Service) applyAck(ctx context.Context, page *Page, slackUser, agent string, at time.Time, sourceID string) error {
	who := agent
	if slackUser != "" {
		who = mention(slackUser)
	}
	if who == "" {
		who = "someone"
	}
	text := fmt.Sprintf(":white_check_mark: Acknowledged by %s in PagerDuty, %s after the page.", who, Since(page.CreatedAt, at))
	// The dedupe marker (the event's source id), the page and the incident
	// change together, or not at all so that a redelivery applies them.
	return s.store.Atomic(ctx, func(tx Tx) error { return s.applyAckIn(ctx, tx, page, slackUser, who, text, at, sourceID) })
}

func (s *Service) applyAckIn(ctx context.Context, tx Tx, page *Page, slackUser, who, text string, at time.Time, sourceID string) error {
	if err := tx.AddTimelineEvent(ctx, &TimelineEvent{IncidentID: page.IncidentID, Kind: EventAcknowledged, Actor: orBot(slackUser),
		At: at, Key: true, Text: text, SourceID: sourceID, Data: map[string]string{"page": page.DedupKey, "by": who}}); ErrorCode(err) == ECONFLICT {
		return nil
	} else if err != nil {
		return fmt.Errorf("record acknowledgement: %w", err)
	}
	if _, err := tx.UpdatePage(ctx, page.ID, func(p *Page) error {
		if p.AcknowledgedAt == nil {
			t := at
			p.AcknowledgedAt, p.AcknowledgedBy = &t, who
		}
		p.Status = "acknowledged"
		return nil
	}); err != nil {
		return fmt.Errorf("record acknowledgement: %w", err)
	}
	_, err := s.changeIn(ctx, tx, page.IncidentID, func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
		if i.AcknowledgedAt == nil {
			t := at
			i.AcknowledgedAt = &t // MTTA counts from the first acknowledgement
		}
		return nil, &syncPayload{Lines: []string{text}}, nil
	})
	if ErrorCode(err) == ECONFLICT {
		return nil // closed meanwhile
	}
	return err
}

func (s *Service) applyPageEvent(ctx context.Context, page *Page, ev PageEvent, at time.Time) error {
	var text, status string
	agent := ev.Agent
	if agent == "" {
		agent = "PagerDuty"
	}
	switch ev.Kind {
	case PageUnacknowledged:
		text, status = fmt.Sprintf(":warning: The page for %s is unacknowledged again (the acknowledgement timed out).", page.Service), "triggered"
	case PageEscalated:
		text, status = fmt.Sprintf(":arrow_double_up: PagerDuty escalated the page for %s%s.", page.Service, assigneesText(ev.Assignees)), "triggered"
	case PageReassigned:
		text, status = fmt.Sprintf(":arrows_counterclockwise: %s reassigned the page for %s%s.", agent, page.Service, assigneesText(ev.Assignees)), page.Status
	case PageResolved:
		text, status = fmt.Sprintf(":white_check_mark: The page for %s was resolved in PagerDuty by %s.", page.Service, agent), "resolved"
	case PageReopened:
		text, status = fmt.Sprintf(":warning: The page for %s was reopened in PagerDuty by %s.", page.Service, agent), "triggered"
	default:
		return nil
	}
	return s.store.Atomic(ctx, func(tx Tx) error { return s.applyPageEventIn(ctx, tx, page, ev, at, text, status) })
}

func (s *Service) applyPageEventIn(ctx context.Context, tx Tx, page *Page, ev PageEvent, at time.Time, text, status string) error {
	if err := tx.AddTimelineEvent(ctx, &TimelineEvent{IncidentID: page.IncidentID, Kind: EventPaged, Actor: "pagerduty", At: at,
		Text: text, SourceID: "pd:" + ev.DeliveryID, Data: map[string]string{"page": page.DedupKey, "event": string(ev.Kind)}}); ErrorCode(err) == ECONFLICT {
		return nil
	} else if err != nil {
		return fmt.Errorf("record page event: %w", err)
	}
	if ev.Kind == PageEscalated || ev.Kind == PageReassigned {
		if err := s.scheduleInvitePaged(ctx, tx, page, "pd:"+ev.DeliveryID); err != nil {
			return err
		}
	}
	if _, err := tx.UpdatePage(ctx, page.ID, func(p *Page) error {
		p.Status = status
		if len(ev.Assignees) > 0 {
			p.Assignees = ev.Assignees
		}
		switch ev.Kind {
		case PageResolved:
			t := at
			p.ResolvedAt = &t
		case PageReopened:
			p.ResolvedAt = nil // open again: it has not been resolved
		}
		return nil
	}); err != nil {
		return fmt.Errorf("record page event: %w", err)
	}
	_, err := s.changeIn(ctx, tx, page.IncidentID, func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
		return nil, &syncPayload{Lines: []string{text}}, nil
	})
	if ErrorCode(err) == ECONFLICT {
		return nil
	}
	return err
}

func assigneesText(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " to " + strings.Join(names, ", ")
}

// runResolvePages resolves an incident's open pages when it is resolved.
func (s *Service) runResolvePages(ctx context.Context, payload []byte) error {
	var p pagePayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode resolve pages: %w: %w", err, ErrJobCancel)
	}
	pages, err := s.store.ListPages(ctx, p.IncidentID)
	if err != nil {
		return err
	}
	for _, page := range pages {
		if page.Status == "resolved" {
			continue
		}
		if err := s.pager.Resolve(ctx, page); err != nil {
			return fmt.Errorf("resolve page %s: %w", page.DedupKey, err)
		}
		if _, err := s.store.UpdatePage(ctx, page.ID, func(pg *Page) error {
			pg.Status = "resolved"
			t := s.clock.Now()
			pg.ResolvedAt = &t
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

type onCallPayload struct {
	Service string      `json:"service"`
	Reply   ReplyTarget `json:"reply"`
}

// OnCall answers "/incident oncall [service]" from a job, through the reply
// target: the lookup goes to PagerDuty, off the 3-second path.
func (s *Service) OnCall(ctx context.Context, service string, reply ReplyTarget) error {
	if _, ok := s.policy.Services[service]; !ok {
		return Errorf(EINVALID, "Unknown service %q. Known services: %s.", service, strings.Join(s.policy.ServiceKeys(), ", "))
	}
	if !s.PagingEnabled(s.policy.Services[service]) {
		return Errorf(EINVALID, "PagerDuty is not configured for %s.", service)
	}
	payload, _ := json.Marshal(onCallPayload{Service: service, Reply: reply})
	_, err := s.sched.Schedule(ctx, Job{Kind: JobOnCall, Payload: payload, MaxAttempts: 3, Urgent: true})
	return err
}

func (s *Service) runOnCall(ctx context.Context, payload []byte) error {
	var p onCallPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode on-call: %w: %w", err, ErrJobCancel)
	}
	svc := s.policy.Services[p.Service]
	people, err := s.pager.OnCall(ctx, svc)
	if err != nil {
		if attempt, max := JobAttempt(ctx); attempt >= max {
			_ = s.chat.Reply(ctx, p.Reply, "Could not ask PagerDuty who is on call: "+ErrorMessage(err))
			return nil
		}
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*On call for %s now*\n", svc.Name)
	if len(people) == 0 {
		b.WriteString("Nobody is on call in PagerDuty for this service.")
	}
	for _, o := range people {
		until := ""
		if !o.Until.IsZero() {
			until = " until " + o.Until.In(s.policy.Location).Format("Mon 15:04 MST")
		}
		fmt.Fprintf(&b, "• Level %d: %s (%s)%s\n", o.Level, o.Name, o.Schedule, until)
	}
	return s.chat.Reply(ctx, p.Reply, strings.TrimRight(b.String(), "\n"))
}

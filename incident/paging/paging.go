// Package paging pages on-call for incidents: the page of a declare or a
// severity raise, pages asked for by hand, their acknowledgements and
// escalations from the provider, the bot's own re-page when nobody
// answers, inviting the people paged, resolving the pages with the
// incident, drills' test pages, and "who is on call?". It reaches the
// provider through incident.Pager (with its optional PageEscalator and
// PageResponders) and says what happened as incident.Notice values.
package paging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// Job kinds of paging. The names predate the package and stay, so jobs
// stored by an earlier version still run.
const (
	JobPage         = "incident.page"
	JobAckPage      = "incident.ack_page"
	JobResolvePages = "incident.resolve_pages"
	JobOnCall       = "incident.oncall"
	// JobRepage escalates a page nobody acknowledged within the severity's
	// response target.
	JobRepage = "incident.repage"
	// JobInvitePaged invites the people a page reached into the incident
	// channel.
	JobInvitePaged = "incident.invite_paged"
	// JobPageEvent applies a PagerDuty report that arrived while the bot
	// was escalating the page, once the escalation is recorded.
	JobPageEvent = "incident.page_event"
)

// Store is what paging needs of the incident store.
type Store interface {
	GetIncident(ctx context.Context, id int64) (*incident.Incident, error)
	// ListTimeline and AddTimelineEvent keep the dedupe markers (events
	// with a SourceID) that say a page was announced once.
	ListTimeline(ctx context.Context, incidentID int64) ([]incident.TimelineEvent, error)
	AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error
	// UpdateTimelineEvent changes the event with this source id: the
	// record of an escalation in flight, when it ends.
	UpdateTimelineEvent(ctx context.Context, incidentID int64, sourceID string, fn func(*incident.TimelineEvent) error) (*incident.TimelineEvent, error)
	// AddPage stores a page; ECONFLICT when Provider+DedupKey exists.
	AddPage(ctx context.Context, p *incident.Page) error
	// UpdatePage applies fn to a stored page in one transaction.
	UpdatePage(ctx context.Context, id int64, fn func(*incident.Page) error) (*incident.Page, error)
	// FindPage returns the page whose ExternalID or DedupKey is ref.
	FindPage(ctx context.Context, provider, ref string) (*incident.Page, error)
	// ListPages returns an incident's pages, oldest first.
	ListPages(ctx context.Context, incidentID int64) ([]incident.Page, error)
	// Atomic is incident.Store's; the transaction it passes must be a Tx.
	Atomic(ctx context.Context, fn func(tx incident.Tx) error) error
	// InstallationID is this installation's id (incident.NewInstallationID),
	// made once and the same for every replica on the store: page keys
	// carry it (ADR 0059).
	InstallationID(ctx context.Context) (string, error)
}

// Tx is what paging writes on a transaction of the Store besides the
// core's rows: the pages. The incident.Tx of the Store's Atomic must be one.
type Tx interface {
	AddPage(ctx context.Context, p *incident.Page) error
	UpdatePage(ctx context.Context, id int64, fn func(*incident.Page) error) (*incident.Page, error)
	FindPage(ctx context.Context, provider, ref string) (*incident.Page, error)
}

// Core is what paging needs of the incident core (*incident.Service).
type Core interface {
	Authorize(ctx context.Context, req incident.Request) (incident.Decision, error)
	// ChangeIn changes an incident on paging's own transaction and says
	// the notices in its channel.
	ChangeIn(ctx context.Context, tx incident.Tx, id int64, fn func(*incident.Incident) ([]incident.TimelineEvent, []incident.Notice, error)) (*incident.Incident, error)
}

// Chat is the Slack side of paging.
type Chat interface {
	// Notify says a notice, with its buttons, in a channel.
	Notify(ctx context.Context, channelID string, n incident.Notice) (string, error)
	// Tell says a notice to one person, privately.
	Tell(ctx context.Context, to incident.ReplyTarget, n incident.Notice) error
	UserEmail(ctx context.Context, user string) (string, error)
	// IsGuest reports whether a user is a guest of the workspace, who
	// never acknowledges a page.
	IsGuest(ctx context.Context, user string) (bool, error)
	ResolveUsers(ctx context.Context, refs []string) (ids, missing []string, err error)
	Invite(ctx context.Context, channelID string, users []string) error
}

// Observer is told of each page created at the provider, for metrics.
type Observer interface {
	Paged(inc *incident.Incident, service string)
}

// Config holds the Service's dependencies.
type Config struct {
	Store Store
	Core  Core
	Chat  Chat
	// Pager pages on-call; nil turns paging off (drills still simulate
	// their pages).
	Pager     incident.Pager
	Scheduler incident.Scheduler
	Observer  Observer
	// Policy gives the services, the severities' paging and response
	// targets, and the drills' test service; zero means the default.
	Policy incident.Policy
	Clock  incident.Clock
	Logger *slog.Logger
	// Render words a notice for the timeline as the chat would say it, as
	// the core's ServiceConfig.Render; nil means Notice.String.
	Render func(incident.Notice) string
	// Installation is this installation's id in its page keys; empty
	// means the one the Store keeps (made once, the same for every
	// replica), or, for a store that keeps none, one made for the process.
	Installation string
}

// Service pages on-call and follows each page until someone answers.
type Service struct {
	store      Store
	core       Core
	chat       Chat
	pager      incident.Pager
	sched      incident.Scheduler
	observer   Observer
	policy     incident.Policy
	clock      incident.Clock
	log        *slog.Logger
	noticeText func(incident.Notice) string
	keys       *keys
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = incident.SystemClock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Policy.Severities == nil {
		cfg.Policy = incident.DefaultPolicy()
	}
	if cfg.Policy.Location == nil {
		cfg.Policy.Location = time.UTC
	}
	if cfg.Render == nil {
		cfg.Render = incident.Notice.String
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	return &Service{store: cfg.Store, core: cfg.Core, chat: cfg.Chat, pager: cfg.Pager, sched: cfg.Scheduler, observer: cfg.Observer,
		policy: cfg.Policy, clock: cfg.Clock, log: cfg.Logger, noticeText: cfg.Render, keys: &keys{store: cfg.Store, id: cfg.Installation}}
}

type noObserver struct{}

func (noObserver) Paged(*incident.Incident, string) {}

// RegisterJobs registers paging's job handlers.
func (s *Service) RegisterJobs(r interface {
	Handle(kind string, h incident.JobHandler)
}) {
	r.Handle(JobPage, s.runPage)
	r.Handle(JobRepage, repager{s}.runRepage)
	r.Handle(JobInvitePaged, repager{s}.runInvitePaged)
	r.Handle(JobPageEvent, s.runPageEvent)
	r.Handle(JobAckPage, s.runAckPage)
	r.Handle(JobResolvePages, s.runResolvePages)
	r.Handle(JobOnCall, s.runOnCall)
}

// Feature is paging's part of the core's lifecycle, for
// incident.Service.Use: a declare pages on-call in its own transaction,
// a raise pages per the new severity, and a resolve resolves the pages.
func (s *Service) Feature() incident.Feature {
	return incident.Feature{Name: "paging", Planner: s.planDeclared, Hook: s.afterChange}
}

// planDeclared schedules a new incident's page on the declare's
// transaction. Paging does not wait for the channel: on-call hears at
// once, on the urgent queue, and the channel learns of the page when it
// exists. An incident declared with a page of its service open at the
// provider already (in.Paged: the PagerDuty incident an alert was) takes
// that page for its own instead of paging the service again.
func (s *Service) planDeclared(ctx context.Context, tx incident.Tx, inc *incident.Incident, in incident.DeclareInput) error {
	svc, ok := s.policy.Services[inc.Service]
	if !ok || !canPage(s.pager, svc) && !inc.Drill {
		return nil
	}
	if in.Paged != nil && !inc.Drill {
		if taken, err := (planner{s}).adopt(ctx, tx, inc, *in.Paged, in.DeclaredBy); err != nil || taken {
			return err
		}
	}
	return s.planPage(ctx, tx, inc, in.Page, in.DeclaredBy)
}

// afterChange pages on a severity raise, per the new severity's policy (a
// page already sent for the service is not sent twice, but gains the
// backup for P1), and resolves the incident's pages when it is resolved
// and the policy says so.
func (s *Service) afterChange(ctx context.Context, c incident.Change) error {
	inc := c.Incident
	switch c.Kind {
	case incident.EventSeverityChanged:
		from, ferr := incident.ParseSeverity(c.From)
		to, terr := incident.ParseSeverity(c.To)
		if ferr != nil || terr != nil || to >= from {
			return nil
		}
		if svc, ok := s.policy.Services[inc.Service]; ok && canPage(s.pager, svc) {
			return (planner{s}).raise(ctx, inc, c.Actor)
		}
	case incident.EventStatusChanged:
		if c.To != string(incident.StatusResolved) || s.pager == nil || !s.policy.ResolvePagesOnResolve {
			return nil
		}
		payload, _ := json.Marshal(pagePayload{IncidentID: inc.ID, Resolution: inc.UpdatedAt.UnixNano()})
		if _, err := s.sched.Schedule(ctx, incident.Job{Kind: JobResolvePages, Key: fmt.Sprintf("resolve_pages:%d:%d", inc.ID, inc.UpdatedAt.UnixNano()),
			Payload: payload, MaxAttempts: 8}); err != nil {
			return fmt.Errorf("schedule resolving the pages: %w", err)
		}
	}
	return nil
}

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
	// Retry marks a click of Retry page: the same page (Round) tried
	// again at once, in a job of its own beside the background retries.
	// It keys that job and the report of its failure, never the page.
	Retry int64 `json:"retry,omitempty"`
	// Key names the page when it is one the incident has whose key its
	// round does not give: a page taken from the provider (the PagerDuty
	// incident an alert was), or one sent under a round's key before
	// installations were named in keys. Empty for a round's page.
	Key string `json:"key,omitempty"`
	// New, on a Retry page button, asks for the page under a new key (a
	// new round): the provider has another's open incident under the
	// failed page's key.
	New bool `json:"new,omitempty"`
	// Resolution is, for JobResolvePages, the resolution's time (the
	// incident's UpdatedAt, in Unix nanoseconds), which keys the reports
	// of the pages it could not resolve.
	Resolution int64 `json:"resolution,omitempty"`
}

// name names the page p asks for in this database: its jobs and the
// records of its failures. It is not the page's dedup key at the provider
// (keys.of), which names the installation too.
func (p pagePayload) name() string {
	if p.Key != "" {
		return p.Key
	}
	return legacyKey(p.IncidentID, p.Service, p.Round)
}

// canPage reports whether pager can page the service.
func canPage(pager incident.Pager, svc incident.ServicePolicy) bool {
	if pager == nil {
		return false
	}
	if e, ok := pager.(interface {
		Enabled(incident.ServicePolicy) bool
	}); ok {
		return e.Enabled(svc)
	}
	return true
}

// planPage schedules the page of a declare or a severity raise, per the
// severity's paging policy (or the declarer's override).
func (s *Service) planPage(ctx context.Context, sched incident.Scheduler, inc *incident.Incident, override *bool, actor string) error {
	sp := s.policy.Severity(inc.Severity)
	page := sp.Paging != incident.PageNone
	if override != nil {
		page = *override
	}
	if !page || inc.Service == "" {
		return nil
	}
	return s.schedulePage(ctx, sched, pagePayload{IncidentID: inc.ID, Service: inc.Service, Backup: sp.Paging == incident.PageOnCallAndBackup, Actor: actor})
}

// schedulePage schedules the page p asks for, once per page (and once
// more to add the backup).
func (s *Service) schedulePage(ctx context.Context, sched incident.Scheduler, p pagePayload) error {
	payload, _ := json.Marshal(p)
	key := p.name()
	if p.Backup {
		key += "-backup"
	}
	if p.Retry != 0 {
		key += fmt.Sprintf("-retry%d", p.Retry)
	}
	if _, err := sched.Schedule(ctx, incident.Job{Kind: JobPage, Key: key, Payload: payload, MaxAttempts: pageAttempts, Urgent: true}); err != nil {
		return fmt.Errorf("schedule page: %w", err)
	}
	return nil
}

// authorize checks that actor may do act in inc.
func (s *Service) authorize(ctx context.Context, actor string, act incident.Action, inc *incident.Incident) error {
	d, err := s.core.Authorize(ctx, incident.Request{Subject: incident.Subject{User: actor}, Action: act, Incident: inc})
	if err != nil {
		return fmt.Errorf("check permission: %w", err)
	}
	return d.Err()
}

// pageable refuses a page for an incident that is over: a resolved one is
// reopened first, and a closed one pages nobody.
func pageable(inc *incident.Incident) error {
	switch inc.Status {
	case incident.StatusResolved:
		return incident.Errorf(incident.ECONFLICT, "%s is resolved, so nobody is paged for it; reopen it first if it is not over.", inc.Key())
	case incident.StatusClosed:
		return incident.Errorf(incident.ECONFLICT, "%s is closed, so nobody is paged for it.", inc.Key())
	}
	return nil
}

// Page pages a service's on-call for an incident: the incident's own
// service, or another one. A page of a service already paged for this
// incident pages again (a new round), which is what the button is for.
func (s *Service) Page(ctx context.Context, id int64, service, actor string) (*incident.Incident, error) {
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, actor, incident.ActPage, inc); err != nil {
		return nil, err
	}
	if err := pageable(inc); err != nil {
		return nil, err
	}
	if service == "" {
		service = inc.Service
	}
	if service == "" {
		return nil, incident.Errorf(incident.EINVALID, "%s has no affected service; say which to page: `%s page <service>` (%s).", inc.Key(), s.policy.Command, strings.Join(s.policy.ServiceKeys(), ", "))
	}
	svc, ok := s.policy.Services[service]
	if !ok {
		return nil, incident.Errorf(incident.EINVALID, "Unknown service %q. Known services: %s.", service, strings.Join(s.policy.ServiceKeys(), ", "))
	}
	if !canPage(s.pager, svc) {
		return nil, incident.Errorf(incident.EINVALID, "Paging is not configured for %s: set PAGERDUTY_TOKEN and the service's pagerduty.service_id, or its pagerduty.routing_key.", svc.Name)
	}
	pages, err := s.store.ListPages(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := (guard{s}).mayPageAgain(ctx, inc, service, svc.Name, actor, pages); err != nil {
		return nil, err
	}
	round, err := s.keys.nextRound(ctx, id, service, pages, 0)
	if err != nil {
		return nil, err
	}
	return inc, s.schedulePage(ctx, s.sched, pagePayload{IncidentID: id, Service: service, Actor: actor, Round: round,
		Backup: s.policy.Severity(inc.Severity).Paging == incident.PageOnCallAndBackup})
}

// guard decides who may page again and who may acknowledge a page.
type guard struct{ *Service }

// mayPageAgain limits pages asked for by hand. Every one after the first
// is a new incident at the provider that wakes on-call again (and the
// backup on a P1), so someone without a role in the incident pages the
// incident's own service only once the policy's RepageCooldown has passed
// since its last page, and pages no other service. The IC, the holders of
// the incident's roles and the commander group page at once, whatever the
// service: they lead the response.
func (s guard) mayPageAgain(ctx context.Context, inc *incident.Incident, service, name, actor string, pages []incident.Page) error {
	lead, err := s.isLead(ctx, inc, actor)
	if err != nil || lead {
		return err
	}
	if service != inc.Service {
		reason := fmt.Sprintf("paging a service other than %s's own (%s) is for the people who lead it", inc.Key(), serviceName(s.policy, inc.Service))
		if inc.Service == "" {
			reason = fmt.Sprintf("%s names no affected service, so choosing one to page is for the people who lead it", inc.Key())
		}
		return &incident.Refusal{Action: incident.ActPage, Reason: reason, WhoCan: s.leads(inc)}
	}
	var last time.Time
	for _, p := range pages {
		if p.Service == service && p.CreatedAt.After(last) {
			last = p.CreatedAt
		}
	}
	cooldown := s.policy.RepageCooldown
	if cooldown <= 0 {
		cooldown = incident.DefaultRepageCooldown
	}
	now := s.clock.Now()
	if last.IsZero() || !now.Before(last.Add(cooldown)) {
		return nil
	}
	at := func(t time.Time) string { return t.In(s.policy.Location).Format("15:04 MST") }
	return &incident.Refusal{Action: incident.ActPage, WhoCan: s.leads(inc),
		Reason: fmt.Sprintf("%s was last paged for %s at %s, %s ago, and people without a role in the incident may page it again from %s; those who lead it may page again now",
			name, inc.Key(), at(last), max(now.Sub(last), 0).Round(time.Second), at(last.Add(cooldown)))}
}

// isLead reports whether user leads inc: its IC, the holder of one of its
// roles, or a member of the commander group. The group's membership is the
// core's to read: assigning roles is the IC's and the commander group's.
func (s guard) isLead(ctx context.Context, inc *incident.Incident, user string) (bool, error) {
	if user == "" {
		return false, nil
	}
	if user == inc.Commander {
		return true, nil
	}
	for _, holder := range inc.Roles {
		if holder == user {
			return true, nil
		}
	}
	if s.policy.CommanderGroup == "" {
		return false, nil
	}
	d, err := s.core.Authorize(ctx, incident.Request{Subject: incident.Subject{User: user}, Action: incident.ActAssignRole, Incident: inc})
	if err != nil {
		return false, fmt.Errorf("check permission: %w", err)
	}
	return d.Allowed, nil
}

// leads names who leads inc, for a refusal: the IC, the holders of its
// roles in the policy's order, and the commander group.
func (s guard) leads(inc *incident.Incident) []incident.Principal {
	who := []incident.Principal{{Kind: incident.PrincipalRole, ID: incident.RoleCommander, Holder: inc.Commander}}
	roles := slices.Clone(s.policy.Roles)
	for role := range inc.Roles {
		if !slices.Contains(roles, role) {
			roles = append(roles, role)
		}
	}
	slices.Sort(roles[len(s.policy.Roles):])
	for _, role := range roles {
		if holder := inc.Roles[role]; holder != "" && role != incident.RoleCommander {
			who = append(who, incident.Principal{Kind: incident.PrincipalRole, ID: role, Holder: holder})
		}
	}
	if s.policy.CommanderGroup != "" {
		who = append(who, incident.Principal{Kind: incident.PrincipalRef, ID: s.policy.CommanderGroup})
	}
	return who
}

// serviceName is a service's name from the policy, or its key.
func serviceName(p incident.Policy, key string) string {
	if svc, ok := p.Services[key]; ok && svc.Name != "" {
		return svc.Name
	}
	return key
}

// respondersTimeout bounds asking the provider whom a page went to, on the
// path of an Acknowledge click that Slack wants answered within 3 seconds.
const respondersTimeout = 2 * time.Second

// mayAcknowledge checks that user may acknowledge page from the chat, as
// themselves at the provider. An acknowledgement tells the provider and the
// bot that someone has the page, which stops the escalation to the backup,
// so it is for the people the page went to (when the provider can say who
// they are), the IC, the holders of the incident's roles and the commander
// group; never for a guest of the workspace, whatever they hold. Anyone
// paged can still acknowledge in the provider's own app.
func (s guard) mayAcknowledge(ctx context.Context, inc *incident.Incident, page *incident.Page, user string) error {
	guest, err := s.chat.IsGuest(ctx, user)
	if err != nil {
		s.log.WarnContext(ctx, "could not tell whether the person acknowledging is a guest of the workspace", "incident", inc.Key(), "user", user, "err", err)
		return incident.Errorf(incident.EUNAVAILABLE, "Slack did not say who you are in the workspace, so the page was not acknowledged; try again in a moment, or acknowledge it in PagerDuty.")
	}
	if guest {
		return incident.Errorf(incident.EFORBIDDEN, "Guests of the workspace do not acknowledge pages from Slack: an acknowledgement stops PagerDuty calling the backup. The people the page went to and the incident's leads can.")
	}
	lead, err := s.isLead(ctx, inc, user)
	if err != nil || lead {
		return err
	}
	paged, known, err := s.pagedTo(ctx, inc, page, user)
	if err != nil || paged {
		return err
	}
	ic := "the Incident Commander"
	var args []any
	if inc.Commander != "" {
		ic += " (%s)"
		args = append(args, incident.User(inc.Commander))
	}
	who := "Only the people the page went to, " + ic + ", the incident's role holders and the commander group may acknowledge the page for %s here"
	if !known {
		who = "PagerDuty does not say whom this page went to, so only " + ic + ", the incident's role holders and the commander group may acknowledge the page for %s here"
	}
	args = append(args, serviceName(s.policy, page.Service))
	return incident.Errorf(incident.EFORBIDDEN, who+"; if you were paged, acknowledge it in PagerDuty.", args...)
}

// pagedTo reports whether page went to user, matched by e-mail, and
// whether the provider could say whom it went to.
func (s guard) pagedTo(ctx context.Context, inc *incident.Incident, page *incident.Page, user string) (paged, known bool, err error) {
	pager, ok := followUpPager(s.pager, s.policy, inc, page.Service)
	if !ok {
		skipDrillFollowUp(ctx, s.log, inc, page, "whom the page went to")
		return false, false, nil
	}
	r, ok := pager.(incident.PageResponders)
	if !ok {
		return false, false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, respondersTimeout)
	defer cancel()
	emails, err := r.Responders(ctx, *page)
	switch incident.ErrorCode(err) {
	case "":
	case incident.EINVALID, incident.ENOTFOUND, incident.EFORBIDDEN:
		s.log.InfoContext(ctx, "cannot tell whom the page went to", "incident", inc.Key(), "page", page.DedupKey, "reason", incident.ErrorMessage(err))
		return false, false, nil
	default:
		s.log.WarnContext(ctx, "could not ask whom the page went to", "incident", inc.Key(), "page", page.DedupKey, "err", err)
		return false, false, incident.Errorf(incident.EUNAVAILABLE, "PagerDuty did not say whom the page went to, so it was not acknowledged; try again in a moment, or acknowledge it in PagerDuty.")
	}
	email, err := s.chat.UserEmail(ctx, user)
	if err != nil || email == "" {
		return false, true, nil
	}
	for _, e := range emails {
		if strings.EqualFold(e, email) {
			return true, true, nil
		}
	}
	return false, true, nil
}

// runPage is the JobPage handler. Nothing waits on it: the channel is told
// when the page went out, or that it failed and is being retried.
func (s *Service) runPage(ctx context.Context, payload []byte) error {
	var p pagePayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode page: %w: %w", err, incident.ErrJobCancel)
	}
	inc, err := s.store.GetIncident(ctx, p.IncidentID)
	if err != nil {
		return fmt.Errorf("page: %w", err)
	}
	svc, ok := s.policy.Services[p.Service]
	if !ok || (!canPage(s.pager, svc) && !inc.Drill) {
		return nil
	}
	key, err := s.keys.of(ctx, inc.ID, p)
	if err != nil {
		return fmt.Errorf("page: %w", err)
	}
	source := "page:" + key
	if p.Backup {
		source += ":backup"
	}
	if pageable(inc) != nil {
		// Resolved or closed before this page went out (PagerDuty down
		// until then, say): nobody is woken for it, and no page is left
		// open that the resolution will not resolve. One already sent is
		// still announced.
		if _, err := s.store.FindPage(ctx, "pagerduty", key); incident.ErrorCode(err) == incident.ENOTFOUND {
			s.log.InfoContext(ctx, "page not sent: the incident was resolved first", "incident", inc.Key(), "service", p.Service)
			return nil
		} else if err != nil {
			return fmt.Errorf("page: %w", err)
		}
	}
	if inc.Drill {
		// A drill pages the policy's test service, or nobody.
		test, real := drillPagerService(s.policy, svc)
		if !real || !canPage(s.pager, test) {
			return s.simulatePage(ctx, inc, p, svc, source)
		}
		svc = test
	}
	page, missed, err := s.pageOnce(ctx, inc, p, svc, key, source)
	if err != nil {
		return err
	}
	if announced(ctx, s.store, inc.ID, source) {
		return nil // a redelivered job
	}
	if inc.ChannelID == "" {
		// Paged already; the announcement waits for the channel.
		return incident.RetryLater(2*time.Second, "%s has no channel yet", inc.Key())
	}
	return s.announcePage(ctx, inc, p, svc, page, missed, key, source)
}

// pageOnce returns the page of key, sent unless it was sent already (or
// sent again to add the backup), and why the backup it asked for was not
// paged (see sendPage). A page that asks for the backup is sent until it
// is announced, so the run that announces it knows whether it reached
// the backup.
func (s *Service) pageOnce(ctx context.Context, inc *incident.Incident, p pagePayload, svc incident.ServicePolicy, key, source string) (*incident.Page, string, error) {
	page, err := s.store.FindPage(ctx, "pagerduty", key)
	if err != nil && inc.ChannelID == "" && s.clock.Now().Sub(inc.DeclaredAt) < pageChannelWait {
		// The page carries the channel's link; the channel is normally
		// there within a second or two of the declaration.
		return nil, "", incident.RetryLater(250*time.Millisecond, "%s has no channel yet", inc.Key())
	}
	if err != nil || p.Backup && !announced(ctx, s.store, inc.ID, source) {
		// Not paged yet, or a raise to a severity that also pages the
		// backup: paging the same dedup key again adds the backup to the
		// open page without paging on-call twice.
		return s.sendPage(ctx, inc, p, svc, key, source)
	}
	return page, "", nil
}

// announcePage says the page in the channel, with an Acknowledge button,
// and records it on the timeline. A page that asked for the backup says
// whether it reached them: when it did not (missed says why), the people
// in the channel must call the backup themselves.
func (s *Service) announcePage(ctx context.Context, inc *incident.Incident, p pagePayload, svc incident.ServicePolicy, page *incident.Page, missed, key, source string) error {
	values := map[string]string{"service": svc.Name, "who": strings.Join(page.Assignees, ", "), "backup": fmt.Sprint(p.Backup && missed == ""), "url": page.URL}
	if p.Backup && missed != "" {
		values["backup_missed"] = missed
	}
	n := incident.Notice{Kind: incident.NoticePaged, Incident: inc.Key(), Actor: orBot(p.Actor), Drill: inc.Drill, Values: values,
		Buttons: []incident.Button{{Action: incident.ActionAckPage, Text: "Acknowledge", Value: key, Style: "primary"}}}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		return fmt.Errorf("announce the page: %w", err)
	}
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventPaged, Actor: orBot(p.Actor), At: page.CreatedAt, Key: true, Text: s.noticeText(n),
		SourceID: source, Payload: incident.PagedData{Service: p.Service, Page: key}}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		return fmt.Errorf("record page: %w", err)
	}
	return nil
}

// backupPager is a Pager that says whether a page reached the backup it
// asked for.
type backupPager interface {
	// PageWithBackup is Page, and says why the backup was not paged:
	// empty when it was, or when the request did not ask for it.
	PageWithBackup(ctx context.Context, req incident.PageRequest) (*incident.Page, string, error)
}

// send pages at the provider, and says why the backup was not paged when
// the provider tells; a provider that does not is taken to have paged it.
func send(ctx context.Context, pager incident.Pager, req incident.PageRequest) (*incident.Page, string, error) {
	if bp, ok := pager.(backupPager); ok {
		return bp.PageWithBackup(ctx, req)
	}
	page, err := pager.Page(ctx, req)
	return page, "", err
}

// sendPage pages svc at the provider, as the person who asked when they
// have an account there, and records the page with what follows it. It
// also returns why the backup the page asked for was not paged, if it was
// not.
func (s *Service) sendPage(ctx context.Context, inc *incident.Incident, p pagePayload, svc incident.ServicePolicy, key, source string) (*incident.Page, string, error) {
	email := ""
	if p.Actor != "" && p.Actor != "bot" {
		email, _ = s.chat.UserEmail(ctx, p.Actor)
	}
	// A private incident's page carries what the policy allows.
	title, details := incident.DisclosedTitle(inc, s.policy.PrivatePages), inc.Description
	if title != inc.Title {
		details = ""
	}
	if inc.Drill {
		title = "[DRILL] " + title
	}
	req := incident.PageRequest{IncidentID: inc.ID, IncidentKey: inc.Key(), Title: title,
		Details: details, Severity: inc.Severity, Service: svc, Urgency: urgency(inc.Severity), FromEmail: email,
		Backup: p.Backup, DedupKey: key, Link: channelLink(inc), Runbook: svc.Runbook}
	// Paged before, this adds the backup (a raise to P1): the page's
	// people are then those the provider names, so its report of the
	// reassignment is the bot's own change.
	before, err := s.store.FindPage(ctx, "pagerduty", key)
	if err != nil && incident.ErrorCode(err) != incident.ENOTFOUND {
		return nil, "", fmt.Errorf("page: %w", err)
	}
	if before == nil {
		// Not sent before as far as this database knows: an open page
		// under the key is this incident's only when it was opened
		// since the declaration (an earlier attempt's answer was lost).
		req.NotBefore = inc.DeclaredAt
	}
	page, missed, err := send(ctx, s.pager, req)
	if code := incident.ErrorCode(err); email != "" && (code == incident.EINVALID || code == incident.ENOTFOUND || code == incident.EFORBIDDEN) {
		// The declarer may have no account at the provider, or one
		// that may not open incidents (a read-only role): page as the
		// bot rather than not at all.
		s.log.WarnContext(ctx, "paging as the declarer was refused; paging as the bot", "incident", inc.Key(), "err", err)
		req.FromEmail = ""
		page, missed, err = send(ctx, s.pager, req)
	}
	if err != nil {
		return nil, "", s.pageFailed(ctx, inc, p, svc, err)
	}
	page.IncidentID, page.Service, page.DedupKey = inc.ID, p.Service, key
	if page.CreatedAt.IsZero() {
		page.CreatedAt = s.clock.Now()
	}
	// The page and what follows it (inviting its people, escalating it
	// if nobody acknowledges) are recorded together.
	if err := atomic(ctx, s.store, func(tx incident.Tx, pages Tx) error {
		if err := pages.AddPage(ctx, page); incident.ErrorCode(err) == incident.ECONFLICT {
			if before != nil {
				if _, err := pages.UpdatePage(ctx, before.ID, func(p *incident.Page) error {
					recordResent(p, page)
					return nil
				}); err != nil {
					return err
				}
			}
		} else if err != nil {
			return err
		}
		return repager{s}.followPage(ctx, tx, inc, page, source)
	}); err != nil {
		return nil, "", fmt.Errorf("record page: %w", err)
	}
	s.observer.Paged(inc, p.Service)
	return page, missed, nil
}

// recordResent records in p, a page the bot had already, what the provider
// answered when the page was sent again under its key (to add the backup).
// Its people are those the provider names, unless it reported a later
// change of them already. A page the provider answered with another
// incident (the one recorded was resolved there, and the key opened a new
// one) is that incident now: the one the channel's Acknowledge button and
// the incident's resolution act on, open, and not acknowledged yet.
func recordResent(p, sent *incident.Page) {
	if sent.ExternalID != "" && sent.ExternalID != p.ExternalID {
		p.ExternalID, p.URL, p.Status, p.CreatedAt = sent.ExternalID, sent.URL, sent.Status, sent.CreatedAt
		p.Assignees, p.StatusAt = sent.Assignees, sent.StatusAt
		p.AcknowledgedAt, p.AcknowledgedBy, p.ResolvedAt = nil, "", nil
		// A new round of the page: an acknowledgement from Slack in it
		// is a new one.
		p.Retriggers++
		return
	}
	if len(sent.Assignees) == 0 {
		return
	}
	if sent.StatusAt != nil {
		if reportedBefore(p, *sent.StatusAt) {
			// PagerDuty reported a later change of the page's
			// people already.
			return
		}
		reported(p, *sent.StatusAt)
	}
	p.Assignees = sent.Assignees
}

// atomic runs fn in one transaction of the store, with its page writes.
func atomic(ctx context.Context, store Store, fn func(tx incident.Tx, pages Tx) error) error {
	return store.Atomic(ctx, func(tx incident.Tx) error {
		pages, ok := tx.(Tx)
		if !ok {
			return fmt.Errorf("the store's transaction (%T) cannot record pages", tx)
		}
		return fn(tx, pages)
	})
}

// announced reports whether the timeline has the event with this source id.
func announced(ctx context.Context, store Store, incidentID int64, source string) bool {
	events, err := store.ListTimeline(ctx, incidentID)
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
// (bad configuration, unknown user) is final and said as such. When the
// job's last attempt fails, the retries are over, and the channel is told
// once more, with how long the page was tried: nobody was paged, so
// on-call must be paged by phone or with Retry page.
func (s *Service) pageFailed(ctx context.Context, inc *incident.Incident, p pagePayload, svc incident.ServicePolicy, cause error) error {
	code := incident.ErrorCode(cause)
	// ECONFLICT: the provider has someone else's open incident under the
	// page's key; sent again, the same key meets it again.
	final := code == incident.EINVALID || code == incident.EFORBIDDEN || code == incident.ENOTFOUND || code == incident.ECONFLICT
	if inc.ChannelID != "" {
		source := "pagefail:" + p.name()
		if p.Retry != 0 {
			// A click of Retry page that fails too is said again.
			source += fmt.Sprintf(":retry%d", p.Retry)
		}
		value, _ := json.Marshal(pagePayload{IncidentID: p.IncidentID, Service: p.Service, Round: p.Round, Backup: p.Backup, Retry: 1,
			Key: p.Key, New: code == incident.ECONFLICT})
		retry := []incident.Button{{Action: incident.ActionRetryPage, Text: "Retry page", Value: string(value), Style: "danger"}}
		n := incident.Notice{Kind: incident.NoticePageFailed, Incident: inc.Key(), Actor: "pagerduty", Drill: inc.Drill,
			Values:  map[string]string{"service": svc.Name, "error": failureText(cause), "final": fmt.Sprint(final)},
			Buttons: retry}
		if err := (failureReport{s}).sayOnce(ctx, inc, source, "Paging "+svc.Name+" failed: "+failureText(cause), n); err != nil {
			return fmt.Errorf("report the failed page of %s: %w", inc.Key(), err)
		}
		if attempt, max := incident.JobAttempt(ctx); !final && max > 0 && attempt >= max {
			if err := (failureReport{s}).sayGaveUp(ctx, inc, svc, source, cause, n); err != nil {
				s.log.WarnContext(ctx, "could not say that paging gave up", "incident", inc.Key(), "service", p.Service, "err", err)
			}
			// Ended as said: a snooze would keep the job alive (its
			// attempts may have gone on other failures) and page after
			// the channel was told nobody was paged.
			final = true
		}
	}
	if final {
		return fmt.Errorf("page %s: %w: %w", svc.Name, cause, incident.ErrJobCancel)
	}
	if _, ok := errorRetryAfter(cause); ok {
		return fmt.Errorf("page %s: %w", svc.Name, cause) // rate limited: the engine waits as told
	}
	if inc.ChannelID == "" {
		return incident.RetryLater(pageRetryNoChannel, "paging %s failed: %s", svc.Name, incident.ErrorMessage(cause))
	}
	return incident.RetryLater(pageRetryEvery, "paging %s failed: %s", svc.Name, incident.ErrorMessage(cause))
}

// failureReport says in the channel that a page failed.
type failureReport struct{ *Service }

// sayGaveUp says, once, that the page's retries are over (the last
// attempt of its job failed with cause): how long since its first failure
// was said (failSource), and that nobody was paged. n is the failure's
// notice, with its Retry page button.
func (s failureReport) sayGaveUp(ctx context.Context, inc *incident.Incident, svc incident.ServicePolicy, failSource string, cause error, n incident.Notice) error {
	after := ""
	if events, err := s.store.ListTimeline(ctx, inc.ID); err == nil {
		for _, ev := range events {
			if ev.SourceID == failSource {
				after = incident.DurationWords(max(s.clock.Now().Sub(ev.At), 0).Round(time.Second))
			}
		}
	}
	n.Values = map[string]string{"service": svc.Name, "error": failureText(cause), "gave_up": "true", "after": after}
	text := "Paging " + svc.Name + " gave up"
	if after != "" {
		text += " after " + after
	}
	text += ": " + failureText(cause) + " Nobody was paged."
	return s.sayOnce(ctx, inc, "pagegaveup:"+strings.TrimPrefix(failSource, "pagefail:"), text, n)
}

// sayOnce says n in the incident channel and records it on the timeline
// under source, unless it is recorded there already. The line is posted
// first (a keyed post, so a retry of the job finds it rather than posting
// it again) and then recorded, so a failed post is retried instead of
// forgotten.
func (s failureReport) sayOnce(ctx context.Context, inc *incident.Incident, source, text string, n incident.Notice) error {
	if announced(ctx, s.store, inc.ID, source) {
		return nil
	}
	if _, err := s.chat.Notify(ctx, inc.ChannelID, n); err != nil {
		s.log.WarnContext(ctx, "could not report the failed page yet", "incident", inc.Key(), "err", err)
		return err
	}
	ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventProviderFailure, Actor: "pagerduty", At: s.clock.Now(),
		Text: text, SourceID: source}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// failureText is the user-safe sentence of a failed page, without the
// outbound client's "retrying in the background": whether the page is
// retried is said by the notice, which knows.
func failureText(cause error) string {
	msg := incident.ErrorMessage(cause)
	const retrying = "; retrying in the background."
	if strings.HasSuffix(strings.ToLower(msg), retrying) {
		msg = msg[:len(msg)-len(retrying)] + "."
	}
	return msg
}

// errorRetryAfter finds a Retry-After in an error chain.
func errorRetryAfter(err error) (time.Duration, bool) {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter(), true
	}
	return 0, false
}

// RetryPage tries a failed page again at once, from the Retry page
// button. It is the same page, under the same dedup key, as the one the
// background retries keep sending: however often people click while
// PagerDuty is down, on-call is paged once, and a click after the page
// went out changes nothing.
func (s *Service) RetryPage(ctx context.Context, value, actor string) error {
	p, err := retryPayload(value)
	if err != nil {
		return err
	}
	inc, err := s.store.GetIncident(ctx, p.IncidentID)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, actor, incident.ActPage, inc); err != nil {
		return err
	}
	if err := pageable(inc); err != nil {
		return err
	}
	if p.Retry == 0 && p.Round >= 100 {
		// A button posted by an earlier version names the failed round
		// plus 100.
		p.Round -= 100
	}
	if p.New {
		// Another's incident holds the failed page's key at the
		// provider: the page goes out under a new one.
		pages, err := s.store.ListPages(ctx, inc.ID)
		if err != nil {
			return err
		}
		if p.Round, err = s.keys.nextRound(ctx, inc.ID, p.Service, pages, p.Round+1); err != nil {
			return err
		}
		p.Key, p.New = "", false
	}
	p.Actor = actor
	// A job of its own even while the failed page's job waits to retry;
	// clicks in the same second are one.
	p.Retry = s.clock.Now().Unix()
	return s.schedulePage(ctx, s.sched, p)
}

// RetryPageIncident returns the incident a Retry page button names.
// EINVALID for a value that names none.
func (s *Service) RetryPageIncident(ctx context.Context, value string) (*incident.Incident, error) {
	p, err := retryPayload(value)
	if err != nil {
		return nil, err
	}
	return s.store.GetIncident(ctx, p.IncidentID)
}

func retryPayload(value string) (pagePayload, error) {
	var p pagePayload
	if err := json.Unmarshal([]byte(value), &p); err != nil || p.IncidentID == 0 {
		return p, incident.Errorf(incident.EINVALID, "The button does not name a page.")
	}
	return p, nil
}

// PageIncident returns the incident a page belongs to. ENOTFOUND for an
// unknown page.
func (s *Service) PageIncident(ctx context.Context, pageKey string) (*incident.Incident, error) {
	page, err := s.store.FindPage(ctx, "pagerduty", pageKey)
	if err != nil {
		return nil, incident.Errorf(incident.ENOTFOUND, "That page no longer exists.")
	}
	return s.store.GetIncident(ctx, page.IncidentID)
}

func urgency(sev incident.Severity) string {
	if sev <= incident.P2 {
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
func channelLink(inc *incident.Incident) string {
	if inc.ChannelID == "" {
		return ""
	}
	return "https://slack.com/app_redirect?channel=" + url.QueryEscape(inc.ChannelID)
}

// Package comms keeps an incident's communication with customers: the
// status page clock (the first public post drafted at declare and chased
// until it is out within the severity's target, updates mirrored with one
// click, components set from the severity and status, the resolution
// notice), the customer e-mail proposal, and the four copy-paste comms
// drafts.
//
// Service runs the clock and records the comms lead's decisions;
// Publisher posts on the status page (the StatusPage implementations in
// integrations/statuspage and integrations/instatus) as durable jobs. Both
// reach the core through Core: permission checks go through Authorize
// (incident.ActPublish), and what the channel must hear goes through
// Notify or ChangeIn. Service.Feature joins the core's lifecycle: the clock
// starts in the declare's own transaction and follows each severity and
// status change.
package comms

import (
	"context"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/firebreakhq/firebreak/incident"
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

// Store is what the communication clock needs of the incident store.
type Store interface {
	// GetIncident returns ENOTFOUND when no incident has the id.
	GetIncident(ctx context.Context, id int64) (*incident.Incident, error)
	// UpdateIncident changes an incident and adds fn's events in one
	// transaction, as incident.Store.UpdateIncident.
	UpdateIncident(ctx context.Context, id int64, fn func(*incident.Incident) ([]incident.TimelineEvent, error)) (*incident.Incident, error)
	// AddTimelineEvent returns ECONFLICT for a source id already stored.
	AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error
	ListTimeline(ctx context.Context, incidentID int64) ([]incident.TimelineEvent, error)
	ListStatusUpdates(ctx context.Context, incidentID int64) ([]incident.StatusUpdate, error)
	// Atomic runs fn in one transaction, as incident.Store.Atomic.
	Atomic(ctx context.Context, fn func(tx incident.Tx) error) error
	// The lease of an incident's status page posts: one post at a time.
	incident.LeaseStore
}

// Core is what the communication clock needs of the incident core
// (*incident.Service).
type Core interface {
	// Authorize checks the permission model (incident.ActPublish).
	Authorize(ctx context.Context, req incident.Request) (incident.Decision, error)
	// Notify says notices in the incident's channel through the durable
	// sync job.
	Notify(ctx context.Context, inc *incident.Incident, notices ...incident.Notice) error
	// ChangeIn applies fn to an open incident on tx, with its events and
	// the sync job saying its notices.
	ChangeIn(ctx context.Context, tx incident.Tx, id int64, fn func(*incident.Incident) ([]incident.TimelineEvent, []incident.Notice, error)) (*incident.Incident, error)
}

// Chat says the clock's proposals, with their buttons, in the incident
// channel, and reminds the person called on directly.
type Chat interface {
	Notify(ctx context.Context, channelID string, n incident.Notice) (ts string, err error)
	Tell(ctx context.Context, to incident.ReplyTarget, n incident.Notice) error
}

// Config holds the dependencies of Service and its Publisher.
type Config struct {
	Store     Store
	Core      Core
	Chat      Chat
	Scheduler incident.Scheduler
	// StatusPages publish incidents publicly; empty turns the status page
	// clock off.
	StatusPages []StatusPage
	// Templates renders the comms drafts; nil falls back to plain built-in
	// sentences for the clock's proposals, and /incident comms says no
	// templates are loaded.
	Templates Renderer
	// Policy gives the severities' targets and the services' status page
	// mapping; zero means the default.
	Policy incident.Policy
	Clock  incident.Clock
	Logger *slog.Logger
	// Render words a notice for the timeline as the chat would say it, as
	// the core's ServiceConfig.Render; nil means Notice.String.
	Render func(incident.Notice) string
}

// base is what Service and Publisher share: the dependencies, the drafts
// and the reads both make.
type base struct {
	store      Store
	core       Core
	chat       Chat
	sched      incident.Scheduler
	pages      []StatusPage
	templates  Renderer
	policy     incident.Policy
	clock      incident.Clock
	log        *slog.Logger
	noticeText func(incident.Notice) string
}

// Service runs the communication clock: the status page draft, nudge and
// escalation, the quiet-spell and customer e-mail proposals, the offers to
// mirror an update or post the resolution notice, and the comms lead's
// decisions (not customer-facing, e-mail sent or not needed, a data
// concern).
type Service struct {
	*base
	pub *Publisher
}

// New returns a Service and its Publisher.
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
	b := &base{store: cfg.Store, core: cfg.Core, chat: cfg.Chat, sched: cfg.Scheduler, pages: cfg.StatusPages,
		templates: cfg.Templates, policy: cfg.Policy, clock: cfg.Clock, log: cfg.Logger, noticeText: cfg.Render}
	return &Service{base: b, pub: &Publisher{base: b}}
}

// Publisher returns the Publisher that posts on the status page.
func (s *Service) Publisher() *Publisher { return s.pub }

// RegisterJobs registers the clock's and the publisher's jobs.
func (s *Service) RegisterJobs(r interface {
	Handle(kind string, h incident.JobHandler)
}) {
	r.Handle(JobComms, s.runComms)
	r.Handle(JobStatusPagePost, s.pub.runPost)
}

// Feature is the clock's part of the core's lifecycle, for
// incident.Service.Use: the clock starts in the declare's transaction, and
// each severity, status change and status update moves it on.
func (s *Service) Feature() incident.Feature {
	return incident.Feature{
		Name: "the communication clock",
		Planner: func(ctx context.Context, tx incident.Tx, inc *incident.Incident, _ incident.DeclareInput) error {
			return s.planComms(ctx, tx, inc, inc.DeclaredAt)
		},
		Hook: s.commsHook,
	}
}

// authorizePublish checks that actor may post inc on the status page: the
// permission model's ActPublish.
func (b *base) authorizePublish(ctx context.Context, inc *incident.Incident, actor string) error {
	d, err := b.core.Authorize(ctx, incident.Request{Subject: incident.Subject{User: actor}, Action: incident.ActPublish, Incident: inc})
	if err != nil {
		return fmt.Errorf("check permission: %w", err)
	}
	return d.Err()
}

// change applies fn to an open incident in one transaction with its events
// and the sync job that says its notices in the channel.
func (b *base) change(ctx context.Context, id int64, fn func(*incident.Incident) ([]incident.TimelineEvent, []incident.Notice, error)) (*incident.Incident, error) {
	var inc *incident.Incident
	err := b.store.Atomic(ctx, func(tx incident.Tx) error {
		var err error
		inc, err = b.core.ChangeIn(ctx, tx, id, fn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return inc, nil
}

// notify says n in the incident's channel, marked as a drill's when it is
// one.
func (b *base) notify(ctx context.Context, inc *incident.Incident, n incident.Notice) error {
	n.Drill = n.Drill || inc.Drill
	_, err := b.chat.Notify(ctx, inc.ChannelID, n)
	return err
}

// timelineBySource reads the incident's events into a map by source id.
func (b *base) timelineBySource(ctx context.Context, id int64) (map[string]incident.TimelineEvent, []incident.TimelineEvent, error) {
	events, err := b.store.ListTimeline(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("read the timeline: %w", err)
	}
	m := make(map[string]incident.TimelineEvent, len(events))
	for _, ev := range events {
		if ev.SourceID != "" {
			m[ev.SourceID] = ev
		}
	}
	return m, events, nil
}

// planStale schedules the next quiet-spell check after a public post.
func (b *base) planStale(ctx context.Context, inc *incident.Incident, last time.Time) error {
	every := b.policy.Comms.StaleAfter
	if every <= 0 || !inc.Status.Open() {
		return nil
	}
	at := last.Add(every)
	return scheduleComms(ctx, b.sched, commsPayload{IncidentID: inc.ID, Step: stepStale, Due: at.Unix()}, at)
}

// commsLead is who the clock calls on first: the comms lead, or the IC.
func commsLead(inc *incident.Incident) string {
	if u := inc.Roles[incident.RoleComms]; u != "" {
		return u
	}
	return inc.Commander
}

// backupOf is who backs the IC up: the policy's IC group, else the comms
// lead.
func backupOf(inc *incident.Incident, p incident.Policy) (group, user string) {
	if p.CommanderGroup != "" {
		return p.CommanderGroup, ""
	}
	return "", inc.Roles[incident.RoleComms]
}

func orBot(actor string) string {
	if actor == "" {
		return "bot"
	}
	return actor
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
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

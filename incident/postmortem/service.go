package postmortem

import (
	"context"
	"log/slog"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// Job kinds the Service runs.
const (
	// JobDraft backfills the channel and compiles the draft, then posts it
	// in the incident channel with its export buttons from a second job of
	// the kind, which carries the draft as compiled.
	JobDraft = "postmortem.draft"
	// JobExport publishes the current draft through one exporter.
	JobExport = "postmortem.export"
)

const (
	draftAttempts  = 6
	exportAttempts = 5
	// nameLookups bounds the concurrent user-name lookups of one draft:
	// users.info is Tier 4, and a draft names a few dozen people at most.
	nameLookups = 8
	// summaryFacts bounds the root-cause facts quoted in the summary.
	summaryFacts = 3
	// summaryNotes bounds the review notes quoted in the summary.
	summaryNotes = 3
)

// Store is what postmortems read and write: the incident and everything
// recorded about it, the changes and rollbacks around it that package
// changes keeps, and where it was exported. incident.Store's
// implementations are one.
type Store interface {
	GetIncident(ctx context.Context, id int64) (*incident.Incident, error)
	ListTimeline(ctx context.Context, incidentID int64) ([]incident.TimelineEvent, error)
	AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error
	ListStatusUpdates(ctx context.Context, incidentID int64) ([]incident.StatusUpdate, error)
	ListActionItems(ctx context.Context, incidentID int64) ([]incident.ActionItem, error)
	ListPages(ctx context.Context, incidentID int64) ([]incident.Page, error)
	ListChangeEvents(ctx context.Context, service string, from, to time.Time) ([]incident.ChangeEvent, error)
	ListRollbacks(ctx context.Context, incidentID int64) ([]incident.Rollback, error)
	incident.ExportStore
	// LeaseStore lets one export at a time run per incident and target,
	// on any replica.
	incident.LeaseStore
}

// Authorizer is the permission model with the memberships it needs
// resolved (*incident.Service).
type Authorizer interface {
	Authorize(ctx context.Context, req incident.Request) (incident.Decision, error)
}

// Config holds the Service's dependencies.
type Config struct {
	Store Store
	// Core decides who may export (incident.ActExport), resolving the
	// policy's user groups; nil decides on the policy alone, so only
	// people it names directly, the incident's role holders and the
	// review's owner export.
	Core Authorizer
	// Backfill fills the timeline from the channel before a draft
	// (*capture.Service); nil skips the backfill.
	Backfill  Backfiller
	Chat      Chat
	Scheduler incident.Scheduler
	// Exporters are the configured export targets, in the order their
	// buttons are shown; each is addressed by its lower-cased Name().
	Exporters []incident.Exporter
	Renderer  Renderer
	// Policy is the incident policy; zero means the default.
	Policy incident.Policy
	Clock  incident.Clock
	Logger *slog.Logger
	// Split cuts the Markdown draft into pieces that each fit one chat
	// message once worded; the chat transport provides it. Nil posts the
	// draft as one piece.
	Split func(markdown string) []string
}

// Chat is what the postmortem needs of the chat platform: to say its
// notices, bookmark an export, and name the people of the timeline.
type Chat interface {
	Notify(ctx context.Context, channelID string, n incident.Notice) (ts string, err error)
	Tell(ctx context.Context, to incident.ReplyTarget, n incident.Notice) error
	AddBookmark(ctx context.Context, channelID, title, link string) error
	UserName(ctx context.Context, userID string) (string, error)
}

// Backfiller reads an incident channel back into the timeline, returning
// how many messages it added.
type Backfiller interface {
	Backfill(ctx context.Context, id int64) (int, error)
}

// Service drafts postmortems when incidents close (or on demand), posts them
// in the incident channel, and exports them. All Slack and exporter work
// runs in durable jobs: a slow or failing Confluence never holds up a
// command, and a retry resumes without posting anything twice.
type Service struct {
	store     Store
	core      Authorizer
	backfill  Backfiller
	chat      Chat
	sched     incident.Scheduler
	exporters []incident.Exporter
	renderer  Renderer
	policy    incident.Policy
	clock     incident.Clock
	log       *slog.Logger
	split     func(string) []string
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
	if cfg.Split == nil {
		cfg.Split = func(md string) []string { return []string{md} }
	}
	return &Service{split: cfg.Split, store: cfg.Store, core: cfg.Core, backfill: cfg.Backfill, chat: cfg.Chat, sched: cfg.Scheduler,
		exporters: cfg.Exporters, renderer: cfg.Renderer, policy: cfg.Policy, clock: cfg.Clock, log: cfg.Logger}
}

// RegisterJobs registers the draft and export job handlers.
func (s *Service) RegisterJobs(r interface {
	Handle(kind string, h incident.JobHandler)
}) {
	r.Handle(JobDraft, s.runDraft)
	r.Handle(JobExport, s.runExport)
}

// Feature joins the core's lifecycle: closing an incident drafts its
// postmortem. Add it with the core's Use.
func (s *Service) Feature() incident.Feature {
	return incident.Feature{Name: "postmortem", Hook: func(ctx context.Context, c incident.Change) error {
		if c.Kind != incident.EventStatusChanged || incident.Status(c.To) != incident.StatusClosed {
			return nil
		}
		return s.draftOnClose(ctx, c.Incident)
	}}
}

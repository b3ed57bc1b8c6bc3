// Package changes answers "what changed?" for an incident and rolls
// changes back. Service lists the deploys, pull requests, workflow runs and
// flag changes before an incident from the configured change sources and
// the changes webhooks recorded, and records webhook deliveries; Rollbacks
// plans, confirms, approves, runs and follows a rollback of a listed
// change. Who may roll back is the core's permission model (ActRollback),
// asked through Core.Authorize; what happens is said with typed notices.
package changes

import (
	"context"
	"log/slog"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// Job kinds of "what changed?" and of rollbacks. The names are stored with
// queued jobs, so they never change.
const (
	// JobChanges gathers the changes before an incident and posts the list
	// in its channel.
	JobChanges = "incident.changes"
	// JobRollback asks for a rollback's approval, executes it, or reports
	// its failure with a Retry button.
	JobRollback = "incident.rollback"
	// JobRollbackProgress polls an executed rollback until it finishes.
	JobRollbackProgress = "incident.rollback_progress"
)

// Limits of "what changed?".
const (
	// HighlightWindow is how close before the start a change is
	// highlighted: most outages follow a change within minutes.
	HighlightWindow = 30 * time.Minute
	// startSkew is how long after the start a change stamped by a
	// provider is still listed: providers' clocks and ours differ by
	// seconds, and GitHub stamps whole seconds.
	startSkew = 30 * time.Second
	// sourceTimeout bounds one change source, so a slow provider shows up
	// as missing instead of holding the whole list back.
	sourceTimeout = 10 * time.Second
	// maxListedChanges bounds a list (and the job payload that carries
	// it); the message shows fewer still.
	maxListedChanges = 50
	// changesAttempts bounds the changes job.
	changesAttempts = 5
	// maxButtonValue is the platform's limit on a button's value.
	maxButtonValue = 2000
	// doubleClick is how long after a list is asked for another request
	// of the same list is taken for the same click: Slack sends each click
	// of a double click with its own action_ts and trigger_id, so nothing
	// in the request tells them apart from two requests.
	doubleClick = 3 * time.Second
)

// Store is what changes and rollbacks need of the incident store. Its
// Atomic hands out the store's own transaction, which keeps rollbacks too
// (gormstore and incidenttest.MemStore do).
type Store interface {
	GetIncident(ctx context.Context, id int64) (*incident.Incident, error)
	ListIncidents(ctx context.Context, filter incident.IncidentFilter) ([]*incident.Incident, error)
	AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error
	ListTimeline(ctx context.Context, incidentID int64) ([]incident.TimelineEvent, error)
	// AddChangeEvent stores a change, or replaces the stored report of the
	// same Source+ExternalID when c is Newer (keeping the stored Service
	// when c has none); ECONFLICT when the stored report is as new or
	// newer (a redelivery, or a late report of an earlier state).
	AddChangeEvent(ctx context.Context, c *incident.ChangeEvent) error
	// ListChangeEvents returns changes with OccurredAt in [from, to], newest
	// first; an empty service matches every service.
	ListChangeEvents(ctx context.Context, service string, from, to time.Time) ([]incident.ChangeEvent, error)
	RollbackStore
	// Atomic is incident.Store's: fn's calls on tx commit together, jobs
	// included. tx also implements RollbackStore.
	Atomic(ctx context.Context, fn func(tx incident.Tx) error) error
}

// RollbackStore keeps rollbacks.
type RollbackStore interface {
	// AddRollback stores a requested rollback; ECONFLICT when Key exists.
	AddRollback(ctx context.Context, r *incident.Rollback) error
	// UpdateRollback applies fn to a stored rollback in one transaction.
	UpdateRollback(ctx context.Context, id int64, fn func(*incident.Rollback) error) (*incident.Rollback, error)
	// GetRollback returns a rollback by its key; ENOTFOUND when none.
	GetRollback(ctx context.Context, key string) (*incident.Rollback, error)
	// ListRollbacks returns an incident's rollbacks, oldest first.
	ListRollbacks(ctx context.Context, incidentID int64) ([]incident.Rollback, error)
}

// Core is what changes and rollbacks need of the incident core
// (*incident.Service).
type Core interface {
	// Authorize is the permission model: who may roll back a change, and
	// whether a second person must approve.
	Authorize(ctx context.Context, req incident.Request) (incident.Decision, error)
	// ChangeIn stores timeline events on tx and says notices in the
	// incident's channel through the sync job scheduled on tx; ECONFLICT
	// for a closed incident.
	ChangeIn(ctx context.Context, tx incident.Tx, id int64, fn func(*incident.Incident) ([]incident.TimelineEvent, []incident.Notice, error)) (*incident.Incident, error)
}

// Chat posts the list of changes and what becomes of a rollback.
type Chat interface {
	incident.ChangePoster
	// Notify says a notice in a channel, with its buttons.
	Notify(ctx context.Context, channelID string, n incident.Notice) (ts string, err error)
	// Tell says a notice to the person who asked, privately.
	Tell(ctx context.Context, to incident.ReplyTarget, n incident.Notice) error
}

// Config holds the dependencies of Service and Rollbacks.
type Config struct {
	Store     Store
	Core      Core
	Chat      Chat
	Scheduler incident.Scheduler
	// Sources answer "what changed?"; Rollbackers undo changes.
	Sources     []incident.ChangeSource
	Rollbackers []incident.Rollbacker
	// Policy gives the services, their change sources and who may roll
	// back; zero means the default.
	Policy incident.Policy
	Clock  incident.Clock
	Logger *slog.Logger
	// Render words a notice for the timeline as the chat would say it, as
	// the core's ServiceConfig.Render; nil means Notice.String.
	Render func(incident.Notice) string
}

// deps are what Service and Rollbacks share.
type deps struct {
	store       Store
	core        Core
	chat        Chat
	sched       incident.Scheduler
	rollbackers []incident.Rollbacker
	policy      incident.Policy
	clock       incident.Clock
	log         *slog.Logger
	noticeText  func(incident.Notice) string
}

// Service answers "what changed?" and records the changes webhooks
// deliver.
type Service struct {
	deps
	sources   []incident.ChangeSource
	rollbacks *Rollbacks
}

// Rollbacks rolls listed changes back: planned, confirmed by someone the
// policy allows, approved by a second person where the two-person rule
// says, executed and followed to the end in durable jobs.
type Rollbacks struct {
	deps
}

// New returns a Service and, through its Rollbacks, the rollbacks of the
// changes it lists.
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
	if cfg.Render == nil {
		cfg.Render = incident.Notice.String
	}
	d := deps{store: cfg.Store, core: cfg.Core, chat: cfg.Chat, sched: cfg.Scheduler, rollbackers: cfg.Rollbackers,
		policy: cfg.Policy, clock: cfg.Clock, log: cfg.Logger, noticeText: cfg.Render}
	return &Service{deps: d, sources: cfg.Sources, rollbacks: &Rollbacks{deps: d}}
}

// Rollbacks returns the rollbacks of the listed changes.
func (s *Service) Rollbacks() *Rollbacks { return s.rollbacks }

// Feature is what "what changed?" adds to the core's lifecycle: the list
// posted at declare, planned in the declare's transaction (add it with
// incident.Service.Use).
func (s *Service) Feature() incident.Feature {
	return incident.Feature{Name: "the list of changes", Planner: func(ctx context.Context, tx incident.Tx, inc *incident.Incident, _ incident.DeclareInput) error {
		return s.planChanges(ctx, tx, inc)
	}}
}

// RegisterJobs registers the job kinds of "what changed?" and of
// rollbacks.
func (s *Service) RegisterJobs(r interface {
	Handle(kind string, h incident.JobHandler)
}) {
	r.Handle(JobChanges, s.runChanges)
	r.Handle(JobRollback, rollbackRun{s.rollbacks}.runRollback)
	r.Handle(JobRollbackProgress, rollbackRun{s.rollbacks}.runRollbackProgress)
}

// orBot names the bot as the actor when nobody is named.
func orBot(actor string) string {
	if actor == "" {
		return "bot"
	}
	return actor
}

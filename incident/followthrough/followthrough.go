// Package followthrough keeps the response going after the close: the
// postmortem review (scheduled at the close, due some business days later,
// draft → in review → published), action-item reminders and overdue
// escalations to the owner and the IC, the weekly digest per team, the
// follow-up lists, marking an item done when its tracker issue closes, and
// the drills the policy schedules. One sweep finds what is due; each
// notice is a job keyed by what it is about, so it is sent once however
// many replicas sweep.
package followthrough

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// JobNotice sends one notice of follow-through (a reminder, an escalation,
// a digest, a scheduled drill), keyed so that it is sent once.
const JobNotice = "followthrough.notice"

// Store is what follow-through needs of the incident store. gormstore and
// incidenttest.MemStore implement it, on their Atomic's Tx too.
type Store interface {
	// GetIncident returns ENOTFOUND when no incident has the id.
	GetIncident(ctx context.Context, id int64) (*incident.Incident, error)
	// AddTimelineEvent stores an event; ECONFLICT when its IncidentID and
	// non-empty SourceID are stored already.
	AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error
	// GetActionItem returns ENOTFOUND when no action item has the id.
	GetActionItem(ctx context.Context, id int64) (*incident.ActionItem, error)
	// UpdateActionItem applies fn to a stored item in one transaction.
	UpdateActionItem(ctx context.Context, id int64, fn func(*incident.ActionItem) error) (*incident.ActionItem, error)
	// ListOpenActionItems returns every item not done, of every incident,
	// oldest first.
	ListOpenActionItems(ctx context.Context) ([]incident.ActionItem, error)
	// SaveReview stores an incident's review, replacing the earlier one.
	SaveReview(ctx context.Context, r *incident.Review) error
	// GetReview returns ENOTFOUND when the incident has no review.
	GetReview(ctx context.Context, incidentID int64) (*incident.Review, error)
	// ListReviews returns reviews not yet published, by due date.
	ListReviews(ctx context.Context) ([]incident.Review, error)
	// RecordNotice records that the notice with this key was sent; first
	// is false when it already was.
	RecordNotice(ctx context.Context, key string, at time.Time) (first bool, err error)
	// NoticeSent reports whether the notice with this key was recorded.
	NoticeSent(ctx context.Context, key string) (bool, error)
	// NoticesSent returns the keys among keys that were recorded.
	NoticesSent(ctx context.Context, keys []string) (map[string]bool, error)
	// Atomic runs fn in one transaction, as incident.Store.Atomic; the Tx
	// it gives is also this Store (see Tx).
	Atomic(ctx context.Context, fn func(tx incident.Tx) error) error
}

// Tx is what follow-through writes in one transaction, and a Scheduler
// bound to it: what the Tx of Store.Atomic must also be.
type Tx interface {
	GetReview(ctx context.Context, incidentID int64) (*incident.Review, error)
	SaveReview(ctx context.Context, r *incident.Review) error
	UpdateActionItem(ctx context.Context, id int64, fn func(*incident.ActionItem) error) (*incident.ActionItem, error)
	AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error
	incident.Scheduler
}

// Core is what follow-through needs of the incident core
// (*incident.Service).
type Core interface {
	Authorize(ctx context.Context, req incident.Request) (incident.Decision, error)
	// CanSee reports whether user may see the incident (a private one
	// only its members).
	CanSee(ctx context.Context, user string, inc *incident.Incident) (bool, error)
	// Declare declares the scheduled drills.
	Declare(ctx context.Context, in incident.DeclareInput) (*incident.Incident, bool, error)
	// NotifyOn says notices in the incident's channel through the durable
	// sync job, scheduled on sched (a transaction's Tx).
	NotifyOn(ctx context.Context, sched incident.Scheduler, inc *incident.Incident, notices ...incident.Notice) error
}

// Chat tells people of reminders and posts the digests.
type Chat interface {
	Tell(ctx context.Context, to incident.ReplyTarget, n incident.Notice) error
	Notify(ctx context.Context, channelID string, n incident.Notice) (ts string, err error)
}

// Config holds the Service's dependencies.
type Config struct {
	Store     Store
	Core      Core
	Chat      Chat
	Scheduler incident.Scheduler
	// Policy gives the follow-up policy, the teams and the drill schedule;
	// zero means the default.
	Policy incident.Policy
	Clock  incident.Clock
	// Logger says which notices could not reach someone; nil discards.
	Logger *slog.Logger
	// Render words a notice for the timeline as the chat would say it, as
	// the core's ServiceConfig.Render; nil means Notice.String.
	Render func(incident.Notice) string
}

// Service runs follow-through.
type Service struct {
	store      Store
	core       Core
	chat       Chat
	sched      incident.Scheduler
	policy     incident.Policy
	clock      incident.Clock
	log        *slog.Logger
	noticeText func(incident.Notice) string
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = incident.SystemClock
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
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: cfg.Store, core: cfg.Core, chat: cfg.Chat, sched: cfg.Scheduler, policy: cfg.Policy,
		clock: cfg.Clock, log: cfg.Logger, noticeText: cfg.Render}
}

// RegisterJobs registers the notice job.
func (s *Service) RegisterJobs(r interface {
	Handle(kind string, h incident.JobHandler)
}) {
	r.Handle(JobNotice, s.runNotice)
}

// Feature joins the core's lifecycle: closing an incident schedules its
// review. Add it with the core's Use.
func (s *Service) Feature() incident.Feature {
	return incident.Feature{Name: "followthrough", Hook: s.hook}
}

func (s *Service) hook(ctx context.Context, c incident.Change) error {
	if c.Kind != incident.EventStatusChanged || incident.Status(c.To) != incident.StatusClosed || c.Incident == nil {
		return nil
	}
	return s.scheduleReview(ctx, c.Incident)
}

// atomic runs fn in one store transaction: what fn stores, and the jobs it
// schedules on tx, commit together or not at all.
func (s *Service) atomic(ctx context.Context, fn func(tx Tx) error) error {
	return s.store.Atomic(ctx, func(tx incident.Tx) error {
		ftx, ok := tx.(Tx)
		if !ok {
			return fmt.Errorf("the store's transaction (%T) keeps no follow-through", tx)
		}
		return fn(ftx)
	})
}

func (s *Service) authorize(ctx context.Context, req incident.Request) error {
	d, err := s.core.Authorize(ctx, req)
	if err != nil {
		return fmt.Errorf("check permission: %w", err)
	}
	return d.Err()
}

package incident

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Job kinds run by the Service.
const (
	// JobSetup opens the war room of a declared incident: channel, topic,
	// bookmarks, invites, control panel, announcement. Each step is
	// idempotent, so a retry resumes where an attempt stopped.
	JobSetup = "incident.setup"
	// JobSync brings Slack in line with the stored incident after a change:
	// lines in the channel, invites, the panel, the topic, the announcement.
	JobSync = "incident.sync"
)

// setupAttempts bounds the setup job; with the engine's backoff the last
// attempt comes about an hour after the first.
const setupAttempts = 8

// maxChannelAttempts bounds the "-2", "-3" ... suffixes tried for a taken
// channel name.
const maxChannelAttempts = 50

// ServiceConfig holds the Service's dependencies.
type ServiceConfig struct {
	// Observer is told of nags, for metrics.
	Observer Observer

	Store     Store
	Scheduler Scheduler
	// Chat is the chat platform; the core uses its ChannelSetup,
	// Directory, PanelPoster and NoticePoster roles, marked for drills.
	Chat Chat
	// Hooks run after each committed lifecycle change, after the
	// service's own; Use adds a feature's.
	Hooks  []Hook
	Policy Policy
	Clock  Clock
	Logger *slog.Logger
	// Render words a notice for the timeline as the chat would say it;
	// nil uses Notice.String.
	Render func(Notice) string
}

// Service runs incidents: it declares them, opens their war room, and applies
// every change (roles, severity, status) to the store and then to Slack.
// Changes are stored first, in one transaction, and the Slack side follows
// as durable jobs, so a Slack outage delays the war room but never loses an
// incident or a change.
//
// Service is the entry point and delegates: lifecycle says what each change
// does to the incident, authz decides who may do what,
// warRoom opens the war room, channelSync brings Slack in line after each
// change, reminders runs the update nags and the response-time check.
type Service struct {
	store  serviceStore
	sched  Scheduler
	policy Policy

	hooks      *changeHooks
	planners   []namedPlanner
	clock      Clock
	noticeText func(Notice) string

	life      *lifecycle
	authz     *authz
	warRoom   *warRoom
	sync      *channelSync
	reminders *reminders
}

// serviceStore is what the Service itself reads and writes: incidents and
// their timeline, status updates, and transactions.
type serviceStore interface {
	IncidentStore
	UpdateStore
	Transactor
}

// NewService returns a Service.
func NewService(cfg ServiceConfig) *Service {
	if cfg.Clock == nil {
		cfg.Clock = SystemClock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Policy.Severities == nil {
		cfg.Policy = DefaultPolicy()
	}
	if cfg.Policy.Location == nil {
		cfg.Policy.Location = time.UTC
	}
	if cfg.Render == nil {
		cfg.Render = Notice.String
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	chat := MarkDrills(cfg.Chat, cfg.Store)
	return &Service{noticeText: cfg.Render, store: cfg.Store, sched: cfg.Scheduler, policy: cfg.Policy,
		clock: cfg.Clock, hooks: &changeHooks{list: append([]Hook(nil), cfg.Hooks...)},
		life:  &lifecycle{policy: cfg.Policy, text: cfg.Render},
		authz: &authz{policy: cfg.Policy, rooms: chat.ChannelSetup, people: chat.Directory, incidents: cfg.Store, clock: cfg.Clock, log: cfg.Logger},
		warRoom: &warRoom{policy: cfg.Policy, incidents: cfg.Store, timeline: cfg.Store, rooms: chat.ChannelSetup, people: chat.Directory,
			panels: chat.PanelPoster, notices: chat.NoticePoster, clock: cfg.Clock, log: cfg.Logger},
		sync: &channelSync{incidents: cfg.Store, rooms: chat.ChannelSetup, people: chat.Directory, panels: chat.PanelPoster,
			notices: chat.NoticePoster, log: cfg.Logger},
		reminders: &reminders{policy: cfg.Policy, incidents: cfg.Store, timeline: cfg.Store, pages: cfg.Store, sched: cfg.Scheduler,
			notices: chat.NoticePoster, clock: cfg.Clock, log: cfg.Logger, observer: cfg.Observer, noticeText: cfg.Render},
	}
}

// Policy returns the policy the service runs with.
func (s *Service) Policy() Policy { return s.policy }

// RegisterJobs registers the service's job handlers.
func (s *Service) RegisterJobs(r interface {
	Handle(kind string, h JobHandler)
}) {
	r.Handle(JobSetup, s.warRoom.runSetup)
	r.Handle(JobSync, s.sync.runSync)
	r.Handle(JobHooks, s.hooks.run)
	r.Handle(JobNag, s.reminders.runNag)
	r.Handle(JobAckCheck, s.reminders.runAckCheck)
}

// DeclareInput is what a responder gives when declaring.
type DeclareInput struct {
	Title       string
	Description string
	Severity    Severity
	// ServiceKey is a key of Policy.Services, or empty.
	ServiceKey string
	// Commander defaults to DeclaredBy.
	Commander  string
	DeclaredBy string
	Private    bool
	// Page overrides the severity's paging policy: nil follows it.
	Page *bool
	// Paged is a page the provider has open already for the incident's
	// service (the PagerDuty incident an alert is): recorded as the
	// incident's page instead of paging the service a second time.
	Paged *Page
	// Key makes the declare idempotent (a trigger id, a view id).
	Key string
	// Drill declares a practice incident: marked DRILL everywhere, paging
	// a test service or nobody, rollbacks dry-run, out of the metrics.
	Drill bool
	// Source is the Slack message the incident was declared from, if any.
	Source *SourceMessage
	// ReplyTo reaches the declarer when the war room is ready or a step fails.
	ReplyTo ReplyTarget
}

// Validate checks a declare before anything is stored.
func (in DeclareInput) Validate(p Policy) error {
	inc := Incident{Title: in.Title, Description: in.Description, Severity: in.Severity}
	if err := inc.Validate(); err != nil {
		return err
	}
	if utf8.RuneCountInString(in.Description) > 3000 {
		return Errorf(EINVALID, "The description is too long; keep it within 3000 characters.")
	}
	if in.ServiceKey != "" {
		if _, ok := p.Services[in.ServiceKey]; !ok {
			return Errorf(EINVALID, "Unknown service %q. Known services: %s.", in.ServiceKey, strings.Join(p.ServiceKeys(), ", "))
		}
	}
	if in.DeclaredBy == "" {
		return Errorf(EINVALID, "Nobody declared the incident.")
	}
	return nil
}

// Declare stores a new incident and schedules its war room. It returns the
// incident and whether it already existed: a repeated declare with the same
// Key returns the first incident and creates nothing.
//
// The incident, its timeline events and every job it needs (setup, page,
// nag, response-time check, changes) are stored in one transaction: a crash
// at any point leaves either all of them or none, never an incident that
// nothing will ever open or page for.
func (s *Service) Declare(ctx context.Context, in DeclareInput) (*Incident, bool, error) {
	in.Title = strings.Join(strings.Fields(in.Title), " ")
	in.Description = strings.TrimSpace(in.Description)
	if err := in.Validate(s.policy); err != nil {
		return nil, false, err
	}
	if err := s.authz.mayDeclare(ctx, in); err != nil {
		// A retry of a declare that was stored (its answer lost) is
		// answered with its incident, though the declarer may no longer
		// declare, or Slack cannot say right now whether they may.
		if first, ferr := declaredBefore(ctx, s.store, in); ferr == nil {
			return first, true, nil
		}
		return nil, false, err
	}
	if in.Commander == "" && in.DeclaredBy != "bot" {
		// An incident the bot declared (from an alert, or a scheduled
		// drill) has no IC until someone claims the role.
		in.Commander = in.DeclaredBy
	}
	now := s.clock.Now()
	var (
		inc     *Incident
		existed bool
	)
	err := s.store.Atomic(ctx, func(tx Tx) error {
		var err error
		inc, existed, err = s.declareIn(ctx, tx, in, now)
		return err
	})
	if errors.Is(err, ErrMaybeSaved) {
		inc, existed, err = s.declareUnconfirmed(ctx, in, err)
	}
	if err != nil {
		return nil, false, fmt.Errorf("declare: %w", err)
	}
	if existed {
		// The hooks heard of this declaration when it was made.
		return inc, true, nil
	}
	if err := s.hooks.after(ctx, Change{Kind: EventDeclared, Incident: inc, Actor: in.DeclaredBy}); err != nil {
		return inc, false, err
	}
	return inc, false, nil
}

// confirmWithin bounds looking for a declare whose commit the database did
// not confirm; it runs past the caller's deadline, which has often passed,
// and keeps a slash command's answer within Slack's three seconds.
const confirmWithin = 700 * time.Millisecond

// declareUnconfirmed answers a declare whose commit the database did not
// confirm (unconfirmed, an ErrMaybeSaved): the incident, when a look by
// the declare's key finds it stored; otherwise an error saying it may have
// been declared, so nobody declares it a second time on the bot's word.
func (s *Service) declareUnconfirmed(ctx context.Context, in DeclareInput, unconfirmed error) (*Incident, bool, error) {
	if in.Key != "" {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmWithin)
		defer cancel()
		if inc, err := declaredBefore(lctx, s.store, in); err == nil {
			return inc, false, nil
		}
	}
	return nil, false, errors.Join(ErrMaybeSaved, Errorf(EUNAVAILABLE,
		"The database did not confirm the declare, so the incident may have been declared: look at the open incidents before you declare it again."), unconfirmed)
}

// declaredBefore returns the incident a declare with in's Key stored for
// the same declarer; ENOTFOUND when there is none.
func declaredBefore(ctx context.Context, st serviceStore, in DeclareInput) (*Incident, error) {
	none := Errorf(ENOTFOUND, "No incident was declared with that key.")
	if in.Key == "" {
		return nil, none
	}
	found, err := st.ListIncidents(ctx, IncidentFilter{DeclareKey: in.Key, Limit: 1})
	switch {
	case err != nil:
		return nil, err
	case len(found) == 0 || found[0].DeclaredBy != in.DeclaredBy:
		return nil, none
	}
	return found[0], nil
}

// declareIn stores the incident, its first timeline events and its jobs on
// tx, or finds the incident a declare with the same key stored with its
// jobs.
func (s *Service) declareIn(ctx context.Context, tx Tx, in DeclareInput, now time.Time) (*Incident, bool, error) {
	inc, err := createIncident(ctx, tx, &Incident{
		Title: in.Title, Description: in.Description, Severity: in.Severity, PeakSeverity: in.Severity, Status: StatusDeclared,
		Service: in.ServiceKey, Private: in.Private, Drill: in.Drill, DeclareKey: in.Key, DeclaredBy: in.DeclaredBy,
		Commander: in.Commander, Roles: map[string]string{}, DeclaredAt: now,
	}, func(inc *Incident) []TimelineEvent { return markVia(ctx, s.life.declared(inc, in, now)) })
	if ErrorCode(err) == ECONFLICT && inc != nil {
		// The first declare stored its jobs with it.
		return inc, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	return inc, false, s.planDeclared(ctx, tx, inc, in)
}

// planDeclared schedules, on the declare's transaction, every job a new
// incident needs. Anything else a declare must store belongs here too.
func (s *Service) planDeclared(ctx context.Context, tx Tx, inc *Incident, in DeclareInput) error {
	if err := s.warRoom.plan(ctx, tx, inc, in); err != nil {
		return err
	}
	if err := s.reminders.planNag(ctx, tx, inc); err != nil {
		return err
	}
	if err := s.reminders.planAckCheckFrom(ctx, tx, inc, inc.DeclaredAt); err != nil {
		return err
	}
	for _, p := range s.planners {
		if err := p.plan(ctx, tx, inc, in); err != nil {
			return fmt.Errorf("plan %s of %s: %w", p.name, inc.Key(), err)
		}
	}
	return nil
}

// TopicNotice is what the channel topic says: the severity, the status,
// the IC and the title.
func TopicNotice(inc *Incident) Notice {
	return Notice{Kind: NoticeTopic, Incident: inc.Key(), User: inc.Commander, Values: map[string]string{
		"severity": inc.Severity.String(), "status": inc.Status.Label(), "title": inc.Title, "drill": strconv.FormatBool(inc.Drill)}}
}

// Dedupe trims each string and drops empty ones and repeats, keeping the
// first occurrence's order.
func Dedupe(in []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(in))
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v == "" || seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	return out
}

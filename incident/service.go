package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
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
	Chat      Chat
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
type Service struct {
	store  Store
	sched  Scheduler
	chat   Chat
	policy Policy

	hooks      []Hook
	planners   []namedPlanner
	clock      Clock
	log        *slog.Logger
	observer   Observer
	members    membership
	noticeText func(Notice) string
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
	s := &Service{noticeText: cfg.Render, store: cfg.Store, sched: cfg.Scheduler, chat: MarkDrills(cfg.Chat, cfg.Store), policy: cfg.Policy,
		clock: cfg.Clock, log: cfg.Logger,
		hooks: append([]Hook(nil), cfg.Hooks...)}
	s.observer = cfg.Observer
	if s.observer == nil {
		s.observer = noObserver{}
	}
	return s
}

// Policy returns the policy the service runs with.
func (s *Service) Policy() Policy { return s.policy }

// RegisterJobs registers the service's job handlers.
func (s *Service) RegisterJobs(r interface {
	Handle(kind string, h JobHandler)
}) {
	r.Handle(JobSetup, s.runSetup)
	r.Handle(JobSync, s.runSync)
	r.Handle(JobNag, s.runNag)
	r.Handle(JobAckCheck, s.runAckCheck)
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
	inc := Incident{Title: in.Title, Severity: in.Severity}
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

type setupPayload struct {
	IncidentID int64       `json:"incident_id"`
	ReplyTo    ReplyTarget `json:"reply_to"`
	Page       *bool       `json:"page,omitempty"`
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
	// The bot declares from alerts and drill schedules the policy set up.
	if in.DeclaredBy != "bot" {
		if err := s.authorize(ctx, Request{Subject: Subject{User: in.DeclaredBy}, Action: ActDeclare}); err != nil {
			return nil, false, err
		}
		if in.Commander != "" && in.Commander != in.DeclaredBy {
			if err := s.authorize(ctx, Request{Subject: Subject{User: in.DeclaredBy}, Action: ActNameIC, Target: in.Commander}); err != nil {
				return nil, false, err
			}
		}
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
		inc, existed = nil, false
		created, err := tx.CreateIncident(ctx, &Incident{
			Title: in.Title, Description: in.Description, Severity: in.Severity, Status: StatusDeclared,
			Service: in.ServiceKey, Private: in.Private, Drill: in.Drill, DeclareKey: in.Key, DeclaredBy: in.DeclaredBy,
			Commander: in.Commander, Roles: map[string]string{}, DeclaredAt: now,
		})
		if ErrorCode(err) == ECONFLICT && created != nil {
			// The first declare stored its jobs with it.
			inc, existed = created, true
			return nil
		}
		if err != nil {
			return err
		}
		inc = created
		declared := Notice{Kind: NoticeDeclared, Incident: inc.Key(), Actor: in.DeclaredBy,
			Values: map[string]string{"severity": inc.Severity.String(), "title": inc.Title, "drill": strconv.FormatBool(inc.Drill)}}
		events := []TimelineEvent{{IncidentID: inc.ID, Kind: EventDeclared, Actor: in.DeclaredBy, At: now, Key: true, Text: s.noticeText(declared)}}
		if src := in.Source; src != nil {
			events = append(events, s.sourceMessageEvent(inc, in.DeclaredBy, now, *src))
		}
		if inc.Commander != "" {
			events = append(events, TimelineEvent{IncidentID: inc.ID, Kind: EventRoleAssigned, Actor: in.DeclaredBy, At: now, Key: true,
				Text:    s.noticeText(Notice{Kind: NoticeICNamed, Incident: inc.Key(), Actor: in.DeclaredBy, User: inc.Commander}),
				Payload: RoleAssignedData{Role: RoleCommander, User: inc.Commander}})
		}
		for i := range events {
			if err := tx.AddTimelineEvent(ctx, &events[i]); err != nil {
				return err
			}
		}
		return s.planDeclared(ctx, tx, inc, in)
	})
	if err != nil {
		return nil, false, fmt.Errorf("declare: %w", err)
	}
	if err := s.after(ctx, Change{Kind: EventDeclared, Incident: inc, Actor: in.DeclaredBy}); err != nil {
		return inc, existed, err
	}
	return inc, existed, nil
}

// planDeclared schedules, on the declare's transaction, every job a new
// incident needs. Anything else a declare must store belongs here too.
func (s *Service) planDeclared(ctx context.Context, tx Tx, inc *Incident, in DeclareInput) error {
	payload, _ := json.Marshal(setupPayload{IncidentID: inc.ID, ReplyTo: in.ReplyTo, Page: in.Page})
	if _, err := tx.Schedule(ctx, Job{Kind: JobSetup, Key: fmt.Sprintf("setup:%d", inc.ID), Payload: payload, MaxAttempts: setupAttempts}); err != nil {
		return fmt.Errorf("schedule setup of %s: %w", inc.Key(), err)
	}
	if err := s.planNag(ctx, tx, inc); err != nil {
		return err
	}
	if err := s.planAckCheck(ctx, tx, inc); err != nil {
		return err
	}
	for _, p := range s.planners {
		if err := p.plan(ctx, tx, inc, in); err != nil {
			return fmt.Errorf("plan %s of %s: %w", p.name, inc.Key(), err)
		}
	}
	return nil
}

// setup steps, recorded as timeline events so a retry skips what is done
// and a final failure can say exactly what did not happen.
const (
	stepChannel   = "channel"
	stepTopic     = "topic"
	stepBookmarks = "bookmarks"
	stepInvites   = "invites"
	stepPanel     = "panel"
	stepAnnounce  = "announce"
)

var stepLabels = map[string]string{
	stepChannel:   "create the incident channel",
	stepTopic:     "set the channel topic",
	stepBookmarks: "add the runbook and dashboard bookmarks",
	stepInvites:   "invite the responders",
	stepPanel:     "post and pin the control panel",
	stepAnnounce:  "announce the incident in the broadcast channel",
}

func stepSource(step string) string { return "setup:" + step }

// runSetup is the JobSetup handler.
func (s *Service) runSetup(ctx context.Context, payload []byte) error {
	var p setupPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("decode setup payload: %w: %w", err, ErrJobCancel)
	}
	err := s.setup(ctx, p)
	if err == nil || errors.Is(err, ErrJobCancel) {
		return err
	}
	if attempt, max := JobAttempt(ctx); max > 0 && attempt >= max {
		s.reportSetupFailure(ctx, p, err)
	}
	return err
}

func (s *Service) setup(ctx context.Context, p setupPayload) error {
	inc, err := s.store.GetIncident(ctx, p.IncidentID)
	if ErrorCode(err) == ENOTFOUND {
		return fmt.Errorf("setup: %w: %w", err, ErrJobCancel)
	} else if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	done, err := s.doneSteps(ctx, inc.ID)
	if err != nil {
		return err
	}

	// Who to invite does not depend on the channel: resolve it while the
	// channel is being created, off the critical path.
	type resolved struct {
		ids, missing []string
		err          error
	}
	invitees := make(chan resolved, 1)
	if done[stepInvites] {
		invitees <- resolved{}
	} else {
		refs := s.inviteRefs(inc)
		go func() {
			ids, missing, err := s.chat.ResolveUsers(ctx, refs)
			invitees <- resolved{ids, missing, err}
		}()
	}

	if inc.ChannelID == "" {
		if inc, err = s.createChannel(ctx, inc); err != nil {
			return err
		}
	}
	if err := s.markStep(ctx, inc, stepChannel, fmt.Sprintf("Channel #%s created", inc.ChannelName)); err != nil {
		return err
	}
	// The war room exists: investigation begins, and everything rendered
	// from here on says so.
	if inc.Status == StatusDeclared {
		inc, err = s.store.UpdateIncident(ctx, inc.ID, func(i *Incident) ([]TimelineEvent, error) {
			if i.Status != StatusDeclared {
				return nil, nil
			}
			i.Status = StatusInvestigating
			return []TimelineEvent{{Kind: EventStatusChanged, Actor: "bot", At: s.clock.Now(), Text: "Investigating",
				Payload: StatusChangedData{From: StatusDeclared, To: StatusInvestigating}}}, nil
		})
		if err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}

	// Everything else needs only the channel: run it concurrently.
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	fail := func(step string, err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, fmt.Errorf("%s: %w", stepLabels[step], err))
	}
	run := func(step, text string, fn func() error) {
		if done[step] {
			return
		}
		wg.Go(func() {
			if err := fn(); err != nil {
				fail(step, err)
				return
			}
			if err := s.markStep(ctx, inc, step, text); err != nil {
				fail(step, err)
			}
		})
	}
	run(stepTopic, "Channel topic set", func() error {
		return s.chat.SetTopic(ctx, inc.ChannelID, TopicNotice(inc))
	})
	run(stepBookmarks, "Bookmarks added", func() error {
		marks := s.bookmarks(inc)
		errs := make([]error, len(marks))
		var bwg sync.WaitGroup
		for i, bm := range marks {
			bwg.Go(func() { errs[i] = s.chat.AddBookmark(ctx, inc.ChannelID, bm[0], bm[1]) })
		}
		bwg.Wait()
		return errors.Join(errs...)
	})
	run(stepInvites, "Responders invited", func() error {
		r := <-invitees
		if r.err != nil {
			return r.err
		}
		if len(r.missing) > 0 {
			s.log.WarnContext(ctx, "responders not found", "incident", inc.Key(), "missing", r.missing)
		}
		return s.chat.Invite(ctx, inc.ChannelID, r.ids)
	})
	run(stepPanel, "Control panel pinned", func() error {
		ts := inc.PanelTS
		if ts == "" {
			var err error
			if ts, err = s.chat.PostPanel(ctx, inc); err != nil {
				return err
			}
			if _, err := s.store.UpdateIncident(ctx, inc.ID, func(i *Incident) ([]TimelineEvent, error) {
				i.PanelTS = ts
				return nil, nil
			}); err != nil {
				return err
			}
		}
		return s.chat.Pin(ctx, inc.ChannelID, ts)
	})
	if broadcast := s.broadcastChannel(inc); broadcast != "" {
		run(stepAnnounce, "Incident announced", func() error {
			if inc.BroadcastTS != "" {
				return nil
			}
			ch, ts, err := s.chat.Announce(ctx, broadcast, inc)
			if err != nil {
				return err
			}
			_, err = s.store.UpdateIncident(ctx, inc.ID, func(i *Incident) ([]TimelineEvent, error) {
				i.BroadcastChannel, i.BroadcastTS = ch, ts
				return nil, nil
			})
			return err
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("setup of %s: %w", inc.Key(), errors.Join(errs...))
	}

	if p.ReplyTo != (ReplyTarget{}) {
		open := Notice{Kind: NoticeIncidentOpen, Incident: inc.Key(), Actor: "bot", Drill: inc.Drill, Values: map[string]string{"channel": inc.ChannelID}}
		if err := s.chat.Tell(ctx, p.ReplyTo, open); err != nil {
			s.log.WarnContext(ctx, "could not tell the declarer", "incident", inc.Key(), "err", err)
		}
	}
	return nil
}

// broadcastChannel is where inc is announced: the broadcast channel, or
// for a private incident only the private broadcast channel, if any.
func (s *Service) broadcastChannel(inc *Incident) string {
	if inc.Private {
		return s.policy.PrivateBroadcastChannel
	}
	return s.policy.BroadcastChannel
}

// createChannel creates the incident's channel, trying "-2", "-3" ... for a
// taken name, and adopts a channel that an interrupted attempt created.
func (s *Service) createChannel(ctx context.Context, inc *Incident) (*Incident, error) {
	for attempt := 1; attempt <= maxChannelAttempts; attempt++ {
		prefix := s.policy.ChannelPrefix
		if inc.Drill {
			prefix += "-drill"
		}
		name := ChannelName(prefix, inc.DeclaredAt, s.policy.Location, inc.Title, inc.Number, attempt)
		id, err := s.chat.CreateChannel(ctx, name, inc.Private)
		if ErrorCode(err) == ECONFLICT {
			// Taken: perhaps by us, in an attempt that died before it
			// stored the id. Adopt it if no incident owns it.
			id, ferr := s.chat.FindChannel(ctx, name, inc.Private)
			if ferr != nil {
				if ErrorCode(ferr) == ENOTFOUND {
					continue
				}
				return inc, fmt.Errorf("find channel %s: %w", name, ferr)
			}
			owner, gerr := s.store.GetIncidentByChannel(ctx, id)
			if gerr == nil && owner.ID != inc.ID {
				continue
			} else if gerr != nil && ErrorCode(gerr) != ENOTFOUND {
				return inc, gerr
			}
			err = nil
			if id == "" {
				continue
			}
			return s.storeChannel(ctx, inc, id, name)
		}
		if err != nil {
			return inc, fmt.Errorf("create channel %s: %w", name, err)
		}
		return s.storeChannel(ctx, inc, id, name)
	}
	return inc, fmt.Errorf("no free channel name for %s after %d attempts: %w", inc.Key(), maxChannelAttempts, ErrJobCancel)
}

func (s *Service) storeChannel(ctx context.Context, inc *Incident, id, name string) (*Incident, error) {
	updated, err := s.store.UpdateIncident(ctx, inc.ID, func(i *Incident) ([]TimelineEvent, error) {
		i.ChannelID, i.ChannelName = id, name
		return nil, nil
	})
	if err != nil {
		return inc, fmt.Errorf("store channel of %s: %w", inc.Key(), err)
	}
	return updated, nil
}

// doneSteps reads which setup steps earlier attempts completed.
func (s *Service) doneSteps(ctx context.Context, incidentID int64) (map[string]bool, error) {
	events, err := s.store.ListTimeline(ctx, incidentID)
	if err != nil {
		return nil, fmt.Errorf("read setup progress: %w", err)
	}
	done := map[string]bool{}
	for _, ev := range events {
		if step, ok := strings.CutPrefix(ev.SourceID, "setup:"); ok {
			done[step] = true
		}
	}
	return done, nil
}

func (s *Service) markStep(ctx context.Context, inc *Incident, step, text string) error {
	err := s.store.AddTimelineEvent(ctx, &TimelineEvent{IncidentID: inc.ID, Kind: EventSetup, Actor: "bot", At: s.clock.Now(),
		Text: text, SourceID: stepSource(step)})
	if err != nil && ErrorCode(err) != ECONFLICT {
		return fmt.Errorf("record step %s: %w", step, err)
	}
	return nil
}

// reportSetupFailure tells the declarer, after the last attempt, exactly
// which parts of the war room do not exist.
func (s *Service) reportSetupFailure(ctx context.Context, p setupPayload, cause error) {
	done, err := s.doneSteps(ctx, p.IncidentID)
	if err != nil {
		done = map[string]bool{}
	}
	inc, err := s.store.GetIncident(ctx, p.IncidentID)
	if err != nil {
		return
	}
	var missing []string
	for _, step := range []string{stepChannel, stepTopic, stepBookmarks, stepInvites, stepPanel, stepAnnounce} {
		if step == stepAnnounce && s.broadcastChannel(inc) == "" {
			continue
		}
		if !done[step] {
			missing = append(missing, stepLabels[step])
		}
	}
	text := fmt.Sprintf("%s was declared and is recorded, but I could not %s. Cause: %s",
		inc.Key(), strings.Join(missing, ", "), ErrorMessage(cause))
	s.log.ErrorContext(ctx, "setup failed for good", "incident", inc.Key(), "missing", missing, "err", cause)
	target := p.ReplyTo
	if inc.ChannelID != "" && target.ResponseURL == "" && target.ChannelID == "" {
		target.ChannelID = inc.ChannelID
	}
	if err := s.chat.Tell(ctx, target, drillText(inc, text)); err != nil {
		s.log.ErrorContext(ctx, "could not tell the declarer about the failed setup", "incident", inc.Key(), "err", err)
	}
}

// inviteRefs lists who joins the channel: the declarer, the IC, the other
// role holders, the service's responders and the severity's invitees.
func (s *Service) inviteRefs(inc *Incident) []string {
	refs := []string{inc.Commander}
	if inc.DeclaredBy != "bot" {
		refs = append(refs, inc.DeclaredBy)
	}
	for _, u := range inc.Roles {
		refs = append(refs, u)
	}
	if svc, ok := s.policy.Services[inc.Service]; ok {
		refs = append(refs, svc.Responders...)
	}
	refs = append(refs, s.policy.Severity(inc.Severity).Invite...)
	return Dedupe(refs)
}

func (s *Service) bookmarks(inc *Incident) [][2]string {
	var out [][2]string
	svc, ok := s.policy.Services[inc.Service]
	if ok && svc.Runbook != "" {
		out = append(out, [2]string{"Runbook: " + svc.Name, svc.Runbook})
	}
	dash := s.policy.DashboardURL
	if ok && svc.Dashboard != "" {
		dash = svc.Dashboard
	}
	if dash != "" {
		out = append(out, [2]string{"Dashboard", dash})
	}
	return out
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

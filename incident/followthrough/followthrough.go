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
	"encoding/json"
	"fmt"
	"sort"
	"strings"
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
	return &Service{store: cfg.Store, core: cfg.Core, chat: cfg.Chat, sched: cfg.Scheduler, policy: cfg.Policy,
		clock: cfg.Clock, noticeText: cfg.Render}
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

// runDrill declares the drill of a schedule for a period, once: the
// declare is keyed by the schedule and the period.
func (s *Service) runDrill(ctx context.Context, n notice) error {
	if n.Drill < 0 || n.Drill >= len(s.policy.Drills.Schedule) {
		return nil
	}
	d := s.policy.Drills.Schedule[n.Drill]
	title := d.Title
	if title == "" {
		title = "Scheduled drill " + d.Name
	}
	_, _, err := s.core.Declare(ctx, incident.DeclareInput{Title: title, Severity: d.Severity, ServiceKey: d.Service, DeclaredBy: "bot",
		Drill: true, Key: fmt.Sprintf("drill:%s:%s", d.Name, n.Period),
		Description: fmt.Sprintf("A %s drill from the policy (%s). Run it like a real incident.", d.Every, d.Name)})
	return err
}

// subBusinessDays returns the day n business days before day.
func subBusinessDays(day time.Time, n int) time.Time {
	for n > 0 {
		day = day.AddDate(0, 0, -1)
		if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return day
}

// scheduleReview sets the review of a just-closed incident: due the
// policy's business days after the close, in the policy's time zone. The
// review, its timeline event and the line for the channel commit together.
func (s *Service) scheduleReview(ctx context.Context, inc *incident.Incident) error {
	now := s.clock.Now()
	owner := inc.Commander
	if sc := inc.Roles[incident.RoleScribe]; owner == "" && sc != "" {
		owner = sc
	}
	due := incident.AddBusinessDays(incident.Day(now, s.policy.Location), s.policy.FollowUps.ReviewBusinessDays)
	return s.atomic(ctx, func(tx Tx) error {
		if _, err := tx.GetReview(ctx, inc.ID); err == nil {
			return nil // a reopened and closed again incident keeps its review
		} else if incident.ErrorCode(err) != incident.ENOTFOUND {
			return fmt.Errorf("schedule review: %w", err)
		}
		r := &incident.Review{IncidentID: inc.ID, State: incident.ReviewDraft, DueOn: due, Owner: owner, UpdatedBy: "bot", CreatedAt: now, UpdatedAt: now}
		if err := tx.SaveReview(ctx, r); err != nil {
			return fmt.Errorf("schedule review of %s: %w", inc.Key(), err)
		}
		n := incident.Notice{Kind: incident.NoticeReviewScheduled, Incident: inc.Key(), Actor: "bot", User: owner,
			Values: map[string]string{"due": due.Format("Mon 2 Jan 2006"), "days": fmt.Sprint(s.policy.FollowUps.ReviewBusinessDays)}}
		ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventReview, Actor: "bot", At: now, Text: s.noticeText(n), SourceID: "review:scheduled",
			Payload: incident.ReviewData{State: incident.ReviewDraft, Due: due.Format(time.DateOnly)}}
		if err := tx.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
			return fmt.Errorf("schedule review of %s: %w", inc.Key(), err)
		}
		return s.core.NotifyOn(ctx, tx, inc, n)
	})
}

// Review returns an incident's review; ENOTFOUND before it is closed.
func (s *Service) Review(ctx context.Context, id int64) (*incident.Review, error) {
	r, err := s.store.GetReview(ctx, id)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil, incident.Errorf(incident.ENOTFOUND, "The review is scheduled when the incident is closed.")
	}
	return r, err
}

// SetReviewState moves the review forward (draft → in review → published)
// or back. EINVALID for an unknown state; ENOTFOUND before the close;
// EFORBIDDEN unless actor is the IC, in the commander group or the
// review's owner. The new state, its timeline event and the line for the
// channel commit together, or none of them does.
func (s *Service) SetReviewState(ctx context.Context, id int64, state incident.ReviewState, actor string) (*incident.Review, error) {
	if !state.Valid() {
		return nil, incident.Errorf(incident.EINVALID, "Unknown review state %q: use draft, in_review or published.", state)
	}
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	r, err := s.Review(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, incident.Request{Subject: incident.Subject{User: actor}, Action: incident.ActReview, Incident: inc, Target: r.Owner}); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	err = s.atomic(ctx, func(tx Tx) error {
		cur, err := tx.GetReview(ctx, id)
		if err != nil {
			return fmt.Errorf("set review state: %w", err)
		}
		if cur.State == state {
			return incident.Errorf(incident.ECONFLICT, "The review of %s is already %s.", inc.Key(), state.Label())
		}
		from := cur.State
		cur.State, cur.UpdatedBy, cur.UpdatedAt = state, actor, now
		if err := tx.SaveReview(ctx, cur); err != nil {
			return fmt.Errorf("set review state: %w", err)
		}
		n := incident.Notice{Kind: incident.NoticeReviewState, Incident: inc.Key(), Actor: actor, Values: map[string]string{"from": from.Label(), "to": state.Label()}}
		ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventReview, Actor: actor, At: now, Text: s.noticeText(n),
			Payload: incident.ReviewData{From: from, State: state}}
		if err := tx.AddTimelineEvent(ctx, &ev); err != nil {
			return fmt.Errorf("set review state: %w", err)
		}
		r = cur
		if inc.ChannelID == "" {
			return nil
		}
		return s.core.NotifyOn(ctx, tx, inc, n)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Followups lists open action items across incidents, overdue first, then
// by due date. Drills' items are included: a drill's follow-ups are real.
func (s *Service) Followups(ctx context.Context, f incident.FollowUpFilter) ([]incident.FollowUp, error) {
	if f.Viewer == "" && !f.Internal {
		return nil, incident.Errorf(incident.EINVALID, "Say who is asking for the follow-ups.")
	}
	items, err := s.store.ListOpenActionItems(ctx)
	if err != nil {
		return nil, fmt.Errorf("list follow-ups: %w", err)
	}
	seen := map[int64]bool{}
	today := incident.Day(s.clock.Now(), s.policy.Location)
	incs := map[int64]*incident.Incident{}
	var out []incident.FollowUp
	for _, it := range items {
		if f.Owner != "" && it.Owner != f.Owner {
			continue
		}
		overdue := it.DueOn != nil && it.DueOn.Before(today)
		if f.OverdueOnly && !overdue {
			continue
		}
		inc, ok := incs[it.IncidentID]
		if !ok {
			if inc, err = s.store.GetIncident(ctx, it.IncidentID); err != nil {
				return nil, fmt.Errorf("list follow-ups: %w", err)
			}
			incs[it.IncidentID] = inc
			if !f.Internal {
				ok, err := s.core.CanSee(ctx, f.Viewer, inc)
				if err != nil {
					return nil, fmt.Errorf("list follow-ups: %w", err)
				}
				seen[inc.ID] = ok
			}
		}
		if !f.Internal && !seen[inc.ID] {
			continue
		}
		out = append(out, incident.FollowUp{Item: it, Incident: inc, Overdue: overdue})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Overdue != b.Overdue {
			return a.Overdue
		}
		switch {
		case a.Item.DueOn == nil && b.Item.DueOn == nil:
			return false
		case a.Item.DueOn == nil:
			return false
		case b.Item.DueOn == nil:
			return true
		}
		return a.Item.DueOn.Before(*b.Item.DueOn)
	})
	return out, nil
}

// INC-n"), its owner and due date, never its text nor its tracker link.
func redactedFollowUpItem(f incident.FollowUp) incident.Notice {
	n := incident.Notice{Kind: incident.NoticeFollowUpItem, Incident: incident.DisclosedTitle(f.Incident, incident.DiscloseRedacted), User: f.Item.Owner,
		Values: map[string]string{"private": "true", "overdue": fmt.Sprint(f.Overdue)}}
	if f.Item.DueOn != nil {
		n.Values["due"] = f.Item.DueOn.Format("Mon 2 Jan")
	}
	return n
}

// CompleteActionItem marks an action item done, as when its tracker issue
// is closed; actor names who or what closed it. Done twice is no change.
// ENOTFOUND for an unknown item, or one of another incident than incKey.
// The item, its timeline event and the line for the channel commit
// together, or none of them does.
func (s *Service) CompleteActionItem(ctx context.Context, incKey string, itemID int64, actor, link string) error {
	item, err := s.store.GetActionItem(ctx, itemID)
	if err != nil {
		return fmt.Errorf("complete action item: %w", err)
	}
	inc, err := s.store.GetIncident(ctx, item.IncidentID)
	if err != nil {
		return fmt.Errorf("complete action item: %w", err)
	}
	if incKey != "" && !strings.EqualFold(inc.Key(), incKey) {
		return incident.Errorf(incident.ENOTFOUND, "Action item %d does not belong to %s.", itemID, incKey)
	}
	if item.Done {
		return nil
	}
	err = s.atomic(ctx, func(tx Tx) error {
		done := false
		if _, err := tx.UpdateActionItem(ctx, item.ID, func(a *incident.ActionItem) error {
			if a.Done {
				return nil
			}
			a.Done, done = true, true
			if a.ExternalURL == "" {
				a.ExternalURL = link
			}
			return nil
		}); err != nil {
			return err
		}
		if !done {
			return nil
		}
		n := incident.Notice{Kind: incident.NoticeFollowUpDone, Incident: inc.Key(), Values: map[string]string{"by": actor, "text": item.Text, "url": link}}
		ev := incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventNote, Actor: actor, At: s.clock.Now(), Text: s.noticeText(n),
			SourceID: fmt.Sprintf("item_done:%d", item.ID), Payload: incident.NoteData{ActionItem: item.ID}}
		if err := tx.AddTimelineEvent(ctx, &ev); err != nil && incident.ErrorCode(err) != incident.ECONFLICT {
			return err
		}
		if inc.ChannelID == "" {
			return nil
		}
		return s.core.NotifyOn(ctx, tx, inc, n)
	})
	if err != nil {
		return fmt.Errorf("complete action item: %w", err)
	}
	return nil
}

// notice is one message the follow-through sends once.
type notice struct {
	Key  string `json:"key"`
	Kind string `json:"kind"`
	// IncidentID and ItemID say what it is about.
	IncidentID int64  `json:"incident_id,omitempty"`
	ItemID     int64  `json:"item_id,omitempty"`
	Team       string `json:"team,omitempty"`
	Drill      int    `json:"drill,omitempty"`
	Period     string `json:"period,omitempty"`
}

// Notice kinds.
const (
	noticeReviewReminder = "review_reminder"
	noticeReviewOverdue  = "review_overdue"
	noticeItemDue        = "item_due"
	noticeItemOverdue    = "item_overdue"
	noticeDigest         = "digest"
	noticeDrill          = "drill"
)

// Sweep finds the reminders, escalations, digests and
// scheduled drills that are due now and schedules each as a job keyed by
// what it is about, so that however many replicas sweep, and however often,
// each is sent once. The program runs it every FollowUps.CheckEvery.
func (s *Service) Sweep(ctx context.Context) (scheduled int, err error) {
	now := s.clock.Now()
	fp := s.policy.FollowUps
	loc := s.policy.Location
	today := incident.Day(now, loc)
	local := now.In(loc)
	sinceMidnight := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute + time.Duration(local.Second())*time.Second
	pastAt := sinceMidnight >= fp.At
	var notices []notice

	if pastAt {
		reviews, err := s.store.ListReviews(ctx)
		if err != nil {
			return 0, fmt.Errorf("sweep: %w", err)
		}
		for _, r := range reviews {
			switch {
			case today.After(r.DueOn):
				notices = append(notices, notice{Key: fmt.Sprintf("review_overdue:%d:%s", r.IncidentID, r.DueOn.Format(time.DateOnly)), Kind: noticeReviewOverdue, IncidentID: r.IncidentID})
			case !today.Before(subBusinessDays(r.DueOn, 1)):
				notices = append(notices, notice{Key: fmt.Sprintf("review_reminder:%d:%s", r.IncidentID, r.DueOn.Format(time.DateOnly)), Kind: noticeReviewReminder, IncidentID: r.IncidentID})
			}
		}
		items, err := s.store.ListOpenActionItems(ctx)
		if err != nil {
			return 0, fmt.Errorf("sweep: %w", err)
		}
		for _, it := range items {
			if it.DueOn == nil {
				continue
			}
			due := it.DueOn.Format(time.DateOnly)
			switch {
			case today.After(*it.DueOn):
				notices = append(notices, notice{Key: fmt.Sprintf("item_overdue:%d:%s", it.ID, due), Kind: noticeItemOverdue, IncidentID: it.IncidentID, ItemID: it.ID})
			case it.Owner != "" && !today.Before(it.DueOn.AddDate(0, 0, -fp.RemindDaysBefore)):
				notices = append(notices, notice{Key: fmt.Sprintf("item_due:%d:%s", it.ID, due), Kind: noticeItemDue, IncidentID: it.IncidentID, ItemID: it.ID})
			}
		}
		if local.Weekday() == fp.DigestDay {
			y, w := local.ISOWeek()
			period := fmt.Sprintf("%d-W%02d", y, w)
			for _, team := range s.digestTeams() {
				notices = append(notices, notice{Key: fmt.Sprintf("digest:%s:%s", team, period), Kind: noticeDigest, Team: team, Period: period})
			}
		}
	}
	for i, d := range s.policy.Drills.Schedule {
		period, due := d.Occurrence(now, loc)
		if !due {
			continue
		}
		notices = append(notices, notice{Key: fmt.Sprintf("drill:%s:%s", d.Name, period), Kind: noticeDrill, Drill: i, Period: period})
	}

	keys := make([]string, len(notices))
	for i, n := range notices {
		keys[i] = n.Key
	}
	sent, err := s.store.NoticesSent(ctx, keys)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	for _, n := range notices {
		if sent[n.Key] {
			continue
		}
		payload, _ := json.Marshal(n)
		ok, err := s.sched.Schedule(ctx, incident.Job{Kind: JobNotice, Key: n.Key, Payload: payload, MaxAttempts: 6})
		if err != nil {
			return scheduled, fmt.Errorf("sweep: schedule %s: %w", n.Key, err)
		}
		if ok {
			scheduled++
		}
	}
	return scheduled, nil
}

// digestTeams lists the digests to send: each team with a channel, and ""
// (items of no team) when the policy has a digest channel.
func (s *Service) digestTeams() []string {
	var out []string
	for name, t := range s.policy.Teams {
		if t.Channel != "" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	if s.policy.FollowUps.DigestChannel != "" {
		out = append(out, "")
	}
	return out
}

// runNotice is the JobNotice handler: it sends the notice unless a record
// says it was sent, then records it.
func (s *Service) runNotice(ctx context.Context, payload []byte) error {
	var n notice
	if err := json.Unmarshal(payload, &n); err != nil {
		return fmt.Errorf("decode notice: %w: %w", err, incident.ErrJobCancel)
	}
	sent, err := s.store.NoticeSent(ctx, n.Key)
	if err != nil {
		return fmt.Errorf("notice %s: %w", n.Key, err)
	}
	if sent {
		return nil
	}
	if err := s.sendNotice(ctx, n); err != nil {
		return fmt.Errorf("notice %s: %w", n.Key, err)
	}
	if _, err := s.store.RecordNotice(ctx, n.Key, s.clock.Now()); err != nil {
		return fmt.Errorf("record notice %s: %w", n.Key, err)
	}
	return nil
}

func (s *Service) sendNotice(ctx context.Context, n notice) error {
	switch n.Kind {
	case noticeReviewReminder, noticeReviewOverdue:
		return s.sendReviewNotice(ctx, n)
	case noticeItemDue, noticeItemOverdue:
		return s.sendItemNotice(ctx, n)
	case noticeDigest:
		return s.sendDigest(ctx, n)
	case noticeDrill:
		return s.runDrill(ctx, n)
	}
	return fmt.Errorf("unknown notice kind %q: %w", n.Kind, incident.ErrJobCancel)
}

func (s *Service) sendReviewNotice(ctx context.Context, n notice) error {
	inc, err := s.store.GetIncident(ctx, n.IncidentID)
	if err != nil {
		return err
	}
	r, err := s.store.GetReview(ctx, n.IncidentID)
	if err != nil {
		return err
	}
	if r.State == incident.ReviewPublished {
		return nil
	}
	say := incident.Notice{Kind: incident.NoticeReviewReminder, Incident: inc.Key(), Actor: "bot", Drill: inc.Drill,
		Values: map[string]string{"title": inc.Title, "due": r.DueOn.Format("Mon 2 Jan"), "state": r.State.Label()}}
	if n.Kind == noticeReviewOverdue {
		say.Kind = incident.NoticeReviewOverdue
	}
	for _, u := range incident.Dedupe([]string{inc.Commander, r.Owner}) {
		if u == "bot" {
			continue
		}
		if err := s.chat.Tell(ctx, incident.ReplyTarget{UserID: u}, say); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) sendItemNotice(ctx context.Context, n notice) error {
	item, err := s.store.GetActionItem(ctx, n.ItemID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if item.Done || item.DueOn == nil {
		return nil
	}
	inc, err := s.store.GetIncident(ctx, item.IncidentID)
	if err != nil {
		return err
	}
	say := incident.Notice{Kind: incident.NoticeFollowUpDue, Incident: inc.Key(), Actor: "bot", User: item.Owner, Drill: inc.Drill,
		Values: map[string]string{"due": item.DueOn.Format("Mon 2 Jan"), "text": item.Text}}
	if n.Kind == noticeItemDue {
		return s.chat.Tell(ctx, incident.ReplyTarget{UserID: item.Owner}, say)
	}
	say.Kind = incident.NoticeFollowUpOverdue
	if item.Owner != "" {
		if err := s.chat.Tell(ctx, incident.ReplyTarget{UserID: item.Owner}, say); err != nil {
			return err
		}
	}
	// The escalation: the IC hears of it, unless the IC is the owner.
	if inc.Commander != "" && inc.Commander != item.Owner {
		say.Kind = incident.NoticeFollowUpOverdueIC
		return s.chat.Tell(ctx, incident.ReplyTarget{UserID: inc.Commander}, say)
	}
	return nil
}

func (s *Service) sendDigest(ctx context.Context, n notice) error {
	channel := s.policy.FollowUps.DigestChannel
	name := "all teams"
	if n.Team != "" {
		channel, name = s.policy.Teams[n.Team].Channel, n.Team
	}
	if channel == "" {
		return nil
	}
	all, err := s.Followups(ctx, incident.FollowUpFilter{Internal: true})
	if err != nil {
		return err
	}
	var mine []incident.FollowUp
	overdue := 0
	for _, f := range all {
		if s.policy.TeamOf(f.Incident.Service) != n.Team {
			continue
		}
		mine = append(mine, f)
		if f.Overdue {
			overdue++
		}
	}
	digest := incident.Notice{Kind: incident.NoticeFollowUpDigest, Actor: "bot", Values: map[string]string{"team": name, "period": n.Period,
		"open": fmt.Sprint(len(mine)), "overdue": fmt.Sprint(overdue)}}
	for i, f := range mine {
		if i == 30 {
			digest.Values["more"] = fmt.Sprint(len(mine) - i)
			break
		}
		if f.Incident.Private {
			digest.Items = append(digest.Items, redactedFollowUpItem(f))
			continue
		}
		digest.Items = append(digest.Items, incident.FollowUpItem(f))
	}
	_, err = s.chat.Notify(ctx, channel, digest)
	return err
}

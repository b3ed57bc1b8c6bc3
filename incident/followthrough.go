package incident

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Job kinds of follow-through: one notice (a reminder, an escalation, a
// digest, a scheduled drill) per job, keyed so that it is sent once.
const JobNotice = "followthrough.notice"

// EventReview records a change of the postmortem review's state or date.
const EventReview EventKind = "review"

// ReviewState is where the postmortem review is.
type ReviewState string

// Review states, in order.
const (
	ReviewDraft     ReviewState = "draft"
	ReviewInReview  ReviewState = "in_review"
	ReviewPublished ReviewState = "published"
)

// Valid reports whether s is a known review state.
func (s ReviewState) Valid() bool {
	return s == ReviewDraft || s == ReviewInReview || s == ReviewPublished
}

// Label is the state as people say it.
func (s ReviewState) Label() string { return strings.ReplaceAll(string(s), "_", " ") }

// Review is the blameless review of a closed incident.
type Review struct {
	IncidentID int64
	State      ReviewState
	// DueOn is the day (midnight UTC of the local date) the review is due.
	DueOn time.Time
	// Owner leads the review; the IC by default.
	Owner     string
	UpdatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// FollowUpStore keeps follow-through state. It is part of Store.
type FollowUpStore interface {
	// GetActionItem returns ENOTFOUND when no action item has the id.
	GetActionItem(ctx context.Context, id int64) (*ActionItem, error)
	// UpdateActionItem applies fn to a stored item in one transaction.
	UpdateActionItem(ctx context.Context, id int64, fn func(*ActionItem) error) (*ActionItem, error)
	// ListOpenActionItems returns every item not done, of every incident,
	// oldest first.
	ListOpenActionItems(ctx context.Context) ([]ActionItem, error)
	// SaveReview stores an incident's review, replacing the earlier one.
	SaveReview(ctx context.Context, r *Review) error
	// GetReview returns ENOTFOUND when the incident has no review.
	GetReview(ctx context.Context, incidentID int64) (*Review, error)
	// ListReviews returns reviews not yet published, by due date.
	ListReviews(ctx context.Context) ([]Review, error)
	// RecordNotice records that the notice with this key was sent; first
	// is false when it already was.
	RecordNotice(ctx context.Context, key string, at time.Time) (first bool, err error)
	// NoticeSent reports whether the notice with this key was recorded.
	NoticeSent(ctx context.Context, key string) (bool, error)
	// NoticesSent returns the keys among keys that were recorded.
	NoticesSent(ctx context.Context, keys []string) (map[string]bool, error)
}

// FollowUpPolicy schedules the follow-through after an incident.
type FollowUpPolicy struct {
	// ReviewBusinessDays is how many business days after close the review
	// is due (default 5; the practice says 3 to 5).
	ReviewBusinessDays int
	// At is the local time of day reminders and the digest go out
	// (default 09:00).
	At time.Duration
	// RemindDaysBefore is how many days before its due date an action
	// item's owner is reminded (default 1).
	RemindDaysBefore int
	// DigestDay is the weekday of the weekly digest (default Monday).
	DigestDay time.Weekday
	// DigestChannel receives the digest of items of no team; empty turns
	// that digest off.
	DigestChannel string
	// CheckEvery is how often follow-through is checked (default 5m).
	CheckEvery time.Duration
}

// DefaultFollowUpPolicy returns the defaults.
func DefaultFollowUpPolicy() FollowUpPolicy {
	return FollowUpPolicy{ReviewBusinessDays: 5, At: 9 * time.Hour, RemindDaysBefore: 1, DigestDay: time.Monday, CheckEvery: 5 * time.Minute}
}

func (f FollowUpPolicy) validate() error {
	switch {
	case f.ReviewBusinessDays < 1 || f.ReviewBusinessDays > 20:
		return fmt.Errorf("followups.review_business_days: %d is not from 1 to 20", f.ReviewBusinessDays)
	case f.At < 0 || f.At >= 24*time.Hour:
		return fmt.Errorf("followups.at: not a time of day")
	case f.RemindDaysBefore < 0 || f.RemindDaysBefore > 30:
		return fmt.Errorf("followups.remind_days_before: %d is not from 0 to 30", f.RemindDaysBefore)
	case f.CheckEvery < time.Second:
		return fmt.Errorf("followups.check_every: shorter than a second")
	}
	return nil
}

// Team owns services; its digest of follow-ups goes to its channel.
type Team struct {
	Name     string
	Services []string
	Channel  string
}

// teamOf returns the name of the team owning the service, or "".
func (p Policy) teamOf(service string) string {
	names := make([]string, 0, len(p.Teams))
	for n := range p.Teams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, s := range p.Teams[n].Services {
			if s == service {
				return n
			}
		}
	}
	return ""
}

// Day returns the local calendar date of t as midnight UTC, the form due
// dates are stored in.
func Day(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// AddBusinessDays returns the day n business days (Monday to Friday) after
// day.
func AddBusinessDays(day time.Time, n int) time.Time {
	for n > 0 {
		day = day.AddDate(0, 0, 1)
		if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return day
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
// policy's business days after the close, in the policy's time zone.
func (s *Service) scheduleReview(ctx context.Context, inc *Incident) error {
	if _, err := s.store.GetReview(ctx, inc.ID); err == nil {
		return nil // a reopened and closed again incident keeps its review
	} else if ErrorCode(err) != ENOTFOUND {
		return fmt.Errorf("schedule review: %w", err)
	}
	now := s.clock.Now()
	owner := inc.Commander
	if sc := inc.Roles[RoleScribe]; owner == "" && sc != "" {
		owner = sc
	}
	due := AddBusinessDays(Day(now, s.policy.Location), s.policy.FollowUps.ReviewBusinessDays)
	r := &Review{IncidentID: inc.ID, State: ReviewDraft, DueOn: due, Owner: owner, UpdatedBy: "bot", CreatedAt: now, UpdatedAt: now}
	if err := s.store.SaveReview(ctx, r); err != nil {
		return fmt.Errorf("schedule review of %s: %w", inc.Key(), err)
	}
	n := Notice{Kind: NoticeReviewScheduled, Incident: inc.Key(), Actor: "bot", User: owner,
		Values: map[string]string{"due": due.Format("Mon 2 Jan 2006"), "days": fmt.Sprint(s.policy.FollowUps.ReviewBusinessDays)}}
	ev := TimelineEvent{IncidentID: inc.ID, Kind: EventReview, Actor: "bot", At: now, Text: s.noticeText(n), SourceID: "review:scheduled",
		Data: map[string]string{"state": string(ReviewDraft), "due": due.Format(time.DateOnly)}}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && ErrorCode(err) != ECONFLICT {
		return fmt.Errorf("schedule review of %s: %w", inc.Key(), err)
	}
	return s.scheduleSync(ctx, inc, syncPayload{IncidentID: inc.ID, Notices: []Notice{n}})
}

// Review returns an incident's review; ENOTFOUND before it is closed.
func (s *Service) Review(ctx context.Context, id int64) (*Review, error) {
	r, err := s.store.GetReview(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "The review is scheduled when the incident is closed.")
	}
	return r, err
}

// SetReviewState moves the review forward (draft → in review → published)
// or back. EINVALID for an unknown state; ENOTFOUND before the close;
// EFORBIDDEN unless actor is the IC, in the commander group or the
// review's owner.
func (s *Service) SetReviewState(ctx context.Context, id int64, state ReviewState, actor string) (*Review, error) {
	if !state.Valid() {
		return nil, Errorf(EINVALID, "Unknown review state %q: use draft, in_review or published.", state)
	}
	inc, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	r, err := s.Review(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, Request{Subject: Subject{User: actor}, Action: ActReview, Incident: inc, Target: r.Owner}); err != nil {
		return nil, err
	}
	if r.State == state {
		return nil, Errorf(ECONFLICT, "The review of %s is already %s.", inc.Key(), state.Label())
	}
	now := s.clock.Now()
	from := r.State
	r.State, r.UpdatedBy, r.UpdatedAt = state, actor, now
	if err := s.store.SaveReview(ctx, r); err != nil {
		return nil, fmt.Errorf("set review state: %w", err)
	}
	n := Notice{Kind: NoticeReviewState, Incident: inc.Key(), Actor: actor, Values: map[string]string{"from": from.Label(), "to": state.Label()}}
	ev := TimelineEvent{IncidentID: inc.ID, Kind: EventReview, Actor: actor, At: now, Text: s.noticeText(n),
		Data: map[string]string{"from": string(from), "state": string(state)}}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil {
		return nil, fmt.Errorf("set review state: %w", err)
	}
	if inc.ChannelID != "" {
		if err := s.scheduleSync(ctx, inc, syncPayload{IncidentID: inc.ID, Notices: []Notice{n}}); err != nil {
			return r, err
		}
	}
	return r, nil
}

// FollowUpFilter selects action items for Followups.
type FollowUpFilter struct {
	// Owner keeps the items of one user.
	Owner string
	// OverdueOnly keeps items past their due date.
	OverdueOnly bool
	// Viewer keeps the items of incidents this user may see (CanSee):
	// a private incident's items only for its members. Required unless
	// Internal is set.
	Viewer string
	// Internal lists every item, for the bot's own digests, which redact
	// private incidents' items themselves.
	Internal bool
}

// FollowUp is an open action item with its incident.
type FollowUp struct {
	Item     ActionItem
	Incident *Incident
	Overdue  bool
}

// Followups lists open action items across incidents, overdue first, then
// by due date. Drills' items are included: a drill's follow-ups are real.
func (s *Service) Followups(ctx context.Context, f FollowUpFilter) ([]FollowUp, error) {
	if f.Viewer == "" && !f.Internal {
		return nil, Errorf(EINVALID, "Say who is asking for the follow-ups.")
	}
	items, err := s.store.ListOpenActionItems(ctx)
	if err != nil {
		return nil, fmt.Errorf("list follow-ups: %w", err)
	}
	seen := map[int64]bool{}
	today := Day(s.clock.Now(), s.policy.Location)
	incs := map[int64]*Incident{}
	var out []FollowUp
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
				ok, err := s.CanSee(ctx, f.Viewer, inc)
				if err != nil {
					return nil, fmt.Errorf("list follow-ups: %w", err)
				}
				seen[inc.ID] = ok
			}
		}
		if !f.Internal && !seen[inc.ID] {
			continue
		}
		out = append(out, FollowUp{Item: it, Incident: inc, Overdue: overdue})
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

// FollowUpItem is one follow-up of a list or digest, for the chat to word.
func FollowUpItem(f FollowUp) Notice {
	n := Notice{Kind: NoticeFollowUpItem, Incident: f.Incident.Key(), User: f.Item.Owner,
		Values: map[string]string{"text": f.Item.Text, "url": f.Item.ExternalURL, "overdue": fmt.Sprint(f.Overdue)}}
	if f.Item.DueOn != nil {
		n.Values["due"] = f.Item.DueOn.Format("Mon 2 Jan")
	}
	return n
}

// redactedFollowUpItem is a private incident's follow-up for a channel
// that may not see it: the redacted incident name ("Private incident
// INC-n"), its owner and due date, never its text nor its tracker link.
func redactedFollowUpItem(f FollowUp) Notice {
	n := Notice{Kind: NoticeFollowUpItem, Incident: DisclosedTitle(f.Incident, DiscloseRedacted), User: f.Item.Owner,
		Values: map[string]string{"private": "true", "overdue": fmt.Sprint(f.Overdue)}}
	if f.Item.DueOn != nil {
		n.Values["due"] = f.Item.DueOn.Format("Mon 2 Jan")
	}
	return n
}

// CompleteActionItem marks an action item done, as when its tracker issue
// is closed; actor names who or what closed it. Done twice is no change.
// ENOTFOUND for an unknown item, or one of another incident than incKey.
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
		return Errorf(ENOTFOUND, "Action item %d does not belong to %s.", itemID, incKey)
	}
	if item.Done {
		return nil
	}
	done := false
	if _, err := s.store.UpdateActionItem(ctx, item.ID, func(a *ActionItem) error {
		if a.Done {
			return nil
		}
		a.Done, done = true, true
		if a.ExternalURL == "" {
			a.ExternalURL = link
		}
		return nil
	}); err != nil {
		return fmt.Errorf("complete action item: %w", err)
	}
	if !done {
		return nil
	}
	n := Notice{Kind: NoticeFollowUpDone, Incident: inc.Key(), Values: map[string]string{"by": actor, "text": item.Text, "url": link}}
	ev := TimelineEvent{IncidentID: inc.ID, Kind: EventNote, Actor: actor, At: s.clock.Now(), Text: s.noticeText(n),
		SourceID: fmt.Sprintf("item_done:%d", item.ID), Data: map[string]string{"action_item": fmt.Sprint(item.ID)}}
	if err := s.store.AddTimelineEvent(ctx, &ev); err != nil && ErrorCode(err) != ECONFLICT {
		return fmt.Errorf("complete action item: %w", err)
	}
	if inc.ChannelID == "" {
		return nil
	}
	return s.scheduleSync(ctx, inc, syncPayload{IncidentID: inc.ID, Notices: []Notice{n}})
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

// SweepFollowThrough finds the reminders, escalations, digests and
// scheduled drills that are due now and schedules each as a job keyed by
// what it is about, so that however many replicas sweep, and however often,
// each is sent once. The program runs it every FollowUps.CheckEvery.
func (s *Service) SweepFollowThrough(ctx context.Context) (scheduled int, err error) {
	now := s.clock.Now()
	fp := s.policy.FollowUps
	loc := s.policy.Location
	today := Day(now, loc)
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
		period, due := d.occurrence(now, loc)
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
		ok, err := s.sched.Schedule(ctx, Job{Kind: JobNotice, Key: n.Key, Payload: payload, MaxAttempts: 6})
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
		return fmt.Errorf("decode notice: %w: %w", err, ErrJobCancel)
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
		return s.runScheduledDrill(ctx, n)
	}
	return fmt.Errorf("unknown notice kind %q: %w", n.Kind, ErrJobCancel)
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
	if r.State == ReviewPublished {
		return nil
	}
	say := Notice{Kind: NoticeReviewReminder, Incident: inc.Key(), Actor: "bot", Drill: inc.Drill,
		Values: map[string]string{"title": inc.Title, "due": r.DueOn.Format("Mon 2 Jan"), "state": r.State.Label()}}
	if n.Kind == noticeReviewOverdue {
		say.Kind = NoticeReviewOverdue
	}
	for _, u := range Dedupe([]string{inc.Commander, r.Owner}) {
		if u == "bot" {
			continue
		}
		if err := s.chat.Tell(ctx, ReplyTarget{UserID: u}, say); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) sendItemNotice(ctx context.Context, n notice) error {
	item, err := s.store.GetActionItem(ctx, n.ItemID)
	if ErrorCode(err) == ENOTFOUND {
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
	say := Notice{Kind: NoticeFollowUpDue, Incident: inc.Key(), Actor: "bot", User: item.Owner, Drill: inc.Drill,
		Values: map[string]string{"due": item.DueOn.Format("Mon 2 Jan"), "text": item.Text}}
	if n.Kind == noticeItemDue {
		return s.chat.Tell(ctx, ReplyTarget{UserID: item.Owner}, say)
	}
	say.Kind = NoticeFollowUpOverdue
	if item.Owner != "" {
		if err := s.chat.Tell(ctx, ReplyTarget{UserID: item.Owner}, say); err != nil {
			return err
		}
	}
	// The escalation: the IC hears of it, unless the IC is the owner.
	if inc.Commander != "" && inc.Commander != item.Owner {
		say.Kind = NoticeFollowUpOverdueIC
		return s.chat.Tell(ctx, ReplyTarget{UserID: inc.Commander}, say)
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
	all, err := s.Followups(ctx, FollowUpFilter{Internal: true})
	if err != nil {
		return err
	}
	var mine []FollowUp
	overdue := 0
	for _, f := range all {
		if s.policy.teamOf(f.Incident.Service) != n.Team {
			continue
		}
		mine = append(mine, f)
		if f.Overdue {
			overdue++
		}
	}
	digest := Notice{Kind: NoticeFollowUpDigest, Actor: "bot", Values: map[string]string{"team": name, "period": n.Period,
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
		digest.Items = append(digest.Items, FollowUpItem(f))
	}
	_, err = s.chat.Notify(ctx, channel, digest)
	return err
}

package followthrough

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

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

// skipDrill logs that the drill of a schedule for a period is skipped: its
// slot passed longer ago than the catch-up window while the bot was not
// running (or could not check), and a drill declared at a time nobody
// planned for would surprise the people it calls.
func (s *Service) skipDrill(ctx context.Context, n notice) {
	if n.Drill < 0 || n.Drill >= len(s.policy.Drills.Schedule) {
		return
	}
	d := s.policy.Drills.Schedule[n.Drill]
	o := d.Occurrence(s.clock.Now(), s.policy.Location, incident.DrillCatchUp+s.policy.FollowUps.CheckEvery)
	attrs := []any{"drill", d.Name, "period", n.Period}
	if o.Period == n.Period {
		attrs = append(attrs, "slot", o.Slot.Format(time.RFC3339))
	}
	attrs = append(attrs, "next", o.Next.Format(time.RFC3339), "catch_up", incident.DrillCatchUp+s.policy.FollowUps.CheckEvery)
	s.log.WarnContext(ctx, fmt.Sprintf("scheduled drill %s skipped for %s: its time passed while the bot was not running or could not check, and a drill is declared only within %s of its time; the next is at %s",
		d.Name, n.Period, incident.DrillCatchUp+s.policy.FollowUps.CheckEvery, o.Next.Format("2006-01-02 15:04 MST")), attrs...)
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
	noticeDrillSkipped   = "drill_skipped"
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
	// A drill is declared from its slot until the catch-up window (and the
	// check that declares it, which can be that late) has passed; later,
	// the period's drill is skipped under the same key, so it is said once
	// and never declared late.
	for i, d := range s.policy.Drills.Schedule {
		o := d.Occurrence(now, loc, incident.DrillCatchUp+fp.CheckEvery)
		kind := noticeDrill
		if !o.Due {
			kind = noticeDrillSkipped
		}
		notices = append(notices, notice{Key: fmt.Sprintf("drill:%s:%s", d.Name, o.Period), Kind: kind, Drill: i, Period: o.Period})
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
	case noticeDrillSkipped:
		s.skipDrill(ctx, n)
		return nil
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
	var errs []error
	for _, u := range incident.Dedupe([]string{inc.Commander, r.Owner}) {
		if u == "bot" || u == "" {
			continue
		}
		if err := s.tellOnce(ctx, n.Key, u, say); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tellOnce tells user the notice with this key unless a record says they
// were told. A notice for several people is sent to each in turn; when one
// cannot be told for now (the chat unavailable, rate limited), the job is
// retried and the next checks schedule it again, and those told already
// are not told again. A person the chat refuses for good (they left the
// workspace: Slack will not open a direct message with a deactivated
// account) is passed over, recorded as told, so that neither the others
// nor the next checks wait on them.
func (s *Service) tellOnce(ctx context.Context, key, user string, n incident.Notice) error {
	key += ":" + user
	sent, err := s.store.NoticeSent(ctx, key)
	if err != nil || sent {
		return err
	}
	if err := s.chat.Tell(ctx, incident.ReplyTarget{UserID: user}, n); err != nil {
		if ctx.Err() != nil || incident.ErrorCode(err) == incident.EUNAVAILABLE {
			return err
		}
		s.log.WarnContext(ctx, "a follow-through notice cannot reach this person; passed over",
			"notice", key, "user", user, "err", err)
	}
	_, err = s.store.RecordNotice(ctx, key, s.clock.Now())
	return err
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
		if item.Owner == "" {
			return nil
		}
		return s.tellOnce(ctx, n.Key, item.Owner, say)
	}
	say.Kind = incident.NoticeFollowUpOverdue
	var errs []error
	if item.Owner != "" {
		if err := s.tellOnce(ctx, n.Key, item.Owner, say); err != nil {
			errs = append(errs, err)
		}
	}
	// The escalation: the IC hears of it, unless the IC is the owner,
	// whether or not the owner could be told.
	if inc.Commander != "" && inc.Commander != item.Owner {
		say.Kind = incident.NoticeFollowUpOverdueIC
		if err := s.tellOnce(ctx, n.Key, inc.Commander, say); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
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

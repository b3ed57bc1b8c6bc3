package followthrough

import (
	"context"
	"fmt"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

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

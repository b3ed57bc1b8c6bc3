package incident

// The vocabulary of follow-through (package incident/followthrough): the
// postmortem review, the follow-up policy and teams, and business days.

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

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

// TeamOf returns the name of the team owning the service, or "".
func (p Policy) TeamOf(service string) string {
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

// FollowUpItem is one follow-up of a list or digest, for the chat to word.
func FollowUpItem(f FollowUp) Notice {
	n := Notice{Kind: NoticeFollowUpItem, Incident: f.Incident.Key(), User: f.Item.Owner,
		Values: map[string]string{"text": f.Item.Text, "url": f.Item.ExternalURL, "overdue": fmt.Sprint(f.Overdue)}}
	if f.Item.DueOn != nil {
		n.Values["due"] = f.Item.DueOn.Format("Mon 2 Jan")
	}
	return n
}

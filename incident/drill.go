package incident

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// DrillPolicy says how drills run.
type DrillPolicy struct {
	// PagerDuty, when it names a service or routing key, receives drill
	// pages instead of the real service; otherwise drill pages are
	// simulated and nobody is paged.
	PagerDuty PagerDutyService
	// AllowRollback lets a drill's rollbacks run for real; by default they
	// are dry runs that say what would have happened.
	AllowRollback bool
	// Schedule lists the drills the bot declares by itself.
	Schedule []DrillSchedule
}

// DrillSchedule is a recurring drill.
type DrillSchedule struct {
	Name string
	// Every is weekly, monthly or quarterly.
	Every string
	// Day is the weekday (0 Sunday to 6 Saturday) of a weekly drill, or
	// the day of the month (1 to 28) of a monthly or quarterly one.
	Day int
	// At is the local time of day.
	At       time.Duration
	Severity Severity
	Service  string
	Title    string
}

func (d DrillPolicy) validate(p Policy) error {
	seen := map[string]bool{}
	for i, s := range d.Schedule {
		where := fmt.Sprintf("drills.schedule[%d]", i)
		switch {
		case s.Name == "" || strings.ContainsAny(s.Name, ": "):
			return fmt.Errorf("%s.name: a name without spaces or colons is required", where)
		case seen[s.Name]:
			return fmt.Errorf("%s.name: %q is used twice", where, s.Name)
		case !s.Severity.Valid():
			return fmt.Errorf("%s.severity: use P1, P2, P3 or P4", where)
		case s.At < 0 || s.At >= 24*time.Hour:
			return fmt.Errorf("%s.at: not a time of day", where)
		}
		seen[s.Name] = true
		if err := s.validateDay(where); err != nil {
			return err
		}
		if s.Service != "" {
			if _, ok := p.Services[s.Service]; !ok {
				return fmt.Errorf("%s.service: %q is not a service in services", where, s.Service)
			}
		}
	}
	return nil
}

// validateDay checks the schedule's period and its day in it.
func (s DrillSchedule) validateDay(where string) error {
	switch s.Every {
	case "weekly":
		if s.Day < 0 || s.Day > 6 {
			return fmt.Errorf("%s.day: a weekly drill's day is 0 (Sunday) to 6 (Saturday)", where)
		}
	case "monthly", "quarterly":
		if s.Day < 1 || s.Day > 28 {
			return fmt.Errorf("%s.day: a %s drill's day is 1 to 28", where, s.Every)
		}
	default:
		return fmt.Errorf("%s.every: %q is not weekly, monthly or quarterly", where, s.Every)
	}
	return nil
}

// DrillCatchUp is how long after its slot a scheduled drill is still
// declared when it was not at the slot: the bot was not running, or its
// check could not run. Later, that period's drill is skipped: declared hours
// or days after its time, it would surprise the people it calls, and a
// first start would declare a drill at once.
const DrillCatchUp = time.Hour

// DrillOccurrence is where a time stands in a drill schedule.
type DrillOccurrence struct {
	// Period names the period of the latest slot at or before the time:
	// "2026-12", "2026-W49", "2026-Q4".
	Period string
	// Slot is that slot, Next the one after it.
	Slot, Next time.Time
	// Due reports the time within the catch-up window after Slot: the
	// period's drill is declared (once); past it, the period's drill is
	// skipped.
	Due bool
}

// Occurrence returns where now stands in the schedule: the latest slot at
// or before now (which may be the previous period's), the next one, and
// whether the drill of the latest is due, which it is from its slot until
// catchUp after it.
func (d DrillSchedule) Occurrence(now time.Time, loc *time.Location, catchUp time.Duration) DrillOccurrence {
	local := now.In(loc)
	shift := 0
	period, slot := d.slot(local, shift, loc)
	if now.Before(slot) {
		shift = -1
		period, slot = d.slot(local, shift, loc)
	}
	_, next := d.slot(local, shift+1, loc)
	return DrillOccurrence{Period: period, Slot: slot, Next: next, Due: now.Sub(slot) < catchUp}
}

// slot returns the period shift periods from the one local falls in, and
// its drill time.
func (d DrillSchedule) slot(local time.Time, shift int, loc *time.Location) (string, time.Time) {
	y, m, _ := local.Date()
	switch d.Every {
	case "weekly":
		monday := local.AddDate(0, 0, -((int(local.Weekday())+6)%7)+7*shift)
		day := monday.AddDate(0, 0, (d.Day+6)%7) // days after Monday
		iy, w := day.ISOWeek()
		return fmt.Sprintf("%d-W%02d", iy, w), time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc).Add(d.At)
	case "quarterly":
		first := time.Date(y, time.Month((int(m)-1)/3*3+1+3*shift), 1, 0, 0, 0, 0, loc)
		return fmt.Sprintf("%d-Q%d", first.Year(), (int(first.Month())-1)/3+1), time.Date(first.Year(), first.Month(), d.Day, 0, 0, 0, 0, loc).Add(d.At)
	default:
		first := time.Date(y, m+time.Month(shift), 1, 0, 0, 0, 0, loc)
		return fmt.Sprintf("%d-%02d", first.Year(), first.Month()), time.Date(first.Year(), first.Month(), d.Day, 0, 0, 0, 0, loc).Add(d.At)
	}
}

// MarkDrills wraps the roles of c that post so that everything they post
// about a drill carries the DRILL marker: lines, notices, buttons and nags
// in a drill's channel, and the panel, announcement, nags and change lists
// of a drill incident. The other roles are passed on as they are; a
// wrapped role is not wrapped again.
func MarkDrills(c Chat, store IncidentStore) Chat {
	if n := c.NoticePoster; n != nil {
		if _, ok := n.(*drillNotices); !ok {
			c.NoticePoster = &drillNotices{NoticePoster: n, store: store}
		}
	}
	if p := c.PanelPoster; p != nil {
		if _, ok := p.(drillPanels); !ok {
			c.PanelPoster = drillPanels{p}
		}
	}
	if p := c.ChangePoster; p != nil {
		if _, ok := p.(drillChanges); !ok {
			c.ChangePoster = drillChanges{p}
		}
	}
	return c
}

func drillCopy(inc *Incident) *Incident {
	if inc == nil || !inc.Drill || strings.HasPrefix(inc.Title, "[DRILL]") {
		return inc
	}
	c := *inc
	c.Title = "[DRILL] " + inc.Title
	return &c
}

// drillNotices marks what is posted in a drill's channel, and a drill's
// nags.
type drillNotices struct {
	NoticePoster
	store IncidentStore
}

func (d *drillNotices) isDrillChannel(ctx context.Context, channelID string) bool {
	inc, err := d.store.GetIncidentByChannel(ctx, channelID)
	return err == nil && inc.Drill
}

func (d *drillNotices) Post(ctx context.Context, channelID, text string) (string, error) {
	if d.isDrillChannel(ctx, channelID) {
		return d.NoticePoster.Notify(ctx, channelID, Notice{Kind: NoticeMessage, Drill: true, Values: map[string]string{"message": text}})
	}
	return d.NoticePoster.Post(ctx, channelID, text)
}

func (d *drillNotices) Notify(ctx context.Context, channelID string, n Notice) (string, error) {
	if d.isDrillChannel(ctx, channelID) {
		n.Drill = true
	}
	return d.NoticePoster.Notify(ctx, channelID, n)
}

func (d *drillNotices) PostButtons(ctx context.Context, channelID, text string, buttons []Button) (string, error) {
	if d.isDrillChannel(ctx, channelID) {
		return d.NoticePoster.Notify(ctx, channelID, Notice{Kind: NoticeMessage, Drill: true, Values: map[string]string{"message": text}, Buttons: buttons})
	}
	return d.NoticePoster.PostButtons(ctx, channelID, text, buttons)
}

func (d *drillNotices) PostNag(ctx context.Context, channelID string, inc *Incident, n Notice) (string, error) {
	return d.NoticePoster.PostNag(ctx, channelID, drillCopy(inc), n)
}

// drillPanels marks a drill's panel and announcement.
type drillPanels struct{ PanelPoster }

func (d drillPanels) PostPanel(ctx context.Context, inc *Incident) (string, error) {
	return d.PanelPoster.PostPanel(ctx, drillCopy(inc))
}

func (d drillPanels) UpdatePanel(ctx context.Context, inc *Incident) error {
	return d.PanelPoster.UpdatePanel(ctx, drillCopy(inc))
}

func (d drillPanels) Announce(ctx context.Context, channel string, inc *Incident) (string, string, error) {
	return d.PanelPoster.Announce(ctx, channel, drillCopy(inc))
}

func (d drillPanels) UpdateAnnouncement(ctx context.Context, channelID, ts string, inc *Incident) error {
	return d.PanelPoster.UpdateAnnouncement(ctx, channelID, ts, drillCopy(inc))
}

// drillChanges marks a drill's list of changes.
type drillChanges struct{ ChangePoster }

func (d drillChanges) PostChanges(ctx context.Context, channelID string, inc *Incident, list ChangeList) (string, error) {
	return d.ChangePoster.PostChanges(ctx, channelID, drillCopy(inc), list)
}

// drillText is a direct message or reply, marked when it is about a
// drill, which the chat cannot tell by its channel.
func drillText(inc *Incident, text string) Notice {
	n := Notice{Kind: NoticeMessage, Values: map[string]string{"message": text}}
	if inc != nil {
		n.Incident, n.Drill = inc.Key(), inc.Drill
	}
	return n
}

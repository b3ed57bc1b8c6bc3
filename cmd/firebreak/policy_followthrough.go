package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

type policyResolution struct {
	Confirm []string `yaml:"confirm"`
}

type policyFollowUps struct {
	ReviewBusinessDays *int   `yaml:"review_business_days"`
	At                 string `yaml:"at"`
	RemindDaysBefore   *int   `yaml:"remind_days_before"`
	DigestDay          string `yaml:"digest_day"`
	DigestChannel      string `yaml:"digest_channel"`
	CheckEvery         string `yaml:"check_every"`
}

type policyTeam struct {
	Services []string `yaml:"services"`
	Channel  string   `yaml:"channel"`
}

type policyDrills struct {
	PagerDuty     policyDrillPagerDuty  `yaml:"pagerduty"`
	AllowRollback bool                  `yaml:"allow_rollback"`
	Schedule      []policyDrillSchedule `yaml:"schedule"`
}

type policyDrillPagerDuty struct {
	ServiceID  string `yaml:"service_id"`
	RoutingKey string `yaml:"routing_key"`
}

type policyDrillSchedule struct {
	Name     string `yaml:"name"`
	Every    string `yaml:"every"`
	Day      int    `yaml:"day"`
	At       string `yaml:"at"`
	Severity string `yaml:"severity"`
	Service  string `yaml:"service"`
	Title    string `yaml:"title"`
}

// timeOfDay parses "09:00" into the time since midnight.
func timeOfDay(v string) (time.Duration, error) {
	t, err := time.Parse("15:04", v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day such as 09:00", v)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

var weekdays = map[string]time.Weekday{"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday}

// parseFollowThrough reads the alert rules, resolution, follow-up, team and
// drill sections into p.
func parseFollowThrough(f policyFile, p *incident.Policy) error {
	if err := parseAlertRules(f.Alerts.Rules, p); err != nil {
		return err
	}
	for _, v := range f.Resolution.Confirm {
		sev, err := incident.ParseSeverity(v)
		if err != nil {
			return fmt.Errorf("resolution.confirm: %q is not one of P1-P4", v)
		}
		p.ConfirmResolution[sev] = true
	}
	if err := parseFollowUps(f.FollowUps, &p.FollowUps); err != nil {
		return err
	}
	for name, t := range f.Teams {
		p.Teams[name] = incident.Team{Name: name, Services: t.Services, Channel: t.Channel}
	}
	return parseDrills(f.Drills, &p.Drills)
}

// parseFollowUps reads the followups section over the defaults in fu.
func parseFollowUps(f policyFollowUps, fu *incident.FollowUpPolicy) error {
	if f.ReviewBusinessDays != nil {
		fu.ReviewBusinessDays = *f.ReviewBusinessDays
	}
	if f.RemindDaysBefore != nil {
		fu.RemindDaysBefore = *f.RemindDaysBefore
	}
	if f.At != "" {
		at, err := timeOfDay(f.At)
		if err != nil {
			return fmt.Errorf("followups.at: %w", err)
		}
		fu.At = at
	}
	if f.DigestDay != "" {
		wd, ok := weekdays[strings.ToLower(f.DigestDay)]
		if !ok {
			return fmt.Errorf("followups.digest_day: %q is not a weekday such as monday", f.DigestDay)
		}
		fu.DigestDay = wd
	}
	fu.DigestChannel = f.DigestChannel
	if f.CheckEvery != "" {
		d, err := durationWithin("followups.check_every", f.CheckEvery, time.Second, time.Hour, "from 1s to 1h")
		if err != nil {
			return err
		}
		fu.CheckEvery = d
	}
	return nil
}

// parseDrills reads the drills section: where drill pages go and the
// scheduled drills.
func parseDrills(f policyDrills, d *incident.DrillPolicy) error {
	d.PagerDuty = incident.PagerDutyService{ServiceID: f.PagerDuty.ServiceID, RoutingKey: f.PagerDuty.RoutingKey}
	d.AllowRollback = f.AllowRollback
	for i, s := range f.Schedule {
		sev, err := incident.ParseSeverity(s.Severity)
		if err != nil {
			return fmt.Errorf("drills.schedule[%d].severity: %q is not one of P1-P4", i, s.Severity)
		}
		at := time.Duration(0)
		if s.At != "" {
			if at, err = timeOfDay(s.At); err != nil {
				return fmt.Errorf("drills.schedule[%d].at: %w", i, err)
			}
		}
		d.Schedule = append(d.Schedule, incident.DrillSchedule{Name: s.Name, Every: s.Every, Day: s.Day, At: at, Severity: sev, Service: s.Service, Title: s.Title})
	}
	return nil
}

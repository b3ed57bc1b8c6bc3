package main

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/firebreakhq/firebreak/incident"
)

// policyFile is the YAML shape of POLICY_FILE. Every field is optional; what
// is left out keeps its default. See docs/policy.example.yaml.
type policyFile struct {
	Timezone       string                    `yaml:"timezone"`
	Channels       policyChannels            `yaml:"channels"`
	Severities     map[string]policySeverity `yaml:"severities"`
	Roles          []string                  `yaml:"roles"`
	CommanderGroup string                    `yaml:"commander_group" id:"group"`
	Services       map[string]policyService  `yaml:"services"`
	Nags           policyNags                `yaml:"nags"`
	Changes        policyChanges             `yaml:"changes"`
	Rollback       policyRollback            `yaml:"rollback"`
	Paging         policyPaging              `yaml:"paging"`
	Environments   map[string]policyEnv      `yaml:"environments"`
	Permissions    policyPermissions         `yaml:"permissions"`
	Private        policyPrivate             `yaml:"private_incidents"`
	Alerts         policyAlerts              `yaml:"alerts"`
	Resolution     policyResolution          `yaml:"resolution"`
	FollowUps      policyFollowUps           `yaml:"followups"`
	Teams          map[string]policyTeam     `yaml:"teams"`
	Drills         policyDrills              `yaml:"drills"`
	Comms          policyComms               `yaml:"comms"`
}

type policyComms struct {
	StaleAfter string   `yaml:"stale_after"`
	Publishers []string `yaml:"publishers" id:"user,group,email"`
	Notify     *bool    `yaml:"notify_subscribers"`
}

type policyEnv struct {
	Owners []string `yaml:"owners" id:"user,group,email"`
}

type policyPermissions struct {
	Declare []string `yaml:"declare" id:"user,group,email"`
}

type policyPrivate struct {
	Pages   string `yaml:"pages"`
	Exports string `yaml:"exports"`
}

type policyAlerts struct {
	Rules []policyAlertRule `yaml:"rules"`
}

type policyAlertRule struct {
	Name     string            `yaml:"name"`
	Match    map[string]string `yaml:"match"`
	Service  string            `yaml:"service"`
	Severity string            `yaml:"severity"`
	Auto     bool              `yaml:"auto"`
}

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

// parseAlertRules reads alerts.rules; a rule without a name is called by
// its place in the list.
func parseAlertRules(rules []policyAlertRule, p *incident.Policy) error {
	for i, r := range rules {
		sev, err := incident.ParseSeverity(r.Severity)
		if err != nil {
			return fmt.Errorf("alerts.rules[%d].severity: %q is not one of P1-P4", i, r.Severity)
		}
		name := r.Name
		if name == "" {
			name = fmt.Sprintf("rule %d", i+1)
		}
		p.AlertRules = append(p.AlertRules, incident.AlertRule{Name: name, Match: r.Match, Service: r.Service, Severity: sev, Auto: r.Auto})
	}
	return nil
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

type policyChanges struct {
	Window string `yaml:"window"`
}

type policyRollback struct {
	Group string `yaml:"group" id:"group"`
	// TwoPerson is a list of severities (every environment) or a map from
	// environment ("*" for every one) to severities.
	TwoPerson yaml.Node `yaml:"two_person"`
}

type policyPaging struct {
	ResolveOnResolve *bool `yaml:"resolve_on_resolve"`
}

type policyNags struct {
	PauseWhenMitigated *bool  `yaml:"pause_when_mitigated"`
	Snooze             string `yaml:"snooze"`
}

type policyChannels struct {
	Broadcast        string `yaml:"broadcast" id:"channel"`
	PrivateBroadcast string `yaml:"private_broadcast" id:"channel"`
	Prefix           string `yaml:"prefix"`
	Dashboard        string `yaml:"dashboard"`
}

type policySeverity struct {
	Label         string   `yaml:"label"`
	Meaning       string   `yaml:"meaning"`
	RespondWithin string   `yaml:"respond_within"`
	Target        string   `yaml:"target"`
	Paging        string   `yaml:"paging"`
	UpdateEvery   string   `yaml:"update_every"`
	Invite        []string `yaml:"invite" id:"user,group,email"`
	// StatusPageWithin, CustomerEmailAfter and ComponentStatus drive the
	// communication clock.
	StatusPageWithin   string `yaml:"status_page_within"`
	CustomerEmailAfter string `yaml:"customer_email_after"`
	ComponentStatus    string `yaml:"component_status"`
}

type policyService struct {
	Name       string   `yaml:"name"`
	Responders []string `yaml:"responders" id:"user,group,email"`
	Owners     []string `yaml:"owners" id:"user,group,email"`
	Runbook    string   `yaml:"runbook"`
	Dashboard  string   `yaml:"dashboard"`
	Channel    string   `yaml:"channel"`
	PagerDuty  struct {
		ServiceID        string `yaml:"service_id"`
		EscalationPolicy string `yaml:"escalation_policy"`
		RoutingKey       string `yaml:"routing_key"`
	} `yaml:"pagerduty"`
	GitHub struct {
		Repos          []string `yaml:"repos"`
		Environments   []string `yaml:"environments"`
		DeployWorkflow string   `yaml:"deploy_workflow"`
		Rollback       string   `yaml:"rollback"`
	} `yaml:"github"`
	Flags []struct {
		Provider    string `yaml:"provider"`
		Project     string `yaml:"project"`
		Key         string `yaml:"key"`
		Environment string `yaml:"environment"`
	} `yaml:"flags"`
	StatusPage struct {
		Provider   string   `yaml:"provider"`
		Components []string `yaml:"components"`
	} `yaml:"statuspage"`
}

// LoadPolicy reads the policy file at path, or returns the default policy
// when path is empty. Errors name the file and, for YAML errors, the line.
func LoadPolicy(path string) (incident.Policy, error) {
	p := incident.DefaultPolicy()
	if path == "" {
		return p, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("POLICY_FILE: cannot read %s: %v", path, errors.Unwrap(err))
	}
	p, err = parsePolicy(b, p)
	var pe *PolicyError
	if errors.As(err, &pe) {
		pe.File = path
		return p, pe
	}
	if err != nil {
		return p, fmt.Errorf("POLICY_FILE %s: %w", path, err)
	}
	return p, nil
}

// parsePolicy applies the YAML policy b over p. Every problem is reported at
// once, each with its line, as a *PolicyError.
func parsePolicy(b []byte, p incident.Policy) (incident.Policy, error) {
	f, lint, err := decodePolicy(b)
	if err != nil {
		return p, err
	}
	for _, apply := range []func(*policyFile, *incident.Policy, *policyLint){
		applyPolicyChannels,
		applyPolicyChanges,
		applyPolicyAccess,
		applyPolicyNags,
		applyPolicySeverities,
		applyPolicyServices,
		applyPolicyComms,
	} {
		apply(&f, &p, lint)
	}
	if err := parseFollowThrough(f, &p); err != nil {
		lint.addErr(err)
	}
	if len(lint.problems) == 0 {
		if err := p.Validate(); err != nil {
			lint.addErr(err)
		}
	}
	return p, lint.err("")
}

// decodePolicy decodes the YAML document, checking it against policyFile's
// shape on the way. A syntax error or a document that is not a mapping
// ends the parse; the lint carries every other problem found.
func decodePolicy(b []byte) (policyFile, *policyLint, error) {
	var doc yaml.Node
	var f policyFile
	if err := yaml.Unmarshal(b, &doc); err != nil {
		// A syntax error: the YAML library names the line.
		return f, nil, &PolicyError{Problems: []PolicyProblem{{Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}}
	}
	lint := &policyLint{}
	if len(doc.Content) == 0 {
		return f, lint, nil
	}
	lint.root = doc.Content[0]
	if lint.root.Kind != yaml.MappingNode {
		lint.problems = append(lint.problems, PolicyProblem{Line: lint.root.Line, Msg: "the policy file must be a mapping of keys such as severities: and services:"})
		return f, nil, lint.err("")
	}
	lint.walk(lint.root, reflect.TypeOf(f), "", "")
	if err := lint.root.Decode(&f); err != nil {
		lint.typeErrors(err)
	}
	return f, lint, nil
}

// applyPolicyChannels reads the time zone and the channels section.
func applyPolicyChannels(f *policyFile, p *incident.Policy, lint *policyLint) {
	if f.Timezone != "" {
		loc, err := time.LoadLocation(f.Timezone)
		if err != nil {
			lint.addErr(fmt.Errorf("timezone: %q is not a known time zone such as Europe/Berlin", f.Timezone))
		} else {
			p.Location = loc
		}
	}
	if f.Channels.Broadcast != "" {
		p.BroadcastChannel = f.Channels.Broadcast
	}
	if f.Channels.Prefix != "" {
		p.ChannelPrefix = f.Channels.Prefix
	}
	p.DashboardURL = f.Channels.Dashboard
}

// applyPolicyChanges reads the change window, the rollback rules and the
// environments' owners.
func applyPolicyChanges(f *policyFile, p *incident.Policy, lint *policyLint) {
	if f.Changes.Window != "" {
		if d, err := durationWithin("changes.window", f.Changes.Window, time.Minute, 48*time.Hour, "from 1m to 48h"); err != nil {
			lint.addErr(err)
		} else {
			p.ChangeWindow = d
		}
	}
	p.RollbackGroup = f.Rollback.Group
	if twoPerson, err := parseTwoPerson(&f.Rollback.TwoPerson); err != nil {
		lint.addErr(err)
	} else {
		p.TwoPersonRollback = twoPerson
	}
	for env, fe := range f.Environments {
		if env == "" || env == incident.AnyEnvironment {
			lint.add("environments", "%q is not an environment name", env)
			continue
		}
		p.Environments[env] = incident.EnvironmentPolicy{Owners: fe.Owners}
	}
}

// applyPolicyAccess reads who may declare and what private incidents
// disclose.
func applyPolicyAccess(f *policyFile, p *incident.Policy, lint *policyLint) {
	p.Declarers = f.Permissions.Declare
	p.PrivateBroadcastChannel = f.Channels.PrivateBroadcast
	for _, d := range []struct {
		key string
		v   string
		to  *incident.Disclosure
	}{{"private_incidents.pages", f.Private.Pages, &p.PrivatePages}, {"private_incidents.exports", f.Private.Exports, &p.PrivateExports}} {
		if d.v == "" {
			continue
		}
		if !incident.Disclosure(d.v).Valid() {
			lint.add(d.key, "%q is not redacted or full", d.v)
			continue
		}
		*d.to = incident.Disclosure(d.v)
	}
}

// applyPolicyNags reads the paging and nags sections, the commander group
// and the roles.
func applyPolicyNags(f *policyFile, p *incident.Policy, lint *policyLint) {
	if f.Paging.ResolveOnResolve != nil {
		p.ResolvePagesOnResolve = *f.Paging.ResolveOnResolve
	}
	if f.Nags.PauseWhenMitigated != nil {
		p.PauseNagsWhenMitigated = *f.Nags.PauseWhenMitigated
	}
	if f.Nags.Snooze != "" {
		if d, err := durationWithin("nags.snooze", f.Nags.Snooze, time.Minute, 24*time.Hour, "from 1m to 24h"); err != nil {
			lint.addErr(err)
		} else {
			p.Snooze = d
		}
	}
	p.CommanderGroup = f.CommanderGroup
	if f.Roles != nil {
		p.Roles = f.Roles
	}
}

// applyPolicySeverities reads each severity over its default.
func applyPolicySeverities(f *policyFile, p *incident.Policy, lint *policyLint) {
	for name, fs := range f.Severities {
		sev, err := incident.ParseSeverity(name)
		if err != nil {
			lint.add("severities."+name, "%q is not a severity; the severities are P1, P2, P3 and P4", name)
			continue
		}
		p.Severities[sev] = fs.apply("severities."+name, p.Severity(sev), lint)
	}
}

// apply returns sp with the severity's words and clocks from the file;
// key is the severity's dotted path for problems.
func (fs policySeverity) apply(key string, sp incident.SeverityPolicy, lint *policyLint) incident.SeverityPolicy {
	if fs.Label != "" {
		sp.Label = fs.Label
	}
	if fs.Meaning != "" {
		sp.Meaning = fs.Meaning
	}
	if fs.Target != "" {
		sp.TargetText = fs.Target
	}
	if fs.Paging != "" {
		sp.Paging = incident.Paging(fs.Paging)
		if !sp.Paging.Valid() {
			lint.add(key+".paging", "%q is not none, oncall or oncall_and_backup", fs.Paging)
		}
	}
	if fs.Invite != nil {
		sp.Invite = fs.Invite
	}
	var err error
	if sp.RespondWithin, err = policyDuration(fs.RespondWithin, sp.RespondWithin); err != nil {
		lint.addErr(fmt.Errorf("%s.respond_within: %w", key, err))
	} else if fs.RespondWithin != "" && fs.Target == "" {
		// The messages say the target in words; a new clock target
		// without new words must not keep the default's.
		sp.TargetText = ""
		if sp.RespondWithin > 0 {
			sp.TargetText = incident.DurationWords(sp.RespondWithin)
		}
	}
	for _, c := range []struct {
		name string
		v    string
		to   *time.Duration
	}{
		{"update_every", fs.UpdateEvery, &sp.UpdateEvery},
		{"status_page_within", fs.StatusPageWithin, &sp.StatusPageWithin},
		{"customer_email_after", fs.CustomerEmailAfter, &sp.CustomerEmailAfter},
	} {
		if *c.to, err = policyDuration(c.v, *c.to); err != nil {
			lint.addErr(fmt.Errorf("%s.%s: %w", key, c.name, err))
		}
	}
	if fs.ComponentStatus != "" {
		sp.ComponentStatus = incident.ComponentStatus(fs.ComponentStatus)
		if !sp.ComponentStatus.Valid() {
			lint.add(key+".component_status", "%q is not operational, degraded_performance, partial_outage or major_outage", fs.ComponentStatus)
		}
	}
	return sp
}

// applyPolicyServices reads the services section.
func applyPolicyServices(f *policyFile, p *incident.Policy, _ *policyLint) {
	for key, fs := range f.Services {
		p.Services[key] = fs.service(key)
	}
}

// service is the service policy for the file's entry under key.
func (fs policyService) service(key string) incident.ServicePolicy {
	svc := incident.ServicePolicy{
		Key: key, Name: fs.Name, Responders: fs.Responders, Owners: fs.Owners, Runbook: fs.Runbook, Dashboard: fs.Dashboard, Channel: fs.Channel,
		PagerDuty: incident.PagerDutyService{ServiceID: fs.PagerDuty.ServiceID, EscalationPolicy: fs.PagerDuty.EscalationPolicy, RoutingKey: fs.PagerDuty.RoutingKey},
		GitHub: incident.GitHubService{Repos: fs.GitHub.Repos, Environments: fs.GitHub.Environments,
			DeployWorkflow: fs.GitHub.DeployWorkflow, Rollback: fs.GitHub.Rollback},
	}
	if svc.Name == "" {
		svc.Name = key
	}
	for _, fl := range fs.Flags {
		svc.Flags = append(svc.Flags, incident.FlagRef{Provider: fl.Provider, Project: fl.Project, Key: fl.Key, Environment: fl.Environment})
	}
	svc.StatusPage = incident.StatusPageService{Provider: fs.StatusPage.Provider, Components: fs.StatusPage.Components}
	return svc
}

// applyPolicyComms reads the comms section.
func applyPolicyComms(f *policyFile, p *incident.Policy, lint *policyLint) {
	if f.Comms.StaleAfter != "" {
		d, err := policyDuration(f.Comms.StaleAfter, p.Comms.StaleAfter)
		if err != nil {
			lint.addErr(fmt.Errorf("comms.stale_after: %w", err))
		}
		p.Comms.StaleAfter = d
	}
	p.Comms.Publishers = f.Comms.Publishers
	if f.Comms.Notify != nil {
		p.Comms.Notify = *f.Comms.Notify
	}
}

// parseTwoPerson reads rollback.two_person: a list of severities, which
// applies to every environment, or a map from environment ("*" for every
// one) to a list of severities.
func parseTwoPerson(n *yaml.Node) (map[string]map[incident.Severity]bool, error) {
	byEnv := map[string][]string{}
	switch n.Kind {
	case 0:
	case yaml.SequenceNode:
		var list []string
		if err := n.Decode(&list); err != nil {
			return nil, fmt.Errorf("rollback.two_person: a list of severities such as [P1, P2]")
		}
		byEnv[incident.AnyEnvironment] = list
	case yaml.MappingNode:
		if err := n.Decode(&byEnv); err != nil {
			return nil, fmt.Errorf("rollback.two_person: a map from environment to severities, such as production: [P1, P2]")
		}
	default:
		return nil, fmt.Errorf("rollback.two_person: a list of severities, or a map from environment to severities")
	}
	out := map[string]map[incident.Severity]bool{}
	for env, list := range byEnv {
		out[env] = map[incident.Severity]bool{}
		for _, v := range list {
			sev, err := incident.ParseSeverity(v)
			if err != nil {
				key := "rollback.two_person"
				if n.Kind == yaml.MappingNode {
					key += "." + env
				}
				return nil, fmt.Errorf("%s: %q is not one of P1-P4", key, v)
			}
			out[env][sev] = true
		}
	}
	return out, nil
}

// durationWithin parses the duration v at key, which must lie between lo
// and hi; words says the range in the file's terms ("from 1m to 48h").
func durationWithin(key, v string, lo, hi time.Duration, words string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		return 0, fmt.Errorf("%s: %q is not a duration %s", key, v, words)
	}
	return d, nil
}

// policyDuration parses "15m", or "off" for none; empty keeps def.
func policyDuration(v string, def time.Duration) (time.Duration, error) {
	switch v {
	case "":
		return def, nil
	case "off", "0":
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as 15m, or off", v)
	}
	return d, nil
}

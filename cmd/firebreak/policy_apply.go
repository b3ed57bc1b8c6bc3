package main

import (
	"fmt"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/firebreakhq/firebreak/incident"
)

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
	p.Exporters = f.Permissions.Export
	if f.Permissions.TakeoverAfter != "" {
		if d, err := durationWithin("permissions.takeover_after", f.Permissions.TakeoverAfter, time.Minute, 24*time.Hour, "from 1m to 24h"); err != nil {
			lint.addErr(err)
		} else {
			p.TakeoverAfter = d
		}
	}
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
	for user, login := range f.GitHubLogins {
		path := "github_logins." + user
		switch {
		case !slackUserID.MatchString(user):
			lint.add(path, "%q is not a Slack user id (U...)", user)
		case !githubLogin.MatchString(login) || len(login) > 39:
			lint.add(path, "%q is not a GitHub login (letters, digits and single hyphens, at most 39)", login)
		default:
			if p.GitHubLogins == nil {
				p.GitHubLogins = map[string]string{}
			}
			p.GitHubLogins[user] = login
		}
	}
}

// githubLogin is a GitHub user name: letters, digits and hyphens, not
// starting or ending with one nor holding two in a row, at most 39.
var githubLogin = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}$`)

// applyPolicyNags reads the paging and nags sections, the commander group
// and the roles.
func applyPolicyNags(f *policyFile, p *incident.Policy, lint *policyLint) {
	if f.Paging.ResolveOnResolve != nil {
		p.ResolvePagesOnResolve = *f.Paging.ResolveOnResolve
	}
	if f.Paging.RepageCooldown != "" {
		if d, err := durationWithin("paging.repage_cooldown", f.Paging.RepageCooldown, time.Minute, 24*time.Hour, "from 1m to 24h"); err != nil {
			lint.addErr(err)
		} else {
			p.RepageCooldown = d
		}
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

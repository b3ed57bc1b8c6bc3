package incident

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Policy is what a team decides before anything breaks: what each severity
// means, which roles exist, which services there are and who responds.
type Policy struct {
	Severities map[Severity]SeverityPolicy
	// Roles lists the roles besides the Incident Commander, in display order.
	Roles []string
	// Services maps a service key to its responders and integrations.
	Services map[string]ServicePolicy
	// BroadcastChannel is where incidents are announced, such as "#incidents"
	// or a channel id; empty turns announcements off.
	BroadcastChannel string
	// CommanderGroup is a Slack user group of people who can take the IC
	// role; it is the escalation backup for unanswered nags.
	CommanderGroup string
	// TakeoverAfter is how long the Incident Commander must have been
	// quiet in the incident (no message, update or action) before someone
	// else may take the role without their handover, by confirming it in
	// the channel (default DefaultTakeoverAfter, 15 minutes).
	TakeoverAfter time.Duration
	// Exporters may export the postmortem of any incident they can see,
	// besides the IC, the role holders, the review's owner and the
	// commander group: user ids, group ids or e-mails.
	Exporters []string
	// ChannelPrefix starts every incident channel name (default "inc").
	ChannelPrefix string
	// Location is the time zone for channel dates (default UTC).
	Location *time.Location
	// DashboardURL is bookmarked in every incident channel when set.
	DashboardURL string
	// PauseNagsWhenMitigated stops update nags while an incident is
	// mitigated (the default); they resume if it goes back to investigating.
	PauseNagsWhenMitigated bool
	// Snooze is how long the IC's Snooze button silences nags (default
	// 30m), at most three of the severity's cadences.
	Snooze time.Duration
	// ResolvePagesOnResolve resolves the incident's pages when it is
	// resolved (default true).
	ResolvePagesOnResolve bool
	// RepageCooldown is how long after a service's last page for an
	// incident someone without a role in it must wait to page the service
	// again (default DefaultRepageCooldown; zero means the default). The
	// IC, the role holders and the commander group page again at once.
	RepageCooldown time.Duration
	// ChangeWindow is how far before the start "what changed?" looks
	// (default 60m).
	ChangeWindow time.Duration
	// RollbackGroup is a Slack user group whose members may confirm a
	// rollback besides the IC.
	RollbackGroup string
	// TwoPersonRollback maps an environment (AnyEnvironment for all) to
	// the severities whose rollbacks there need a second person's approval;
	// the severity is the highest of the incidents involved.
	TwoPersonRollback map[string]map[Severity]bool
	// Environments holds per-environment settings, such as who owns
	// rollbacks in production.
	Environments map[string]EnvironmentPolicy
	// Declarers are the user ids, group ids or e-mails who may declare;
	// empty means anyone.
	Declarers []string
	// PrivateBroadcastChannel is where private incidents are announced; it
	// must be a private channel. Empty: private incidents are not announced.
	PrivateBroadcastChannel string
	// PrivatePages and PrivateExports say what of a private incident
	// leaves Slack in a page and in an exported postmortem.
	PrivatePages   Disclosure
	PrivateExports Disclosure
	// Command is the chat command people type, such as "/incident", for
	// text that tells them what to run (SLACK_COMMAND).
	Command string
	// KeyReaction marks a message as a key event (default "pushpin").
	KeyReaction string
	// Comms configures the status page and customer e-mail clocks.
	Comms CommsPolicy
	// GitHubLogins maps a Slack user id to the person's GitHub login, so
	// an action item's issue is assigned to its owner; optional.
	GitHubLogins map[string]string

	// AlertRules map monitoring alerts to a service and severity; the
	// first matching rule wins, and an alert no rule matches is ignored.
	AlertRules []AlertRule
	// ConfirmResolution names the severities whose resolve requires the
	// data checklist (monitors green, error rate at baseline, smoke test).
	ConfirmResolution map[Severity]bool
	// FollowUps schedules reviews, reminders and the weekly digest.
	FollowUps FollowUpPolicy
	// Teams group services for the weekly digest of follow-ups.
	Teams map[string]Team
	// Drills says where drill pages go and when drills run.
	Drills DrillPolicy
}

// AnyEnvironment keys the two-person rule of every environment.
const AnyEnvironment = "*"

// EnvironmentPolicy is one deployment environment from the policy file.
type EnvironmentPolicy struct {
	// Owners may roll back any change in the environment: user ids, group
	// ids or e-mails.
	Owners []string
}

// Disclosure says how much of a private incident leaves the chat.
type Disclosure string

// Disclosures.
const (
	// DiscloseRedacted replaces the title by "Private incident INC-42".
	DiscloseRedacted Disclosure = "redacted"
	// DiscloseFull shows the title.
	DiscloseFull Disclosure = "full"
)

// Valid reports whether d is a known disclosure.
func (d Disclosure) Valid() bool { return d == DiscloseRedacted || d == DiscloseFull }

// DisclosedTitle is the title of inc as d allows it to leave the chat.
func DisclosedTitle(inc *Incident, d Disclosure) string {
	if inc.Private && d != DiscloseFull {
		return "Private incident " + inc.Key()
	}
	return inc.Title
}

// ServicePolicy is one service from the policy file.
type ServicePolicy struct {
	Key  string
	Name string
	// Responders are Slack user ids (U...), user-group ids (S...) or e-mails.
	Responders []string
	// Owners may roll back the service's changes: user ids, group ids or
	// e-mails.
	Owners     []string
	Runbook    string
	Dashboard  string
	PagerDuty  PagerDutyService
	GitHub     GitHubService
	Flags      []FlagRef
	StatusPage StatusPageService
	// Channel is where the service's alerts are proposed (default the
	// broadcast channel).
	Channel string
}

// PagerDutyService links a service to PagerDuty.
type PagerDutyService struct {
	ServiceID        string
	EscalationPolicy string
	// RoutingKey is an Events API v2 integration key, for teams without a
	// REST API token.
	RoutingKey string
}

// GitHubService links a service to its repositories and deploy workflow.
type GitHubService struct {
	Repos          []string // owner/name
	Environments   []string
	DeployWorkflow string // file name of the workflow dispatched for rollback
	// Rollback is "workflow" or "deployment".
	Rollback string
}

// FlagRef is a feature flag owned by a service.
type FlagRef struct {
	Provider    string // launchdarkly or unleash
	Project     string
	Key         string
	Environment string
}

// DefaultRepageCooldown is the default RepageCooldown: every re-page is a
// new incident at the provider that wakes on-call (and the backup for a
// P1), so a bystander's repeated clicks must not page every few seconds.
const DefaultRepageCooldown = 5 * time.Minute

// DefaultPolicy returns the defaults: the four severities of the incident
// practice, the comms, ops and scribe roles, and no services.
func DefaultPolicy() Policy {
	return Policy{
		Severities:    DefaultSeverityPolicies(),
		Roles:         []string{RoleComms, RoleOps, RoleScribe},
		Services:      map[string]ServicePolicy{},
		ChannelPrefix: "inc",
		Location:      time.UTC,

		PauseNagsWhenMitigated: true,
		Snooze:                 30 * time.Minute,
		TakeoverAfter:          DefaultTakeoverAfter,
		ResolvePagesOnResolve:  true,
		RepageCooldown:         DefaultRepageCooldown,
		ChangeWindow:           DefaultChangeWindow,
		TwoPersonRollback:      map[string]map[Severity]bool{},
		Environments:           map[string]EnvironmentPolicy{},
		PrivatePages:           DiscloseRedacted,
		PrivateExports:         DiscloseRedacted,
		KeyReaction:            "pushpin",
		Command:                "/incident",
		Comms:                  DefaultCommsPolicy(),
		ConfirmResolution:      map[Severity]bool{},
		FollowUps:              DefaultFollowUpPolicy(),
		Teams:                  map[string]Team{},
	}
}

// Severity returns the policy for s; it falls back to the default for a
// severity the policy file left out.
func (p Policy) Severity(s Severity) SeverityPolicy {
	if sp, ok := p.Severities[s]; ok {
		return sp
	}
	return DefaultSeverityPolicies()[s]
}

// ServiceKeys returns the service keys in sorted order.
func (p Policy) ServiceKeys() []string {
	keys := make([]string, 0, len(p.Services))
	for k := range p.Services {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// HasRole reports whether name is the IC role or a configured role.
func (p Policy) HasRole(name string) bool {
	if name == RoleCommander {
		return true
	}
	for _, r := range p.Roles {
		if r == name {
			return true
		}
	}
	return false
}

// Validate checks the policy and names the first problem found.
func (p Policy) Validate() error {
	for _, check := range []func() error{
		p.validateSeverities,
		p.validateRollbackAndPrivacy,
		p.validateRoles,
		p.validateServices,
		func() error { return validateLink("channels.dashboard", p.DashboardURL) },
		p.validateAlertRules,
		p.FollowUps.validate,
		p.validateTeams,
		func() error { return p.Drills.validate(p) },
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (p Policy) validateSeverities() error {
	for s, sp := range p.Severities {
		if err := sp.validate(s); err != nil {
			return err
		}
	}
	if p.TakeoverAfter < 0 {
		return fmt.Errorf("permissions.takeover_after: %s is negative", p.TakeoverAfter)
	}
	if p.Comms.StaleAfter < 0 {
		return fmt.Errorf("comms.stale_after: %s is negative", p.Comms.StaleAfter)
	}
	return nil
}

// validate checks the policy of severity s.
func (sp SeverityPolicy) validate(s Severity) error {
	if !s.Valid() {
		return fmt.Errorf("severities: %v is not one of P1-P4", s)
	}
	if sp.Label == "" || sp.Meaning == "" {
		return fmt.Errorf("severities.%s: label and meaning are required", s)
	}
	if !sp.Paging.Valid() {
		return fmt.Errorf("severities.%s.paging: %q is not none, oncall or oncall_and_backup", s, sp.Paging)
	}
	if sp.RespondWithin < 0 || sp.UpdateEvery < 0 || sp.StatusPageWithin < 0 || sp.CustomerEmailAfter < 0 {
		return fmt.Errorf("severities.%s: durations must not be negative", s)
	}
	if sp.ComponentStatus != "" && !sp.ComponentStatus.Valid() {
		return fmt.Errorf("severities.%s.component_status: %q is not operational, degraded_performance, partial_outage or major_outage", s, sp.ComponentStatus)
	}
	if sp.UpdateEvery > 0 && sp.UpdateEvery < time.Second {
		return fmt.Errorf("severities.%s.update_every: %s is shorter than a second", s, sp.UpdateEvery)
	}
	return nil
}

// validateRollbackAndPrivacy checks the two-person rollback severities and
// what private incidents disclose and where they are announced.
func (p Policy) validateRollbackAndPrivacy() error {
	for env, sevs := range p.TwoPersonRollback {
		for s := range sevs {
			if !s.Valid() {
				return fmt.Errorf("rollback.two_person.%s: %v is not one of P1-P4", env, s)
			}
		}
	}
	for _, d := range []Disclosure{p.PrivatePages, p.PrivateExports} {
		if d != "" && !d.Valid() {
			return fmt.Errorf("private_incidents: %q is not redacted or full", d)
		}
	}
	if p.PrivateBroadcastChannel != "" && p.PrivateBroadcastChannel == p.BroadcastChannel {
		return fmt.Errorf("channels.private_broadcast: it must not be the public broadcast channel")
	}
	return nil
}

func (p Policy) validateRoles() error {
	seen := map[string]bool{}
	for _, r := range p.Roles {
		if r == "" || r == RoleCommander {
			return fmt.Errorf("roles: %q is reserved or empty", r)
		}
		if seen[r] {
			return fmt.Errorf("roles: %q is listed twice", r)
		}
		seen[r] = true
	}
	return nil
}

func (p Policy) validateServices() error {
	for k, svc := range p.Services {
		if k == "" {
			return fmt.Errorf("services: a service has an empty key")
		}
		if err := svc.validate(k); err != nil {
			return err
		}
	}
	return nil
}

// validate checks the service under key k: its rollback kind, status
// page provider and flags.
func (svc ServicePolicy) validate(k string) error {
	if err := validateLink("services."+k+".runbook", svc.Runbook); err != nil {
		return err
	}
	if err := validateLink("services."+k+".dashboard", svc.Dashboard); err != nil {
		return err
	}
	switch svc.GitHub.Rollback {
	case "", "workflow", "deployment":
	default:
		return fmt.Errorf("services.%s.github.rollback: %q is not workflow or deployment", k, svc.GitHub.Rollback)
	}
	switch svc.StatusPage.Provider {
	case "", "statuspage", "instatus":
	default:
		return fmt.Errorf("services.%s.statuspage.provider: %q is not statuspage or instatus", k, svc.StatusPage.Provider)
	}
	for _, f := range svc.Flags {
		if f.Provider != "launchdarkly" && f.Provider != "unleash" {
			return fmt.Errorf("services.%s.flags: provider %q is not launchdarkly or unleash", k, f.Provider)
		}
		if f.Key == "" {
			return fmt.Errorf("services.%s.flags: a flag has no key", k)
		}
	}
	return nil
}

// validateLink checks a link bookmarked in incident channels: Slack takes
// only web links (http:// or https://), and refuses any other in every
// incident of the service.
func validateLink(setting, link string) error {
	if link == "" {
		return nil
	}
	lower := strings.ToLower(link)
	for _, scheme := range []string{"https://", "http://"} {
		if rest, ok := strings.CutPrefix(lower, scheme); ok && rest != "" && !strings.ContainsAny(link, " \t\n") {
			return nil
		}
	}
	return fmt.Errorf("%s: %q is not a web link; begin it with https:// (or http://)", setting, link)
}

func (p Policy) validateAlertRules() error {
	for i, r := range p.AlertRules {
		if len(r.Match) == 0 {
			return fmt.Errorf("alerts.rules[%d]: match needs at least one label", i)
		}
		if !r.Severity.Valid() {
			return fmt.Errorf("alerts.rules[%d].severity: use P1, P2, P3 or P4", i)
		}
		if r.Service != "" {
			if _, ok := p.Services[r.Service]; !ok {
				return fmt.Errorf("alerts.rules[%d].service: %q is not a service in services", i, r.Service)
			}
		}
	}
	return nil
}

func (p Policy) validateTeams() error {
	for name, t := range p.Teams {
		for _, svc := range t.Services {
			if _, ok := p.Services[svc]; !ok {
				return fmt.Errorf("teams.%s.services: %q is not a service in services", name, svc)
			}
		}
	}
	return nil
}

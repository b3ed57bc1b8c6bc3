package main

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

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
	// GitHubLogins maps Slack user ids to GitHub logins, so that an
	// action item's issue is assigned to its owner.
	GitHubLogins map[string]string `yaml:"github_logins"`
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
	// Export names who may export any postmortem they can see, besides the
	// incident's leads, the review's owner and the commander group.
	Export []string `yaml:"export" id:"user,group,email"`
	// TakeoverAfter is how long an active IC must have been quiet before
	// someone else may take the role without their handover.
	TakeoverAfter string `yaml:"takeover_after"`
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
	// RepageCooldown is how long after a service's last page someone
	// without a role in the incident must wait to page it again.
	RepageCooldown string `yaml:"repage_cooldown"`
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

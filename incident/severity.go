package incident

import (
	"fmt"
	"strings"
	"time"
)

// Severity is an incident's priority, P1 (critical) to P4 (low).
type Severity int

// The four severities. The zero value is not a valid severity.
const (
	P1 Severity = 1
	P2 Severity = 2
	P3 Severity = 3
	P4 Severity = 4
)

// Severities lists every severity, most severe first.
var Severities = []Severity{P1, P2, P3, P4}

// String returns "P1".."P4".
func (s Severity) String() string {
	if s.Valid() {
		return fmt.Sprintf("P%d", int(s))
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// Valid reports whether s is one of P1..P4.
func (s Severity) Valid() bool { return s >= P1 && s <= P4 }

// ParseSeverity accepts "P1".."P4" in any case, optionally preceded by "SEV"
// ("sev1"), or a bare digit. Anything else is EINVALID.
func ParseSeverity(v string) (Severity, error) {
	t := strings.ToUpper(strings.TrimSpace(v))
	t = strings.TrimPrefix(t, "SEV")
	t = strings.TrimPrefix(t, "P")
	if len(t) == 1 && t[0] >= '1' && t[0] <= '4' {
		return Severity(t[0] - '0'), nil
	}
	return 0, Errorf(EINVALID, "Unknown severity %q: use P1, P2, P3 or P4.", v)
}

// Paging says whom a severity pages when an incident is declared.
type Paging string

// Paging policies.
const (
	PageNone            Paging = "none"
	PageOnCall          Paging = "oncall"
	PageOnCallAndBackup Paging = "oncall_and_backup"
)

// Valid reports whether p is a known paging policy.
func (p Paging) Valid() bool {
	return p == PageNone || p == PageOnCall || p == PageOnCallAndBackup
}

// SeverityPolicy is what a severity means and what the bot does for it.
type SeverityPolicy struct {
	Severity Severity
	// Label is the short name, such as "critical".
	Label string
	// Meaning is the sentence shown to a responder choosing a severity.
	Meaning string
	// RespondWithin is the response-time target; zero means no clock target
	// (TargetText then says what is expected, such as "next business day").
	RespondWithin time.Duration
	TargetText    string
	Paging        Paging
	// UpdateEvery is the status-update cadence; zero turns update nags off.
	UpdateEvery time.Duration
	// Invite lists extra Slack users, user groups or e-mails invited to the
	// incident channel for this severity.
	Invite []string
	// StatusPageWithin starts the communication clock at declare: a status
	// page draft at once, a nudge at half the time, an escalation when it
	// runs out without a public post. Zero turns the clock off.
	StatusPageWithin time.Duration
	// CustomerEmailAfter proposes the customer e-mail when an incident is
	// still open this long after it was declared; zero turns it off.
	CustomerEmailAfter time.Duration
	// ComponentStatus is what the affected components show on the status
	// page while an incident of this severity is open.
	ComponentStatus ComponentStatus
}

// DefaultSeverityPolicies returns the defaults from the incident practice the
// bot encodes: see docs/incident-practice.md.
func DefaultSeverityPolicies() map[Severity]SeverityPolicy {
	return map[Severity]SeverityPolicy{
		P1: {Severity: P1, Label: "critical", Meaning: "Production down or unusable; data loss occurring or possible.",
			RespondWithin: 15 * time.Minute, TargetText: "15 minutes", Paging: PageOnCallAndBackup, UpdateEvery: 10 * time.Minute,
			StatusPageWithin: 10 * time.Minute, CustomerEmailAfter: 30 * time.Minute, ComponentStatus: ComponentMajorOutage},
		P2: {Severity: P2, Label: "high", Meaning: "A major feature broken or many users affected.",
			RespondWithin: time.Hour, TargetText: "1 hour", Paging: PageOnCall, UpdateEvery: 15 * time.Minute,
			ComponentStatus: ComponentPartialOutage},
		P3: {Severity: P3, Label: "medium", Meaning: "A non-critical feature broken or a small subset of users affected.",
			TargetText: "next business day", Paging: PageNone, ComponentStatus: ComponentDegraded},
		P4: {Severity: P4, Label: "low", Meaning: "Cosmetic issue or very low impact; planned work.",
			TargetText: "planned work", Paging: PageNone, ComponentStatus: ComponentDegraded},
	}
}

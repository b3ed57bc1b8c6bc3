package incident

import "fmt"

// Status is where an incident is in its lifecycle.
type Status string

// The lifecycle: declared -> investigating -> mitigated -> resolved -> closed,
// with reopen from resolved back to investigating.
const (
	StatusDeclared      Status = "declared"
	StatusInvestigating Status = "investigating"
	StatusMitigated     Status = "mitigated"
	StatusResolved      Status = "resolved"
	StatusClosed        Status = "closed"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusDeclared, StatusInvestigating, StatusMitigated, StatusResolved, StatusClosed:
		return true
	}
	return false
}

// Open reports whether the incident still needs responders.
func (s Status) Open() bool {
	return s == StatusDeclared || s == StatusInvestigating || s == StatusMitigated
}

// transitions lists the allowed moves. Skipping ahead (declared straight to
// resolved) is allowed because real incidents are often fixed before anyone
// updates the bot; moving backwards is only allowed as a reopen.
var transitions = map[Status][]Status{
	StatusDeclared:      {StatusInvestigating, StatusMitigated, StatusResolved},
	StatusInvestigating: {StatusMitigated, StatusResolved},
	StatusMitigated:     {StatusInvestigating, StatusResolved},
	StatusResolved:      {StatusClosed, StatusInvestigating},
	StatusClosed:        {},
}

// CheckTransition returns nil when an incident may move from one status to
// another, and otherwise an EINVALID or ECONFLICT error whose message says why.
func CheckTransition(from, to Status) error {
	if !to.Valid() {
		return Errorf(EINVALID, "Unknown status %q.", to)
	}
	if from == to {
		return Errorf(ECONFLICT, "The incident is already %s.", to)
	}
	for _, s := range transitions[from] {
		if s == to {
			return nil
		}
	}
	switch {
	case from == StatusClosed:
		return Errorf(ECONFLICT, "The incident is closed; a closed incident cannot change. Declare a new incident instead.")
	case to == StatusClosed:
		return Errorf(ECONFLICT, "Only a resolved incident can be closed; resolve it first.")
	case to == StatusDeclared:
		return Errorf(ECONFLICT, "An incident cannot go back to declared.")
	default:
		return Errorf(ECONFLICT, "An incident that is %s cannot become %s.", from, to)
	}
}

// Label returns the status as shown to people.
func (s Status) Label() string {
	switch s {
	case StatusDeclared:
		return "Declared"
	case StatusInvestigating:
		return "Investigating"
	case StatusMitigated:
		return "Mitigated"
	case StatusResolved:
		return "Resolved"
	case StatusClosed:
		return "Closed"
	}
	return fmt.Sprintf("Status(%s)", string(s))
}

package incident

import "time"

// The vocabulary of "what changed?", shared by the changes package, the
// transport and the change sources; the feature itself lives in
// incident/changes.

// Limits of how far back "what changed?" looks.
const (
	// MinChangeWindow and MaxChangeWindow bound how far back a person may
	// look: less than a minute shows nothing useful, and more than two days
	// is an audit, not an incident question.
	MinChangeWindow = time.Minute
	MaxChangeWindow = 48 * time.Hour
	// DefaultChangeWindow is how far back "what changed?" looks when
	// neither the person nor the policy says.
	DefaultChangeWindow = time.Hour
)

// LookBack returns how far back "what changed?" looks when the person
// names no window: the policy's ChangeWindow, else DefaultChangeWindow.
func (p Policy) LookBack() time.Duration {
	if p.ChangeWindow > 0 {
		return p.ChangeWindow
	}
	return DefaultChangeWindow
}

// DataStartedAt is the ChangeEvent.Data key, RFC 3339, of when a change
// that moves through states (a deploy, a workflow run) began.
const DataStartedAt = "started_at"

// changeStarted reads Data[DataStartedAt].
func changeStarted(c ChangeEvent) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, c.Data[DataStartedAt])
	return t, err == nil
}

// ChangeInWindow reports whether c belongs to the list of changes in
// [from, to]: it last moved inside the window, or it began by the window's
// end and moved on after it (a deploy under way when the incident started).
func ChangeInWindow(c ChangeEvent, from, to time.Time) bool {
	if !c.OccurredAt.Before(from) && !c.OccurredAt.After(to) {
		return true
	}
	started, ok := changeStarted(c)
	return ok && c.OccurredAt.After(to) && !started.After(to)
}

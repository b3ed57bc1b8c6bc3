package incident

import "context"

// Change is a lifecycle change the store has committed: a declare, a status
// update, a severity or status change.
type Change struct {
	// Kind is EventDeclared, EventUpdatePosted, EventSeverityChanged or
	// EventStatusChanged.
	Kind     EventKind
	Incident *Incident
	// From and To are the old and new severity ("P2") or status.
	From, To string
	// Update is the status update of an EventUpdatePosted.
	Update *StatusUpdate
	Actor  string
}

// Hook reacts to a committed change, usually by scheduling jobs. Its error
// is returned to whoever made the change; the change itself stays.
type Hook func(ctx context.Context, c Change) error

// after runs the hooks for a committed change, stopping at the first error.
func (s *Service) after(ctx context.Context, c Change) error {
	for _, h := range s.hooks {
		if err := h(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

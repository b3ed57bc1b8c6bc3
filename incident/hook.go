package incident

import "context"

// Change is a lifecycle change the store has committed: a declare, a status
// update, a severity or status change.
type Change struct {
	// Kind is EventDeclared, EventUpdatePosted, EventSeverityChanged or
	// EventStatusChanged.
	Kind     EventKind
	Incident *Incident
	// From and To are the old and new severity ("P2") or status; a close
	// is an EventStatusChanged To "closed", after which the incident
	// cannot change.
	From, To string
	// Update is the status update of an EventUpdatePosted.
	Update *StatusUpdate
	Actor  string
}

// Hook reacts to a committed change, usually by scheduling jobs. Its error
// is returned to whoever made the change; the change itself stays.
type Hook func(ctx context.Context, c Change) error

// Planner stores, on a declare's transaction, what a feature needs for a
// new incident, usually its jobs (the page, the changes list, the status
// page clock). An error rolls the whole declare back, so an incident is
// never stored without the work that must follow it.
type Planner func(ctx context.Context, tx Tx, inc *Incident, in DeclareInput) error

// Feature is what a feature package adds to the core's lifecycle: a
// Planner for the declare's transaction and a Hook after each committed
// change. Either may be nil.
type Feature struct {
	// Name says whose planner or hook failed, in errors.
	Name    string
	Planner Planner
	Hook    Hook
}

// Use adds a feature's planner and hook, after those added before it. Call
// it while wiring, before the service serves.
func (s *Service) Use(f Feature) {
	if f.Planner != nil {
		s.planners = append(s.planners, namedPlanner{name: f.Name, plan: f.Planner})
	}
	if f.Hook != nil {
		s.hooks = append(s.hooks, f.Hook)
	}
}

type namedPlanner struct {
	name string
	plan Planner
}

// after runs the hooks for a committed change, stopping at the first error.
func (s *Service) after(ctx context.Context, c Change) error {
	for _, h := range s.hooks {
		if err := h(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

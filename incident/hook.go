package incident

import (
	"context"
	"encoding/json"
	"fmt"
)

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

// Hook reacts to a committed change, usually by scheduling jobs.
//
// A severity change, a status change (the close included) and a status
// update store, in their own transaction, one durable job (JobHooks) that
// runs every hook with the change as it was committed: the hooks are never
// lost to a crash or a database error between the commit and their work,
// and a hook's error retries the job, so each hook must be safe to run
// again (its jobs keyed, as a page's or a review's are). A declare's work
// is its Planners'; its hooks are told after the commit, once, for what
// may be lost, such as a counter.
type Hook func(ctx context.Context, c Change) error

// JobHooks runs the hooks of a committed change, on the urgent queue: a
// raise to P1 pages on-call from a hook.
const JobHooks = "incident.hooks"

// hookAttempts bounds the retries of JobHooks; the engine's backoff spreads
// them over days, so a database outage of any usual length does not lose
// the work a change set off.
const hookAttempts = 25

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
		s.hooks.list = append(s.hooks.list, f.Hook)
	}
}

type namedPlanner struct {
	name string
	plan Planner
}

// changeHooks are the features' hooks, told of the changes the service
// commits.
type changeHooks struct {
	list []Hook
}

// plan stores, on sched (the change's transaction), the job that runs the
// hooks for c once the transaction commits.
func (h *changeHooks) plan(ctx context.Context, sched Scheduler, c Change) error {
	if len(h.list) == 0 {
		return nil
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("plan the work of the change: %w", err)
	}
	// No key: each committed change stores its own job, once, and a
	// repeated command that changes nothing stores none.
	if _, err := sched.Schedule(ctx, Job{Kind: JobHooks, Payload: payload, MaxAttempts: hookAttempts, Urgent: true}); err != nil {
		return fmt.Errorf("plan the work of the change: %w", err)
	}
	return nil
}

// run is JobHooks' handler: the hooks hear of the change as it was
// committed, however much later the job runs.
func (h *changeHooks) run(ctx context.Context, payload []byte) error {
	var c Change
	if err := json.Unmarshal(payload, &c); err != nil {
		return fmt.Errorf("read the change of the hooks' job: %v: %w", err, ErrJobCancel)
	}
	if c.Incident == nil {
		return fmt.Errorf("the hooks' job names no incident: %w", ErrJobCancel)
	}
	if err := h.after(ctx, c); err != nil {
		return fmt.Errorf("the work of %s's %s: %w", c.Incident.Key(), c.Kind, err)
	}
	return nil
}

// after runs the hooks for a committed change, stopping at the first error.
func (h *changeHooks) after(ctx context.Context, c Change) error {
	for _, hook := range h.list {
		if err := hook(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

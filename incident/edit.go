package incident

import (
	"context"
	"time"
)

// Edit is several changes to one incident asked for together, as the HTTP
// API's PATCH asks for them. A nil field is left as it is.
type Edit struct {
	Severity *Severity
	Status   *Status
	// Summary is kept with a move to resolved, and refused with anything
	// else.
	Summary   string
	Commander *string
}

// Edit makes every change of e, or none of them. The changes are checked
// together against the incident as it stands (the lifecycle, the
// resolution checklist the policy asks of the most severe the incident will
// have been, and the permission model for each change on the incident as
// it will be when that change is made), then made in one transaction with
// their timeline lines, the channel's sync, the reminders' plan and the
// hooks' jobs. Someone claiming the IC role is IC first, so the rest is
// theirs to do; a handover to someone else comes last, the handing-over IC
// leading until then; the severity comes before the status.
//
// A field that already holds the value sent changes nothing, and so does a
// resolve with the summary the resolved incident has (a retry). An incident
// changed by someone else between the check and the transaction is
// ECONFLICT, and nothing of e is made. EINVALID for a summary without a
// resolve, a handover with a close, or a resolve the checklist covers;
// ECONFLICT for a move the lifecycle refuses, a closed incident, or a
// resolve with another summary of an incident already resolved; a
// *Refusal for the permission model's no.
func (s *Service) Edit(ctx context.Context, id int64, e Edit, actor string) (*Incident, error) {
	cur, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := planEdit(cur, e, actor, s.clock.Now(), s.life)
	if err != nil || len(p.steps) == 0 {
		return cur, err
	}
	if err := p.authorize(ctx, s); err != nil {
		return nil, err
	}
	var inc *Incident
	err = s.store.Atomic(ctx, func(tx Tx) error {
		for i, st := range p.steps {
			fn := st.fn
			if i == 0 {
				fn = p.unchangedSince(cur, st.fn)
			}
			if inc, err = s.changeIn(ctx, tx, id, fn); err != nil {
				return err
			}
			if st.told != nil {
				if err := s.hooks.plan(ctx, tx, st.told(inc)); err != nil {
					return err
				}
			}
		}
		if inc.Status == StatusClosed {
			return nil
		}
		if err := s.reminders.planNag(ctx, tx, inc); err != nil {
			return err
		}
		if p.severityChanged {
			return s.reminders.planAckCheck(ctx, tx, inc)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return inc, nil
}

// editPlan is an Edit checked against the incident as it stands: its
// changes in the order they are made, and the permission requests that
// allow them. The lifecycle checks each change again in the transaction,
// on the incident as the changes before it left it: a resolve meets the
// checklist of the most severe it will have been.
type editPlan struct {
	life            *lifecycle
	actor           string
	now             time.Time
	steps           []editStep
	asks            []Request
	severityChanged bool
}

// editStep is one change of an Edit: what it does to the incident and,
// for a severity or status change, the Change its hooks hear of.
type editStep struct {
	fn   func(*Incident) ([]TimelineEvent, *syncPayload, error)
	told func(*Incident) Change
}

// planEdit checks e against cur for actor and orders its changes. The
// permission requests are made by editPlan.authorize, which may read the
// timeline and the chat's user groups.
func planEdit(cur *Incident, e Edit, actor string, now time.Time, life *lifecycle) (*editPlan, error) {
	summary, err := resolutionSummary(e.Summary)
	if err != nil {
		return nil, err
	}
	if e.Severity != nil && !e.Severity.Valid() {
		return nil, Errorf(EINVALID, "Unknown severity: use P1, P2, P3 or P4.")
	}
	if e.Status != nil && !e.Status.Valid() {
		return nil, Errorf(EINVALID, "Unknown status %q.", *e.Status)
	}
	sev, status, commander := e.Severity, e.Status, e.Commander
	if sev != nil && *sev == cur.Severity {
		sev = nil
	}
	if status != nil && *status == cur.Status {
		status = nil
	}
	if commander != nil && *commander == cur.Commander {
		commander = nil
	}
	switch {
	case summary == "" || status != nil && *status == StatusResolved:
	case e.Status != nil && *e.Status == StatusResolved && cur.Status == StatusResolved:
		// The resolve was made already: by this request, whose answer
		// was lost, when its summary is the one kept; by someone else
		// otherwise.
		if summary != cur.Summary {
			return nil, Errorf(ECONFLICT, "%s is already resolved, with another summary; reopen it to resolve it again with this one.", cur.Key())
		}
		summary = ""
	default:
		return nil, Errorf(EINVALID, "A summary is kept only when %s is resolved by the same change.", cur.Key())
	}
	p := &editPlan{life: life, actor: actor, now: now}
	if sev == nil && status == nil && commander == nil {
		return p, nil
	}
	if cur.Status == StatusClosed {
		return nil, Errorf(ECONFLICT, "%s is closed; a closed incident cannot change.", cur.Key())
	}
	if status != nil {
		if err := CheckTransition(cur.Status, *status); err != nil {
			return nil, err
		}
		if *status == StatusClosed && commander != nil {
			return nil, Errorf(EINVALID, "A handover cannot come with the close: a closed incident changes no more. Hand %s over first, then close it.", cur.Key())
		}
	}
	leading := cur
	claim := commander != nil && *commander == actor
	if commander != nil {
		p.asks = append(p.asks, Request{Action: ActTakeIC, Incident: cur, Target: *commander})
		if claim {
			claimed := *cur
			claimed.Commander = actor
			leading = &claimed
			p.steps = append(p.steps, p.roleStep(*commander, cur.Commander))
		}
	}
	if sev != nil {
		p.asks = append(p.asks, Request{Action: ActChangeSeverity, Incident: leading})
		p.steps = append(p.steps, p.severityStep(*sev))
		p.severityChanged = true
	}
	if status != nil {
		p.asks = append(p.asks, Request{Action: ActSetStatus, Incident: leading})
		p.steps = append(p.steps, p.statusStep(*status, summary))
	}
	if commander != nil && !claim {
		p.steps = append(p.steps, p.roleStep(*commander, cur.Commander))
	}
	return p, nil
}

// authorize asks the permission model about each change of p, in order:
// taking the IC role from another IC weighs how long they have been quiet,
// as AssignRole does.
func (p *editPlan) authorize(ctx context.Context, s *Service) error {
	for _, req := range p.asks {
		req.Subject = Subject{User: p.actor}
		req, err := withICActivity(ctx, s.reminders.timeline, p.now, req)
		if err != nil {
			return err
		}
		if err := s.authz.authorize(ctx, req); err != nil {
			return err
		}
	}
	return nil
}

// unchangedSince wraps the first step's change: the incident must still be
// as it was when the plan was checked and allowed, or nothing is made.
func (p *editPlan) unchangedSince(planned *Incident, fn func(*Incident) ([]TimelineEvent, *syncPayload, error)) func(*Incident) ([]TimelineEvent, *syncPayload, error) {
	return func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
		if i.Status != planned.Status || i.Severity != planned.Severity || i.Commander != planned.Commander || i.MostSevere() != planned.MostSevere() || i.Private != planned.Private {
			return nil, nil, Errorf(ECONFLICT, "%s changed meanwhile; look at it again and retry.", i.Key())
		}
		return fn(i)
	}
}

func (p *editPlan) roleStep(user, commander string) editStep {
	c := roleChange{role: RoleCommander, user: user, actor: p.actor, commander: commander, now: p.now}
	return editStep{fn: func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
		return p.life.assignRole(i, c)
	}}
}

func (p *editPlan) severityStep(sev Severity) editStep {
	var prev Severity
	return editStep{
		fn: func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
			prev = i.Severity
			return p.life.setSeverity(i, sev, p.actor, p.now)
		},
		told: func(inc *Incident) Change {
			return Change{Kind: EventSeverityChanged, Incident: inc, From: prev.String(), To: sev.String(), Actor: p.actor}
		},
	}
}

func (p *editPlan) statusStep(to Status, summary string) editStep {
	var from Status
	m := statusMove{to: to, actor: p.actor, summary: summary, now: p.now}
	return editStep{
		fn: func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
			from = i.Status
			return p.life.setStatus(i, m)
		},
		told: func(inc *Incident) Change {
			return Change{Kind: EventStatusChanged, Incident: inc, From: string(from), To: string(to), Actor: p.actor}
		},
	}
}

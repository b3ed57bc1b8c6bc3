package incident

import (
	"context"
	"strings"
	"unicode/utf8"
)

// Get returns an incident by id.
func (s *Service) Get(ctx context.Context, id int64) (*Incident, error) {
	return s.store.GetIncident(ctx, id)
}

// ByChannel returns the incident that owns a channel, or ENOTFOUND with a
// sentence saying the command only works in an incident channel.
func (s *Service) ByChannel(ctx context.Context, channelID string) (*Incident, error) {
	inc, err := s.store.GetIncidentByChannel(ctx, channelID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "This is not an incident channel; run the command in the incident's channel.")
	}
	return inc, err
}

// ListFor returns the open incidents user may see, most severe first:
// private incidents only to their members. Like List it returns at most
// ListLimit+1, the last saying that more are open.
func (s *Service) ListFor(ctx context.Context, user string) ([]*Incident, error) {
	incs, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	return s.authz.Visible(ctx, user, incs)
}

// Visible keeps the incidents user may see, in order: private incidents
// only for their members, and for a guest of the workspace only those they
// are a member of.
func (s *Service) Visible(ctx context.Context, user string, incs []*Incident) ([]*Incident, error) {
	return s.authz.Visible(ctx, user, incs)
}

// ListLimit is how many open incidents a list in chat shows: the most
// severe first.
const ListLimit = 50

// List returns open incidents, most severe first, private ones included;
// what a person sees comes from ListFor. It returns at most ListLimit+1:
// one more than ListLimit says that more are open than a list shows.
func (s *Service) List(ctx context.Context) ([]*Incident, error) {
	return s.store.ListIncidents(ctx, IncidentFilter{OpenOnly: true, Limit: ListLimit + 1})
}

// change applies fn to an incident in one transaction and schedules the
// Slack side of the change.
//
// The change, its timeline events and the sync job commit together: a
// crash cannot leave a change that Slack never hears of.
func (s *Service) change(ctx context.Context, id int64, fn func(*Incident) ([]TimelineEvent, *syncPayload, error)) (*Incident, error) {
	var inc *Incident
	err := s.store.Atomic(ctx, func(tx Tx) error {
		var err error
		inc, err = s.changeIn(ctx, tx, id, fn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return inc, nil
}

// changeTelling is change, with the incident's next update reminder (and,
// when ackCheck is set, its response-time check) scheduled on the same
// transaction: a crash between the two cannot leave the reminders on the
// plan from before the change. Timers are keyed by incident and due time,
// so planning one already planned stores nothing more. When told is set it
// also stores on the change's transaction the job that runs the hooks for
// the Change told returns: the change and the work its hooks must do (a
// page, resolving the pages, the status page clock) commit together.
func (s *Service) changeTelling(ctx context.Context, id int64, ackCheck bool, fn func(*Incident) ([]TimelineEvent, *syncPayload, error), told func(*Incident) Change) (*Incident, error) {
	var inc *Incident
	err := s.store.Atomic(ctx, func(tx Tx) error {
		var err error
		if inc, err = s.changeIn(ctx, tx, id, fn); err != nil {
			return err
		}
		if err := s.reminders.planNag(ctx, tx, inc); err != nil {
			return err
		}
		if ackCheck {
			if err := s.reminders.planAckCheck(ctx, tx, inc); err != nil {
				return err
			}
		}
		if told != nil {
			return s.hooks.plan(ctx, tx, told(inc))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return inc, nil
}

// changeIn is change on a transaction that the caller commits.
func (s *Service) changeIn(ctx context.Context, tx Tx, id int64, fn func(*Incident) ([]TimelineEvent, *syncPayload, error)) (*Incident, error) {
	var sync *syncPayload
	inc, err := tx.UpdateIncident(ctx, id, func(i *Incident) ([]TimelineEvent, error) {
		if i.Status == StatusClosed {
			return nil, Errorf(ECONFLICT, "%s is closed; a closed incident cannot change.", i.Key())
		}
		events, sp, err := fn(i)
		sync = sp
		return markVia(ctx, events), err
	})
	if err != nil {
		return nil, err
	}
	if sync == nil {
		sync = &syncPayload{}
	}
	sync.IncidentID = inc.ID
	if err := s.sync.schedule(ctx, tx, inc, *sync); err != nil {
		return inc, err
	}
	return inc, nil
}

// ChangeIn lets a feature package change an incident on its own
// transaction tx: fn changes the incident (or only returns what to say),
// its timeline events are stored with the change, and the sync that says
// its notices in the incident's channel and refreshes the panel, topic and
// announcement is scheduled on tx, so the feature's own rows, the change
// and the sync commit together. ECONFLICT when the incident is closed;
// fn's error is returned as is.
func (s *Service) ChangeIn(ctx context.Context, tx Tx, id int64, fn func(*Incident) ([]TimelineEvent, []Notice, error)) (*Incident, error) {
	return s.changeIn(ctx, tx, id, func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
		events, notices, err := fn(i)
		return events, &syncPayload{Notices: notices}, err
	})
}

// Notify says notices in the incident's channel (the Broadcast ones in the
// broadcast channel too) through the durable sync job.
func (s *Service) Notify(ctx context.Context, inc *Incident, notices ...Notice) error {
	return s.sync.schedule(ctx, s.sched, inc, syncPayload{IncidentID: inc.ID, Notices: notices})
}

// NotifyOn is Notify on sched, such as a Store.Atomic's Tx: the notices
// are said only if the transaction that changed what they tell of commits.
func (s *Service) NotifyOn(ctx context.Context, sched Scheduler, inc *Incident, notices ...Notice) error {
	return s.sync.schedule(ctx, sched, inc, syncPayload{IncidentID: inc.ID, Notices: notices})
}

// AssignRole gives a role to a user. The IC role has exactly one holder; a
// change of IC posts a handover line in the channel. EFORBIDDEN (a
// *Refusal) unless the permission model allows it: taking the IC role from
// someone else without their handover or the commander group is refused
// with Refusal.Confirm set, and ConfirmTakeIC does it after the taker
// confirms in the channel.
func (s *Service) AssignRole(ctx context.Context, id int64, role, user, actor string, opts ...AssignOption) (*Incident, error) {
	return s.assignRole(ctx, id, role, user, actor, false, opts...)
}

// ConfirmTakeIC makes actor the Incident Commander in place of the current
// one, after actor confirmed it in the incident's channel; the line in the
// channel and on the timeline says the takeover was confirmed without a
// handover. Errors are AssignRole's.
func (s *Service) ConfirmTakeIC(ctx context.Context, id int64, actor string) (*Incident, error) {
	return s.assignRole(ctx, id, RoleCommander, actor, actor, true)
}

func (s *Service) assignRole(ctx context.Context, id int64, role, user, actor string, confirmed bool, opts ...AssignOption) (*Incident, error) {
	role, err := s.life.role(role, user)
	if err != nil {
		return nil, err
	}
	cur, err := s.store.GetIncident(ctx, id)
	if err != nil {
		return nil, err
	}
	if cur.Status == StatusClosed {
		return nil, Errorf(ECONFLICT, "%s is closed; a closed incident cannot change.", cur.Key())
	}
	act := ActAssignRole
	if role == RoleCommander {
		act = ActTakeIC
	}
	req, err := withICActivity(ctx, s.reminders.timeline, s.clock.Now(), Request{Subject: Subject{User: actor}, Action: act, Incident: cur, Target: user, Confirmed: confirmed})
	if err != nil {
		return nil, err
	}
	if err := s.authz.authorize(ctx, req); err != nil {
		return nil, err
	}
	c := roleChange{role: role, user: user, actor: actor, commander: cur.Commander, now: s.clock.Now(),
		// A confirmed takeover replaces someone who did not hand over.
		takeover: role == RoleCommander && confirmed && cur.Commander != "" && cur.Commander != actor}
	for _, o := range opts {
		o(&c)
	}
	assign := func(i *Incident) ([]TimelineEvent, *syncPayload, error) { return s.life.assignRole(i, c) }
	if role != RoleCommander {
		return s.change(ctx, id, assign)
	}
	// A new IC restarts the reminder ladder (restartNags).
	return s.changeTelling(ctx, id, false, assign, nil)
}

// SetSeverity changes the severity. The new severity's invitees are invited.
func (s *Service) SetSeverity(ctx context.Context, id int64, sev Severity, actor string) (*Incident, error) {
	if !sev.Valid() {
		return nil, Errorf(EINVALID, "Unknown severity: use P1, P2, P3 or P4.")
	}
	if err := s.authz.authorizeOn(ctx, id, actor, ActChangeSeverity); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var prevSev Severity
	// A new severity has a new cadence and a new response target.
	// The hooks' job commits with the change: a raise to P1 pages even
	// if the process dies right after the commit.
	inc, err := s.changeTelling(ctx, id, true, func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
		prevSev = i.Severity
		return s.life.setSeverity(i, sev, actor, now)
	}, func(inc *Incident) Change {
		return Change{Kind: EventSeverityChanged, Incident: inc, From: prevSev.String(), To: sev.String(), Actor: actor}
	})
	if err != nil {
		return nil, err
	}
	return inc, nil
}

// SetStatus moves the incident through its lifecycle. summary is kept for
// a resolve. The rules are CheckTransition's.
func (s *Service) SetStatus(ctx context.Context, id int64, to Status, actor, summary string) (*Incident, error) {
	return s.setStatus(ctx, id, to, actor, summary, nil)
}

// Resolve resolves the incident with the data that confirms it: the
// checklist answers are kept on the timeline for the postmortem. A
// severity the policy lists in ConfirmResolution cannot be resolved
// without a complete checklist (EINVALID).
func (s *Service) Resolve(ctx context.Context, id int64, actor, summary string, check ResolutionCheck) (*Incident, error) {
	return s.setStatus(ctx, id, StatusResolved, actor, summary, &check)
}

func (s *Service) setStatus(ctx context.Context, id int64, to Status, actor, summary string, check *ResolutionCheck) (*Incident, error) {
	summary, err := resolutionSummary(summary)
	if err != nil {
		return nil, err
	}
	if err := s.authz.authorizeOn(ctx, id, actor, ActSetStatus); err != nil {
		return nil, err
	}
	m := statusMove{to: to, actor: actor, summary: summary, check: check, now: s.clock.Now()}
	var from Status
	update := func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
		from = i.Status
		return s.life.setStatus(i, m)
	}
	told := func(inc *Incident) Change {
		return Change{Kind: EventStatusChanged, Incident: inc, From: string(from), To: string(to), Actor: actor}
	}
	// Reopening, or leaving mitigated, starts the reminders again (a
	// closed incident has none to plan); the hooks' job (resolving the
	// pages, the status page's resolution, and for a close the review and
	// the postmortem draft) commits with the change.
	return s.changeTelling(ctx, id, false, update, told)
}

// resolutionSummary is a resolve's summary, trimmed, or EINVALID when it is
// not text a timeline keeps or is longer than 3000 characters.
func resolutionSummary(summary string) (string, error) {
	summary = strings.TrimSpace(summary)
	if err := CheckText("summary", summary, true); err != nil {
		return "", err
	}
	if utf8.RuneCountInString(summary) > 3000 {
		return "", Errorf(EINVALID, "The summary is too long; keep it within 3000 characters.")
	}
	return summary, nil
}

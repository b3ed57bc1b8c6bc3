package incident

import (
	"context"
	"fmt"
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
// private incidents only to their members.
func (s *Service) ListFor(ctx context.Context, user string) ([]*Incident, error) {
	incs, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	return s.authz.Visible(ctx, user, incs)
}

// List returns open incidents, most severe first, private ones included;
// what a person sees comes from ListFor.
func (s *Service) List(ctx context.Context) ([]*Incident, error) {
	return s.store.ListIncidents(ctx, IncidentFilter{OpenOnly: true, Limit: 50})
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

// changeIn is change on a transaction that the caller commits.
func (s *Service) changeIn(ctx context.Context, tx Tx, id int64, fn func(*Incident) ([]TimelineEvent, *syncPayload, error)) (*Incident, error) {
	var sync *syncPayload
	inc, err := tx.UpdateIncident(ctx, id, func(i *Incident) ([]TimelineEvent, error) {
		if i.Status == StatusClosed {
			return nil, Errorf(ECONFLICT, "%s is closed; a closed incident cannot change.", i.Key())
		}
		events, sp, err := fn(i)
		sync = sp
		return events, err
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
func (s *Service) AssignRole(ctx context.Context, id int64, role, user, actor string) (*Incident, error) {
	return s.assignRole(ctx, id, role, user, actor, false)
}

// ConfirmTakeIC makes actor the Incident Commander in place of the current
// one, after actor confirmed it in the incident's channel; the line in the
// channel and on the timeline says the takeover was confirmed without a
// handover. Errors are AssignRole's.
func (s *Service) ConfirmTakeIC(ctx context.Context, id int64, actor string) (*Incident, error) {
	return s.assignRole(ctx, id, RoleCommander, actor, actor, true)
}

func (s *Service) assignRole(ctx context.Context, id int64, role, user, actor string, confirmed bool) (*Incident, error) {
	role = strings.ToLower(strings.TrimSpace(role))
	switch role {
	case "ic", "incident-commander", "incident_commander":
		role = RoleCommander
	}
	if !s.policy.HasRole(role) {
		return nil, Errorf(EINVALID, "Unknown role %q. Roles: ic, %s.", role, strings.Join(s.policy.Roles, ", "))
	}
	if user == "" {
		return nil, Errorf(EINVALID, "Say who takes the role, such as @jane.")
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
	d, err := s.Authorize(ctx, Request{Subject: Subject{User: actor}, Action: act, Incident: cur, Target: user, Confirmed: confirmed})
	if err != nil {
		return nil, fmt.Errorf("check permission: %w", err)
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	// A confirmed takeover replaces someone who did not hand over.
	takeover := role == RoleCommander && confirmed && cur.Commander != "" && cur.Commander != actor
	now := s.clock.Now()
	return s.change(ctx, id, func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
		if role == RoleCommander && i.Commander != cur.Commander {
			return nil, nil, Errorf(ECONFLICT, "The Incident Commander of %s changed meanwhile; look again and retry.", i.Key())
		}
		n := Notice{Incident: i.Key(), Actor: actor, User: user}
		if role == RoleCommander {
			prev := i.Commander
			if prev == user {
				return nil, nil, Errorf(ECONFLICT, "That person is already the Incident Commander.")
			}
			i.Commander = user
			n.Prev = prev
			switch {
			case prev == "":
				n.Kind = NoticeICAssigned
			case takeover:
				n.Kind = NoticeICTakeover
			default:
				n.Kind = NoticeICHandover
			}
			if i.AcknowledgedAt == nil && actor == user {
				// Someone claiming the IC role is the human acknowledgement.
				t := now
				i.AcknowledgedAt = &t
			}
		} else {
			if i.Roles == nil {
				i.Roles = map[string]string{}
			}
			if i.Roles[role] == user {
				return nil, nil, Errorf(ECONFLICT, "That person already holds the %s role.", role)
			}
			i.Roles[role] = user
			n.Kind, n.Values = NoticeRoleAssigned, map[string]string{"role": roleLabel(role)}
		}
		data := RoleAssignedData{Role: role, User: user}
		if takeover {
			data.Takeover = TakeoverConfirmed
		}
		ev := TimelineEvent{Kind: EventRoleAssigned, Actor: actor, At: now, Key: role == RoleCommander, Text: s.noticeText(n), Payload: data}
		return []TimelineEvent{ev}, &syncPayload{Notices: []Notice{n}, Invite: []string{user}}, nil
	})
}

func roleLabel(role string) string {
	if role == RoleScribe {
		return "scribe"
	}
	return role
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
	inc, err := s.change(ctx, id, func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
		prevSev = i.Severity
		if i.Severity == sev {
			return nil, nil, Errorf(ECONFLICT, "%s is already %s.", i.Key(), sev)
		}
		prev := i.Severity
		i.Severity = sev
		verb := "lowered"
		if sev < prev {
			verb = "raised"
		}
		sp := s.policy.Severity(sev)
		n := Notice{Kind: NoticeSeverityChanged, Incident: i.Key(), Actor: actor, Mirror: true,
			Values: map[string]string{"from": prev.String(), "to": sev.String(), "label": sp.Label, "raised": fmt.Sprint(verb == "raised")}}
		ev := TimelineEvent{Kind: EventSeverityChanged, Actor: actor, At: now, Key: true, Text: s.noticeText(n),
			Payload: SeverityChangedData{From: prev, To: sev}}
		return []TimelineEvent{ev}, &syncPayload{Notices: []Notice{n}, Invite: sp.Invite}, nil
	})
	if err != nil {
		return nil, err
	}
	// A new severity has a new cadence and a new response target.
	if err := s.reminders.planNag(ctx, s.sched, inc); err != nil {
		return inc, err
	}
	if err := s.reminders.planAckCheck(ctx, s.sched, inc); err != nil {
		return inc, err
	}
	return inc, s.after(ctx, Change{Kind: EventSeverityChanged, Incident: inc, From: prevSev.String(), To: sev.String(), Actor: actor})
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
	summary = strings.TrimSpace(summary)
	if utf8.RuneCountInString(summary) > 3000 {
		return nil, Errorf(EINVALID, "The summary is too long; keep it within 3000 characters.")
	}
	if err := s.authz.authorizeOn(ctx, id, actor, ActSetStatus); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	update := func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
		from := i.Status
		if err := CheckTransition(from, to); err != nil {
			return nil, nil, err
		}
		var (
			extra   []TimelineEvent
			checked *Notice
		)
		if to == StatusResolved {
			ev, n, err := s.checkResolution(i, actor, check, now)
			if err != nil {
				return nil, nil, err
			}
			if ev != nil {
				extra, checked = append(extra, *ev), n
			}
		}
		i.Status = to
		t := now
		n := Notice{Incident: i.Key(), Actor: actor, Mirror: true}
		switch {
		case to == StatusMitigated:
			i.MitigatedAt = &t
			n.Kind = NoticeMitigated
		case to == StatusResolved:
			i.ResolvedAt = &t
			if summary != "" {
				i.Summary = summary
			}
			n.Kind, n.Values = NoticeResolved, map[string]string{"after": Since(i.DeclaredAt, now)}
			if summary != "" {
				n.Values["summary"] = summary
			}
		case to == StatusClosed:
			i.ClosedAt = &t
			n.Kind = NoticeClosed
		case from == StatusResolved && to == StatusInvestigating:
			i.ResolvedAt = nil
			n.Kind = NoticeReopened
		default:
			n.Kind, n.Values = NoticeStatusSet, map[string]string{"status": to.Label()}
		}
		if to == StatusInvestigating {
			// Back to work after a reopen or a relapse: the update clock
			// starts again now rather than nagging at once for the pause.
			i.LastUpdateAt, i.NagCount, i.SnoozedUntil = &t, 0, nil
		}
		ev := TimelineEvent{Kind: EventStatusChanged, Actor: actor, At: now, Key: true, Text: s.noticeText(n),
			Payload: StatusChangedData{From: from, To: to}}
		notices := []Notice{n}
		if checked != nil {
			notices = append(notices, *checked)
		}
		return append([]TimelineEvent{ev}, extra...), &syncPayload{Notices: notices}, nil
	}
	if to == StatusClosed {
		// change refuses closed incidents; closing is the one move into it.
		var sync *syncPayload
		var from Status
		inc, err := s.store.UpdateIncident(ctx, id, func(i *Incident) ([]TimelineEvent, error) {
			from = i.Status
			events, sp, err := update(i)
			sync = sp
			return events, err
		})
		if err != nil {
			return nil, err
		}
		sync.IncidentID = inc.ID
		if err := s.sync.schedule(ctx, s.sched, inc, *sync); err != nil {
			return inc, err
		}
		// The hooks hear of the close too: the review and the postmortem
		// draft start from it.
		return inc, s.after(ctx, Change{Kind: EventStatusChanged, Incident: inc, From: string(from), To: string(to), Actor: actor})
	}
	var from Status
	inc, err := s.change(ctx, id, func(i *Incident) ([]TimelineEvent, *syncPayload, error) {
		from = i.Status
		return update(i)
	})
	if err != nil {
		return nil, err
	}
	if err := s.after(ctx, Change{Kind: EventStatusChanged, Incident: inc, From: string(from), To: string(to), Actor: actor}); err != nil {
		return inc, err
	}
	// Reopening, or leaving mitigated, starts the reminders again.
	return inc, s.reminders.planNag(ctx, s.sched, inc)
}

package incident

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// lifecycle says what each change does to an incident: the fields it sets,
// the timeline events it records and the notices it says. It reads and
// writes nothing; the Service stores what it returns, in one transaction
// with the sync that tells Slack.
type lifecycle struct {
	policy Policy
	// text words a notice for the timeline.
	text func(Notice) string
}

// declared is what a new incident's timeline starts with: the declare, the
// message it was declared from, and the IC named.
func (l *lifecycle) declared(inc *Incident, in DeclareInput, now time.Time) []TimelineEvent {
	declared := Notice{Kind: NoticeDeclared, Incident: inc.Key(), Actor: in.DeclaredBy,
		Values: map[string]string{"severity": inc.Severity.String(), "title": inc.Title, "drill": strconv.FormatBool(inc.Drill)}}
	events := []TimelineEvent{{IncidentID: inc.ID, Kind: EventDeclared, Actor: in.DeclaredBy, At: now, Key: true, Text: l.text(declared)}}
	if src := in.Source; src != nil {
		events = append(events, l.sourceMessageEvent(inc, in.DeclaredBy, now, *src))
	}
	if inc.Commander != "" {
		events = append(events, TimelineEvent{IncidentID: inc.ID, Kind: EventRoleAssigned, Actor: in.DeclaredBy, At: now, Key: true,
			Text:    l.text(Notice{Kind: NoticeICNamed, Incident: inc.Key(), Actor: in.DeclaredBy, User: inc.Commander}),
			Payload: RoleAssignedData{Role: RoleCommander, User: inc.Commander}})
	}
	return events
}

func (l *lifecycle) sourceMessageEvent(inc *Incident, actor string, now time.Time, m SourceMessage) TimelineEvent {
	n := Notice{Kind: NoticeDeclaredFrom, Incident: inc.Key(), Actor: actor, User: m.Author,
		Values: map[string]string{"channel": m.ChannelID, "url": m.Permalink}}
	return TimelineEvent{IncidentID: inc.ID, Kind: EventNote, Actor: actor, At: now, Key: true, Text: l.text(n),
		SourceID: "declared_from:" + m.ChannelID + ":" + m.TS,
		Payload:  NoteData{Channel: m.ChannelID, TS: m.TS, Author: m.Author, Permalink: m.Permalink}}
}

// role reads a role's name as people type it, and checks it against the
// policy and that someone takes it.
func (l *lifecycle) role(role, user string) (string, error) {
	role = strings.ToLower(strings.TrimSpace(role))
	switch role {
	case "ic", "incident-commander", "incident_commander":
		role = RoleCommander
	}
	if !l.policy.HasRole(role) {
		return "", Errorf(EINVALID, "Unknown role %q. Roles: ic, %s.", role, strings.Join(l.policy.Roles, ", "))
	}
	if user == "" {
		return "", Errorf(EINVALID, "Say who takes the role, such as @jane.")
	}
	return role, nil
}

// roleChange is a role given to someone.
type roleChange struct {
	role, user, actor string
	// commander is the IC the permission was checked against.
	commander string
	// takeover is a confirmed takeover from someone who did not hand over.
	takeover bool
	now      time.Time
	// heldBy, when set, is who must still hold the role ("" for nobody):
	// checked in the change's own transaction (IfHeldBy).
	heldBy *string
}

// AssignOption qualifies a role assignment.
type AssignOption func(*roleChange)

// IfHeldBy makes AssignRole give the role only while holder ("" for
// nobody) still holds it, compared in the change's own transaction: a form
// that showed holder, submitted after someone else gave the role to
// another person, is refused (ECONFLICT) instead of undoing that change.
func IfHeldBy(holder string) AssignOption {
	return func(c *roleChange) { c.heldBy = &holder }
}

// holderOf is who holds role in i, "" for nobody.
func holderOf(i *Incident, role string) string {
	if role == RoleCommander {
		return i.Commander
	}
	return i.Roles[role]
}

// assignRole gives c's role to c.user.
func (l *lifecycle) assignRole(i *Incident, c roleChange) ([]TimelineEvent, *syncPayload, error) {
	n := Notice{Incident: i.Key(), Actor: c.actor, User: c.user}
	if now := holderOf(i, c.role); c.heldBy != nil && now != *c.heldBy && now != c.user {
		if now == "" {
			return nil, nil, Errorf(ECONFLICT, "Nobody holds this role any more: it changed meanwhile. Look again and retry.")
		}
		return nil, nil, Errorf(ECONFLICT, "%s holds this role now: it changed meanwhile. Look again and retry.", User(now))
	}
	var err error
	if c.role == RoleCommander {
		err = assignCommander(i, c, &n)
		if err == nil {
			restartNags(i, l.policy, c.now)
		}
	} else {
		err = assignOther(i, c, &n)
	}
	if err != nil {
		return nil, nil, err
	}
	data := RoleAssignedData{Role: c.role, User: c.user}
	if c.takeover {
		data.Takeover = TakeoverConfirmed
	}
	ev := TimelineEvent{Kind: EventRoleAssigned, Actor: c.actor, At: c.now, Key: c.role == RoleCommander, Text: l.text(n), Payload: data}
	return []TimelineEvent{ev}, &syncPayload{Notices: []Notice{n}, Invite: []string{c.user}}, nil
}

// assignCommander makes c.user the IC: a first IC, a handover, or a
// confirmed takeover. Someone claiming the role is the human
// acknowledgement.
func assignCommander(i *Incident, c roleChange, n *Notice) error {
	if i.Commander != c.commander {
		return Errorf(ECONFLICT, "The Incident Commander of %s changed meanwhile; look again and retry.", i.Key())
	}
	prev := i.Commander
	if prev == c.user {
		return Errorf(ECONFLICT, "That person is already the Incident Commander.")
	}
	i.Commander = c.user
	n.Prev = prev
	switch {
	case prev == "":
		n.Kind = NoticeICAssigned
	case c.takeover:
		n.Kind = NoticeICTakeover
	default:
		n.Kind = NoticeICHandover
	}
	if i.AcknowledgedAt == nil && c.actor == c.user {
		t := c.now
		i.AcknowledgedAt = &t
	}
	return nil
}

// assignOther gives a role other than the IC's.
func assignOther(i *Incident, c roleChange, n *Notice) error {
	if i.Roles == nil {
		i.Roles = map[string]string{}
	}
	if i.Roles[c.role] == c.user {
		return Errorf(ECONFLICT, "That person already holds the %s role.", c.role)
	}
	i.Roles[c.role] = c.user
	n.Kind, n.Values = NoticeRoleAssigned, map[string]string{"role": roleLabel(c.role)}
	return nil
}

func roleLabel(role string) string {
	if role == RoleScribe {
		return "scribe"
	}
	return role
}

// setSeverity changes the severity; the new severity's invitees are
// invited.
func (l *lifecycle) setSeverity(i *Incident, sev Severity, actor string, now time.Time) ([]TimelineEvent, *syncPayload, error) {
	if i.Severity == sev {
		return nil, nil, Errorf(ECONFLICT, "%s is already %s.", i.Key(), sev)
	}
	prev := i.Severity
	peak := i.MostSevere()
	i.Severity = sev
	i.PeakSeverity = min(peak, sev)
	retimeNags(i, prev, l.policy, now)
	sp := l.policy.Severity(sev)
	n := Notice{Kind: NoticeSeverityChanged, Incident: i.Key(), Actor: actor, Mirror: true,
		Values: map[string]string{"from": prev.String(), "to": sev.String(), "label": sp.Label, "raised": fmt.Sprint(sev < prev)}}
	ev := TimelineEvent{Kind: EventSeverityChanged, Actor: actor, At: now, Key: true, Text: l.text(n),
		Payload: SeverityChangedData{From: prev, To: sev}}
	return []TimelineEvent{ev}, &syncPayload{Notices: []Notice{n}, Invite: sp.Invite}, nil
}

// statusMove is a move through the lifecycle; check is the resolution
// checklist, if one was answered.
type statusMove struct {
	to             Status
	actor, summary string
	check          *ResolutionCheck
	now            time.Time
}

// setStatus moves the incident, by CheckTransition's rules; a resolve
// checks the checklist and keeps its answers.
func (l *lifecycle) setStatus(i *Incident, m statusMove) ([]TimelineEvent, *syncPayload, error) {
	from := i.Status
	if err := CheckTransition(from, m.to); err != nil {
		return nil, nil, err
	}
	var (
		extra   []TimelineEvent
		checked *Notice
	)
	if m.to == StatusResolved {
		ev, n, err := l.checkResolution(i, m.actor, m.check, m.now)
		if err != nil {
			return nil, nil, err
		}
		if ev != nil {
			extra, checked = append(extra, *ev), n
		}
	}
	n := moveStatus(i, m)
	ev := TimelineEvent{Kind: EventStatusChanged, Actor: m.actor, At: m.now, Key: true, Text: l.text(n),
		Payload: StatusChangedData{From: from, To: m.to}}
	notices := []Notice{n}
	if checked != nil {
		notices = append(notices, *checked)
	}
	return append([]TimelineEvent{ev}, extra...), &syncPayload{Notices: notices}, nil
}

// moveStatus sets the status and the time it was reached, and returns the
// notice that says so.
func moveStatus(i *Incident, m statusMove) Notice {
	from, to := i.Status, m.to
	i.Status = to
	t := m.now
	n := Notice{Incident: i.Key(), Actor: m.actor, Mirror: true}
	switch {
	case to == StatusMitigated:
		i.MitigatedAt = &t
		n.Kind = NoticeMitigated
	case to == StatusResolved:
		i.ResolvedAt = &t
		n.Kind, n.Values = NoticeResolved, map[string]string{"after": Since(i.DeclaredAt, m.now)}
		if m.summary != "" {
			i.Summary = m.summary
			n.Values["summary"] = m.summary
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
	return n
}

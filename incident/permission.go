package incident

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Action is something a person may or may not do. Every check of who may do
// what goes through Policy.Decide, so the rules live here and nowhere else.
type Action string

// Actions the permission model decides.
const (
	// ActDeclare declares an incident.
	ActDeclare Action = "declare"
	// ActNameIC names someone other than the declarer as the Incident
	// Commander of an incident being declared; Request.Target is that
	// person and Request.Incident is nil.
	ActNameIC Action = "name_ic"
	// ActView sees an incident in lists, status and search, and acts on
	// it from outside its channel.
	ActView Action = "view"
	// ActTakeIC takes the Incident Commander role or hands it to someone.
	ActTakeIC Action = "take_ic"
	// ActAssignRole gives a role other than the IC's to someone.
	ActAssignRole Action = "assign_role"
	// ActChangeSeverity raises or lowers the severity.
	ActChangeSeverity Action = "change_severity"
	// ActSetStatus marks the incident investigating or mitigated,
	// resolves, reopens or closes it.
	ActSetStatus Action = "set_status"
	// ActPostUpdate posts a status update.
	ActPostUpdate Action = "post_update"
	// ActSnooze silences the update reminders for a while.
	ActSnooze Action = "snooze"
	// ActPage pages a service's on-call for the incident.
	ActPage Action = "page"
	// ActRollback rolls back a change, or approves someone's rollback.
	ActRollback Action = "rollback"
	// ActPublish posts the incident on the public status page, or marks it
	// not customer-facing.
	ActPublish Action = "publish"
	// ActReview moves the postmortem review on (draft, in review,
	// published); Request.Target is the review's owner.
	ActReview Action = "review"
	// ActExport sends the postmortem, with the incident's whole timeline,
	// out of the chat (Confluence, a repository); Request.Target is the
	// review's owner.
	ActExport Action = "export"
	// ActResetReminders is what a status update does besides being posted:
	// it starts the update reminders and their escalation over.
	ActResetReminders Action = "reset_reminders"
	// ActDismissAlert judges an alert's proposal not an incident;
	// Request.Severity and Request.Service are the alert's.
	ActDismissAlert Action = "dismiss_alert"
	// ActSeeOnCall asks who is on call for a service (/incident oncall):
	// the names and schedules are the workspace's own, not its guests'.
	ActSeeOnCall Action = "see_on_call"
)

// actionLabel is how a refusal names the action: "You may not <label>".
var actionLabel = map[Action]string{
	ActDeclare:        "declare incidents",
	ActNameIC:         "name someone else as the Incident Commander",
	ActView:           "see this incident",
	ActTakeIC:         "take the Incident Commander role",
	ActAssignRole:     "assign roles",
	ActChangeSeverity: "change the severity",
	ActSetStatus:      "change the status",
	ActPostUpdate:     "post status updates",
	ActSnooze:         "snooze the update reminders",
	ActPage:           "page on-call",
	ActRollback:       "roll back this change",
	ActPublish:        "post this incident to the public status page",
	ActReview:         "move the postmortem review on",
	ActExport:         "export the postmortem",
	ActResetReminders: "start the update reminders over",
	ActDismissAlert:   "judge this alert not an incident",
	ActSeeOnCall:      "see who is on call",
}

// PrincipalKind says what a Principal names.
type PrincipalKind string

// Principal kinds.
const (
	// PrincipalUser is one person, by chat user id.
	PrincipalUser PrincipalKind = "user"
	// PrincipalRef is a reference from the policy: a user id, a user
	// group id or an e-mail address.
	PrincipalRef PrincipalKind = "ref"
	// PrincipalRole is whoever holds a role in the incident, or
	// "anyone" for PrincipalAnyone.
	PrincipalRole PrincipalKind = "role"
	// PrincipalAnyone is everybody in the workspace.
	PrincipalAnyone PrincipalKind = "anyone"
	// PrincipalMembers is the incident's members.
	PrincipalMembers PrincipalKind = "members"
	// PrincipalStaff is everybody in the workspace but its guests.
	PrincipalStaff PrincipalKind = "staff"
)

// Principal is someone who may do something, named in a refusal so the
// person refused knows whom to ask.
type Principal struct {
	Kind PrincipalKind
	// ID is the user id, the policy reference, or the role name.
	ID string
	// Holder is the user holding a role, when someone does.
	Holder string
}

// Subject is the person asking, with the policy references they belong to.
// Member says whether they are a member of the incident (its channel, or
// one of its named people), which matters for a private incident and for a
// guest.
type Subject struct {
	User string
	// In lists the policy references (user ids, group ids, e-mail
	// addresses) the user belongs to, resolved by the caller.
	In     map[string]bool
	Member bool
	// Guest is set for a guest of the workspace (Slack's multi- and
	// single-channel guests): what the policy lets "anyone" do is not
	// theirs, and they see only the incidents they are members of.
	Guest bool
}

// in reports whether the subject belongs to any of refs.
func (s Subject) in(refs ...string) bool {
	for _, r := range refs {
		if r != "" && (r == s.User || s.In[r]) {
			return true
		}
	}
	return false
}

// Request is what a Decide call asks about.
type Request struct {
	Subject Subject
	Action  Action
	// Incident is the incident acted on; nil for ActDeclare.
	Incident *Incident
	// Target is the user a role is given to (ActTakeIC, ActAssignRole,
	// ActNameIC), or the review's owner (ActReview).
	Target string
	// Confirmed is set when the subject confirmed, in the incident's
	// channel, that they take the IC role over from someone else.
	Confirmed bool
	// At is when the request is made and ICActiveAt the last time the
	// current IC did something in the incident (ICActiveAt): taking the
	// role from an IC who has been quiet for the policy's TakeoverAfter
	// needs only a confirmation (ActTakeIC). Zero At: the IC counts as
	// active.
	At         time.Time
	ICActiveAt time.Time
	// Change is the change rolled back (ActRollback).
	Change *ChangeEvent
	// Severity is the highest severity involved in a rollback: the
	// incident's and that of every open incident of the change's service;
	// for ActDismissAlert, the alert's.
	Severity Severity
	// Service is the policy key of the alert's service (ActDismissAlert).
	Service string
}

// Decision is the answer of the permission model.
type Decision struct {
	Allowed bool
	// Confirm is set when the action is allowed only after the subject
	// confirms it in the incident's channel, which leaves a timeline line.
	Confirm bool
	// SecondPerson is set on an allowed rollback that must wait for the
	// approval of a different person with the same right.
	SecondPerson bool
	// Reason says why the action is refused, or needs a confirmation or a
	// second person.
	Reason string
	// WhoCan names who may do it.
	WhoCan []Principal
	Action Action
}

// Refusal is the error of a refused action: EFORBIDDEN, with the reason and
// who can do it instead.
type Refusal struct {
	Action Action
	// Confirm is set when the action is allowed after the person confirms
	// it in the incident's channel.
	Confirm bool
	Reason  string
	WhoCan  []Principal
}

// Error implements error.
func (r *Refusal) Error() string {
	return fmt.Sprintf("incident error: code=%s message=%s", EFORBIDDEN, r.Message())
}

// Message is the sentence shown to the person refused, with people and
// groups by id; a chat names them in its own way with Text.
func (r *Refusal) Message() string {
	return r.Text(plainName, plainName)
}

// Text is the refusal's sentence, naming users with user and user groups
// with group.
func (r *Refusal) Text(user, group func(id string) string) string {
	text := "You may not " + actionLabel[r.Action]
	if r.Reason != "" {
		text += ": " + r.Reason
	}
	text = strings.TrimSuffix(text, ".") + "."
	if who := WhoList(r.WhoCan, user, group); who != "" {
		text += " Who can: " + who + "."
	}
	return text
}

func plainName(id string) string { return id }

// Err returns nil for an allowed decision and a *Refusal otherwise.
func (d Decision) Err() error {
	if d.Allowed {
		return nil
	}
	return &Refusal{Action: d.Action, Reason: d.Reason, WhoCan: d.WhoCan, Confirm: d.Confirm}
}

// WhoList names principals for a sentence, "the Incident Commander (U1)
// or members of S2", naming users with user and user groups with group.
func WhoList(ps []Principal, user, group func(id string) string) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		switch p.Kind {
		case PrincipalUser:
			parts = append(parts, user(p.ID))
		case PrincipalRef:
			parts = append(parts, refText(p.ID, user, group))
		case PrincipalAnyone:
			parts = append(parts, "anyone")
		case PrincipalMembers:
			parts = append(parts, "the incident's members")
		case PrincipalStaff:
			parts = append(parts, "the workspace's members (not its guests)")
		case PrincipalRole:
			t := "the " + roleTitle(p.ID)
			if p.Holder != "" {
				t += " (" + user(p.Holder) + ")"
			}
			parts = append(parts, t)
		}
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

func roleTitle(role string) string {
	if role == RoleCommander {
		return "Incident Commander"
	}
	return roleLabel(role) + " lead"
}

// refText names a policy reference: a user, the members of a user group,
// or an e-mail address.
func refText(ref string, user, group func(id string) string) string {
	switch {
	case strings.Contains(ref, "@"):
		return ref
	case strings.HasPrefix(ref, "S"):
		return "members of " + group(ref)
	case strings.HasPrefix(ref, "U") || strings.HasPrefix(ref, "W"):
		return user(ref)
	}
	return ref
}

// refs turns policy references into principals.
func refs(rs ...string) []Principal {
	var out []Principal
	for _, r := range rs {
		if r != "" {
			out = append(out, Principal{Kind: PrincipalRef, ID: r})
		}
	}
	return out
}

// RefsFor lists the policy references whose membership decides req, so
// the caller resolves only those.
func (p Policy) RefsFor(req Request) []string {
	var out []string
	switch req.Action {
	case ActDeclare:
		out = append(out, p.Declarers...)
	case ActRollback:
		out = append(out, p.rollbackRefs(req.Change)...)
	case ActView:
	case ActPublish:
		out = append(out, p.CommanderGroup)
		out = append(out, p.Comms.Publishers...)
	case ActExport:
		out = append(out, p.CommanderGroup)
		out = append(out, p.Exporters...)
	case ActDismissAlert:
		out = append(out, p.Declarers...)
		out = append(out, p.alertJudges(req.Service)...)
	default:
		out = append(out, p.CommanderGroup)
	}
	return Dedupe(out)
}

// rollbackRefs is who may roll back a change: the owners of its service
// and of its environment, and the policy's rollback group.
func (p Policy) rollbackRefs(c *ChangeEvent) []string {
	var out []string
	if c != nil {
		if svc, ok := p.Services[c.Service]; ok {
			out = append(out, svc.Owners...)
		}
		if env, ok := p.Environments[c.Environment]; ok {
			out = append(out, env.Owners...)
		}
	}
	out = append(out, p.RollbackGroup)
	return Dedupe(out)
}

// RollbackRefs is who may roll back c, as policy references: the owners
// of its service and of its environment, and the rollback group.
func (p Policy) RollbackRefs(c ChangeEvent) []string { return p.rollbackRefs(&c) }

// TwoPersonFor reports whether a rollback in environment env with sev as
// the highest severity involved needs a second person.
func (p Policy) TwoPersonFor(env string, sev Severity) bool {
	if p.TwoPersonRollback[env][sev] {
		return true
	}
	return p.TwoPersonRollback[AnyEnvironment][sev]
}

// Decide is the permission model: it answers whether req.Subject may do
// req.Action, and when not, why and who can. It is a pure function of the
// policy and the request; the caller resolves group membership first (see
// RefsFor).
//
// The rules:
//   - declare: anyone, or only the policy's declarers when it lists some.
//   - name someone else as the IC of an incident being declared (the
//     declarer takes the role otherwise): the rule for naming an IC while
//     nobody holds the role, so only a member of the commander group.
//   - view: anyone for a public incident; for a private one, its members
//     (the people in its channel) only.
//   - take IC: anyone who can see the incident while nobody holds the
//     role; from someone else, the current IC (a handover) or a member of
//     the commander group, or, once the IC has been quiet in the incident
//     for the policy's TakeoverAfter (no message, update or action), the
//     person taking over after confirming it in the incident's channel (a
//     line on the timeline says so). Handing the role to a third person
//     needs the current IC or the commander group.
//   - assign roles, change the severity, change the status, snooze: the IC
//     or a member of the commander group.
//   - post an update, page on-call: anyone who can see the incident, as
//     anyone may declare one.
//   - start the update reminders over with an update: the IC, the holders
//     of the incident's roles and the commander group; anyone else's
//     update is posted and leaves the reminders' escalation where it is.
//   - export the postmortem (the whole timeline leaves the chat): the IC,
//     the holders of the incident's roles, the review's owner, the
//     commander group and the policy's exporters.
//   - post to the public status page (or mark the incident not
//     customer-facing): the IC, the comms lead, the commander group and
//     the policy's comms publishers; customers read what is posted.
//   - roll back: the owners of the change's service and of its
//     environment, and the rollback group; never merely the IC of some
//     incident. Where the policy's two-person rule covers the change's
//     environment and the highest severity involved, a different person
//     with the same right must approve before anything runs.
//   - guests of the workspace (contractors, partners' people, let into a
//     few channels): what the rules above give "anyone" is not theirs.
//     They declare only when the policy names them as declarers, see an
//     incident only as one of its members, as Slack shows them only the
//     channels they are in, page on-call only while they hold one of the
//     incident's roles, and take the IC role only when it is handed to
//     them. Where the policy or the IC names them (a group, a role), they
//     do what it gives them.
//
// Everyone but declare also needs to see the incident.
func (p Policy) Decide(req Request) Decision {
	d := p.decide(req)
	d.Action = req.Action
	return d
}

func (p Policy) decide(req Request) Decision {
	sub, inc := req.Subject, req.Incident
	if sub.User == "" {
		return Decision{Reason: "nobody is named as the person asking"}
	}
	switch req.Action {
	case ActDeclare:
		return p.decideDeclare(sub)
	case ActNameIC:
		return p.decideNameIC(req)
	case ActDismissAlert:
		return p.decideDismissAlert(req)
	case ActSeeOnCall:
		if sub.Guest {
			return Decision{Reason: "it is not shown to guests of the workspace; ask the Incident Commander or a member of the workspace in the incident's channel",
				WhoCan: []Principal{{Kind: PrincipalStaff}}}
		}
		return Decision{Allowed: true}
	}
	if inc == nil {
		return Decision{Reason: "no incident is named"}
	}
	if inc.Private && !sub.Member {
		return Decision{Reason: inc.Key() + " is private and you are not one of its members",
			WhoCan: []Principal{{Kind: PrincipalMembers}}}
	}
	if sub.Guest && !sub.Member {
		return Decision{Reason: "guests of the workspace see only the incidents whose channels they are in, and you are not in " + inc.Key() + "'s",
			WhoCan: []Principal{{Kind: PrincipalMembers}}}
	}
	r := p.onIncident(req)
	switch req.Action {
	case ActView:
		return Decision{Allowed: true}
	case ActTakeIC:
		return r.takeIC()
	case ActAssignRole, ActChangeSeverity, ActSetStatus, ActSnooze:
		return r.lead()
	case ActPostUpdate:
		// Anyone working the incident may say what they know.
		return Decision{Allowed: true}
	case ActPage:
		// Anyone working the incident may call for help, as anyone may
		// declare; a guest only while the incident gives them a role.
		if sub.Guest && !r.holdsRole() && !r.isCommander {
			return Decision{Reason: "guests of the workspace may page on-call only while they hold one of the incident's roles",
				WhoCan: append([]Principal{{Kind: PrincipalStaff}, r.ic}, r.commanders...)}
		}
		return Decision{Allowed: true}
	case ActPublish:
		return r.publish()
	case ActReview:
		return r.review()
	case ActExport:
		return r.export()
	case ActResetReminders:
		if r.holdsRole() || r.isCommander {
			return Decision{Allowed: true}
		}
		return Decision{Reason: "only an update by the Incident Commander, a role holder or the commander group starts them over",
			WhoCan: append([]Principal{r.ic}, r.commanders...)}
	case ActRollback:
		return p.decideRollback(req)
	}
	return Decision{Reason: "the action is unknown"}
}

// alertJudges are who may judge a severe alert of service not an
// incident: the commander group and the service's owners and responders.
func (p Policy) alertJudges(service string) []string {
	out := []string{p.CommanderGroup}
	if svc, ok := p.Services[service]; ok {
		out = append(out, svc.Owners...)
		out = append(out, svc.Responders...)
	}
	return Dedupe(out)
}

// decideDismissAlert: judging an alert not an incident silences its
// proposal until the alert resolves and fires again, so for a P1 or P2
// it is the call of the people who answer for the service (its owners and
// responders) and of the commander group, when the policy names any,
// whether or not they may declare; a
// lesser alert, or one nobody is named for, is the call of anyone who may
// declare.
func (p Policy) decideDismissAlert(req Request) Decision {
	if !req.Severity.Valid() || req.Severity > P2 {
		return p.decideDeclare(req.Subject)
	}
	judges := p.alertJudges(req.Service)
	switch {
	case len(judges) == 0:
		return p.decideDeclare(req.Subject)
	case req.Subject.in(judges...):
		// Named for it, whether or not they may declare.
		return Decision{Allowed: true}
	}
	return Decision{Reason: fmt.Sprintf("a %s alert is judged not an incident only by the people who answer for its service and the commander group", req.Severity),
		WhoCan: refs(judges...)}
}

func (p Policy) decideDeclare(sub Subject) Decision {
	if sub.in(p.Declarers...) || (len(p.Declarers) == 0 && !sub.Guest) {
		return Decision{Allowed: true}
	}
	if len(p.Declarers) == 0 {
		return Decision{Reason: "guests of the workspace may declare only where the policy names them as declarers",
			WhoCan: []Principal{{Kind: PrincipalStaff}}}
	}
	return Decision{Reason: "the policy lets only named people declare", WhoCan: refs(p.Declarers...)}
}

func (p Policy) decideNameIC(req Request) Decision {
	sub := req.Subject
	if req.Target == "" || req.Target == sub.User || sub.in(p.CommanderGroup) {
		return Decision{Allowed: true}
	}
	if p.CommanderGroup == "" {
		return Decision{Reason: "the policy names no commander group, so whoever declares an incident is its first Incident Commander; declare without naming one to take the role yourself"}
	}
	return Decision{Reason: "while nobody holds the role, only the commander group may give it to someone else; declare without naming one to take the role yourself",
		WhoCan: refs(p.CommanderGroup)}
}

// incidentRequest is a request about an incident, with who leads the
// incident and whether the person asking is one of them.
type incidentRequest struct {
	Request
	p                 Policy
	ic                Principal
	commanders        []Principal
	isIC, isCommander bool
}

func (p Policy) onIncident(req Request) incidentRequest {
	sub, inc := req.Subject, req.Incident
	return incidentRequest{
		Request: req, p: p,
		ic:          Principal{Kind: PrincipalRole, ID: RoleCommander, Holder: inc.Commander},
		commanders:  refs(p.CommanderGroup),
		isIC:        inc.Commander != "" && sub.User == inc.Commander,
		isCommander: sub.in(p.CommanderGroup),
	}
}

func (l incidentRequest) takeIC() Decision {
	req, sub, inc := l.Request, l.Subject, l.Incident
	target := req.Target
	if target == "" {
		target = sub.User
	}
	if sub.Guest && !l.isIC && !l.isCommander {
		// The IC or the commander group may hand the role to a guest;
		// a guest does not take it.
		return Decision{Reason: "guests of the workspace take the Incident Commander role only when it is handed to them",
			WhoCan: append([]Principal{l.ic}, l.commanders...)}
	}
	switch {
	case inc.Commander == "" && target == sub.User:
		return Decision{Allowed: true}
	case l.isIC || l.isCommander:
		return Decision{Allowed: true}
	case inc.Commander == "":
		return Decision{Reason: "only the commander group may name someone else while nobody is the Incident Commander; take the role yourself instead",
			WhoCan: append(l.commanders, Principal{Kind: PrincipalMembers})}
	case target != sub.User:
		return Decision{Reason: "only the current Incident Commander or the commander group may hand the role to someone else",
			WhoCan: append([]Principal{l.ic}, l.commanders...)}
	}
	quietFor := takeoverAfter(l.p)
	if req.At.IsZero() || req.At.Sub(req.ICActiveAt) < quietFor {
		how := "ask them to hand it to you (" + commandOf(l.p) + " ic @you)"
		if l.p.CommanderGroup != "" {
			how += " or ask the commander group"
		}
		return Decision{Reason: fmt.Sprintf("someone else is the Incident Commander and has been active in the incident within the last %s; %s, or take over once they have been quiet for %s",
			DurationWords(quietFor), how, DurationWords(quietFor)),
			WhoCan: append([]Principal{l.ic}, l.commanders...)}
	}
	if req.Confirmed {
		return Decision{Allowed: true}
	}
	return Decision{Confirm: true,
		Reason: fmt.Sprintf("someone else is the Incident Commander, quiet in the incident for %s; taking over without their handover or the commander group needs your confirmation in the incident's channel",
			DurationWords(quietFor)),
		WhoCan: append([]Principal{l.ic}, l.commanders...)}
}

// DefaultTakeoverAfter is how long an Incident Commander must have been
// quiet in the incident before someone else may take the role over
// without their handover: one P1 response target, and about one and a
// half update cadences.
const DefaultTakeoverAfter = 15 * time.Minute

// takeoverAfter is the policy's TakeoverAfter, or the default.
func takeoverAfter(p Policy) time.Duration {
	if p.TakeoverAfter > 0 {
		return p.TakeoverAfter
	}
	return DefaultTakeoverAfter
}

// commandOf is the chat command for text that says what to run.
func commandOf(p Policy) string {
	if p.Command != "" {
		return p.Command
	}
	return "/incident"
}

// ICActiveAt is the last time the Incident Commander of inc did something
// in it, read from events, its timeline: a message in its channel, an
// update, any action of theirs, or being given the role; the declaration
// when they declared it. Zero when nobody is IC.
func ICActiveAt(inc *Incident, events []TimelineEvent) time.Time {
	ic := inc.Commander
	if ic == "" {
		return time.Time{}
	}
	var last time.Time
	if inc.DeclaredBy == ic {
		last = inc.DeclaredAt
	}
	for _, ev := range events {
		given := false
		if ra, ok := ev.Payload.(RoleAssignedData); ok && ra.Role == RoleCommander && ra.User == ic {
			given = true
		}
		if (ev.Actor == ic || given) && ev.At.After(last) {
			last = ev.At
		}
	}
	return last
}

// withICActivity fills in when the current IC was last active, for a
// request to take the role over from them; other requests are returned
// as they are, without reading the timeline.
func withICActivity(ctx context.Context, timeline TimelineStore, now time.Time, req Request) (Request, error) {
	inc := req.Incident
	target := req.Target
	if target == "" {
		target = req.Subject.User
	}
	if req.Action != ActTakeIC || inc == nil || inc.Commander == "" || inc.Commander == req.Subject.User || target != req.Subject.User {
		return req, nil
	}
	events, err := timeline.ListTimeline(ctx, inc.ID)
	if err != nil {
		return req, fmt.Errorf("read the Incident Commander's activity: %w", err)
	}
	req.At, req.ICActiveAt = now, ICActiveAt(inc, events)
	return req, nil
}

// holdsRole reports whether the subject is the IC or holds another of the
// incident's roles.
func (l incidentRequest) holdsRole() bool {
	if l.isIC {
		return true
	}
	for _, holder := range l.Incident.Roles {
		if holder != "" && holder == l.Subject.User {
			return true
		}
	}
	return false
}

// lead is for what only the IC or the commander group may do: assign
// roles, change the severity or the status, snooze.
func (l incidentRequest) lead() Decision {
	if l.isIC || l.isCommander {
		return Decision{Allowed: true}
	}
	return Decision{Reason: noIC(l.Incident, "only the Incident Commander or the commander group may"), WhoCan: append([]Principal{l.ic}, l.commanders...)}
}

func (l incidentRequest) publish() Decision {
	p, sub, inc := l.p, l.Subject, l.Incident
	isComms := inc.Roles[RoleComms] != "" && sub.User == inc.Roles[RoleComms]
	if l.isIC || isComms || l.isCommander || sub.in(p.Comms.Publishers...) {
		return Decision{Allowed: true}
	}
	return Decision{Reason: "customers read the status page, so only the incident's leads and the policy's publishers may post there",
		WhoCan: append(append([]Principal{l.ic, {Kind: PrincipalRole, ID: RoleComms, Holder: inc.Roles[RoleComms]}}, l.commanders...), refs(p.Comms.Publishers...)...)}
}

func (l incidentRequest) review() Decision {
	req := l.Request
	if l.isIC || l.isCommander || (req.Target != "" && req.Subject.User == req.Target) {
		return Decision{Allowed: true}
	}
	who := append([]Principal{l.ic}, l.commanders...)
	if req.Target != "" {
		who = append(who, Principal{Kind: PrincipalUser, ID: req.Target})
	}
	return Decision{Reason: "the review is run by the Incident Commander, the commander group and its owner", WhoCan: who}
}

// export is who may send the postmortem out of the chat: it carries the
// whole timeline, so the incident's leads, its review's owner, the
// commander group and the policy's exporters.
func (l incidentRequest) export() Decision {
	p, req := l.p, l.Request
	if l.holdsRole() || l.isCommander || (req.Target != "" && req.Subject.User == req.Target) || req.Subject.in(p.Exporters...) {
		return Decision{Allowed: true}
	}
	who := append([]Principal{l.ic}, l.commanders...)
	if req.Target != "" && req.Target != l.Incident.Commander {
		who = append(who, Principal{Kind: PrincipalUser, ID: req.Target})
	}
	who = append(who, refs(p.Exporters...)...)
	return Decision{Reason: "the postmortem carries the incident's whole timeline out of Slack, so only the Incident Commander, the incident's role holders, the review's owner and the commander group export it",
		WhoCan: who}
}

// Warnings lists what in the policy works but weakens the response, for
// the startup check to say: no commander group means nobody but the IC can
// hand the IC role over while they are active, and unanswered update
// reminders escalate to the comms lead only.
func (p Policy) Warnings() []string {
	var out []string
	if p.CommanderGroup == "" {
		out = append(out, fmt.Sprintf("commander_group: no commander group is set, so only the Incident Commander's handover moves the IC role while they are active (others may take it after %s of their silence), and unanswered update reminders escalate to the comms lead only",
			DurationWords(takeoverAfter(p))))
	}
	return out
}

// noIC adds a hint to take the IC role when nobody holds it.
func noIC(inc *Incident, reason string) string {
	if inc.Commander == "" {
		return reason + "; nobody is the Incident Commander yet, so someone should take the role first"
	}
	return reason
}

func (p Policy) decideRollback(req Request) Decision {
	c := req.Change
	if c == nil {
		return Decision{Reason: "no change is named"}
	}
	who := p.rollbackRefs(c)
	if len(who) == 0 {
		return Decision{Reason: fmt.Sprintf("nobody may roll back changes of %s in %s: the policy names no owners for them and no rollback group",
			orUnknown(c.Service, "an unknown service"), orUnknown(c.Environment, "an unnamed environment"))}
	}
	if !req.Subject.in(who...) {
		return Decision{Reason: fmt.Sprintf("rollbacks of %s in %s belong to its owners and the rollback group, not to an incident's roles",
			orUnknown(c.Service, "this change"), orUnknown(c.Environment, "its environment")), WhoCan: refs(who...)}
	}
	sev := req.Severity
	if req.Incident != nil && (!sev.Valid() || req.Incident.Severity < sev) {
		sev = req.Incident.Severity
	}
	if p.TwoPersonFor(c.Environment, sev) {
		return Decision{Allowed: true, SecondPerson: true, WhoCan: refs(who...),
			Reason: fmt.Sprintf("a rollback in %s while a %s incident is involved needs a second person's approval", orUnknown(c.Environment, "this environment"), sev)}
	}
	return Decision{Allowed: true}
}

func orUnknown(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

package incident_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
)

// Actors of the permission table. Group membership is given as the policy
// references each belongs to, as Service.Authorize resolves it.
const (
	uIC        = "UIC"
	uCommander = "UCMDR"    // in the commander group
	uComms     = "UCOMMS"   // comms lead of the incident
	uMember    = "UMEMBER"  // in the incident's channel, no role
	uStranger  = "USTRANGE" // nobody to the incident
	uOwner     = "UOWNER"   // checkout's owners group
	uOwner2    = "UOWNER2"  // checkout's owners group too
	uProdOwner = "UPROD"    // production's owners group
	uReleaser  = "URELEASE" // the rollback group
)

const (
	gCommanders = "S0CMDR"
	gCheckout   = "S0CHECKOUTOWNERS"
	gProd       = "S0PRODOWNERS"
	gRelease    = "S0RELEASE"
	gDeclarers  = "S0DECLARERS"
)

var groupsOf = map[string][]string{
	uCommander: {gCommanders},
	uOwner:     {gCheckout},
	uOwner2:    {gCheckout},
	uProdOwner: {gProd},
	uReleaser:  {gRelease},
}

func permPolicy() incident.Policy {
	p := incident.DefaultPolicy()
	p.CommanderGroup = gCommanders
	p.RollbackGroup = gRelease
	p.Services["checkout"] = incident.ServicePolicy{Key: "checkout", Name: "Checkout", Owners: []string{gCheckout}}
	p.Services["search"] = incident.ServicePolicy{Key: "search", Name: "Search"}
	p.Environments["production"] = incident.EnvironmentPolicy{Owners: []string{gProd}}
	p.TwoPersonRollback = map[string]map[incident.Severity]bool{
		"production":            {incident.P1: true, incident.P2: true},
		incident.AnyEnvironment: {incident.P1: true},
	}
	return p
}

func subject(user string, inc *incident.Incident) incident.Subject {
	in := map[string]bool{}
	for _, g := range groupsOf[user] {
		in[g] = true
	}
	member := user != uStranger
	if inc != nil && inc.Private && user == uCommander {
		member = false // the commander group is no key to a private incident
	}
	return incident.Subject{User: user, In: in, Member: member}
}

// incidentIn returns an incident in a state: "no-ic", "has-ic" or
// "private", declared against checkout at sev.
func incidentIn(state string, sev incident.Severity) *incident.Incident {
	inc := &incident.Incident{ID: 1, Number: 7, Title: "checkout is down", Severity: sev, Status: incident.StatusInvestigating,
		Service: "checkout", DeclaredBy: uMember, Roles: map[string]string{incident.RoleComms: uComms}}
	switch state {
	case "has-ic":
		inc.Commander = uIC
	case "private":
		inc.Commander = uIC
		inc.Private = true
	}
	return inc
}

// TestPermissionTable runs each actor through each action in each incident
// state and checks the answer against the rules Policy.Decide documents.
func TestPermissionTable(t *testing.T) {
	t.Parallel()
	p := permPolicy()
	p.Comms.Publishers = []string{uReleaser} // a named status page publisher
	actors := []string{uIC, uCommander, uComms, uMember, uStranger, uOwner, uProdOwner, uReleaser}
	type want int
	const (
		deny want = iota
		allow
		confirm
	)
	// expect gives the rule for an actor, action and state.
	expect := func(actor string, act incident.Action, state string) want {
		inc := incidentIn(state, incident.P3)
		if state == "private" && subject(actor, inc).Member == false {
			return deny
		}
		isIC := inc.Commander == actor && actor != ""
		isCmdr := actor == uCommander
		switch act {
		case incident.ActView, incident.ActPostUpdate, incident.ActPage:
			return allow
		case incident.ActTakeIC:
			switch {
			case inc.Commander == "", isIC, isCmdr:
				return allow
			default:
				// The IC's activity is not given: they count as
				// active, and nobody takes the role from them.
				return deny
			}
		case incident.ActAssignRole, incident.ActChangeSeverity, incident.ActSetStatus, incident.ActSnooze:
			if isIC || isCmdr {
				return allow
			}
			return deny
		case incident.ActPublish:
			if isIC || isCmdr || actor == uComms || actor == uReleaser {
				return allow
			}
			return deny
		}
		panic(act)
	}
	actions := []incident.Action{incident.ActView, incident.ActTakeIC, incident.ActAssignRole, incident.ActChangeSeverity,
		incident.ActSetStatus, incident.ActPostUpdate, incident.ActSnooze, incident.ActPage, incident.ActPublish}
	count := 0
	for _, state := range []string{"no-ic", "has-ic", "private"} {
		for _, actor := range actors {
			for _, act := range actions {
				inc := incidentIn(state, incident.P3)
				name := fmt.Sprintf("%s/%s/%s", state, actor, act)
				d := p.Decide(incident.Request{Subject: subject(actor, inc), Action: act, Incident: inc})
				count++
				switch expect(actor, act, state) {
				case allow:
					require.True(t, d.Allowed, name+": "+d.Reason)
					require.NoError(t, d.Err(), name)
				case confirm:
					require.False(t, d.Allowed, name)
					require.True(t, d.Confirm, name)
					r := refusal(t, d.Err())
					require.True(t, r.Confirm, name)
					require.Contains(t, r.Message(), "confirmation in the incident's channel", name)
				case deny:
					require.False(t, d.Allowed, name)
					require.False(t, d.Confirm, name)
					r := refusal(t, d.Err())
					require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(d.Err()), name)
					require.NotEmpty(t, r.Reason, name+": every refusal says why")
					require.NotEmpty(t, r.WhoCan, name+": every refusal says who can")
					require.Contains(t, slackMessage(d.Err()), "Who can:", name)
				}
			}
		}
	}
	require.Equal(t, 3*8*9, count)
}

func refusal(t *testing.T, err error) *incident.Refusal {
	t.Helper()
	var r *incident.Refusal
	require.True(t, errors.As(err, &r), "want a *Refusal, got %v", err)
	return r
}

func TestPermissionTakeICRules(t *testing.T) {
	t.Parallel()
	p := permPolicy()
	inc := incidentIn("has-ic", incident.P2)
	quietNow := time.Date(2026, 8, 7, 15, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		actor     string
		target    string
		confirmed bool
		allowed   bool
		confirm   bool
	}{
		{"the IC hands over to anyone", uIC, uMember, false, true, false},
		{"the commander group takes over", uCommander, uCommander, false, true, false},
		{"the commander group hands to a third person", uCommander, uMember, false, true, false},
		{"a member taking over from a quiet IC must confirm", uMember, uMember, false, false, true},
		{"a member who confirmed takes over from a quiet IC", uMember, uMember, true, true, false},
		{"a member may not hand the role to a third person", uMember, uStranger, false, false, false},
		{"nor after confirming", uMember, uStranger, true, false, false},
	}
	for _, c := range cases {
		// The IC has been quiet in the incident for 20 minutes.
		d := p.Decide(incident.Request{Subject: subject(c.actor, inc), Action: incident.ActTakeIC, Incident: inc, Target: c.target, Confirmed: c.confirmed,
			At: quietNow, ICActiveAt: quietNow.Add(-20 * time.Minute)})
		require.Equal(t, c.allowed, d.Allowed, c.name)
		require.Equal(t, c.confirm, d.Confirm, c.name)
		if !d.Allowed {
			msg := slackMessage(d.Err())
			require.Contains(t, msg, "<@"+uIC+">", c.name+": the refusal names the current IC")
			require.Contains(t, msg, gCommanders, c.name+": and the commander group")
		}
	}

	empty := incidentIn("no-ic", incident.P2)
	d := p.Decide(incident.Request{Subject: subject(uMember, empty), Action: incident.ActTakeIC, Incident: empty})
	require.True(t, d.Allowed, "anyone may take an empty IC role")
	d = p.Decide(incident.Request{Subject: subject(uMember, empty), Action: incident.ActTakeIC, Incident: empty, Target: uStranger})
	require.False(t, d.Allowed, "naming someone else IC of an incident without one is for the commander group")
}

func TestPermissionRollback(t *testing.T) {
	t.Parallel()
	p := permPolicy()
	prodCheckout := &incident.ChangeEvent{Service: "checkout", Environment: "production", Kind: incident.ChangeDeploy}
	stagingCheckout := &incident.ChangeEvent{Service: "checkout", Environment: "staging", Kind: incident.ChangeDeploy}
	prodSearch := &incident.ChangeEvent{Service: "search", Environment: "production", Kind: incident.ChangeDeploy}
	cases := []struct {
		name      string
		actor     string
		change    *incident.ChangeEvent
		incSev    incident.Severity
		involved  incident.Severity
		allowed   bool
		twoPerson bool
	}{
		{"the IC of the incident is not an owner", uIC, prodCheckout, incident.P4, incident.P4, false, false},
		{"a stranger", uStranger, prodCheckout, incident.P4, incident.P4, false, false},
		{"the commander group is no rollback right", uCommander, prodCheckout, incident.P4, incident.P4, false, false},
		{"the service's owners, P4 in production", uOwner, prodCheckout, incident.P4, incident.P4, true, false},
		{"the service's owners, P2 in production needs two", uOwner, prodCheckout, incident.P2, incident.P2, true, true},
		{"the production owners, P3", uProdOwner, prodCheckout, incident.P3, incident.P3, true, false},
		{"the production owners roll back search too", uProdOwner, prodSearch, incident.P3, incident.P3, true, false},
		{"checkout's owners may not roll back search", uOwner, prodSearch, incident.P4, incident.P4, false, false},
		{"the production owners are not staging's", uProdOwner, stagingCheckout, incident.P4, incident.P4, false, false},
		{"the rollback group anywhere", uReleaser, stagingCheckout, incident.P4, incident.P4, true, false},
		{"staging P2 needs one person", uOwner, stagingCheckout, incident.P2, incident.P2, true, false},
		{"staging P1 needs two (any environment)", uOwner, stagingCheckout, incident.P1, incident.P1, true, true},
		{"a P4 incident does not escape an open P1 of the service", uOwner, prodCheckout, incident.P4, incident.P1, true, true},
	}
	for _, c := range cases {
		inc := incidentIn("has-ic", c.incSev)
		d := p.Decide(incident.Request{Subject: subject(c.actor, inc), Action: incident.ActRollback, Incident: inc, Change: c.change, Severity: c.involved})
		require.Equal(t, c.allowed, d.Allowed, c.name+": "+d.Reason)
		require.Equal(t, c.twoPerson, d.SecondPerson, c.name)
		if !d.Allowed {
			msg := slackMessage(d.Err())
			require.Contains(t, msg, "roll back", c.name)
			require.Contains(t, msg, gRelease, c.name+": the refusal names the rollback group")
			require.NotContains(t, msg, "Incident Commander", c.name+": the IC is no rollback right")
		}
	}

	// Nobody named anywhere: the refusal says what to configure.
	bare := incident.DefaultPolicy()
	inc := incidentIn("has-ic", incident.P4)
	d := bare.Decide(incident.Request{Subject: subject(uIC, inc), Action: incident.ActRollback, Incident: inc, Change: prodCheckout, Severity: incident.P4})
	require.False(t, d.Allowed)
	require.Contains(t, slackMessage(d.Err()), "names no owners")
}

func TestPermissionDeclare(t *testing.T) {
	t.Parallel()
	p := permPolicy()
	d := p.Decide(incident.Request{Subject: subject(uStranger, nil), Action: incident.ActDeclare})
	require.True(t, d.Allowed, "anyone declares by default")

	p.Declarers = []string{gDeclarers}
	d = p.Decide(incident.Request{Subject: subject(uStranger, nil), Action: incident.ActDeclare})
	require.False(t, d.Allowed)
	require.Contains(t, slackMessage(d.Err()), "members of <!subteam^"+gDeclarers+">")
	d = p.Decide(incident.Request{Subject: incident.Subject{User: uStranger, In: map[string]bool{gDeclarers: true}}, Action: incident.ActDeclare})
	require.True(t, d.Allowed)
	require.Equal(t, []string{gDeclarers}, p.RefsFor(incident.Request{Action: incident.ActDeclare}))
}

// TestPermissionNameICAtDeclare: naming someone else as the IC of an
// incident being declared follows the rule for naming an IC while nobody
// holds the role.
func TestPermissionNameICAtDeclare(t *testing.T) {
	t.Parallel()
	p := permPolicy()
	tests := []struct {
		name    string
		by      string
		target  string
		allowed bool
	}{
		{"yourself", uStranger, uStranger, true},
		{"nobody named", uStranger, "", true},
		{"someone else, by anyone", uStranger, uMember, false},
		{"someone else, by an IC elsewhere", uIC, uMember, false},
		{"someone else, by the commander group", uCommander, uMember, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(incident.Request{Subject: subject(tt.by, nil), Action: incident.ActNameIC, Target: tt.target})
			require.Equal(t, tt.allowed, d.Allowed, d.Reason)
			if !tt.allowed {
				msg := slackMessage(d.Err())
				require.Contains(t, msg, "You may not name someone else as the Incident Commander: while nobody holds the role, only the commander group may")
				require.Contains(t, msg, "Who can: members of <!subteam^"+gCommanders+">.")
			}
		})
	}
	require.Equal(t, []string{gCommanders}, p.RefsFor(incident.Request{Action: incident.ActNameIC, Target: uMember}))

	p.CommanderGroup = ""
	d := p.Decide(incident.Request{Subject: subject(uStranger, nil), Action: incident.ActNameIC, Target: uMember})
	require.False(t, d.Allowed)
	require.Contains(t, slackMessage(d.Err()), "the policy names no commander group")
}

func TestPermissionPrivateIncident(t *testing.T) {
	t.Parallel()
	p := permPolicy()
	inc := incidentIn("private", incident.P1)
	for _, act := range []incident.Action{incident.ActView, incident.ActTakeIC, incident.ActPostUpdate, incident.ActPage, incident.ActSetStatus} {
		d := p.Decide(incident.Request{Subject: subject(uStranger, inc), Action: act, Incident: inc})
		require.False(t, d.Allowed, act)
		msg := slackMessage(d.Err())
		require.Contains(t, msg, "is private", act)
		require.NotContains(t, msg, inc.Title, "a refusal does not leak the title")
	}
	d := p.Decide(incident.Request{Subject: subject(uMember, inc), Action: incident.ActView, Incident: inc})
	require.True(t, d.Allowed)
	require.Equal(t, "Private incident INC-7", incident.DisclosedTitle(inc, incident.DiscloseRedacted))
	require.Equal(t, inc.Title, incident.DisclosedTitle(inc, incident.DiscloseFull))
	require.True(t, strings.HasPrefix(incident.DisclosedTitle(inc, ""), "Private"), "redacted is the default")
}

// slackMessage is what the Slack transport shows for err.
func slackMessage(err error) string {
	var r *incident.Refusal
	if errors.As(err, &r) {
		return bot.RefusalText(r)
	}
	return incident.ErrorMessage(err)
}

// TestPermissionGuests: a guest of the workspace does not get what the
// policy gives "anyone": they see only the incidents they are members of,
// declare only when named as declarers, page only while holding one of the
// incident's roles and take the IC role only when it is handed to them.
// What the policy or the IC names them for, they do.
func TestPermissionGuests(t *testing.T) {
	t.Parallel()
	p := permPolicy()
	const uGuest = "UGUEST"
	guest := func(member bool, in ...string) incident.Subject {
		s := incident.Subject{User: uGuest, Guest: true, Member: member, In: map[string]bool{}}
		for _, r := range in {
			s.In[r] = true
		}
		return s
	}
	decide := func(sub incident.Subject, act incident.Action, inc *incident.Incident, target string) incident.Decision {
		return p.Decide(incident.Request{Subject: sub, Action: act, Incident: inc, Target: target})
	}

	d := decide(guest(false), incident.ActDeclare, nil, "")
	require.False(t, d.Allowed)
	msg := slackMessage(d.Err())
	require.Contains(t, msg, "guests of the workspace may declare only where the policy names them")
	require.Contains(t, msg, "Who can: the workspace's members (not its guests).")
	withDeclarers := p
	withDeclarers.Declarers = []string{gDeclarers}
	require.True(t, withDeclarers.Decide(incident.Request{Subject: guest(false, gDeclarers), Action: incident.ActDeclare}).Allowed,
		"a guest the policy names as a declarer declares")
	require.False(t, withDeclarers.Decide(incident.Request{Subject: guest(false), Action: incident.ActDeclare}).Allowed)

	public := incidentIn("has-ic", incident.P2)
	for _, act := range []incident.Action{incident.ActView, incident.ActPostUpdate, incident.ActPage, incident.ActTakeIC} {
		d := decide(guest(false), act, public, "")
		require.False(t, d.Allowed, act)
		require.Contains(t, slackMessage(d.Err()), "guests of the workspace see only the incidents whose channels they are in", act)
	}

	// In the channel: they read and say what they know, but neither page
	// nor take the lead.
	require.True(t, decide(guest(true), incident.ActView, public, "").Allowed)
	require.True(t, decide(guest(true), incident.ActPostUpdate, public, "").Allowed)
	d = decide(guest(true), incident.ActPage, public, "")
	require.False(t, d.Allowed)
	require.Contains(t, slackMessage(d.Err()), "may page on-call only while they hold one of the incident's roles")
	noIC := incidentIn("no-ic", incident.P2)
	for _, inc := range []*incident.Incident{noIC, public} {
		d = decide(guest(true), incident.ActTakeIC, inc, "")
		require.False(t, d.Allowed)
		require.False(t, d.Confirm, "a guest cannot take over by confirming")
		require.Contains(t, slackMessage(d.Err()), "take the Incident Commander role only when it is handed to them")
	}

	// The IC hands them the role, or gives them another: it is theirs.
	require.True(t, p.Decide(incident.Request{Subject: subject(uIC, public), Action: incident.ActTakeIC, Incident: public, Target: uGuest}).Allowed)
	theirs := incidentIn("has-ic", incident.P2)
	theirs.Roles = map[string]string{incident.RoleComms: uGuest}
	require.True(t, decide(guest(true), incident.ActPage, theirs, "").Allowed, "a guest holding a role pages")
	theirs.Commander = uGuest
	require.True(t, decide(guest(true), incident.ActSetStatus, theirs, "").Allowed, "a guest who is the IC leads")
	// The commander group names them: they lead.
	require.True(t, decide(guest(true, gCommanders), incident.ActTakeIC, public, "").Allowed)
	require.True(t, decide(guest(true, gCommanders), incident.ActPage, public, "").Allowed)

	// Members of the workspace are unaffected.
	require.True(t, decide(subject(uMember, public), incident.ActPage, public, "").Allowed)
}

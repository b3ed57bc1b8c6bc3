package bot

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// mentionRE matches a Slack user mention as Slack escapes it: <@U123> or <@U123|jane>.
var mentionRE = regexp.MustCompile(`^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$`)

// severityLikeRE matches what a person types as a severity, valid or not:
// P or SEV and a number. A bare number is not one: "declare 4 regions down"
// and "declare 500 errors on checkout" are titles, so the form asks for the
// severity rather than the bot reading P4 into the first and refusing the
// second.
var severityLikeRE = regexp.MustCompile(`(?i)^(p|sev)\d+$`)

// parseUser reads a mention as Slack sends it in a command's text
// (<@U123|jane>, or <@U123>): the app's command escapes what people type
// (should_escape), so a person named with @ arrives so. Anything else is
// refused here; a bare user id is for kit.person to confirm.
func parseUser(tok string) (string, error) {
	if m := mentionRE.FindStringSubmatch(tok); m != nil {
		return m[1], nil
	}
	return "", incident.Errorf(incident.EINVALID, "%q is not a Slack user: mention them with @ so Slack links the name.", tok)
}

// personLookup bounds the users.info call that confirms a bare user id
// named in a command, on the way to Slack's 3 seconds.
const personLookup = time.Second

// person reads who a command names: a mention (parseUser), or a bare user
// id that Slack's directory confirms is a person, one it knows who is
// neither deactivated nor an app. A typed name ("WENDY") is no id, however
// it is spelt: the person is asked to name someone with @, as example
// shows. When Slack cannot say, a bare id is refused; a mention is Slack's
// own word and needs no lookup.
func (k *kit) person(ctx context.Context, tok, example string) (string, error) {
	if id, err := parseUser(tok); err == nil {
		return id, nil
	}
	withAt := func(format string, args ...any) error {
		return incident.Errorf(incident.EINVALID, format+" Name the person with @, such as `%s`.", append(args, example)...)
	}
	if !isSlackID(tok, "UW") || k.people == nil {
		return "", withAt("%q is not a Slack user.", tok)
	}
	ctx, cancel := context.WithTimeout(ctx, personLookup)
	defer cancel()
	state, err := k.people.personState(ctx, tok)
	if err != nil {
		k.log.WarnContext(ctx, "could not confirm a user id named in a command", "user", tok, "err", err)
		// Not wrapped: the reply is Slack's failure, never the database's.
		return "", incident.Errorf(incident.EUNAVAILABLE, "Slack could not confirm who %s is just now, so nobody was named. Name the person with @, such as `%s`, or try again in a minute.", tok, example)
	}
	switch state {
	case personUnknown:
		return "", withAt("Slack knows no one with the id %s.", tok)
	case personDeactivated:
		return "", withAt("%s is deactivated in Slack.", tok)
	case personApp:
		return "", withAt("%s is an app, not a person.", tok)
	}
	return tok, nil
}

// lifecycleHandlers answer the core of an incident: declaring it (by
// command, form or message shortcut), its roles, severity and status, and
// resolving it.
type lifecycleHandlers struct {
	kit *kit
}

func (l *lifecycleHandlers) table() table {
	with := func(run ActionHandler) action { return action{run: run, find: l.kit.byID} }
	return table{
		commands: []command{
			{name: "declare", usage: "declare [P1] [--private] [--service=<key>] [--drill] <title>", summary: "Declare an incident, such as `" + l.kit.command + " declare P1 checkout is down`; without a severity and title, a form asks for them. Options go before the title: --private, --service=<key>, --drill (a practice incident: marked DRILL, pages simulated or to the test service, rollbacks dry-run, left out of metrics).", run: l.declare},
			{name: "list", usage: "list", summary: "List open incidents, most severe first.", run: l.list},
			{name: "status", usage: "status [investigating|mitigated]", summary: "Show the incident's status, or set it (in an incident channel).", run: l.status},
			{name: "ic", usage: "ic [@user]", summary: "Make yourself or someone the Incident Commander.", run: l.assignIC},
			{name: "role", usage: "role comms @user", summary: "Give someone a role (" + strings.Join(l.kit.policy().Roles, ", ") + ").", run: l.assignRole},
			{name: "severity", usage: "severity P2", summary: "Change the severity.", run: l.severity},
			{name: "resolve", usage: "resolve [summary]", summary: "Resolve the incident, with an optional summary.", run: l.transition(incident.StatusResolved, true)},
			{name: "reopen", usage: "reopen", summary: "Reopen a resolved incident.", run: l.transition(incident.StatusInvestigating, false)},
			{name: "close", usage: "close", summary: "Close a resolved incident.", run: l.transition(incident.StatusClosed, false)},
		},
		actions: map[string]action{
			ActionClaimIC:        with(l.actionClaimIC),
			ActionConfirmTakeIC:  with(l.actionConfirmTakeIC),
			ActionAssignRoles:    with(l.actionRoles),
			ActionChangeSeverity: with(l.actionSeverity),
			ActionResolve:        with(l.actionResolve),
		},
		views: map[string]view{
			ViewDeclare:  {run: l.submitDeclare, sealed: true},
			ViewRoles:    {run: l.submitRoles, sealed: true},
			ViewSeverity: {run: l.submitSeverity, sealed: true},
			ViewResolve:  {run: l.submitResolve, sealed: true},
		},
		shortcuts: map[string]ShortcutHandler{ShortcutDeclareFromMessage: l.shortcutDeclareFromMessage},
	}
}

// declareArgs is what "/incident declare ..." says.
type declareArgs struct {
	severity incident.Severity
	title    string
	service  string
	private  bool
	drill    bool
	// description pre-fills the modal (from a message shortcut).
	description string
}

// declareOptions are the options declare takes before the title.
const declareOptions = "--private, --drill, --service=<key>"

// parseDeclare reads "[P1] [--private] [--drill] [--service=key] title":
// a severity and options come first, in any order, and everything from the
// first other word on is the title, "--" included, so "--private" inside a
// title is just text. A lone "--" ends the options. Missing pieces are left
// zero (the modal asks for them); wrong ones are errors.
func parseDeclare(args string) (declareArgs, error) {
	var d declareArgs
	words := strings.Fields(args)
	i := 0
options:
	for ; i < len(words); i++ {
		tok := words[i]
		switch {
		case tok == "--":
			i++
			break options
		case tok == "--private":
			d.private = true
		case tok == "--drill":
			d.drill = true
		case strings.HasPrefix(tok, "--service="):
			d.service = strings.TrimPrefix(tok, "--service=")
			if d.service == "" {
				return d, incident.Errorf(incident.EINVALID, "Say which service after --service=, such as --service=checkout.")
			}
		case tok == "--service":
			return d, incident.Errorf(incident.EINVALID, "Write the service with an equals sign, such as --service=checkout.")
		case strings.HasPrefix(tok, "--"):
			return d, incident.Errorf(incident.EINVALID, "Unknown option %s. Options, before the title: %s.", tok, declareOptions)
		case !d.severity.Valid() && severityLikeRE.MatchString(tok):
			sev, err := incident.ParseSeverity(tok)
			if err != nil {
				return d, err
			}
			d.severity = sev
		default:
			break options
		}
	}
	d.title = strings.Join(words[i:], " ")
	return d, nil
}

func (l *lifecycleHandlers) declare(ctx context.Context, inv Invocation) (Reply, error) {
	d, err := parseDeclare(inv.Args)
	if err != nil {
		return Reply{}, err
	}
	if n := utf8.RuneCountInString(d.title); n > incident.MaxTitleLength {
		// Said now, as with a severity, rather than in a form whose title
		// box holds more than it lets the person submit.
		return Reply{}, incident.Errorf(incident.EINVALID, "The title is %d characters long; keep it within %d.", n, incident.MaxTitleLength)
	}
	if d.title == "" || !d.severity.Valid() {
		// Missing pieces: ask in a modal. trigger_id lives three seconds,
		// so this one Slack call stays on the acknowledgement path.
		if err := l.openDeclareModal(ctx, inv.Cmd.TriggerID, inv.Cmd.UserID, inv.Cmd.ChannelID, d); err != nil {
			return Reply{}, err
		}
		return Reply{}, nil
	}
	in := incident.DeclareInput{
		Title: d.title, Severity: d.severity, ServiceKey: d.service, Private: d.private,
		DeclaredBy: inv.Cmd.UserID, Commander: inv.Cmd.UserID, Drill: d.drill,
		Key:     "cmd:" + inv.Cmd.TriggerID,
		ReplyTo: incident.ReplyTarget{ResponseURL: inv.Cmd.ResponseURL, ChannelID: inv.Cmd.ChannelID, UserID: inv.Cmd.UserID},
	}
	if inv.Cmd.TriggerID == "" {
		in.Key = ""
	}
	if err := in.Validate(l.kit.policy()); err != nil {
		return Reply{}, err
	}
	inc, existed, err := l.kit.incidents.Declare(ctx, in)
	if err != nil {
		return Reply{}, err
	}
	if existed {
		return ephemeral("%s was already declared from this command.", inc.Key()), nil
	}
	sp := l.kit.policy().Severity(inc.Severity)
	if inc.Private {
		// Nobody else in the channel where it was typed learns of it.
		return ephemeral("You declared the private incident *%s* (%s · %s): %s\nDeclaring %s… opening its private channel; only the people invited see it.",
			inc.Key(), inc.Severity, Escape(sp.Label), Escape(inc.Title), inc.Key()), nil
	}
	text := fmt.Sprintf(":rotating_light: <@%s> declared *%s* (%s · %s): %s\nDeclaring %s… opening the incident channel.",
		inv.Cmd.UserID, inc.Key(), inc.Severity, Escape(sp.Label), Escape(inc.Title), inc.Key())
	if inc.Drill {
		text = DrillMarker + " (practice; pages go to the test service or are simulated) " + text
	}
	return Reply{ResponseType: slack.ResponseTypeInChannel, Text: text}, nil
}

func (l *lifecycleHandlers) assignIC(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := l.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	user := inv.Cmd.UserID
	if inv.Args != "" {
		if user, err = l.kit.person(ctx, inv.Args, l.kit.command+" ic @jane"); err != nil {
			return Reply{}, err
		}
	}
	updated, err := l.kit.incidents.AssignRole(ctx, inc.ID, incident.RoleCommander, user, inv.Cmd.UserID)
	if text, blocks, ok := takeoverPrompt(inc, err); ok {
		return Reply{ResponseType: slack.ResponseTypeEphemeral, Text: text, Blocks: blocks}, nil
	}
	if err != nil {
		return Reply{}, err
	}
	inc = updated
	return ephemeral("<@%s> is now the Incident Commander of %s.", inc.Commander, inc.Key()), nil
}

func (l *lifecycleHandlers) assignRole(ctx context.Context, inv Invocation) (Reply, error) {
	fields := strings.Fields(inv.Args)
	if len(fields) != 2 {
		return Reply{}, incident.Errorf(incident.EINVALID, "Say which role and who, such as `comms @jane`.")
	}
	inc, err := l.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	user, err := l.kit.person(ctx, fields[1], l.kit.command+" role "+strings.ToLower(fields[0])+" @jane")
	if err != nil {
		return Reply{}, err
	}
	if _, err := l.kit.incidents.AssignRole(ctx, inc.ID, fields[0], user, inv.Cmd.UserID); err != nil {
		return Reply{}, err
	}
	return ephemeral("<@%s> now holds the %s role in %s.", user, strings.ToLower(fields[0]), inc.Key()), nil
}

func (l *lifecycleHandlers) status(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := l.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	if inv.Args != "" {
		to := incident.Status(strings.ToLower(inv.Args))
		if to != incident.StatusInvestigating && to != incident.StatusMitigated {
			return Reply{}, incident.Errorf(incident.EINVALID, "Set the status to investigating or mitigated; use resolve, close or reopen for the rest.")
		}
		if inc, err = l.kit.incidents.SetStatus(ctx, inc.ID, to, inv.Cmd.UserID, ""); err != nil {
			return Reply{}, err
		}
	}
	return ephemeral("%s", l.statusText(inc)), nil
}

func (l *lifecycleHandlers) statusText(inc *incident.Incident) string {
	policy := l.kit.policy()
	sp := policy.Severity(inc.Severity)
	ic := "_unassigned_"
	if inc.Commander != "" {
		ic = "<@" + inc.Commander + ">"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%s* %s\n• Severity: %s · %s (respond within %s)\n• Status: %s\n• Incident Commander: %s\n",
		inc.Key(), Escape(inc.Title), inc.Severity, Escape(sp.Label), Escape(sp.TargetText), inc.Status.Label(), ic)
	for _, role := range policy.Roles {
		holder := "_unassigned_"
		if u := inc.Roles[role]; u != "" {
			holder = "<@" + u + ">"
		}
		fmt.Fprintf(&b, "• %s: %s\n", role, holder)
	}
	fmt.Fprintf(&b, "• Declared %s ago by <@%s>", incident.Since(inc.DeclaredAt, l.kit.clock.Now()), inc.DeclaredBy)
	return b.String()
}

func (l *lifecycleHandlers) severity(ctx context.Context, inv Invocation) (Reply, error) {
	sev, err := incident.ParseSeverity(inv.Args)
	if err != nil {
		return Reply{}, err
	}
	inc, err := l.kit.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	if inc, err = l.kit.incidents.SetSeverity(ctx, inc.ID, sev, inv.Cmd.UserID); err != nil {
		return Reply{}, err
	}
	return ephemeral("%s is now %s.", inc.Key(), inc.Severity), nil
}

// transition returns a subcommand that moves the incident to a status.
func (l *lifecycleHandlers) transition(to incident.Status, takesSummary bool) func(ctx context.Context, inv Invocation) (Reply, error) {
	return func(ctx context.Context, inv Invocation) (Reply, error) {
		if inv.Args != "" && !takesSummary {
			return Reply{}, incident.Errorf(incident.EINVALID, "This command takes no arguments.")
		}
		inc, err := l.kit.incidentHere(ctx, inv)
		if err != nil {
			return Reply{}, err
		}
		if inc, err = l.kit.incidents.SetStatus(ctx, inc.ID, to, inv.Cmd.UserID, inv.Args); err != nil {
			return Reply{}, err
		}
		return ephemeral("%s is now %s.", inc.Key(), strings.ToLower(inc.Status.Label())), nil
	}
}

func (l *lifecycleHandlers) list(ctx context.Context, inv Invocation) (Reply, error) {
	// Private incidents are listed to their members only.
	incs, err := l.kit.incidents.ListFor(ctx, inv.Cmd.UserID)
	if err != nil {
		return Reply{}, err
	}
	if len(incs) == 0 {
		return ephemeral("No open incidents. :sunny:"), nil
	}
	more := len(incs) > incident.ListLimit
	if more {
		incs = incs[:incident.ListLimit]
	}
	now := l.kit.clock.Now()
	lines := make([]string, 0, len(incs))
	size := 0
	for _, inc := range incs {
		where := ""
		if inc.ChannelID != "" {
			where = " <#" + inc.ChannelID + ">"
		}
		ic := "no IC"
		if inc.Commander != "" {
			ic = "IC <@" + inc.Commander + ">"
		}
		line := fmt.Sprintf("• *%s* %s %s — %s, %s, %s ago%s", inc.Key(), inc.Severity, Escape(inc.Title),
			strings.ToLower(inc.Status.Label()), ic, incident.Since(inc.DeclaredAt, now), where)
		if size+len(line) > maxListText {
			// Titles full of escaped characters: the rest would not fit
			// one message.
			more = true
			break
		}
		lines, size = append(lines, line), size+len(line)+1
	}
	header := fmt.Sprintf("*Open incidents* (%d)", len(lines))
	if more {
		header = fmt.Sprintf("*Open incidents*: the %d most severe are shown; more are open.", len(lines))
	}
	return ephemeral("%s\n%s", header, strings.Join(lines, "\n")), nil
}

// maxListText bounds the lines of a list, so that with its header it stays
// within Slack's 40,000 characters of a message's text.
const maxListText = 39000

// viewsTimeout bounds a views.open on the acknowledgement path: the
// trigger_id expires three seconds after Slack sent it.
const viewsTimeout = 2500 * time.Millisecond

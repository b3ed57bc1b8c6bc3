package bot

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// mentionRE matches a Slack user mention as Slack escapes it: <@U123> or <@U123|jane>.
var mentionRE = regexp.MustCompile(`^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$`)

// severityLikeRE matches what a person types as a severity, valid or not.
var severityLikeRE = regexp.MustCompile(`(?i)^(p|sev)?\d+$`)

// parseUser reads a mention, or a bare user id.
func parseUser(tok string) (string, error) {
	if m := mentionRE.FindStringSubmatch(tok); m != nil {
		return m[1], nil
	}
	if regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`).MatchString(tok) {
		return tok, nil
	}
	return "", incident.Errorf(incident.EINVALID, "%q is not a Slack user: mention them with @ so Slack links the name.", tok)
}

// incidentHere returns the incident of the channel the command was run in,
// if the person may see it.
func (h *Handler) incidentHere(ctx context.Context, inv Invocation) (*incident.Incident, error) {
	inc, err := h.cfg.Incidents.ByChannel(ctx, inv.Cmd.ChannelID)
	if err != nil {
		return nil, err
	}
	if err := h.canSee(ctx, inv.Cmd.UserID, inc); err != nil {
		return nil, err
	}
	return inc, nil
}

// canSee refuses a private incident to someone who is not one of its
// members, without naming it.
func (h *Handler) canSee(ctx context.Context, user string, inc *incident.Incident) error {
	d, err := h.cfg.Incidents.Authorize(ctx, incident.Request{Subject: incident.Subject{User: user}, Action: incident.ActView, Incident: inc})
	if err != nil {
		return err
	}
	return d.Err()
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

func (h *Handler) declare(ctx context.Context, inv Invocation) (Reply, error) {
	d, err := parseDeclare(inv.Args)
	if err != nil {
		return Reply{}, err
	}
	if d.title == "" || !d.severity.Valid() {
		// Missing pieces: ask in a modal. trigger_id lives three seconds,
		// so this one Slack call stays on the acknowledgement path.
		if err := h.openDeclareModal(ctx, inv.Cmd.TriggerID, inv.Cmd.UserID, inv.Cmd.ChannelID, d); err != nil {
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
	if err := in.Validate(h.cfg.Incidents.Policy()); err != nil {
		return Reply{}, err
	}
	inc, existed, err := h.cfg.Incidents.Declare(ctx, in)
	if err != nil {
		return Reply{}, err
	}
	if existed {
		return ephemeral("%s was already declared from this command.", inc.Key()), nil
	}
	sp := h.cfg.Incidents.Policy().Severity(inc.Severity)
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

func (h *Handler) assignIC(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := h.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	user := inv.Cmd.UserID
	if inv.Args != "" {
		if user, err = parseUser(inv.Args); err != nil {
			return Reply{}, err
		}
	}
	updated, err := h.cfg.Incidents.AssignRole(ctx, inc.ID, incident.RoleCommander, user, inv.Cmd.UserID)
	if text, blocks, ok := takeoverPrompt(inc, err); ok {
		return Reply{ResponseType: slack.ResponseTypeEphemeral, Text: text, Blocks: blocks}, nil
	}
	if err != nil {
		return Reply{}, err
	}
	inc = updated
	return ephemeral("<@%s> is now the Incident Commander of %s.", inc.Commander, inc.Key()), nil
}

func (h *Handler) assignRole(ctx context.Context, inv Invocation) (Reply, error) {
	fields := strings.Fields(inv.Args)
	if len(fields) != 2 {
		return Reply{}, incident.Errorf(incident.EINVALID, "Say which role and who, such as `comms @jane`.")
	}
	user, err := parseUser(fields[1])
	if err != nil {
		return Reply{}, err
	}
	inc, err := h.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	if _, err := h.cfg.Incidents.AssignRole(ctx, inc.ID, fields[0], user, inv.Cmd.UserID); err != nil {
		return Reply{}, err
	}
	return ephemeral("<@%s> now holds the %s role in %s.", user, strings.ToLower(fields[0]), inc.Key()), nil
}

func (h *Handler) status(ctx context.Context, inv Invocation) (Reply, error) {
	inc, err := h.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	if inv.Args != "" {
		to := incident.Status(strings.ToLower(inv.Args))
		if to != incident.StatusInvestigating && to != incident.StatusMitigated {
			return Reply{}, incident.Errorf(incident.EINVALID, "Set the status to investigating or mitigated; use resolve, close or reopen for the rest.")
		}
		if inc, err = h.cfg.Incidents.SetStatus(ctx, inc.ID, to, inv.Cmd.UserID, ""); err != nil {
			return Reply{}, err
		}
	}
	return ephemeral("%s", h.statusText(inc)), nil
}

func (h *Handler) statusText(inc *incident.Incident) string {
	policy := h.cfg.Incidents.Policy()
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
	fmt.Fprintf(&b, "• Declared %s ago by <@%s>", incident.Since(inc.DeclaredAt, h.cfg.Clock.Now()), inc.DeclaredBy)
	return b.String()
}

func (h *Handler) severity(ctx context.Context, inv Invocation) (Reply, error) {
	sev, err := incident.ParseSeverity(inv.Args)
	if err != nil {
		return Reply{}, err
	}
	inc, err := h.incidentHere(ctx, inv)
	if err != nil {
		return Reply{}, err
	}
	if inc, err = h.cfg.Incidents.SetSeverity(ctx, inc.ID, sev, inv.Cmd.UserID); err != nil {
		return Reply{}, err
	}
	return ephemeral("%s is now %s.", inc.Key(), inc.Severity), nil
}

// transition returns a subcommand that moves the incident to a status.
func (h *Handler) transition(to incident.Status, takesSummary bool) func(ctx context.Context, inv Invocation) (Reply, error) {
	return func(ctx context.Context, inv Invocation) (Reply, error) {
		if inv.Args != "" && !takesSummary {
			return Reply{}, incident.Errorf(incident.EINVALID, "This command takes no arguments.")
		}
		inc, err := h.incidentHere(ctx, inv)
		if err != nil {
			return Reply{}, err
		}
		if inc, err = h.cfg.Incidents.SetStatus(ctx, inc.ID, to, inv.Cmd.UserID, inv.Args); err != nil {
			return Reply{}, err
		}
		return ephemeral("%s is now %s.", inc.Key(), strings.ToLower(inc.Status.Label())), nil
	}
}

func (h *Handler) list(ctx context.Context, inv Invocation) (Reply, error) {
	// Private incidents are listed to their members only.
	incs, err := h.cfg.Incidents.ListFor(ctx, inv.Cmd.UserID)
	if err != nil {
		return Reply{}, err
	}
	if len(incs) == 0 {
		return ephemeral("No open incidents. :sunny:"), nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*Open incidents* (%d)\n", len(incs))
	now := h.cfg.Clock.Now()
	for _, inc := range incs {
		where := ""
		if inc.ChannelID != "" {
			where = " <#" + inc.ChannelID + ">"
		}
		ic := "no IC"
		if inc.Commander != "" {
			ic = "IC <@" + inc.Commander + ">"
		}
		fmt.Fprintf(&b, "• *%s* %s %s — %s, %s, %s ago%s\n", inc.Key(), inc.Severity, Escape(inc.Title),
			strings.ToLower(inc.Status.Label()), ic, incident.Since(inc.DeclaredAt, now), where)
	}
	return ephemeral("%s", strings.TrimRight(b.String(), "\n")), nil
}

// incidentFromValue reads the incident id a button carries.
func (h *Handler) incidentFromValue(ctx context.Context, v string) (*incident.Incident, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, incident.Errorf(incident.EINVALID, "The button does not name an incident.")
	}
	return h.cfg.Incidents.Get(ctx, id)
}

// viewsTimeout bounds a views.open on the acknowledgement path: the
// trigger_id expires three seconds after Slack sent it.
const viewsTimeout = 2500 * time.Millisecond

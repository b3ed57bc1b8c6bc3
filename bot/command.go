package bot

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// maxCommandText bounds the text after the command; Slack itself caps it
// well below this, so anything longer is not from Slack.
const maxCommandText = 4000

// Reply is the immediate answer to a slash command: the HTTP response body in
// HTTP mode and the acknowledgement payload in Socket Mode.
type Reply struct {
	ResponseType string        `json:"response_type,omitempty"`
	Text         string        `json:"text"`
	Blocks       []slack.Block `json:"blocks,omitempty"`
}

// ephemeral returns a reply only the invoking user sees.
func ephemeral(format string, args ...any) Reply {
	return Reply{ResponseType: slack.ResponseTypeEphemeral, Text: fmt.Sprintf(format, args...)}
}

// Invocation is a parsed slash command.
type Invocation struct {
	Sub  string // lower-cased first word, "help" when empty
	Args string // the rest, trimmed
	Cmd  slack.SlashCommand
}

// ParseInvocation splits "/incident declare P1 checkout is down" into the
// subcommand and its arguments. It rejects text Slack would never send.
func ParseInvocation(cmd slack.SlashCommand) (Invocation, error) {
	text := cmd.Text
	if !utf8.ValidString(text) {
		return Invocation{}, incident.Errorf(incident.EINVALID, "The command text is not valid UTF-8.")
	}
	if len(text) > maxCommandText {
		return Invocation{}, incident.Errorf(incident.EINVALID, "The command text is %d bytes; the limit is %d.", len(text), maxCommandText)
	}
	// Slack escapes &, < and > in the text; the domain keeps what the
	// person typed, and every reply escapes it again, once.
	text = strings.TrimSpace(unescapeSlack(text))
	sub, args, _ := strings.Cut(text, " ")
	sub = strings.ToLower(strings.TrimSpace(sub))
	if sub == "" {
		sub = "help"
	}
	return Invocation{Sub: sub, Args: strings.TrimSpace(args), Cmd: cmd}, nil
}

// subcommand is one "/incident <name>" handler.
type subcommand struct {
	usage   string
	summary string
	run     func(ctx context.Context, inv Invocation) (Reply, error)
}

// subcommands returns the command table, in the order help lists it.
func (h *Handler) subcommands() []struct {
	name string
	subcommand
} {
	return []struct {
		name string
		subcommand
	}{
		{"declare", subcommand{usage: "declare [P1] [--private] [--service=<key>] [--drill] <title>", summary: "Declare an incident, such as `" + h.cfg.Command + " declare P1 checkout is down`; without a severity and title, a form asks for them. Options go before the title: --private, --service=<key>, --drill (a practice incident: marked DRILL, pages simulated or to the test service, rollbacks dry-run, left out of metrics).", run: h.declare}},
		{"list", subcommand{usage: "list", summary: "List open incidents, most severe first.", run: h.list}},
		{"status", subcommand{usage: "status [investigating|mitigated]", summary: "Show the incident's status, or set it (in an incident channel).", run: h.status}},
		{"ic", subcommand{usage: "ic [@user]", summary: "Make yourself or someone the Incident Commander.", run: h.assignIC}},
		{"role", subcommand{usage: "role comms @user", summary: "Give someone a role (" + strings.Join(h.roles(), ", ") + ").", run: h.assignRole}},
		{"update", subcommand{usage: "update <what we know, what we are doing>", summary: "Post a status update; without text, a form asks for it.", run: h.updateCommand}},
		{"page", subcommand{usage: "page [service]", summary: "Page the service's on-call in PagerDuty (again), or another service.", run: h.pageCommand}},
		{"oncall", subcommand{usage: "oncall [service]", summary: "Show who is on call now.", run: h.oncallCommand}},
		{"changes", subcommand{usage: "changes [2h]", summary: "List the deploys and flag changes before the incident started (default 60 min), with rollback buttons.", run: h.changesCommand}},
		{"note", subcommand{usage: noteUsage, summary: noteSummary, run: h.noteCommand}},
		{"followup", subcommand{usage: followUpUsage, summary: followUpSummary, run: h.followupCommand}},
		{"followups", subcommand{usage: followupsUsage, summary: followupsSummary, run: h.followupsCommand}},
		{"review", subcommand{usage: reviewUsage, summary: reviewSummary, run: h.reviewCommand}},
		{"postmortem", subcommand{usage: postmortemUsage, summary: postmortemSummary, run: h.postmortemCommand}},
		{"metrics", subcommand{usage: metricsUsage, summary: metricsSummary, run: h.metricsCommand}},
		{"comms", subcommand{usage: "comms", summary: "Show the status-page and customer e-mail drafts, ready to copy.", run: h.commsCommand}},
		{"statuspage", subcommand{usage: "statuspage [public message]", summary: "Post to the public status page now: the draft in a form, or the text given.", run: h.statuspageCommand}},
		{"data-concern", subcommand{usage: "data-concern", summary: "Flag that customer data may be affected; proposes the customer e-mail at once.", run: h.dataConcernCommand}},
		{"severity", subcommand{usage: "severity P2", summary: "Change the severity.", run: h.severity}},
		{"resolve", subcommand{usage: "resolve [summary]", summary: "Resolve the incident, with an optional summary.", run: h.transition(incident.StatusResolved, true)}},
		{"reopen", subcommand{usage: "reopen", summary: "Reopen a resolved incident.", run: h.transition(incident.StatusInvestigating, false)}},
		{"close", subcommand{usage: "close", summary: "Close a resolved incident.", run: h.transition(incident.StatusClosed, false)}},
		{"help", subcommand{usage: "help", summary: "Show this help.", run: h.help}},
	}
}

// Command answers a slash command. It must return well inside Slack's three
// seconds, so anything slow is scheduled as a job and the reply says so.
func (h *Handler) Command(ctx context.Context, cmd slack.SlashCommand) Reply {
	inv, err := ParseInvocation(cmd)
	if err != nil {
		h.metrics.requests.WithLabelValues("command", "invalid").Inc()
		return h.errorReply(ctx, err, "")
	}
	for _, sc := range h.subcommands() {
		if sc.name == inv.Sub {
			reply, err := sc.run(ctx, inv)
			if err != nil {
				h.metrics.requests.WithLabelValues("command", incident.ErrorCode(err)).Inc()
				return h.errorReply(ctx, err, sc.usage)
			}
			h.metrics.requests.WithLabelValues("command", "ok").Inc()
			return reply
		}
	}
	h.metrics.requests.WithLabelValues("command", "unknown").Inc()
	return ephemeral("Unknown command `%s %s`. Try `%s help` for the list of commands.", h.cfg.Command, inv.Sub, h.cfg.Command)
}

// errorReply is the one place a domain error becomes a Slack reply.
// Unexpected errors are logged once and the user sees a plain sentence.
func (h *Handler) errorReply(ctx context.Context, err error, usage string) Reply {
	if context.Cause(ctx) == errStoreSlow || incident.ErrorCode(err) == incident.EUNAVAILABLE && storeDown(err) {
		h.log.WarnContext(ctx, "command not run: the database did not answer in time", "err", err)
		return ephemeral("%s", msgStoreDown)
	}
	if incident.ErrorCode(err) == incident.EINTERNAL {
		h.log.ErrorContext(ctx, "command failed", "err", err)
	}
	text := userMessage(err)
	if usage != "" && incident.ErrorCode(err) == incident.EINVALID {
		text += fmt.Sprintf("\nUsage: `%s %s`", h.cfg.Command, usage)
	}
	return ephemeral("%s", text)
}

func (h *Handler) help(_ context.Context, _ Invocation) (Reply, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*firebreak* runs your incidents from Slack. Commands:\n")
	for _, sc := range h.subcommands() {
		fmt.Fprintf(&b, "• `%s %s` — %s\n", h.cfg.Command, sc.usage, sc.summary)
	}
	return Reply{ResponseType: slack.ResponseTypeEphemeral, Text: strings.TrimRight(b.String(), "\n")}, nil
}

func (h *Handler) roles() []string {
	if h.cfg.Incidents == nil {
		return nil
	}
	return h.cfg.Incidents.Policy().Roles
}

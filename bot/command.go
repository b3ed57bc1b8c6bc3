package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
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

	// encoded is the reply already encoded as JSON, for a reply that never
	// changes (help): it is written as is.
	encoded []byte
}

// ephemeral returns a reply only the invoking user sees.
func ephemeral(format string, args ...any) Reply {
	return Reply{ResponseType: slack.ResponseTypeEphemeral, Text: fmt.Sprintf(format, args...)}
}

// Invocation is a parsed slash command.
type Invocation struct {
	Sub  string // lower-cased first word, "help" when empty
	Args string // the rest, trimmed, as the person typed it
	// Markup is the rest as Slack sent it: & < > as &amp; &lt; &gt;, and
	// the people, channels and links the person named in Slack's markup
	// (<@U…|name>, <#C…|name>, <https://…>), for words stored as Slack
	// stores a message (a status update's, ADR 0056).
	Markup string
	Cmd    slack.SlashCommand
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
	// Any white space ends the subcommand: a tab, a new line or a
	// no-break space typed or pasted after it is a separator too. Slack's
	// entities hold none, so the text splits the same before and after
	// they are decoded.
	text = strings.TrimSpace(text)
	sub, markup := text, ""
	if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
		sub, markup = text[:i], strings.TrimSpace(text[i:])
	}
	// Slack escapes &, < and > in the text; a plain field (a title, a
	// role, a severity) keeps what the person typed, and every reply
	// escapes it again, once. Words stored as Slack's markup take Markup.
	sub = strings.ToLower(incident.UnescapeText(sub))
	if sub == "" {
		sub = "help"
	}
	return Invocation{Sub: sub, Args: incident.UnescapeText(markup), Markup: markup, Cmd: cmd}, nil
}

// Command answers a slash command. It must return well inside Slack's three
// seconds, so anything slow is scheduled as a job and the reply says so.
func (h *Handler) Command(ctx context.Context, cmd slack.SlashCommand) Reply {
	if !h.homes.known(ctx) {
		h.metrics.requests.WithLabelValues("command", "not_ready").Inc()
		return ephemeral("%s", h.homes.notReady())
	}
	if h.homes.command(ctx, cmd) {
		h.metrics.requests.WithLabelValues("command", "outsider").Inc()
		return ephemeral("%s", msgOutsider)
	}
	inv, err := ParseInvocation(cmd)
	if err != nil {
		h.metrics.requests.WithLabelValues("command", "invalid").Inc()
		return h.errorReply(ctx, err, "")
	}
	for _, sc := range h.commands {
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
	return ephemeral("Unknown command `%s %s`. Try `%s help` for the list of commands.", Escape(h.cfg.Command), Escape(inv.Sub), Escape(h.cfg.Command))
}

// errorReply is the one place a domain error becomes a Slack reply.
// Unexpected errors are logged once and the user sees a plain sentence.
func (h *Handler) errorReply(ctx context.Context, err error, usage string) Reply {
	// The deadline passing is the database's doing only when the error
	// says so: a chat call that outlasted it (Slack slow to open a form)
	// ends in the domain's own sentence, which says what to do instead.
	if errors.Is(err, incident.ErrMaybeSaved) {
		// The database was sent the change and did not say whether it
		// took it: "nothing was changed" could be false, and a second
		// try a second incident. The domain's sentence says to look.
		h.log.WarnContext(ctx, "command's change not confirmed by the database", "err", err)
		return ephemeral("%s", userMrkdwn(err))
	}
	if (context.Cause(ctx) == errStoreSlow || incident.ErrorCode(err) == incident.EUNAVAILABLE) && storeDown(err) {
		h.log.WarnContext(ctx, "command not run: the database did not answer in time", "err", err)
		return ephemeral("%s", msgStoreDown)
	}
	if incident.ErrorCode(err) == incident.EINTERNAL {
		h.log.ErrorContext(ctx, "command failed", "err", err)
	}
	text := userMrkdwn(err)
	if usage != "" && incident.ErrorCode(err) == incident.EINVALID {
		text += fmt.Sprintf("\nUsage: `%s %s`", Escape(h.cfg.Command), Escape(usage))
	}
	return ephemeral("%s", text)
}

// help lists the subcommands. The list is the same for every request, so
// it is rendered and encoded once.
func (h *Handler) help(_ context.Context, _ Invocation) (Reply, error) {
	h.helpOnce.Do(func() {
		var b strings.Builder
		fmt.Fprintf(&b, "*firebreak* runs your incidents from Slack. Commands:\n")
		for _, sc := range h.commands {
			fmt.Fprintf(&b, "• `%s %s` — %s\n", Escape(h.cfg.Command), Escape(sc.usage), Escape(sc.summary))
		}
		h.helpReply = Reply{ResponseType: slack.ResponseTypeEphemeral, Text: strings.TrimRight(b.String(), "\n")}
		h.helpReply.encoded = h.helpReply.encode()
	})
	return h.helpReply, nil
}

// empty reports whether the reply says nothing, to be answered with a plain
// acknowledgement.
func (r Reply) empty() bool { return r.Text == "" && len(r.Blocks) == 0 && r.encoded == nil }

// encode returns the reply as the JSON body of an HTTP answer.
func (r Reply) encode() []byte {
	if r.encoded != nil {
		return r.encoded
	}
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(r)
	return b.Bytes()
}

package bot

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
)

// ActionHandler answers a block_actions interaction for one action_id. It
// runs on the 3-second path, so it schedules anything slow.
type ActionHandler func(ctx context.Context, cb slack.InteractionCallback, action *slack.BlockAction) error

// ViewHandler answers a view_submission for one callback_id. A non-nil
// response (such as errors on a field) is sent back to Slack as is.
type ViewHandler func(ctx context.Context, cb slack.InteractionCallback) (*slack.ViewSubmissionResponse, error)

// ShortcutHandler answers a message shortcut (message_action) for one
// callback_id. It runs on the 3-second path: the trigger_id expires then.
type ShortcutHandler func(ctx context.Context, cb slack.InteractionCallback) error

// Interaction answers an interactivity payload. The returned value is the
// acknowledgement body: nil for an empty 200, or a view_submission response.
func (h *Handler) Interaction(ctx context.Context, cb slack.InteractionCallback) any {
	switch cb.Type {
	case slack.InteractionTypeBlockActions, slack.InteractionTypeViewSubmission, slack.InteractionTypeMessageAction,
		slack.InteractionTypeShortcut:
		if !h.homes.known(ctx) {
			h.counted("not_ready")
			return h.tellUser(ctx, cb, h.homes.notReadyErr())
		}
		if err := h.homes.interactionRefusal(ctx, cb); err != nil {
			if errors.Is(err, errMemberUnknown) {
				h.counted("member_unknown")
			} else {
				h.counted("outsider")
			}
			return h.tellUser(ctx, cb, err)
		}
	}
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		for _, a := range cb.ActionCallback.BlockActions {
			h.counted(h.blockAction(ctx, cb, a))
		}
		return nil
	case slack.InteractionTypeViewSubmission:
		resp, outcome := h.viewSubmission(ctx, cb)
		h.counted(outcome)
		return resp
	case slack.InteractionTypeMessageAction:
		h.counted(h.shortcut(ctx, cb))
		return nil
	case slack.InteractionTypeShortcut:
		// The app offers no global shortcut (slack-manifest.yaml lists
		// only the message shortcut); one configured in the app's
		// settings is answered, not met with silence. It comes from no
		// channel, so the answer is a direct message.
		h.log.WarnContext(ctx, "unknown global shortcut", "callback_id", cb.CallbackID, "user", cb.User.ID)
		h.tellUser(ctx, cb, unknownInteraction(h.cfg.Command, "shortcut"))
		h.counted("unknown")
		return nil
	default:
		h.counted("ignored")
		return nil
	}
}

// counted counts an interaction by its outcome.
func (h *Handler) counted(outcome string) {
	h.metrics.requests.WithLabelValues("interaction", outcome).Inc()
}

// blockAction runs one clicked button's handler, once the incident it names
// was found to belong where it was clicked; it returns the outcome.
func (h *Handler) blockAction(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) string {
	act, ok := h.actions[a.ActionID]
	if !ok || act.run == nil {
		h.log.WarnContext(ctx, "unknown action", "action_id", a.ActionID, "user", cb.User.ID)
		h.tellUser(ctx, cb, unknownInteraction(h.cfg.Command, "button"))
		return "unknown"
	}
	if act.find != nil {
		if err := h.kit.checkAction(ctx, cb, act.find, a.Value); err != nil {
			h.tellUser(ctx, cb, err)
			return "refused"
		}
	}
	if err := act.run(ctx, cb, a); err != nil {
		h.tellUser(ctx, cb, err)
		return "error"
	}
	return "ok"
}

// viewSubmission runs a submitted form's handler, once its seal holds; it
// returns the acknowledgement body and the outcome.
func (h *Handler) viewSubmission(ctx context.Context, cb slack.InteractionCallback) (any, string) {
	v, ok := h.views[cb.View.CallbackID]
	if !ok || v.run == nil {
		h.log.WarnContext(ctx, "unknown view", "callback_id", cb.View.CallbackID)
		// Said on the form, which stays open with what the person
		// wrote, when it has a field to say it on.
		return h.tellUser(ctx, cb, unknownInteraction(h.cfg.Command, "form")), "unknown"
	}
	if v.sealed {
		if err := h.kit.seals.unseal(&cb); err != nil {
			h.log.WarnContext(ctx, "form with a broken seal refused", "callback_id", cb.View.CallbackID, "user", cb.User.ID)
			return h.tellUser(ctx, cb, err), "refused"
		}
	}
	resp, err := v.run(ctx, cb)
	if err != nil {
		// With the database down, the form stays open with what the
		// person wrote and says so, to be submitted again: closed, it
		// would look saved.
		if block := firstInput(cb.View); block != "" && storeUnavailable(ctx, err) {
			return slack.NewErrorsViewSubmissionResponse(map[string]string{block: h.errorReply(ctx, err, "").Text}), "error"
		}
		return h.tellUser(ctx, cb, err), "error"
	}
	if resp == nil {
		return nil, "ok"
	}
	if resp.ResponseAction == slack.RAErrors {
		(&namer{chat: h.replies, log: h.log}).plainFieldErrors(ctx, resp.Errors)
	}
	return resp, "ok"
}

// shortcut runs a message shortcut's handler; it returns the outcome.
func (h *Handler) shortcut(ctx context.Context, cb slack.InteractionCallback) string {
	fn, ok := h.shortcuts[cb.CallbackID]
	if !ok {
		h.log.WarnContext(ctx, "unknown shortcut", "callback_id", cb.CallbackID)
		h.tellUser(ctx, cb, unknownInteraction(h.cfg.Command, "shortcut"))
		return "unknown"
	}
	if err := fn(ctx, cb); err != nil {
		h.tellUser(ctx, cb, err)
		return "error"
	}
	return "ok"
}

// unknownInteraction answers a button, form or shortcut the bot has no
// handler for: one of an older version's messages or forms, or a shortcut
// the app's settings name and the bot does not. Nothing was done, and the
// person is told so rather than left waiting.
func unknownInteraction(command, what string) error {
	return incident.Errorf(incident.EINVALID, "This %s is not one this version of the bot knows (it may be from an older message or form), so nothing was done. Use the %s command instead; %s help lists what it does.",
		what, command, command)
}

// firstInput is the block id of a view's first input block, "" when it
// has none.
func firstInput(v slack.View) string {
	for _, b := range v.Blocks.BlockSet {
		if in, ok := b.(*slack.InputBlock); ok && in.BlockID != "" {
			return in.BlockID
		}
	}
	return ""
}

// OnAction routes block_actions with the given action_id to fn. A button
// about an incident stays checked for where it was clicked.
func (h *Handler) OnAction(actionID string, fn ActionHandler) {
	a := h.actions[actionID]
	a.run = fn
	h.actions[actionID] = a
}

// OnView routes view_submission payloads with the given callback_id to fn.
// A sealed form stays sealed.
func (h *Handler) OnView(callbackID string, fn ViewHandler) {
	v := h.views[callbackID]
	v.run = fn
	h.views[callbackID] = v
}

// OnShortcut routes message_action payloads with the callback_id to fn.
func (h *Handler) OnShortcut(callbackID string, fn ShortcutHandler) { h.shortcuts[callbackID] = fn }

// tellUser shows an interaction's failure to the person who clicked or
// submitted, only to them, and returns the acknowledgement body. A
// submitted form with a field to say it on is answered there when it was
// refused (EFORBIDDEN), met a conflict (ECONFLICT) or a mistake (EINVALID),
// or the bot does not know its workspace yet (errNotReady, errTokenRefused) or who the
// person is (errMemberUnknown): the form stays
// open with what the person wrote, where they are looking. Anything else
// goes along the same chain as Chat.Reply: the interaction's response_url,
// which works in any channel, else an ephemeral message where they
// clicked, else a DM; that is best effort, and the failure is logged
// either way.
func (h *Handler) tellUser(ctx context.Context, cb slack.InteractionCallback, err error) any {
	saidOnForm := errors.Is(err, errNotReady) || errors.Is(err, errTokenRefused) || errors.Is(err, errMemberUnknown) ||
		slices.Contains([]string{incident.EFORBIDDEN, incident.ECONFLICT, incident.EINVALID}, incident.ErrorCode(err))
	if block := firstInput(cb.View); cb.Type == slack.InteractionTypeViewSubmission && saidOnForm && block != "" {
		errs := map[string]string{block: userMessage(err)}
		(&namer{chat: h.replies, log: h.log}).plainFieldErrors(ctx, errs)
		return slack.NewErrorsViewSubmissionResponse(errs)
	}
	reply := h.errorReply(ctx, err, "")
	if h.replies == nil {
		return nil
	}
	to := incident.ReplyTarget{ResponseURL: cb.ResponseURL, ChannelID: cb.Channel.ID, UserID: cb.User.ID}
	tell := func(ctx context.Context) {
		if perr := h.replies.Reply(ctx, to, reply.Text); perr != nil {
			h.log.WarnContext(ctx, "could not tell the user about a failed interaction", "err", perr, "user", cb.User.ID)
		}
	}
	if ctx.Err() == nil {
		tell(ctx)
		return nil
	}
	// The acknowledgement deadline passed (a database that hangs): a
	// reply on that context would never leave, and the person would be
	// told nothing. It goes after the acknowledgement, on its own bounded
	// context; the response_url stays valid for 30 minutes.
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lateReplyTimeout)
		defer cancel()
		tell(ctx)
	}()
	return nil
}

// lateReplyTimeout bounds telling someone of an interaction's failure once
// its acknowledgement deadline has passed.
const lateReplyTimeout = 5 * time.Second

// storeUnavailable reports whether err, met on ctx, is the database not
// answering or refusing, rather than something the person can fix.
func storeUnavailable(ctx context.Context, err error) bool {
	return context.Cause(ctx) == errStoreSlow || incident.ErrorCode(err) == incident.EUNAVAILABLE
}

// maxFieldError bounds a field error's message. Slack's documentation of
// response_action "errors" gives no length of its own; the message shows
// under the input like the input block's hint, which holds 2000 characters.
const maxFieldError = 2000

// fieldNameLookup bounds the time spent naming people in field errors: the
// answer must reach Slack within its 3 seconds, and an id is an answer.
const fieldNameLookup = time.Second

// plainFieldErrors rewrites each field error as the plain text Slack shows
// there: Slack renders a field error as plain text, so a mention
// ("<@U123>"), a channel ("<#C123>"), a user group or a link would show as
// the raw markup. People, channels and groups are named (looked up in
// Slack, "@U123" when the lookup fails), links become "label (url)", and
// &amp;, &lt; and &gt; become the characters they stand for.
func (n *namer) plainFieldErrors(ctx context.Context, errs map[string]string) {
	ctx, cancel := context.WithTimeout(ctx, fieldNameLookup)
	defer cancel()
	for block, msg := range errs {
		errs[block] = clipRunes(n.plain(ctx, msg), maxFieldError)
	}
}

// namer names the people, channels and groups of Slack markup in plain
// text, through the Chat's cached lookups; a nil chat names them by id.
type namer struct {
	chat *Chat
	log  *slog.Logger
}

// plain is text, Slack markup and entities included, as plain text.
func (n *namer) plain(ctx context.Context, text string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(text, '<')
		if open < 0 {
			break
		}
		end := strings.IndexByte(text[open:], '>')
		if end < 0 {
			break
		}
		b.WriteString(incident.UnescapeText(text[:open]))
		s, ok := n.markup(ctx, text[open+1:open+end])
		if !ok {
			// Not Slack markup: a "<" of the text, shown as is.
			b.WriteByte('<')
			text = text[open+1:]
			continue
		}
		b.WriteString(s)
		text = text[open+end+1:]
	}
	b.WriteString(incident.UnescapeText(text))
	return b.String()
}

// markup renders the inside of one <...> of Slack's message formatting;
// ok is false when it is none.
func (n *namer) markup(ctx context.Context, inner string) (string, bool) {
	target, label, labelled := strings.Cut(inner, "|")
	label = incident.UnescapeText(label)
	switch {
	case strings.HasPrefix(target, "@") && isSlackID(target[1:], "UW"):
		return "@" + n.user(ctx, target[1:], label), true
	case strings.HasPrefix(target, "#") && isSlackID(target[1:], "CGD"):
		if label != "" {
			return "#" + label, true
		}
		return "#" + target[1:], true
	case strings.HasPrefix(target, "!subteam^") && isSlackID(strings.TrimPrefix(target, "!subteam^"), "S"):
		if label != "" {
			return "@" + strings.TrimPrefix(label, "@"), true
		}
		return "@" + strings.TrimPrefix(target, "!subteam^"), true
	case target == "!here" || target == "!channel" || target == "!everyone":
		return "@" + target[1:], true
	case strings.HasPrefix(target, "!date^") && labelled:
		return label, true
	case strings.HasPrefix(target, "mailto:"):
		addr := incident.UnescapeText(strings.TrimPrefix(target, "mailto:"))
		if label == "" || label == addr {
			return addr, true
		}
		return label + " (" + addr + ")", true
	case strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://"):
		u := incident.UnescapeText(target)
		if label == "" || label == u {
			return u, true
		}
		return label + " (" + u + ")", true
	}
	return "", false
}

// user is a person's name: their display or real name from Slack, else the
// name the markup carried, else their id.
func (n *namer) user(ctx context.Context, id, label string) string {
	if n.chat != nil {
		name, err := n.chat.UserName(ctx, id)
		if err == nil && name != "" {
			return name
		}
		if err != nil {
			n.log.DebugContext(ctx, "a field error names a person by id: users.info failed", "user", id, "err", err)
		}
	}
	if label != "" {
		return strings.TrimPrefix(label, "@")
	}
	return id
}

package bot

import (
	"context"

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
	case slack.InteractionTypeBlockActions, slack.InteractionTypeViewSubmission, slack.InteractionTypeMessageAction:
		if h.homes.interaction(ctx, cb) {
			h.tellUser(ctx, cb, errOutsider)
			h.counted("outsider")
			return nil
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
		return nil, "unknown"
	}
	if v.sealed {
		if err := h.kit.seals.unseal(&cb); err != nil {
			h.log.WarnContext(ctx, "form with a broken seal refused", "callback_id", cb.View.CallbackID, "user", cb.User.ID)
			h.tellUser(ctx, cb, err)
			return nil, "refused"
		}
	}
	resp, err := v.run(ctx, cb)
	if err != nil {
		h.tellUser(ctx, cb, err)
		return nil, "error"
	}
	if resp == nil {
		return nil, "ok"
	}
	return resp, "ok"
}

// shortcut runs a message shortcut's handler; it returns the outcome.
func (h *Handler) shortcut(ctx context.Context, cb slack.InteractionCallback) string {
	fn, ok := h.shortcuts[cb.CallbackID]
	if !ok {
		h.log.WarnContext(ctx, "unknown shortcut", "callback_id", cb.CallbackID)
		return "unknown"
	}
	if err := fn(ctx, cb); err != nil {
		h.tellUser(ctx, cb, err)
		return "error"
	}
	return "ok"
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

// tellUser shows an interaction's failure to the person who clicked, only
// to them, along the same chain as Chat.Reply: the interaction's
// response_url, which works in any channel, else an ephemeral message where
// they clicked, else a DM. It is best effort; the failure is logged either
// way.
func (h *Handler) tellUser(ctx context.Context, cb slack.InteractionCallback, err error) {
	reply := h.errorReply(ctx, err, "")
	if h.replies == nil {
		return
	}
	to := incident.ReplyTarget{ResponseURL: cb.ResponseURL, ChannelID: cb.Channel.ID, UserID: cb.User.ID}
	if perr := h.replies.Reply(ctx, to, reply.Text); perr != nil {
		h.log.WarnContext(ctx, "could not tell the user about a failed interaction", "err", perr, "user", cb.User.ID)
	}
}

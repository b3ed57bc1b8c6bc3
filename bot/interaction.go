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

// Interaction answers an interactivity payload. The returned value is the
// acknowledgement body: nil for an empty 200, or a view_submission response.
func (h *Handler) Interaction(ctx context.Context, cb slack.InteractionCallback) any {
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		for _, a := range cb.ActionCallback.BlockActions {
			fn, ok := h.actions[a.ActionID]
			if !ok {
				h.log.WarnContext(ctx, "unknown action", "action_id", a.ActionID, "user", cb.User.ID)
				h.metrics.requests.WithLabelValues("interaction", "unknown").Inc()
				continue
			}
			if find, ok := h.origins[a.ActionID]; ok {
				if err := h.checkAction(ctx, cb, find, a.Value); err != nil {
					h.metrics.requests.WithLabelValues("interaction", "refused").Inc()
					h.tellUser(ctx, cb, err)
					continue
				}
			}
			if err := fn(ctx, cb, a); err != nil {
				h.metrics.requests.WithLabelValues("interaction", "error").Inc()
				h.tellUser(ctx, cb, err)
				continue
			}
			h.metrics.requests.WithLabelValues("interaction", "ok").Inc()
		}
		return nil
	case slack.InteractionTypeViewSubmission:
		fn, ok := h.views[cb.View.CallbackID]
		if !ok {
			h.log.WarnContext(ctx, "unknown view", "callback_id", cb.View.CallbackID)
			h.metrics.requests.WithLabelValues("interaction", "unknown").Inc()
			return nil
		}
		if h.sealed[cb.View.CallbackID] {
			if err := h.unseal(&cb); err != nil {
				h.log.WarnContext(ctx, "form with a broken seal refused", "callback_id", cb.View.CallbackID, "user", cb.User.ID)
				h.metrics.requests.WithLabelValues("interaction", "refused").Inc()
				h.tellUser(ctx, cb, err)
				return nil
			}
		}
		resp, err := fn(ctx, cb)
		if err != nil {
			h.metrics.requests.WithLabelValues("interaction", "error").Inc()
			h.tellUser(ctx, cb, err)
			return nil
		}
		h.metrics.requests.WithLabelValues("interaction", "ok").Inc()
		if resp == nil {
			return nil
		}
		return resp
	case slack.InteractionTypeMessageAction:
		fn, ok := h.shortcuts[cb.CallbackID]
		if !ok {
			h.log.WarnContext(ctx, "unknown shortcut", "callback_id", cb.CallbackID)
			h.metrics.requests.WithLabelValues("interaction", "unknown").Inc()
			return nil
		}
		if err := fn(ctx, cb); err != nil {
			h.metrics.requests.WithLabelValues("interaction", "error").Inc()
			h.tellUser(ctx, cb, err)
			return nil
		}
		h.metrics.requests.WithLabelValues("interaction", "ok").Inc()
		return nil
	default:
		h.metrics.requests.WithLabelValues("interaction", "ignored").Inc()
		return nil
	}
}

// checkAction finds the incident a button names and checks that it was
// clicked where it belongs.
func (h *Handler) checkAction(ctx context.Context, cb slack.InteractionCallback, find actionIncident, value string) error {
	inc, err := find(ctx, cb, value)
	if err != nil {
		return err
	}
	return h.checkOrigin(ctx, cb, inc)
}

// OnAction routes block_actions with the given action_id to fn.
func (h *Handler) OnAction(actionID string, fn ActionHandler) { h.actions[actionID] = fn }

// OnView routes view_submission payloads with the given callback_id to fn.
func (h *Handler) OnView(callbackID string, fn ViewHandler) { h.views[callbackID] = fn }

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

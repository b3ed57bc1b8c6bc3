package bot

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode connects to Slack over Socket Mode and serves requests until
// ctx ends. The Slack client must carry the app-level token
// (slack.OptionAppLevelToken). Each request is handled in its own goroutine
// and acknowledged with the same payload the HTTP transport would return.
func (h *Handler) RunSocketMode(ctx context.Context, sm *socketmode.Client) error {
	errc := make(chan error, 1)
	go func() { errc <- sm.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("socket mode: %w", err)
		case evt, ok := <-sm.Events:
			if !ok {
				return nil
			}
			h.socketEvent(ctx, sm, evt)
		}
	}
}

func (h *Handler) socketEvent(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		h.log.InfoContext(ctx, "socket mode connected")
		return
	case socketmode.EventTypeConnectionError:
		// The cause (connection refused, DNS, TLS, a refused app token) is
		// logged on every attempt, before the retries blur it.
		attrs := []any{"type", string(evt.Type)}
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			attrs = append(attrs, "attempt", ce.Attempt, "retry_in", ce.Backoff, "err", ce.ErrorObj)
		}
		h.log.ErrorContext(ctx, "socket mode connection problem", attrs...)
		return
	case socketmode.EventTypeInvalidAuth:
		h.log.ErrorContext(ctx, "socket mode connection refused: the app-level token (SLACK_APP_TOKEN) is invalid or revoked", "type", string(evt.Type))
		return
	}
	if evt.Request == nil {
		return
	}
	req := *evt.Request
	go func() {
		var payload any
		switch evt.Type {
		case socketmode.EventTypeSlashCommand:
			cmd, ok := evt.Data.(slack.SlashCommand)
			if !ok {
				return
			}
			payload = h.Command(ctx, cmd)
		case socketmode.EventTypeInteractive:
			cb, ok := evt.Data.(slack.InteractionCallback)
			if !ok {
				return
			}
			payload = h.Interaction(ctx, cb)
		case socketmode.EventTypeEventsAPI:
			if _, _, err := h.Event(ctx, json.RawMessage(req.Payload)); err != nil {
				h.log.ErrorContext(ctx, "accept event", "err", err)
				// Not acknowledging makes Slack redeliver it later.
				return
			}
		default:
			return
		}
		var err error
		if payload != nil {
			err = sm.AckCtx(ctx, req.EnvelopeID, payload)
		} else {
			err = sm.AckCtx(ctx, req.EnvelopeID, nil)
		}
		if err != nil {
			h.log.WarnContext(ctx, "socket mode ack failed", "err", err, "type", string(evt.Type))
		}
	}()
}

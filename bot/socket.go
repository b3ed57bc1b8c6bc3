package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/firebreakhq/firebreak/incident"
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
	if logConnection(ctx, h.log, evt) || evt.Request == nil {
		return
	}
	req := *evt.Request
	kind := socketKind(evt.Type)
	if kind == "" {
		return
	}
	// The same bound as over HTTP: beyond it a command is answered with the
	// bot's own sentence at once, anything else is left unacknowledged,
	// which Slack takes as a failure (and redelivers an event).
	if !h.tryAdmit() {
		h.metrics.requests.WithLabelValues(kind, "overloaded").Inc()
		if evt.Type == socketmode.EventTypeSlashCommand {
			if err := sm.AckCtx(ctx, req.EnvelopeID, ephemeral("%s", msgOverloaded)); err != nil {
				h.log.WarnContext(ctx, "socket mode ack failed", "err", err, "type", string(evt.Type))
			}
		}
		return
	}
	go func() {
		defer h.release()
		// Someone waits for this answer: the store serves it before
		// background jobs, as it does the HTTP routes.
		payload, ack := h.socketAnswer(incident.Foreground(ctx), evt, req)
		if !ack {
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

// logConnection logs the state of the connection an event reports, and
// reports whether it was one.
func logConnection(ctx context.Context, log *slog.Logger, evt socketmode.Event) bool {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		log.InfoContext(ctx, "socket mode connected")
		return true
	case socketmode.EventTypeConnectionError:
		// The cause (connection refused, DNS, TLS, a refused app token) is
		// logged on every attempt, before the retries blur it.
		attrs := []any{"type", string(evt.Type)}
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			attrs = append(attrs, "attempt", ce.Attempt, "retry_in", ce.Backoff, "err", ce.ErrorObj)
		}
		log.ErrorContext(ctx, "socket mode connection problem", attrs...)
		return true
	case socketmode.EventTypeInvalidAuth:
		log.ErrorContext(ctx, "socket mode connection refused: the app-level token (SLACK_APP_TOKEN) is invalid or revoked", "type", string(evt.Type))
		return true
	}
	return false
}

// socketAnswer handles one Socket Mode request as the HTTP routes would,
// and returns the acknowledgement payload, or false to leave it
// unacknowledged.
func (h *Handler) socketAnswer(ctx context.Context, evt socketmode.Event, req socketmode.Request) (any, bool) {
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			return nil, false
		}
		// The same deadline as over HTTP: the answer, even "try
		// again", must reach Slack within its 3 seconds.
		actx, cancel := context.WithTimeoutCause(ctx, h.cfg.AckDeadline, errStoreSlow)
		defer cancel()
		if reply := h.Command(actx, cmd); !reply.empty() {
			return reply, true
		}
		return nil, true
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			return nil, false
		}
		actx, cancel := context.WithTimeoutCause(ctx, h.cfg.AckDeadline, errStoreSlow)
		defer cancel()
		return h.Interaction(actx, cb), true
	case socketmode.EventTypeEventsAPI:
		if _, _, err := h.Event(ctx, json.RawMessage(req.Payload)); err != nil {
			h.log.ErrorContext(ctx, "accept event", "err", err)
			// Not acknowledging makes Slack redeliver it later.
			return nil, false
		}
		return nil, true
	}
	return nil, false
}

// socketKind names a Socket Mode request as the HTTP routes do, or "" for
// one that is not served.
func socketKind(t socketmode.EventType) string {
	switch t {
	case socketmode.EventTypeSlashCommand:
		return "command"
	case socketmode.EventTypeInteractive:
		return "interaction"
	case socketmode.EventTypeEventsAPI:
		return "event"
	}
	return ""
}

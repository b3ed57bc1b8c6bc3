package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/firebreakhq/firebreak/incident"
)

// RunSocketMode connects to Slack over Socket Mode and serves requests until
// ctx ends. The Slack client must carry the app-level token
// (slack.OptionAppLevelToken); opts are passed to socketmode.New, except a
// dialer, which the transport brings. Each request is handled in its own
// goroutine and acknowledged with the same payload the HTTP transport would
// return.
//
// When ctx ends, the requests being handled are finished and acknowledged
// on the open connection (each is bounded by the acknowledgement deadline)
// before it closes, and it closes once the Socket Mode client has written
// every acknowledgement handed to it; those arriving meanwhile are not
// taken on: an event is left unacknowledged, so Slack delivers it again (to
// another replica, or to this one once it is back), and a command is
// answered with a sentence asking to try again. An envelope is never
// acknowledged without having been handled.
//
// Slack's requests to disconnect are logged with their reason and counted;
// the one saying Socket Mode is turned off for the app is also reported by
// SocketModeState.
func (h *Handler) RunSocketMode(ctx context.Context, api *slack.Client, opts ...socketmode.Option) error {
	s := &socketServer{h: h, progress: make(chan struct{}, 1)}
	s.sm = socketmode.New(api, append(opts, socketmode.OptionDialer(socketDialer(s)))...)
	// The connection outlives ctx by as long as the requests in flight
	// take to be answered.
	connCtx, closeConn := context.WithCancel(context.WithoutCancel(ctx))
	defer closeConn()
	s.conn = connCtx
	errc := make(chan error, 1)
	go func() { errc <- s.sm.RunContext(connCtx) }()
	for {
		select {
		case <-ctx.Done():
			s.drain(errc)
			closeConn()
			<-errc
			return nil
		case err := <-errc:
			// slack-go gives up by itself on an invalid, revoked or
			// deactivated token.
			h.socket.failed(err, h.cfg.Clock.Now())
			s.inFlight.Wait()
			return fmt.Errorf("socket mode: %w", err)
		case evt, ok := <-s.sm.Events:
			if !ok {
				return nil
			}
			if err := refusedForGood(evt); err != nil {
				// slack-go retries every refusal but four for ever: one
				// that no retry can fix stops here, so that the person
				// running the bot is told which setting to fix.
				s.connection(ctx, evt)
				closeConn()
				<-errc
				s.inFlight.Wait()
				return fmt.Errorf("socket mode: %w", err)
			}
			s.serve(ctx, evt, false)
		}
	}
}

// AppTokenRefusal returns Slack's error code when err is Slack refusing the
// app-level token that opens Socket Mode connections (apps.connections.open)
// in a way that trying again cannot fix: a token that is not an app-level
// one, lacks the connections:write scope, is wrong, revoked or expired, or
// belongs to a workspace or organisation that refuses it. It returns ""
// for anything else (Slack unreachable or failing, a rate limit).
func AppTokenRefusal(err error) string {
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		return ""
	}
	switch se.Err {
	case "invalid_auth", "not_authed", "missing_args", "not_allowed_token_type", "missing_scope", "no_permission",
		"token_revoked", "token_expired", "account_inactive", "forbidden_team", "team_access_not_granted",
		"org_login_required", "ekm_access_denied", "access_denied":
		return se.Err
	}
	return ""
}

// refusedForGood returns the error of a failed connection attempt that
// AppTokenRefusal says no retry can fix, or nil.
func refusedForGood(evt socketmode.Event) error {
	if evt.Type != socketmode.EventTypeConnectionError {
		return nil
	}
	ce, ok := evt.Data.(*slack.ConnectionErrorEvent)
	if !ok || AppTokenRefusal(ce.ErrorObj) == "" {
		return nil
	}
	return ce.ErrorObj
}

// msgRestarting answers a slash command that reached a process as it stops.
const msgRestarting = "The bot is restarting and did not run this; please try again in a moment."

// socketServer serves the requests of one Socket Mode client.
type socketServer struct {
	h        *Handler
	sm       *socketmode.Client
	conn     context.Context // the connection's life, which outlasts the serving
	inFlight sync.WaitGroup

	// handed counts the acknowledgements handed to the client, settled
	// those it has written or failed to write; progress is signalled on
	// each write.
	handed, settled atomic.Int64
	progress        chan struct{}
}

// ack hands an acknowledgement to the Socket Mode client, whose writer
// sends it on the connection.
func (s *socketServer) ack(ctx context.Context, evt socketmode.Event, payload any) {
	if err := s.sm.AckCtx(s.conn, evt.Request.EnvelopeID, payload); err != nil {
		s.h.log.WarnContext(ctx, "socket mode ack failed", "err", err, "type", string(evt.Type))
		return
	}
	s.handed.Add(1)
}

// written is told by the connection that a message left whole.
func (s *socketServer) written() { s.settle() }

func (s *socketServer) settle() {
	s.settled.Add(1)
	select {
	case s.progress <- struct{}{}:
	default:
	}
}

// unwritten is how many acknowledgements handed over are not yet written.
func (s *socketServer) unwritten() int64 { return s.handed.Load() - s.settled.Load() }

// drain waits, for at most the acknowledgement deadline and a second, for
// the requests in flight to be answered, refusing those that arrive
// meanwhile, then for the client to have written every acknowledgement
// handed to it, which takes longer when the connection is slow or being
// replaced.
func (s *socketServer) drain(errc <-chan error) {
	done := make(chan struct{})
	go func() { s.inFlight.Wait(); close(done) }()
	limit := time.NewTimer(s.h.cfg.AckDeadline + time.Second)
	defer limit.Stop()
	answered := false
	for {
		if answered && s.unwritten() <= 0 {
			return
		}
		select {
		case <-done:
			answered, done = true, nil
		case <-s.progress:
		case <-limit.C:
			if !answered {
				s.h.log.Warn("socket mode: closing the connection with requests still unanswered; Slack delivers their events again")
			} else {
				s.h.log.Warn("socket mode: closing the connection before every answer was written", "unwritten", s.unwritten())
			}
			return
		case err := <-errc:
			// The connection ended on its own: nothing more can be sent.
			s.h.log.Warn("socket mode: the connection ended while stopping", "err", err)
			if !answered {
				<-done
			}
			return
		case evt, ok := <-s.sm.Events:
			if !ok {
				if !answered {
					<-done
				}
				return
			}
			s.serve(context.Background(), evt, true)
		}
	}
}

// serve handles one Socket Mode event; draining refuses requests.
func (s *socketServer) serve(ctx context.Context, evt socketmode.Event, draining bool) {
	h := s.h
	if evt.Type == socketmode.EventTypeErrorWriteFailed {
		// The acknowledgement is lost; Slack takes it as a failure.
		attrs := []any{}
		if wf, ok := evt.Data.(*socketmode.ErrorWriteFailed); ok {
			attrs = append(attrs, "err", wf.Cause)
		}
		h.log.WarnContext(ctx, "socket mode: an acknowledgement could not be written", attrs...)
		s.settle()
		return
	}
	if s.connection(ctx, evt) {
		return
	}
	if evt.Type == socketmode.EventTypeErrorBadMessage {
		evt = undecoded(ctx, h.log, evt)
	}
	if evt.Request == nil {
		return
	}
	req := *evt.Request
	kind := socketKind(evt.Type)
	if kind == "" {
		return
	}
	h.socket.served()
	// The same bound as over HTTP: beyond it a command is answered with the
	// bot's own sentence at once, anything else is left unacknowledged,
	// which Slack takes as a failure (and redelivers an event). A process
	// that is stopping takes nothing more on.
	refusal, outcome := msgOverloaded, "overloaded"
	if draining {
		refusal, outcome = msgRestarting, "stopping"
	}
	if draining || !h.tryAdmit() {
		h.metrics.requests.WithLabelValues(kind, outcome).Inc()
		if evt.Type == socketmode.EventTypeSlashCommand {
			s.ack(ctx, evt, ephemeral("%s", refusal))
		}
		return
	}
	s.inFlight.Add(1)
	go func() {
		defer s.inFlight.Done()
		defer h.release()
		// Someone waits for this answer: the store serves it before
		// background jobs, as it does the HTTP routes. The work is bounded
		// by the acknowledgement deadline, not by the process stopping: a
		// request taken on is finished and answered.
		payload, ack := h.socketAnswer(incident.Foreground(context.WithoutCancel(ctx)), evt, req)
		if !ack {
			return
		}
		s.ack(ctx, evt, payload)
	}()
}

// undecoded recovers an Events API envelope slack-go could not decode into
// its own types (Slack sends some fields in shapes those types refuse,
// such as a profile's "fields" as [] when there are none). The transport
// needs only the raw payload, which it stores and acknowledges as it does
// over HTTP; otherwise the envelope would never be acknowledged, and Slack
// would redeliver it until it gave up. Anything else is returned as is.
func undecoded(ctx context.Context, log *slog.Logger, evt socketmode.Event) socketmode.Event {
	bad, ok := evt.Data.(*socketmode.ErrorBadMessage)
	if !ok {
		return evt
	}
	var req socketmode.Request
	if err := json.Unmarshal(bad.Message, &req); err != nil || req.EnvelopeID == "" || req.Type != socketmode.RequestTypeEventsAPI {
		log.WarnContext(ctx, "socket mode message not understood", "err", bad.Cause)
		return evt
	}
	return socketmode.Event{Type: socketmode.EventTypeEventsAPI, Request: &req}
}

// connection logs the state of the connection an event reports, and
// remembers it for SocketModeState; it reports whether the event was one.
func (s *socketServer) connection(ctx context.Context, evt socketmode.Event) bool {
	log, now := s.h.log, s.h.cfg.Clock.Now()
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		s.h.socket.connecting(now)
		return true
	case socketmode.EventTypeConnected:
		s.h.socket.connected()
		log.InfoContext(ctx, "socket mode connected")
		return true
	case socketmode.EventTypeConnectionError:
		// The cause (connection refused, DNS, TLS, a refused app token) is
		// logged on every attempt, before the retries blur it.
		attrs := []any{"type", string(evt.Type)}
		var cause error
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			cause = ce.ErrorObj
			attrs = append(attrs, "attempt", ce.Attempt, "retry_in", ce.Backoff, "err", ce.ErrorObj)
		}
		s.h.socket.failed(cause, now)
		log.ErrorContext(ctx, "socket mode connection problem", attrs...)
		return true
	case socketmode.EventTypeInvalidAuth:
		s.h.socket.failed(errors.New("the app-level token was refused"), now)
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
		reply := h.Command(actx, cmd)
		if reply.empty() {
			return nil, true
		}
		body := reply.encode()
		if len(body) > maxSocketAckPayload {
			go replyThroughURL(context.WithoutCancel(ctx), h.kit.slack, h.replies, h.log, cmd, reply)
			return nil, true
		}
		// Encoded once: measured here, sent as is.
		return json.RawMessage(bytes.TrimSpace(body)), true
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
			if incident.ErrorCode(err) == incident.EINVALID {
				// Delivered again it is as malformed: acknowledged and
				// dropped, as over HTTP it is refused with
				// X-Slack-No-Retry.
				h.log.WarnContext(ctx, "malformed event dropped", "envelope_id", req.EnvelopeID, "err", err)
				return nil, true
			}
			h.log.ErrorContext(ctx, "accept event", "err", err)
			// Not acknowledging makes Slack redeliver it later.
			return nil, false
		}
		return nil, true
	}
	return nil, false
}

// maxSocketAckPayload is the largest command reply sent in its
// acknowledgement: Slack silently drops a Socket Mode message of 20 KB or
// more (slack-go refuses to send one), and the envelope around the reply
// takes some of it.
const maxSocketAckPayload = 20*1024 - 512

// replyLaterTimeout bounds sending a reply after its acknowledgement.
const replyLaterTimeout = 10 * time.Second

// replyThroughURL sends a command's reply too large for its Socket Mode
// acknowledgement through the command's response_url, which takes a whole
// message; the acknowledgement goes empty. When that certainly fails
// (undelivered) the user is told in the text-only way Reply falls back
// through, so the answer is never lost without a word; when it may have been
// shown (a 5xx, a timeout), it is not said again.
func replyThroughURL(ctx context.Context, api *slack.Client, replies *Chat, log *slog.Logger, cmd slack.SlashCommand, reply Reply) {
	ctx, cancel := context.WithTimeout(ctx, replyLaterTimeout)
	defer cancel()
	kind := reply.ResponseType
	if kind == "" {
		kind = slack.ResponseTypeEphemeral
	}
	if cmd.ResponseURL != "" && api != nil {
		_, _, err := api.PostMessageContext(ctx, "", slack.MsgOptionText(reply.Text, false),
			slack.MsgOptionBlocks(reply.Blocks...), slack.MsgOptionResponseURL(cmd.ResponseURL, kind))
		if err == nil {
			return
		}
		if !undelivered(err) {
			// Slack may have shown it: said again, it would be there twice.
			log.WarnContext(ctx, "a long command reply may not have been shown through its response_url; not sent again", "err", redactURL(err), "user", cmd.UserID)
			return
		}
		log.WarnContext(ctx, "a long command reply could not be sent through its response_url", "err", redactURL(err), "user", cmd.UserID)
	}
	if replies == nil {
		return
	}
	to := incident.ReplyTarget{ChannelID: cmd.ChannelID, UserID: cmd.UserID}
	if err := replies.Reply(ctx, to, reply.Text); err != nil {
		log.WarnContext(ctx, "a long command reply was lost", "err", err, "user", cmd.UserID)
	}
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

// disconnect is told by the connection that Slack asked the client to
// reconnect, which slack-go does whatever the reason. Most reasons are
// routine; two need a person, and are said so plainly.
func (s *socketServer) disconnect(reason, host string) {
	h := s.h
	h.metrics.socketDisconnects.WithLabelValues(disconnectLabel(reason)).Inc()
	h.socket.disconnected(reason, h.cfg.Clock.Now())
	attrs := []any{"reason", reason, "slack_host", host}
	switch reason {
	case "link_disabled":
		h.log.Error("socket mode: Slack closed the connection because Socket Mode is disabled for this app in its Slack settings; "+
			"no command, button or event reaches the bot until it is turned on again (api.slack.com/apps, Socket Mode) or the bot is run with SLACK_MODE=http", attrs...)
	case "too_many_websockets":
		h.log.Error("socket mode: Slack closed the connection because the app has too many open: Slack allows an app 10 Socket Mode connections at once, "+
			"shared by every replica of this bot and by any other process using the same app-level token (a second deployment, a local run); "+
			"run fewer replicas or stop the other process", attrs...)
	case "refresh_requested", "warning":
		h.log.Info("socket mode: Slack is replacing the connection; reconnecting", attrs...)
	default:
		h.log.Warn("socket mode: Slack closed the connection; reconnecting", attrs...)
	}
}

// disconnectLabel bounds the reason label to Slack's documented reasons.
func disconnectLabel(reason string) string {
	switch reason {
	case "link_disabled", "too_many_websockets", "refresh_requested", "warning":
		return reason
	}
	return "other"
}

// socketHealth remembers whether the process holds a Socket Mode
// connection, and whether Slack keeps turning it away because Socket Mode is
// disabled for the app: slack-go reconnects, Slack lets it, then closes it
// again, so the process looks busy but nothing arrives.
type socketHealth struct {
	mu           sync.Mutex
	linkDisabled int       // link_disabled disconnects in a row
	since        time.Time // the first of them

	// up is set from a connection's opening until an attempt to open the
	// next one fails; everUp once the first has opened. A connection
	// Slack replaces (every few hours, and on request) is followed at
	// once by the next, and is not reported.
	up, everUp bool
	// attempting is the start of the first attempt to connect since the
	// last connection opened: when that connection was lost.
	attempting time.Time
	// down is when the process lost its connection (or started without
	// one); failures counts the attempts failed since, lastErr is the
	// last one's cause.
	down     time.Time
	failures int
	lastErr  string
}

// disconnected records a disconnect; another reason ends a run of
// link_disabled.
func (sh *socketHealth) disconnected(reason string, now time.Time) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if reason != "link_disabled" {
		sh.linkDisabled = 0
		return
	}
	if sh.linkDisabled == 0 {
		sh.since = now
	}
	sh.linkDisabled++
}

// connecting records an attempt to open a connection.
func (sh *socketHealth) connecting(now time.Time) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.attempting.IsZero() {
		sh.attempting = now
	}
}

// connected records a connection opened.
func (sh *socketHealth) connected() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.up, sh.everUp = true, true
	sh.attempting, sh.down, sh.failures, sh.lastErr = time.Time{}, time.Time{}, 0, ""
}

// failed records an attempt to connect that failed.
func (sh *socketHealth) failed(cause error, now time.Time) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.failures == 0 {
		sh.down = sh.attempting
		if sh.down.IsZero() {
			sh.down = now
		}
	}
	sh.up = false
	sh.failures++
	sh.lastErr = "unknown"
	if cause != nil {
		sh.lastErr = cause.Error()
	}
}

// served records that a request arrived, which proves Socket Mode is on.
func (sh *socketHealth) served() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.linkDisabled = 0
}

// SocketModeState reports, for a readiness check, whether this process
// holds a Socket Mode connection: it fails before the first one opens
// ("never connected"), and from a failed attempt to open the next one until
// one opens ("disconnected since ..."), with the number of attempts failed
// and the last one's cause. It also fails while Slack is turning the
// connection away because Socket Mode is disabled for the app in its Slack
// settings, from the first such disconnect until a request arrives or Slack
// disconnects for another reason: a restart does not fix it, someone must
// turn Socket Mode on. A connection Slack replaces, as it does every few
// hours, is not reported.
func (h *Handler) SocketModeState(context.Context) (string, error) {
	sh := &h.socket
	sh.mu.Lock()
	defer sh.mu.Unlock()
	switch {
	case sh.linkDisabled > 0:
		return "link_disabled", fmt.Errorf("link_disabled: Socket Mode is disabled for this app in its Slack settings (Slack closed the connection %d times since %s)",
			sh.linkDisabled, sh.since.UTC().Format(time.RFC3339))
	case sh.up:
		return "ok", nil
	case !sh.everUp && sh.failures == 0:
		return "connecting", errors.New("never connected: the first Socket Mode connection is being opened")
	case !sh.everUp:
		return "never connected", fmt.Errorf("never connected: %d attempts to open a Socket Mode connection failed since %s, the last with: %s",
			sh.failures, sh.down.UTC().Format(time.RFC3339), sh.lastErr)
	}
	return "disconnected", fmt.Errorf("disconnected since %s: %d attempts to open a Socket Mode connection failed, the last with: %s",
		sh.down.UTC().Format(time.RFC3339), sh.failures, sh.lastErr)
}

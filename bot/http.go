package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/httpjson"
	"github.com/firebreakhq/firebreak/incident"
)

// Routes mounts the Slack endpoints for HTTP mode on r:
//
//	POST /slack/commands      slash commands
//	POST /slack/interactions  buttons, modals
//	POST /slack/events        Events API
//
// Every request's signature is checked on the raw body before anything is
// parsed, and before it takes one of the places of the requests handled at
// once (admit): a client without the signing secret, sending bodies slowly,
// holds no place a real Slack request needs.
func (h *Handler) Routes(r chi.Router) {
	rejections := &rejectionLog{log: h.log, clock: h.cfg.Clock}
	r.Group(func(r chi.Router) {
		r.Use(func(next http.Handler) http.Handler { return h.verify(next, rejections) }, h.admit)
		r.Post("/slack/commands", h.serveCommand)
		r.Post("/slack/interactions", h.serveInteraction)
		r.Post("/slack/events", h.serveEvent)
	})
}

// verify rejects, with 401 and before any parsing or storage, a request whose
// signature is missing or wrong, whose timestamp is more than five minutes
// off, or whose exact signature was already accepted (a replay). Rejections
// are logged through rejections.
func (h *Handler) verify(next http.Handler, rejections *rejectionLog) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := bodies.Get().(*bytes.Buffer)
		defer putBody(buf)
		buf.Reset()
		// Slack sends a request's body at once; one still arriving after
		// bodyReadTimeout could not be answered within Slack's 3 seconds.
		rc := http.NewResponseController(w)
		deadline := rc.SetReadDeadline(time.Now().Add(bodyReadTimeout)) == nil
		_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
		if deadline && err == nil {
			// Kept after a failed read, so the server's discarding of the
			// rest of the body stops too.
			_ = rc.SetReadDeadline(time.Time{})
		}
		body := buf.Bytes()
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				h.metrics.requests.WithLabelValues(kindOf(r), "too_large").Inc()
				// The same event delivered again is as large.
				w.Header().Set("X-Slack-No-Retry", "1")
				http.Error(w, fmt.Sprintf("request body exceeds %d bytes", h.cfg.MaxBodyBytes), http.StatusRequestEntityTooLarge)
				return
			}
			h.metrics.requests.WithLabelValues(kindOf(r), "unreadable").Inc()
			http.Error(w, "could not read request body", http.StatusBadRequest)
			return
		}
		sv, err := slack.NewSecretsVerifier(r.Header, h.cfg.SigningSecret)
		if err == nil {
			_, _ = sv.Write(body)
			err = sv.Ensure()
		}
		if err != nil {
			h.metrics.requests.WithLabelValues(kindOf(r), "unauthorized").Inc()
			reason := "invalid signature"
			if errors.Is(err, slack.ErrExpiredTimestamp) {
				reason = "stale timestamp"
			}
			rejections.rejected(r, reason, errors.Is(err, slack.ErrInvalidSignature))
			http.Error(w, reason, http.StatusUnauthorized)
			return
		}
		rejections.verified()
		// Events are deduplicated on their event_id, which also absorbs a
		// replay; commands and interactions carry no id, so their exact
		// signature is remembered for the five minutes it stays valid: in
		// memory at once, in the database in the background.
		if r.URL.Path != "/slack/events" {
			if !h.replay.firstSeen(replayKey(r.Header)) {
				h.metrics.requests.WithLabelValues(kindOf(r), "replayed").Inc()
				rejections.rejected(r, "replayed", false)
				http.Error(w, "replayed request", http.StatusUnauthorized)
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		if r.URL.Path != "/slack/events" && r.URL.RawQuery == "" {
			// A command or an interaction is a form: parsed here, from the
			// bytes at hand, ParseForm finds it done rather than reading
			// the body again (a malformed one is left for it to report).
			if form, err := url.ParseQuery(string(body)); err == nil {
				r.PostForm, r.Form = form, form
			}
		}
		next.ServeHTTP(w, r)
	})
}

// rejectionLog logs the Slack requests refused by the signature check, in a
// bounded number of lines: anyone can send them, and each is counted
// (firebreak_slack_requests_total) whether it is logged or not. While no
// request has passed the check since the start, a request carrying Slack's
// signature headers whose signature does not match is most likely Slack
// signing with another secret than SLACK_SIGNING_SECRET, and that is said
// once, as an error naming the setting and where its value is.
type rejectionLog struct {
	log   *slog.Logger
	clock incident.Clock

	// passed is set once a request has passed the check; told once the
	// mismatch has been said.
	passed, told atomic.Bool

	mu       sync.Mutex
	lastLine time.Time // when a rejection was last logged
	unlogged int       // the rejections since, not logged
}

// rejectionLogEvery is the least time between two lines about rejected
// requests; those in between are counted in the next line.
const rejectionLogEvery = 10 * time.Second

// verified records a request that passed the signature check.
func (l *rejectionLog) verified() {
	if !l.passed.Load() {
		l.passed.Store(true)
	}
}

// rejected logs a refused request; mismatch says it carried Slack's headers
// and a fresh timestamp, and its signature did not match.
func (l *rejectionLog) rejected(r *http.Request, reason string, mismatch bool) {
	ctx := r.Context()
	if mismatch && !l.passed.Load() && l.told.CompareAndSwap(false, true) {
		l.log.ErrorContext(ctx, "rejected Slack request: its signature does not match SLACK_SIGNING_SECRET, and no request has passed the check since the bot started, "+
			"so SLACK_SIGNING_SECRET is most likely not this Slack app's: copy the Signing Secret from the app's Basic Information → App Credentials "+
			"(not its Client Secret or Verification Token) and restart the bot; until then every command, button and event from Slack is refused "+
			"(and Slack's check of the request URLs fails)", "route", r.URL.Path, "reason", reason)
		l.mu.Lock()
		l.lastLine = l.clock.Now()
		l.mu.Unlock()
		return
	}
	l.mu.Lock()
	now := l.clock.Now()
	if !l.lastLine.IsZero() && now.Sub(l.lastLine) < rejectionLogEvery {
		l.unlogged++
		l.mu.Unlock()
		return
	}
	unlogged := l.unlogged
	l.lastLine, l.unlogged = now, 0
	l.mu.Unlock()
	attrs := []any{"route", r.URL.Path, "reason", reason}
	if unlogged > 0 {
		attrs = append(attrs, "not_logged_since_the_last", unlogged)
	}
	l.log.WarnContext(ctx, "rejected Slack request", attrs...)
}

// bodyReadTimeout bounds the reading of a request's body.
const bodyReadTimeout = 2 * time.Second

// bodies holds the buffers requests are read into: a request's body lives
// only as long as its handler, which copies what it keeps.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer kept for the next request; the
// occasional large one is left to the garbage collector.
const maxPooledBody = 64 << 10

func putBody(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBody {
		bodies.Put(buf)
	}
}

func kindOf(r *http.Request) string {
	switch r.URL.Path {
	case "/slack/commands":
		return "command"
	case "/slack/interactions":
		return "interaction"
	default:
		return "event"
	}
}

func (h *Handler) serveCommand(w http.ResponseWriter, r *http.Request) {
	cmd, err := slack.SlashCommandParse(r)
	if err != nil {
		httpjson.Write(w, http.StatusOK, ephemeral("The command could not be read: it is not a valid form."))
		return
	}
	ctx, cancel := context.WithTimeoutCause(r.Context(), h.cfg.AckDeadline, errStoreSlow)
	defer cancel()
	reply := h.Command(ctx, cmd)
	if reply.empty() {
		// Nothing to say (a form opened): an empty body is Slack's plain
		// acknowledgement, where a message without text is no message.
		w.WriteHeader(http.StatusOK)
		return
	}
	body := reply.encode()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

func (h *Handler) serveInteraction(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "not a valid form", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(r.PostForm.Get("payload")), &cb); err != nil {
		http.Error(w, "the payload field is not valid JSON", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeoutCause(r.Context(), h.cfg.AckDeadline, errStoreSlow)
	defer cancel()
	if resp := h.Interaction(ctx, cb); resp != nil {
		httpjson.Write(w, http.StatusOK, resp)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) serveEvent(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body) // already read and bounded by verify
	challenge, _, err := h.Event(r.Context(), body)
	switch {
	case err != nil && incident.ErrorCode(err) == incident.EINVALID:
		// Slack retrying a malformed event cannot help.
		w.Header().Set("X-Slack-No-Retry", "1")
		http.Error(w, userMessage(err), http.StatusBadRequest)
	case err != nil:
		h.log.ErrorContext(r.Context(), "accept event", "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
	case challenge != "":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, challenge)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

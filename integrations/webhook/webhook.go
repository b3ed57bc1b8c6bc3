// Package webhook receives every provider's inbound webhooks the same way:
// read a bounded body, verify it with the provider's verifier before
// anything parses it, hand it to the provider's parser, count a redelivery
// the domain already recorded as a success, and answer every error with one
// JSON shape, {"error": "...", "field": "..."}.
package webhook

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/firebreakhq/firebreak/httpjson"
	"github.com/firebreakhq/firebreak/incident"
)

// DefaultMaxBody bounds a delivery when Handler.MaxBody is zero.
const DefaultMaxBody int64 = 1 << 20

// Error is an answer other than success: Status with the body
// {"error": Message, "field": Field}. Message and Field are shown to the
// sender; Cause is logged, never answered.
type Error struct {
	Status  int
	Message string
	Field   string
	Cause   error
}

// Error returns the message, with the cause when there is one.
func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// Errorf returns an *Error answering status with a formatted message.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// Failed returns a 500 *Error: the provider is told message and delivers
// again; cause is logged.
func Failed(message string, cause error) *Error {
	return &Error{Status: http.StatusInternalServerError, Message: message, Cause: cause}
}

// Body is the JSON shape of every error answer.
type Body struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// Verifier checks, on the headers and the raw body, that a delivery comes
// from the provider. A non-nil error refuses it with 401: an *Error's
// message is answered, any other error's text is logged and "invalid
// signature" answered.
type Verifier func(h http.Header, body []byte) error

// Handler receives one provider's webhook deliveries.
type Handler struct {
	// Provider names the sender in logs, as in the provider table
	// (incident.ProviderPagerDuty...).
	Provider string
	// MaxBody bounds the body; zero means DefaultMaxBody. A larger
	// delivery is answered 413.
	MaxBody int64
	// Verify authenticates each delivery before Handle sees it.
	Verify Verifier
	// Handle parses a verified delivery and acts on it. It returns the
	// body of the 200 answer (nil answers an empty 200), or an error: an
	// *Error is answered as it says, any other error is logged and
	// answered 500 so that the provider delivers again.
	Handle func(r *http.Request, body []byte) (any, error)
	// Log receives refusals and failures; nil discards them.
	Log *slog.Logger
	// Methods are the HTTP methods the provider delivers with; nil means
	// POST only.
	Methods []string
}

// methods returns the methods the handler accepts.
func (h *Handler) methods() []string {
	if len(h.Methods) == 0 {
		return []string{http.MethodPost}
	}
	return h.Methods
}

// AcceptedMethods reports the HTTP methods h takes deliveries with, for
// routing: POST unless h says otherwise.
func AcceptedMethods(h http.Handler) []string {
	if wh, ok := h.(*Handler); ok {
		return wh.methods()
	}
	return []string{http.MethodPost}
}

// ServeHTTP reads, verifies and handles one delivery, sent with one of
// h's methods (POST by default).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(slog.String("provider", h.Provider))
	if methods := h.methods(); !slices.Contains(methods, r.Method) {
		w.Header().Set("Allow", strings.Join(methods, ", "))
		Fail(w, Errorf(http.StatusMethodNotAllowed, "use %s", strings.Join(methods, " or ")))
		return
	}
	limit := h.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			Fail(w, Errorf(http.StatusRequestEntityTooLarge, "body is larger than %d bytes", limit))
			return
		}
		Fail(w, Errorf(http.StatusBadRequest, "could not read the body"))
		return
	}
	if err := h.Verify(r.Header, body); err != nil {
		log.WarnContext(r.Context(), "webhook refused", slog.String("remote", r.RemoteAddr), slog.Any("reason", err))
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Message: "invalid signature"}
		}
		Fail(w, &Error{Status: http.StatusUnauthorized, Message: e.Message})
		return
	}
	out, err := h.Handle(r, body)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = Failed("could not handle the delivery", err)
		}
		switch {
		case e.Status >= 500:
			log.ErrorContext(r.Context(), "webhook not handled; the provider will deliver again", slog.Any("error", err))
		case e.Status == http.StatusBadRequest:
			log.WarnContext(r.Context(), "webhook malformed", slog.Any("error", err))
		}
		Fail(w, e)
		return
	}
	if out == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	httpjson.Write(w, http.StatusOK, out)
}

// Fail answers e in the one error shape.
func Fail(w http.ResponseWriter, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	httpjson.Write(w, status, Body{Error: e.Message, Field: e.Field})
}

// Dedupe sorts what the domain answered to a delivery: a conflict means the
// change or event was recorded before (providers deliver again after a
// timeout), so it is a success marked duplicate; anything else stays an
// error.
func Dedupe(err error) (duplicate bool, _ error) {
	if incident.ErrorCode(err) == incident.ECONFLICT {
		return true, nil
	}
	return false, err
}

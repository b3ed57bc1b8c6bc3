package unleash

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/firebreakhq/firebreak/incident"
)

// MaxWebhookBytes bounds a webhook body.
const MaxWebhookBytes = 1 << 20

// WebhookOption configures NewWebhookHandler.
type WebhookOption func(*webhookConfig)

type webhookConfig struct {
	uiBase string
}

// WithUIURL roots the links of delivered changes at the Unleash UI, such as
// https://unleash.example.com; without it the changes carry no link.
func WithUIURL(base string) WebhookOption {
	return func(c *webhookConfig) { c.uiBase = base }
}

// NewWebhookHandler returns the handler for POST /webhooks/unleash. Unleash
// webhooks carry no signature, so the integration's Authorization header
// must equal secret exactly (compared in constant time; 401 otherwise; an
// empty secret rejects everything). The body is an Unleash event; flag
// changes (see ChangeTypes) become a ChangeEvent for sink, other events are
// acknowledged and ignored. The event's Service is empty: the domain
// matches the flag (Ref, Environment, Data["project"]) to services. A sink
// ECONFLICT (a redelivery) answers 200; any other sink error answers 500 so
// Unleash retries once.
func NewWebhookHandler(secret string, sink func(ctx context.Context, c incident.ChangeEvent) error, log *slog.Logger, opts ...WebhookOption) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var cfg webhookConfig
	for _, o := range opts {
		o(&cfg)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "use POST"})
			return
		}
		if !validSecret(secret, r.Header.Get("Authorization")) {
			log.Warn("unleash webhook rejected: wrong or missing Authorization", slog.String("remote", r.RemoteAddr))
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid authorization"})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": "body too large"})
				return
			}
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "could not read body"})
			return
		}
		var e event
		if err := json.Unmarshal(body, &e); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body is not an Unleash event"})
			return
		}
		ch, ok := e.change(cfg.uiBase)
		if !ok {
			writeJSON(w, http.StatusOK, map[string]any{"ignored": true})
			return
		}
		switch err := sink(r.Context(), ch); {
		case err == nil:
			writeJSON(w, http.StatusOK, map[string]any{"duplicate": false})
		case incident.ErrorCode(err) == incident.ECONFLICT:
			writeJSON(w, http.StatusOK, map[string]any{"duplicate": true})
		default:
			log.Error("unleash webhook: storing change failed",
				slog.String("change", ch.ExternalID), slog.String("flag", ch.Ref), slog.Any("error", err))
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "could not record the change"})
		}
	})
}

// validSecret compares digests so that neither content nor length leaks
// through timing; an empty secret never matches.
func validSecret(secret, got string) bool {
	if secret == "" || got == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

package launchdarkly

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
)

// SignatureHeader carries the hex HMAC-SHA256 of a webhook's raw body.
const SignatureHeader = "X-LD-Signature"

// MaxWebhookBytes bounds a webhook body; audit entries with full flag
// versions run to tens of kilobytes, rarely more.
const MaxWebhookBytes = 1 << 20

// Sign returns the X-LD-Signature value of body under secret.
func Sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// NewWebhookHandler returns the handler for POST /webhooks/launchdarkly.
// It verifies X-LD-Signature over the raw body before reading it (401
// otherwise; an empty secret rejects everything), turns a flag entry into a
// ChangeEvent and hands it to sink. Other kinds of entry are acknowledged
// and ignored. The event's Service is empty: the domain matches the flag
// (Ref, Environment, Data["project"]) to services. A sink ECONFLICT (a
// redelivery) answers 200; any other sink error answers 500 so LaunchDarkly
// retries once. Links in the change point at DefaultAPIURL's site unless
// WithSiteURL names the account's instance.
func NewWebhookHandler(secret string, sink func(ctx context.Context, c incident.ChangeEvent) error, log *slog.Logger, opts ...WebhookOption) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := webhookOptions{site: DefaultAPIURL}
	for _, opt := range opts {
		opt(&o)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "use POST"})
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
		if !validSignature(body, secret, r.Header.Get(SignatureHeader)) {
			log.Warn("launchdarkly webhook rejected: bad or missing signature", slog.String("remote", r.RemoteAddr))
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid signature"})
			return
		}
		var e auditEntry
		if err := json.Unmarshal(body, &e); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body is not an audit log entry"})
			return
		}
		// Deliveries may arrive out of order; each carries its own date, so
		// order does not matter here.
		ch, ok := e.change(o.site, incident.FlagRef{})
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
			log.Error("launchdarkly webhook: storing change failed",
				slog.String("change", ch.ExternalID), slog.String("flag", ch.Ref), slog.Any("error", err))
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "could not record the change"})
		}
	})
}

// WebhookOption configures NewWebhookHandler.
type WebhookOption func(*webhookOptions)

type webhookOptions struct{ site string }

// WithSiteURL resolves the entries' relative UI links against the
// account's instance, such as https://app.eu.launchdarkly.com or
// https://app.launchdarkly.us: the API and the UI share one host. Empty
// keeps DefaultAPIURL.
func WithSiteURL(u string) WebhookOption {
	return func(o *webhookOptions) {
		if u != "" {
			o.site = strings.TrimRight(u, "/")
		}
	}
}

// validSignature compares in constant time; an empty secret or signature
// never matches.
func validSignature(body []byte, secret, got string) bool {
	got = strings.TrimSpace(got)
	if secret == "" || got == "" {
		return false
	}
	want := Sign(body, secret)
	return hmac.Equal([]byte(want), []byte(strings.ToLower(got)))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

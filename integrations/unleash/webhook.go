package unleash

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/webhook"
)

// MaxWebhookBytes bounds a webhook body.
const MaxWebhookBytes = 1 << 20

// WebhookOption configures NewWebhookHandler.
type WebhookOption func(*webhookConfig)

type webhookConfig struct {
	uiBase  string
	ignored *webhook.Ignored
}

// WithIgnored counts the events of types the handler drops in ig, shared
// with the other providers' handlers; without it the handler keeps its
// own, unregistered.
func WithIgnored(ig *webhook.Ignored) WebhookOption {
	return func(c *webhookConfig) { c.ignored = ig }
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
// changes (see ChangeTypes) become a ChangeEvent for sink. Events of other
// types (project-created, a tag, a favourite...) are acknowledged and
// dropped: each is counted by the handler's Ignored (WithIgnored) and the
// first of its type logged at info. A flag change without the id,
// createdAt or featureName every event carries is answered 400 saying what
// it lacks, logged at warn and counted as "incomplete:<type>"; a NUL,
// which no store keeps, is dropped from who made the change and refused
// (400) in the names the change is matched by. The event's Service is empty: the domain
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
	if cfg.ignored == nil {
		cfg.ignored = webhook.NewIgnored(nil)
	}
	return &webhook.Handler{
		Provider: Source,
		MaxBody:  MaxWebhookBytes,
		Log:      log,
		Verify: func(h http.Header, _ []byte) error {
			if !validSecret(secret, h.Get("Authorization")) {
				return webhook.Errorf(http.StatusUnauthorized, "invalid authorization")
			}
			return nil
		},
		Handle: func(r *http.Request, body []byte) (any, error) {
			var e event
			if err := json.Unmarshal(body, &e); err != nil {
				return nil, webhook.Errorf(http.StatusBadRequest, "body is not an Unleash event")
			}
			if _, known := changeTypes[e.Type]; !known {
				cfg.ignored.Event(r.Context(), log, Source, e.Type)
				return map[string]any{"ignored": true}, nil
			}
			if missing := e.missing(); len(missing) > 0 {
				// A flag change the bot cannot record: said, counted and
				// answered 400 (logged at warn by webhook.Handler).
				// Unleash retries a failed delivery once, not for ever.
				cfg.ignored.Event(r.Context(), nil, Source, "incomplete:"+e.Type)
				return nil, webhook.Errorf(http.StatusBadRequest, "the %s event lacks %s", e.Type, strings.Join(missing, ", "))
			}
			if err := e.scrubNUL(); err != nil {
				return nil, err
			}
			ch, _ := e.change(cfg.uiBase)
			dup, err := webhook.Dedupe(sink(r.Context(), ch))
			if err != nil {
				return nil, webhook.Failed("could not record the change", fmt.Errorf("change %s of flag %s: %w", ch.ExternalID, ch.Ref, err))
			}
			return map[string]any{"duplicate": dup}, nil
		},
	}
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

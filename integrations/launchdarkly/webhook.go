package launchdarkly

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/webhook"
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
// ChangeEvent and hands it to sink. Entries of other kinds (a segment, a
// project, a member...) are acknowledged and dropped: each is counted by
// the handler's Ignored (WithIgnored) and the first of its kind logged at
// info. A flag entry that only describes the flag is dropped too, on
// purpose, and not counted. A flag entry without its _id, its date or the
// flag it is about is answered 400 saying what it lacks, logged at warn and
// counted as "incomplete:flag". A NUL, which no store keeps, is dropped from
// the change's words and refused (400) in the names it is matched by. The event's Service is empty: the domain matches the flag
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
	if o.ignored == nil {
		o.ignored = webhook.NewIgnored(nil)
	}
	return &webhook.Handler{
		Provider: Source,
		MaxBody:  MaxWebhookBytes,
		Log:      log,
		Verify: func(h http.Header, body []byte) error {
			if !validSignature(body, secret, h.Get(SignatureHeader)) {
				return webhook.Errorf(http.StatusUnauthorized, "invalid signature")
			}
			return nil
		},
		Handle: func(r *http.Request, body []byte) (any, error) {
			var e auditEntry
			if err := json.Unmarshal(body, &e); err != nil {
				return nil, webhook.Errorf(http.StatusBadRequest, "body is not an audit log entry")
			}
			// Deliveries may arrive out of order; each carries its own
			// date, so order does not matter here.
			ch, ok := e.change(o.site, incident.FlagRef{})
			if !ok {
				if e.Kind != "flag" {
					o.ignored.Event(r.Context(), log, Source, e.Kind)
					return map[string]any{"ignored": true}, nil
				}
				if missing := e.missing(); len(missing) > 0 {
					// A flag change the bot cannot record: said, counted
					// and answered 400 (logged at warn by
					// webhook.Handler). LaunchDarkly retries a non-2xx
					// once, not for ever.
					o.ignored.Event(r.Context(), nil, Source, "incomplete:flag")
					return nil, webhook.Errorf(http.StatusBadRequest, "the flag entry lacks %s", strings.Join(missing, ", "))
				}
				return map[string]any{"ignored": true}, nil
			}
			if err := scrubNUL(&ch); err != nil {
				return nil, err
			}
			dup, err := webhook.Dedupe(sink(r.Context(), ch))
			if err != nil {
				return nil, webhook.Failed("could not record the change", fmt.Errorf("change %s of flag %s: %w", ch.ExternalID, ch.Ref, err))
			}
			return map[string]any{"duplicate": dup}, nil
		},
	}
}

// WebhookOption configures NewWebhookHandler.
type WebhookOption func(*webhookOptions)

type webhookOptions struct {
	site    string
	ignored *webhook.Ignored
}

// WithIgnored counts the entries of kinds the handler drops in ig, shared
// with the other providers' handlers; without it the handler keeps its
// own, unregistered.
func WithIgnored(ig *webhook.Ignored) WebhookOption {
	return func(o *webhookOptions) { o.ignored = ig }
}

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

// scrubNUL drops NUL characters, which PostgreSQL cannot store, from ch's
// words (who, what, the comment), and refuses one in the names the change
// is known and matched by (400): LaunchDarkly keys hold none, so such an
// entry is not one to record under a name it does not have.
func scrubNUL(ch *incident.ChangeEvent) error {
	for _, f := range []struct{ name, value string }{
		{"_id", ch.ExternalID}, {"the flag key", ch.Ref}, {"the environment", ch.Environment}, {"the project", ch.Data["project"]},
	} {
		if strings.ContainsRune(f.value, 0) {
			return webhook.Errorf(http.StatusBadRequest, "%s holds a NUL character", f.name)
		}
	}
	strip := func(s string) string { return strings.ReplaceAll(s, "\x00", "") }
	ch.Summary, ch.Actor, ch.URL = strip(ch.Summary), strip(ch.Actor), strip(ch.URL)
	for k, v := range ch.Data {
		ch.Data[k] = strip(v)
	}
	return nil
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

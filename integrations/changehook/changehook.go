// Package changehook receives the generic, HMAC-signed change webhook:
// POST /webhooks/changes, for changes no built-in integration reports
// (config pushes, database migrations, infrastructure applies). The
// format and a worked curl example are in docs/change-webhook.md.
//
// A request carries X-Firebreak-Timestamp (Unix seconds) and
// X-Firebreak-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw
// body>">, keyed with the shared secret. Signing the timestamp and
// refusing ones more than five minutes off stops a captured request from
// being replayed later; the id makes a replay inside the window harmless.
package changehook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/firebreakhq/firebreak/httpjson"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/webhook"
)

// Headers of a delivery.
const (
	SignatureHeader = "X-Firebreak-Signature"
	TimestampHeader = "X-Firebreak-Timestamp"
)

// Source is the ChangeEvent.Source of every change received here. The
// sender's own source goes into Data["source"] and prefixes the
// ExternalID, so a webhook change can never pass for a change a built-in
// integration knows how to roll back.
const Source = incident.ProviderChangeWebhook

// Defaults of NewHandler.
const (
	// DefaultMaxBodyBytes bounds a delivery; a change is a few hundred bytes.
	DefaultMaxBodyBytes = 64 << 10
	// Tolerance is how far a delivery's timestamp may be from the bot's
	// clock, either way; it also bounds how far in the future occurred_at
	// may be.
	Tolerance = 5 * time.Minute
)

// Field limits, in characters.
const (
	maxID          = 200
	maxSummary     = 300
	maxShort       = 100 // service, environment
	maxActorRef    = 200
	maxURL         = 2000
	maxDataEntries = 50
	maxDataKey     = 100
	maxDataValue   = 2000
)

// sourcePattern keeps sources short and safe to show and to use in ids.
var sourcePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,49}$`)

// Payload is the JSON body of a delivery.
type Payload struct {
	// ID identifies the change at the sender; with Source it is unique, and
	// a repeated delivery is acknowledged as a duplicate. Required.
	ID string `json:"id"`
	// Source names the sending system, such as "terraform"; empty means
	// "webhook".
	Source string `json:"source,omitempty"`
	// Kind is deploy, flag, config, migration, infrastructure or other
	// (the default).
	Kind        string `json:"kind,omitempty"`
	Service     string `json:"service,omitempty"`
	Summary     string `json:"summary"`
	Actor       string `json:"actor,omitempty"`
	URL         string `json:"url,omitempty"`
	Environment string `json:"environment,omitempty"`
	Ref         string `json:"ref,omitempty"`
	// OccurredAt is RFC 3339; empty means when the bot received it.
	OccurredAt string            `json:"occurred_at,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
}

// kinds maps the payload's kinds to change kinds; migration and
// infrastructure are kept in Data["kind"].
var kinds = map[string]incident.ChangeKind{
	"deploy":         incident.ChangeDeploy,
	"flag":           incident.ChangeFlag,
	"config":         incident.ChangeConfig,
	"migration":      incident.ChangeConfig,
	"infrastructure": incident.ChangeOther,
	"other":          incident.ChangeOther,
}

// FieldError is a validation error that names the field at fault.
type FieldError struct {
	Field   string
	Message string
}

// Error implements the error interface.
func (e *FieldError) Error() string { return e.Message }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Change validates p and returns the ChangeEvent it describes; now dates a
// payload without occurred_at and bounds one in the future. The error is a
// *FieldError.
func (p Payload) Change(now time.Time) (incident.ChangeEvent, error) {
	id := strings.TrimSpace(p.ID)
	summary := strings.TrimSpace(p.Summary)
	source := strings.TrimSpace(p.Source)
	kind := strings.TrimSpace(p.Kind)
	if kind == "" {
		kind = "other"
	}
	if err := checkIdentity(id, summary, source); err != nil {
		return incident.ChangeEvent{}, err
	}
	ck, ok := kinds[kind]
	if !ok {
		return incident.ChangeEvent{}, fieldErr("kind", "kind %q is not one of deploy, flag, config, migration, infrastructure, other", kind)
	}
	if err := p.checkDetails(); err != nil {
		return incident.ChangeEvent{}, err
	}
	at, err := p.occurredAt(now)
	if err != nil {
		return incident.ChangeEvent{}, err
	}
	data, err := p.data()
	if err != nil {
		return incident.ChangeEvent{}, err
	}
	externalID := id
	if source != "" {
		data["source"] = source
		externalID = source + ":" + id
	}
	if kind == "migration" || kind == "infrastructure" {
		data["kind"] = kind
	}
	return incident.ChangeEvent{
		Source:      Source,
		ExternalID:  externalID,
		Kind:        ck,
		Service:     strings.TrimSpace(p.Service),
		Summary:     summary,
		Actor:       strings.TrimSpace(p.Actor),
		URL:         p.URL,
		Environment: strings.TrimSpace(p.Environment),
		Ref:         strings.TrimSpace(p.Ref),
		OccurredAt:  at.UTC(),
		Data:        data,
	}, nil
}

// checkIdentity checks the trimmed id, summary and source: what names the
// change and says what it was.
func checkIdentity(id, summary, source string) error {
	switch {
	case id == "":
		return fieldErr("id", "id is required: a unique id for the change at the sender, such as a run or commit id")
	case tooLong(id, maxID) || hasControl(id):
		return fieldErr("id", "id must be at most %d characters, without control characters or text-direction overrides", maxID)
	case summary == "":
		return fieldErr("summary", "summary is required: one line saying what changed")
	case tooLong(summary, maxSummary):
		return fieldErr("summary", "summary must be at most %d characters", maxSummary)
	case incident.CheckText("summary", summary, false) != nil:
		// One line, as documented: a line break, a terminal escape or
		// a direction override would show other than it reads.
		return fieldErr("summary", "summary must be one line: %s", incident.ErrorMessage(incident.CheckText("summary", summary, false)))
	case source != "" && !sourcePattern.MatchString(source):
		return fieldErr("source", "source must be 1-50 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	return nil
}

// checkDetails checks the optional short fields and the URL.
func (p Payload) checkDetails() error {
	for _, f := range []struct {
		name, value string
		max         int
	}{
		{"service", p.Service, maxShort},
		{"environment", p.Environment, maxShort},
		{"actor", p.Actor, maxActorRef},
		{"ref", p.Ref, maxActorRef},
	} {
		if tooLong(f.value, f.max) || hasControl(f.value) {
			return fieldErr(f.name, "%s must be at most %d characters, without control characters or text-direction overrides", f.name, f.max)
		}
	}
	if p.URL != "" {
		u, err := url.Parse(p.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(p.URL) > maxURL {
			return fieldErr("url", "url must be an absolute http or https URL of at most %d characters", maxURL)
		}
	}
	return nil
}

// occurredAt is when the change happened: occurred_at, or now when the
// payload leaves it out. It may not lie beyond now by more than Tolerance.
func (p Payload) occurredAt(now time.Time) (time.Time, error) {
	if p.OccurredAt == "" {
		return now, nil
	}
	t, err := time.Parse(time.RFC3339, p.OccurredAt)
	if err != nil {
		return time.Time{}, fieldErr("occurred_at", "occurred_at must be an RFC 3339 time, such as 2026-03-01T12:00:00Z")
	}
	if t.After(now.Add(Tolerance)) {
		return time.Time{}, fieldErr("occurred_at", "occurred_at is in the future")
	}
	return t, nil
}

// data copies the payload's data after checking its size, with room for
// the entries Change adds.
func (p Payload) data() (map[string]string, error) {
	if len(p.Data) > maxDataEntries {
		return nil, fieldErr("data", "data may hold at most %d entries", maxDataEntries)
	}
	data := make(map[string]string, len(p.Data)+2)
	for k, v := range p.Data {
		switch {
		case hasNUL(k):
			return nil, fieldErr("data", "data keys must not contain NUL characters")
		case k == "" || tooLong(k, maxDataKey) || tooLong(v, maxDataValue):
			return nil, fieldErr("data."+k, "data keys must be 1-%d characters and values at most %d", maxDataKey, maxDataValue)
		case hasNUL(v):
			return nil, fieldErr("data."+k, "data values must not contain NUL characters")
		}
		data[k] = v
	}
	return data, nil
}

func tooLong(s string, n int) bool { return utf8.RuneCountInString(s) > n }

// hasControl reports a control character, or one of Unicode's direction
// embeddings, overrides and isolates, which make the rest of a one-line
// field read other than it is stored.
func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
	}) >= 0
}

// hasNUL reports a NUL character, which the store cannot keep (PostgreSQL
// refuses it in text and in jsonb): refused up front, it is a 400 the
// sender can fix rather than a 500 it retries for ever.
func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// Sign returns the X-Firebreak-Signature value for body sent at
// timestamp (Unix seconds): "sha256=" and the hex HMAC-SHA256 of
// "<timestamp>.<body>" keyed with secret.
func Sign(secret string, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Option configures NewHandler.
type Option func(*handler)

// WithClock sets the clock that checks timestamps and dates changes without
// occurred_at; the default is incident.SystemClock.
func WithClock(c incident.Clock) Option {
	return func(h *handler) { h.clock = c }
}

// WithMaxBodyBytes changes DefaultMaxBodyBytes.
func WithMaxBodyBytes(n int64) Option {
	return func(h *handler) { h.maxBody = n }
}

// WithServices names the policy's service keys: a change's service must
// be one of them (400 naming "service" and the keys otherwise), since a
// change stored under another key is shown with no incident. Without it
// the service is taken as sent.
func WithServices(keys []string) Option {
	return func(h *handler) {
		h.services = slices.Clone(keys)
		slices.Sort(h.services)
	}
}

type handler struct {
	services []string
	secret   string
	sink     func(context.Context, incident.ChangeEvent) error
	log      *slog.Logger
	clock    incident.Clock
	maxBody  int64
}

// NewHandler returns the handler for POST /webhooks/changes. It answers:
// 200 {"id","duplicate":false} when the change was recorded; 200
// {"id","duplicate":true} when sink reports ECONFLICT (the id was seen);
// 400 {"error","field"} for a body that is not valid JSON or fails
// validation; 401 for a missing, stale or wrong signature (and always when
// secret is empty); 405 for another method; 413 for a body over the limit;
// 500 when sink fails otherwise.
func NewHandler(secret string, sink func(ctx context.Context, c incident.ChangeEvent) error, log *slog.Logger, opts ...Option) http.Handler {
	h := &handler{secret: secret, sink: sink, log: log, clock: incident.SystemClock, maxBody: DefaultMaxBodyBytes}
	for _, o := range opts {
		o(h)
	}
	return &webhook.Handler{
		Provider: Source,
		MaxBody:  h.maxBody,
		Log:      h.log,
		Verify: func(hdr http.Header, body []byte) error {
			if reason := h.verify(hdr, body, h.clock.Now()); reason != "" {
				return webhook.Errorf(http.StatusUnauthorized, "%s", reason)
			}
			return nil
		},
		Handle: h.handle,
	}
}

// handle decodes, validates and records one verified delivery.
func (h *handler) handle(r *http.Request, body []byte) (any, error) {
	p, ferr := decode(body)
	if ferr != nil {
		return nil, &webhook.Error{Status: http.StatusBadRequest, Message: ferr.Message, Field: ferr.Field}
	}
	ch, err := p.Change(h.clock.Now())
	if err != nil {
		var fe *FieldError
		errors.As(err, &fe)
		return nil, &webhook.Error{Status: http.StatusBadRequest, Message: fe.Message, Field: fe.Field}
	}
	if err := h.checkService(ch.Service); err != nil {
		return nil, &webhook.Error{Status: http.StatusBadRequest, Message: err.Message, Field: err.Field}
	}
	dup, err := webhook.Dedupe(h.sink(r.Context(), ch))
	switch {
	case err == nil:
		return okBody{ID: p.ID, Duplicate: dup}, nil
	case incident.ErrorCode(err) == incident.EINVALID:
		return nil, webhook.Errorf(http.StatusBadRequest, "%s", incident.ErrorMessage(err))
	}
	return nil, webhook.Failed("could not record the change; retry later", fmt.Errorf("change %s: %w", ch.ExternalID, err))
}

// checkService refuses a service that is not one of the policy's keys,
// when WithServices named them; no service is a change of no service.
func (h *handler) checkService(service string) *FieldError {
	if service == "" || h.services == nil || slices.Contains(h.services, service) {
		return nil
	}
	if len(h.services) == 0 {
		return fieldErr("service", "service %q is not a service of the policy file, which names none; leave service out", service)
	}
	return fieldErr("service", "service %q is not a service key of the policy file; use one of: %s (keys are case-sensitive)", service, strings.Join(h.services, ", "))
}

// verify returns why the delivery is not authentic, or "" when it is. The
// reasons are safe to return: they reveal nothing about the secret.
func (h *handler) verify(hdr http.Header, body []byte, now time.Time) string {
	if h.secret == "" {
		return "the change webhook has no secret configured"
	}
	tsText := strings.TrimSpace(hdr.Get(TimestampHeader))
	sig := strings.TrimSpace(hdr.Get(SignatureHeader))
	if tsText == "" || sig == "" {
		return "missing " + TimestampHeader + " or " + SignatureHeader
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return TimestampHeader + " must be Unix seconds"
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Tolerance || d < -Tolerance {
		return TimestampHeader + " is more than 5 minutes from the bot's clock"
	}
	if !hmac.Equal([]byte(Sign(h.secret, ts, body)), []byte(strings.ToLower(sig))) {
		return "invalid signature"
	}
	return ""
}

// decode reads exactly one JSON object, refusing unknown fields so a typo
// such as "occured_at" is reported instead of silently dropped.
func decode(body []byte) (Payload, *FieldError) {
	var p Payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field == "data" && typeErr.Type.Kind() == reflect.String:
			// encoding/json names the map, not the key, for a bad value.
			return p, fieldErr("data", "data values must be strings")
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return p, fieldErr(typeErr.Field, "%s must be a %s", typeErr.Field, jsonType(typeErr))
		case errors.As(err, &typeErr):
			return p, fieldErr("", "the body must be a JSON object")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return p, fieldErr(name, "unknown field %q", name)
		}
		return p, fieldErr("", "the body is not valid JSON")
	}
	// Nothing but white space may follow the object: dec.More does not
	// see a stray "}" or "]".
	if rest := bytes.TrimSpace(body[dec.InputOffset():]); len(rest) > 0 {
		return p, fieldErr("", "the body must hold a single JSON object, with nothing after it")
	}
	// Keys are matched to fields as encoding/json matches them, without
	// regard to case: "service" and "Service" fill the same field.
	if key, ok := httpjson.DuplicateField(body, &p); ok {
		return p, fieldErr(key, "field %q is sent twice; send each field once", key)
	}
	return p, nil
}

// jsonType names the JSON type a field needs.
func jsonType(e *json.UnmarshalTypeError) string {
	switch e.Type.Kind() {
	case reflect.Map, reflect.Struct:
		return "JSON object of strings"
	}
	return "string"
}

type okBody struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

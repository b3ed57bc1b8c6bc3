// Package alerting receives alert notifications from Prometheus
// Alertmanager (webhook payload version 4) and Grafana Alerting (its
// webhook contact point, which extends the Alertmanager payload), verifies
// them, and hands each alert to the domain as an incident.AlertEvent.
package alerting

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/webhook"
)

// MaxBody bounds a delivery: 32 MiB, some 30,000 alerts of a storm with
// the usual labels and annotations (Alertmanager's webhook sends a group's
// every alert unless the receiver sets max_alerts). A larger delivery is
// answered 413, which Alertmanager does not retry: its alerts reach the
// bot only in a later, smaller delivery of their group.
const MaxBody = 32 << 20

// Grafana's HMAC headers, as the contact point's HMAC signature settings
// name them: the signature (Grafana's default header), and the timestamp
// header, which has no default in Grafana; this is the name its
// provisioning documentation uses. With a timestamp header set, Grafana
// puts the Unix time in it and signs "timestamp:body"; without one it signs
// the body alone, which anyone who saw a delivery could send again.
const (
	GrafanaSignatureHeader = "X-Grafana-Alerting-Signature"
	GrafanaTimestampHeader = "X-Grafana-Alerting-Signature-Timestamp"
)

// grafanaUnsetSignatureHeader is where Grafana puts the signature when the
// contact point's HMAC Header is left empty: its code's default
// (grafana/alerting http/hmac.go), which differs from the name its
// documentation and form show. A bot left at GrafanaSignatureHeader reads
// it too.
const grafanaUnsetSignatureHeader = "X-Grafana-Alert-Signature"

// maxSkew bounds the age of a timestamped Grafana signature.
const maxSkew = 5 * time.Minute

// deliverySource names the signatures taken in the delivery records.
const deliverySource = "grafana-signature"

// forgetBudget bounds giving back a delivery that could not be handled, so
// the sender hears 5xx promptly even when the database hangs.
const forgetBudget = time.Second

// Deliveries records the signatures accepted, so each signed delivery is
// taken once, across replicas; the database store implements it.
type Deliveries interface {
	RecordDelivery(ctx context.Context, d incident.Delivery) (first bool, err error)
	// ForgetDelivery removes a delivery's record, so that the same
	// delivery is taken again, by any replica: one that could not be
	// handled, which the sender retries.
	ForgetDelivery(ctx context.Context, source, id string) error
}

// Auth says how a delivery proves where it comes from: a bearer token in
// Authorization (Alertmanager's http_config.authorization, Grafana's
// Authorization header credentials), or an HMAC-SHA256 signature of the
// timestamp and the body (Grafana's HMAC signature setting, with its
// Timestamp Header set). Several values of each allow a rotation. A
// delivery passes when any configured method passes.
type Auth struct {
	Tokens      []string
	HMACSecrets []string
	// SignatureHeader and TimestampHeader are the headers set on the
	// contact point (GrafanaSignatureHeader and GrafanaTimestampHeader
	// when empty). A signature needs a timestamp at most 5 minutes off.
	SignatureHeader string
	TimestampHeader string
	// Deliveries remembers the signatures taken, so a signed delivery
	// sent again within the 5 minutes is refused; nil remembers them in
	// this process only.
	Deliveries Deliveries
	// Now tells the time for timestamped signatures (time.Now when nil).
	Now func() time.Time
}

func (a Auth) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a Auth) signatureHeader() string {
	if h := strings.TrimSpace(a.SignatureHeader); h != "" {
		return h
	}
	return GrafanaSignatureHeader
}

// signature reads the signature header; at the default header name, also
// the one Grafana uses when its Header setting is left empty.
func (a Auth) signature(h http.Header) string {
	name := a.signatureHeader()
	sig := strings.TrimSpace(h.Get(name))
	if sig == "" && strings.EqualFold(name, GrafanaSignatureHeader) {
		sig = strings.TrimSpace(h.Get(grafanaUnsetSignatureHeader))
	}
	return sig
}

func (a Auth) timestampHeader() string {
	if h := strings.TrimSpace(a.TimestampHeader); h != "" {
		return h
	}
	return GrafanaTimestampHeader
}

func (a Auth) configured() bool { return len(nonEmpty(a.Tokens))+len(nonEmpty(a.HMACSecrets)) > 0 }

func nonEmpty(in []string) []string {
	var out []string
	for _, v := range in {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// errUnauthorized refuses a delivery no configured method accepts.
var errUnauthorized = webhook.Errorf(http.StatusUnauthorized, "unauthorized")

// verify checks the request against every configured method. It returns
// the signature when the delivery passed by its HMAC signature (the key
// under which it is taken once), and "" when it passed by a token.
func (a Auth) verify(h http.Header, body []byte) (signature string, err error) {
	// The scheme's name is case-insensitive (RFC 9110, 11.1): Alertmanager
	// sends authorization.type as written in its configuration.
	if scheme, tok, ok := strings.Cut(h.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		for _, want := range nonEmpty(a.Tokens) {
			if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(want)) == 1 {
				return "", nil
			}
		}
	}
	secrets := nonEmpty(a.HMACSecrets)
	sig := strings.ToLower(strings.TrimPrefix(a.signature(h), "sha256="))
	if sig == "" || len(secrets) == 0 {
		return "", errUnauthorized
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return "", errUnauthorized
	}
	// Without a timestamp the same delivery could be sent again at any
	// time, so a signature must have one.
	ts := strings.TrimSpace(h.Get(a.timestampHeader()))
	if ts == "" {
		return "", webhook.Errorf(http.StatusUnauthorized,
			"the signature has no timestamp: set the contact point's HMAC Timestamp Header to %s", a.timestampHeader())
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", webhook.Errorf(http.StatusUnauthorized, "the timestamp in %s is not Unix seconds", a.timestampHeader())
	}
	if d := a.now().Sub(time.Unix(secs, 0)); d > maxSkew || d < -maxSkew {
		return "", webhook.Errorf(http.StatusUnauthorized, "stale timestamp: a signed delivery must be at most %s old", maxSkew)
	}
	signed := append([]byte(ts+":"), body...)
	for _, secret := range secrets {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(signed)
		if hmac.Equal(got, m.Sum(nil)) {
			return sig, nil
		}
	}
	return "", errUnauthorized
}

// seen remembers signatures in this process, when Auth has no Deliveries.
type seen struct {
	mu  sync.Mutex
	at  map[string]time.Time
	now func() time.Time
}

func (s *seen) RecordDelivery(_ context.Context, d incident.Delivery) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, at := range s.at {
		// A signature older than the skew on either side is refused as
		// stale, so it need not be remembered.
		if now.Sub(at) > 2*maxSkew {
			delete(s.at, id)
		}
	}
	if _, ok := s.at[d.ID]; ok {
		return false, nil
	}
	s.at[d.ID] = now
	return true, nil
}

func (s *seen) ForgetDelivery(_ context.Context, _, id string) error {
	s.forget(id)
	return nil
}

// forget removes id and reports whether it was there.
func (s *seen) forget(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.at[id]
	delete(s.at, id)
	return ok
}

// payload is the Alertmanager webhook body (version "4"); Grafana sends the
// same fields (version "1") plus a few of its own.
type payload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []alert           `json:"alerts"`
}

type alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
	// Grafana only.
	SilenceURL   string `json:"silenceURL"`
	DashboardURL string `json:"dashboardURL"`
	PanelURL     string `json:"panelURL"`
	ValueString  string `json:"valueString"`
}

// grafanaTestValueString is the value string of the alert Grafana makes up
// for a contact point's Test button (grafana/alerting notify/testing.go,
// newTestAlert); no query of a real rule reads like it.
const grafanaTestValueString = "[ metric='foo' labels={instance=bar} value=10 ]"

// grafanaTest reports whether a is the alert Grafana sends when someone
// tests the contact point: labels alertname=TestAlert and instance=Grafana,
// or, when the test dialog renamed or relabelled it, Grafana's test value
// string; either way no rule is behind it, so it has no generatorURL.
func (a alert) grafanaTest() bool {
	if a.GeneratorURL != "" {
		return false
	}
	return a.ValueString == grafanaTestValueString ||
		(a.Labels["alertname"] == "TestAlert" && a.Labels["instance"] == "Grafana")
}

// maxFingerprint bounds a fingerprint: Alertmanager's and Grafana's are 16
// hex digits, and the store indexes it, which a value of a few kilobytes
// defeats.
const maxFingerprint = 256

// storable reports what the store could not keep, on any delivery: a
// fingerprint over maxFingerprint, or a NUL character, which PostgreSQL
// refuses in text and in jsonb. Such an alert is left out of its delivery
// (parse), rather than fail it with a 500 retried for ever.
func (a alert) storable() error {
	if len(a.Fingerprint) > maxFingerprint {
		return fmt.Errorf("has a fingerprint longer than %d bytes", maxFingerprint)
	}
	fields := []string{a.Fingerprint, a.GeneratorURL, a.DashboardURL}
	for _, m := range []map[string]string{a.Labels, a.Annotations} {
		for k, v := range m {
			fields = append(fields, k, v)
		}
	}
	for _, f := range fields {
		if strings.IndexByte(f, 0) >= 0 {
			return errors.New("holds a NUL character in a label, an annotation or a link")
		}
	}
	return nil
}

// Parse reads a verified delivery into alert events. source is
// "alertmanager" or "grafana". The alert Grafana sends when a contact
// point is tested is left out: it is no alert. So is an alert that cannot
// be handled (see Skipped); its group-mates are read. An error means the
// delivery itself cannot be read.
func Parse(source string, body []byte) ([]incident.AlertEvent, error) {
	d, err := parse(source, body)
	return d.events, err
}

// Skipped is an alert of a delivery left out because it cannot be handled:
// it has no fingerprint, or one over 256 bytes, a NUL character (which
// PostgreSQL keeps in no text), a status neither firing nor resolved, or
// fields of the wrong type. Sent again it would fail again, so the
// delivery's other alerts are handled without it, and it is logged and
// counted.
type Skipped struct {
	// Index is its place in the delivery's alerts.
	Index int
	// Fingerprint is its fingerprint, cut to 64 bytes, if it has one.
	Fingerprint string
	// Reason says what is wrong with it.
	Reason string
}

// delivery is a delivery as parse reads it.
type delivery struct {
	events []incident.AlertEvent
	// tests counts the Grafana test alerts left out.
	tests   int
	skipped []Skipped
	// truncated is how many alerts the sender left out (Alertmanager's
	// truncatedAlerts, under the receiver's max_alerts).
	truncated int
}

// parse is Parse, also telling the test alerts and the alerts it left out.
func parse(source string, body []byte) (delivery, error) {
	var d delivery
	var p struct {
		payload
		Alerts []json.RawMessage `json:"alerts"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return d, err
	}
	if source == "alertmanager" && p.Version != "4" {
		return d, fmt.Errorf("webhook payload version %q is not 4", p.Version)
	}
	d.truncated = p.TruncatedAlerts
	d.events = make([]incident.AlertEvent, 0, len(p.Alerts))
	for i, raw := range p.Alerts {
		var a alert
		if err := json.Unmarshal(raw, &a); err != nil {
			var fp struct {
				Fingerprint any `json:"fingerprint"`
			}
			_ = json.Unmarshal(raw, &fp)
			s, _ := fp.Fingerprint.(string)
			d.skipped = append(d.skipped, skip(i, s, "cannot be read: "+err.Error()))
			continue
		}
		if source == "grafana" && a.grafanaTest() {
			d.tests++
			continue
		}
		ev, err := a.event(source)
		if err != nil {
			d.skipped = append(d.skipped, skip(i, a.Fingerprint, err.Error()))
			continue
		}
		d.events = append(d.events, ev)
	}
	return d, nil
}

// skip is the alert at index i, with fingerprint fp, left out for reason.
func skip(i int, fp, reason string) Skipped {
	fp = strings.ToValidUTF8(strings.ReplaceAll(fp, "\x00", ""), "?")
	if len(fp) > 64 {
		fp = strings.ToValidUTF8(fp[:64], "") + "..."
	}
	return Skipped{Index: i, Fingerprint: fp, Reason: reason}
}

// event is the alert as the domain takes it, or why it cannot be taken.
func (a alert) event(source string) (incident.AlertEvent, error) {
	if a.Fingerprint == "" {
		return incident.AlertEvent{}, errors.New("has no fingerprint")
	}
	if err := a.storable(); err != nil {
		return incident.AlertEvent{}, err
	}
	status := incident.AlertFiring
	switch a.Status {
	case "firing":
	case "resolved":
		status = incident.AlertResolved
	default:
		return incident.AlertEvent{}, fmt.Errorf("has status %q, not firing or resolved", truncated(a.Status, 32))
	}
	labels := map[string]string{}
	for k, v := range a.Labels {
		labels[k] = v
	}
	title := a.Annotations["summary"]
	if name := labels["alertname"]; name != "" {
		if title == "" {
			title = name
		} else {
			title = name + ": " + title
		}
	}
	summary := a.Annotations["description"]
	if rb := a.Annotations["runbook_url"]; rb != "" {
		summary = strings.TrimSpace(summary + "\nRunbook: " + rb)
	}
	link := a.GeneratorURL
	if link == "" {
		link = a.DashboardURL
	}
	ev := incident.AlertEvent{Source: source, Fingerprint: a.Fingerprint, Status: status, Title: title, Summary: summary,
		URL: link, Labels: labels, StartsAt: a.StartsAt}
	if a.EndsAt.After(a.StartsAt) {
		ev.EndsAt = a.EndsAt
	}
	return ev, nil
}

// truncated is s cut to n bytes, for a log line.
func truncated(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// Sink takes the alerts of one delivery; the domain's HandleAlerts. It
// returns an error when any of them could not be handled (stored, or
// acted on), so that the sender delivers again.
type Sink func(ctx context.Context, evs []incident.AlertEvent) error

// Option changes a handler.
type Option func(*options)

type options struct {
	ignored *webhook.Ignored
}

// WithIgnored counts the alerts left out of deliveries (Skipped) in ig,
// under firebreak_webhook_events_ignored_total{provider, type="invalid_alert"};
// without it each handler counts them in a counter of its own, registered
// nowhere.
func WithIgnored(ig *webhook.Ignored) Option {
	return func(o *options) { o.ignored = ig }
}

// NewAlertmanagerHandler returns the handler of POST /webhooks/alertmanager.
func NewAlertmanagerHandler(auth Auth, sink Sink, log *slog.Logger, opts ...Option) http.Handler {
	return newHandler("alertmanager", auth, sink, log, opts)
}

// NewGrafanaHandler returns the handler of POST /webhooks/grafana.
//
// Grafana's webhook contact point sends with POST or PUT, as configured
// (grafana/alerting http/client.go: "webhook only supports HTTP methods
// PUT or POST"); both are taken.
func NewGrafanaHandler(auth Auth, sink Sink, log *slog.Logger, opts ...Option) http.Handler {
	h := newHandler("grafana", auth, sink, log, opts)
	h.Methods = []string{http.MethodPost, http.MethodPut}
	return h
}

// invalidAlert is the event type under which Ignored counts the alerts
// left out of deliveries.
const invalidAlert = "invalid_alert"

// maxSkipLogs bounds the alerts left out that a delivery logs one by one;
// the others are counted in one line.
const maxSkipLogs = 10

// newHandler verifies the delivery on the raw body before parsing it, and
// hands its alerts to sink, but for those it cannot handle (Skipped),
// which are logged and counted. It answers 401 for a failed verification,
// 413 for a body over MaxBody, 400 for a payload that cannot be read, and
// 500 when an alert could not be handled, so the sender retries
// (Alertmanager retries a notification answered 5xx, and only that; the
// domain deduplicates the alerts it already took).
func newHandler(source string, auth Auth, sink Sink, log *slog.Logger, opts []Option) *webhook.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.ignored == nil {
		o.ignored = webhook.NewIgnored(nil)
	}
	var deliveries Deliveries = &seen{at: map[string]time.Time{}, now: auth.now}
	if auth.Deliveries != nil {
		deliveries = auth.Deliveries
	}
	// A delivery taken but not handled is given back: Grafana retries
	// within the second, with the same timestamp and so the same
	// signature, maybe to another replica, and that retry must be taken.
	// Its shared record is removed, or, when that fails too (the database
	// that failed the delivery failing again), failed remembers it in
	// this process, which then takes the retry once.
	failed := &seen{at: map[string]time.Time{}, now: auth.now}
	return &webhook.Handler{
		Provider: source,
		MaxBody:  MaxBody,
		Log:      log,
		Verify: func(h http.Header, body []byte) error {
			if !auth.configured() {
				return errUnauthorized
			}
			_, err := auth.verify(h, body)
			return err
		},
		Handle: func(r *http.Request, body []byte) (any, error) {
			// A signed delivery is taken once: the same signature again
			// within the timestamp's 5 minutes is a replay, unless it is
			// the retry of one that failed here.
			sig, err := auth.verify(r.Header, body)
			if err != nil {
				return nil, err
			}
			if sig != "" {
				first, err := deliveries.RecordDelivery(r.Context(), incident.Delivery{Source: deliverySource, ID: sig, ReceivedAt: auth.now()})
				if err != nil {
					return nil, webhook.Failed("could not record the delivery", err)
				}
				// Given back here but still on record (the record
				// could not be removed): taken, once.
				if failed.forget(sig) {
					first = true
				}
				if !first {
					log.WarnContext(r.Context(), "webhook refused", slog.String("provider", source), slog.String("remote", r.RemoteAddr), slog.String("reason", "replayed signature"))
					return nil, webhook.Errorf(http.StatusUnauthorized, "replayed delivery: this signature was taken before")
				}
			}
			d, err := parse(source, body)
			if err != nil {
				return nil, webhook.Errorf(http.StatusBadRequest, "malformed webhook: %s", err.Error())
			}
			events := d.events
			if d.tests > 0 {
				log.InfoContext(r.Context(), "contact point test notification received; it changes nothing",
					slog.String("provider", source), slog.Int("test_alerts", d.tests), slog.Int("alerts", len(events)))
			}
			for i, sk := range d.skipped {
				o.ignored.Event(r.Context(), nil, source, invalidAlert)
				if i < maxSkipLogs {
					log.WarnContext(r.Context(), "alert left out of the delivery: it cannot be handled, and sending it again would not change that",
						slog.String("provider", source), slog.Int("index", sk.Index), slog.String("fingerprint", sk.Fingerprint),
						slog.String("reason", sk.Reason))
				}
			}
			if n := len(d.skipped); n > maxSkipLogs {
				log.WarnContext(r.Context(), "more alerts left out of the delivery",
					slog.String("provider", source), slog.Int("skipped", n), slog.Int("not_logged", n-maxSkipLogs))
			}
			if d.truncated > 0 {
				// Alertmanager's max_alerts cut the group: the alerts left
				// out reach the bot only in a later delivery.
				log.WarnContext(r.Context(), "the sender left alerts out of the delivery (the receiver's max_alerts); they reach the bot in a later delivery of their group",
					slog.String("provider", source), slog.Int("truncated_alerts", d.truncated), slog.Int("alerts", len(events)))
			}
			if len(events) == 0 {
				return nil, nil
			}
			if err := sink(r.Context(), events); err != nil {
				if sig != "" {
					// Past the request's own deadline (a hung database is the
					// usual reason the alerts failed), with a second of its own.
					fctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), forgetBudget)
					ferr := deliveries.ForgetDelivery(fctx, deliverySource, sig)
					cancel()
					if ferr != nil {
						log.WarnContext(r.Context(), "could not give back a delivery that failed; its retry is taken by this replica only",
							slog.String("provider", source), slog.Any("err", ferr))
						_, _ = failed.RecordDelivery(r.Context(), incident.Delivery{ID: sig})
					}
				}
				return nil, webhook.Failed("could not handle every alert", err)
			}
			return nil, nil
		},
	}
}

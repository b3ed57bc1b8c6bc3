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
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/webhook"
)

// MaxBody bounds a delivery. Alertmanager caps a group at max_alerts; a few
// hundred alerts with labels fit well within this.
const MaxBody = 4 << 20

// Grafana's HMAC headers: the signature, and the timestamp header the
// provisioning documentation names (Grafana signs "timestamp:body" when a
// timestamp header is configured, and the body alone otherwise).
const (
	GrafanaSignatureHeader = "X-Grafana-Alerting-Signature"
	GrafanaTimestampHeader = "X-Grafana-Alerting-Signature-Timestamp"
)

// maxSkew bounds the age of a timestamped Grafana signature.
const maxSkew = 5 * time.Minute

// Auth says how a delivery proves where it comes from: a bearer token in
// Authorization (Alertmanager's http_config.authorization, Grafana's
// Authorization header credentials), or an HMAC-SHA256 signature of the body
// (Grafana's HMAC signature setting). Several values of each allow a
// rotation. A delivery passes when any configured method passes.
type Auth struct {
	Tokens      []string
	HMACSecrets []string
	// Now tells the time for timestamped signatures (time.Now when nil).
	Now func() time.Time
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

// verify checks the request against every configured method.
func (a Auth) verify(h http.Header, body []byte) bool {
	if tok, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer "); ok {
		for _, want := range nonEmpty(a.Tokens) {
			if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(want)) == 1 {
				return true
			}
		}
	}
	sig := strings.TrimSpace(h.Get(GrafanaSignatureHeader))
	if sig == "" {
		return false
	}
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
	if err != nil {
		return false
	}
	signed := body
	if ts := h.Get(GrafanaTimestampHeader); ts != "" {
		secs, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return false
		}
		now := time.Now
		if a.Now != nil {
			now = a.Now
		}
		if d := now().Sub(time.Unix(secs, 0)); d > maxSkew || d < -maxSkew {
			return false
		}
		signed = append([]byte(ts+":"), body...)
	}
	for _, secret := range nonEmpty(a.HMACSecrets) {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(signed)
		if hmac.Equal(got, m.Sum(nil)) {
			return true
		}
	}
	return false
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
}

// Parse reads a verified delivery into alert events. source is
// "alertmanager" or "grafana".
func Parse(source string, body []byte) ([]incident.AlertEvent, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, err
	}
	if source == "alertmanager" && p.Version != "4" {
		return nil, fmt.Errorf("webhook payload version %q is not 4", p.Version)
	}
	out := make([]incident.AlertEvent, 0, len(p.Alerts))
	for i, a := range p.Alerts {
		if a.Fingerprint == "" {
			return nil, fmt.Errorf("alerts[%d] has no fingerprint", i)
		}
		status := incident.AlertFiring
		switch a.Status {
		case "firing":
		case "resolved":
			status = incident.AlertResolved
		default:
			return nil, fmt.Errorf("alerts[%d] has status %q, not firing or resolved", i, a.Status)
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
		out = append(out, ev)
	}
	return out, nil
}

// Sink takes one alert; the domain's HandleAlert.
type Sink func(ctx context.Context, ev incident.AlertEvent) error

// NewAlertmanagerHandler returns the handler of POST /webhooks/alertmanager.
func NewAlertmanagerHandler(auth Auth, sink Sink, log *slog.Logger) http.Handler {
	return newHandler("alertmanager", auth, sink, log)
}

// NewGrafanaHandler returns the handler of POST /webhooks/grafana.
func NewGrafanaHandler(auth Auth, sink Sink, log *slog.Logger) http.Handler {
	return newHandler("grafana", auth, sink, log)
}

// newHandler verifies the delivery on the raw body before parsing it, and
// hands every alert to sink. It answers 401 for a failed verification, 413
// for a body over MaxBody, 400 for a malformed payload, and 500 when an
// alert could not be handled, so the sender retries (Alertmanager retries
// a failed notification; the domain deduplicates the alerts it already
// took).
func newHandler(source string, auth Auth, sink Sink, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &webhook.Handler{
		Provider: source,
		MaxBody:  MaxBody,
		Log:      log,
		Verify: func(h http.Header, body []byte) error {
			if !auth.configured() || !auth.verify(h, body) {
				return webhook.Errorf(http.StatusUnauthorized, "unauthorized")
			}
			return nil
		},
		Handle: func(r *http.Request, body []byte) (any, error) {
			events, err := Parse(source, body)
			if err != nil {
				return nil, webhook.Errorf(http.StatusBadRequest, "malformed webhook: %s", err.Error())
			}
			var errs []error
			for _, ev := range events {
				if err := sink(r.Context(), ev); err != nil {
					errs = append(errs, fmt.Errorf("alert %s: %w", ev.Fingerprint, err))
				}
			}
			if err := errors.Join(errs...); err != nil {
				return nil, webhook.Failed("could not handle every alert", err)
			}
			return nil, nil
		},
	}
}

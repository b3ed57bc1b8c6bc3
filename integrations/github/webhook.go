package github

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/firebreakhq/firebreak/incident"
)

// MaxWebhookBody bounds a webhook delivery read into memory. The events
// handled here are tens of kilobytes; GitHub caps any payload at 25 MB.
const MaxWebhookBody = 5 << 20

// NewWebhookHandler returns the handler for POST /webhooks/github. It reads
// the raw body (up to MaxWebhookBody), verifies X-Hub-Signature-256 with
// secret and answers 401 on a missing or wrong signature, and on any
// delivery at all when secret is empty: go-github would skip verification
// then. deployment_status and workflow_run events become ChangeEvents
// handed to sink, with X-GitHub-Delivery in Data["delivery"] for
// deduplication; ping and other events get 200. A malformed delivery gets
// 400 and a sink error 500, which GitHub shows on the delivery (it does not
// redeliver by itself).
func NewWebhookHandler(secret string, sink func(ctx context.Context, c incident.ChangeEvent) error, log *slog.Logger, opts ...WebhookOption) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &webhookHandler{secret: []byte(secret), sink: sink, log: log}
	for _, o := range opts {
		o(h)
	}
	return h
}

// WebhookOption configures NewWebhookHandler.
type WebhookOption func(*webhookHandler)

// WithIssueClosed hands every closed issue that is an exported action item
// (its body carries the action-item marker the export writes) to done, with
// the incident key ("INC-42"), the action item's id and the issue's URL.
func WithIssueClosed(done func(ctx context.Context, incidentKey string, itemID int64, url string) error) WebhookOption {
	return func(h *webhookHandler) { h.issueClosed = done }
}

type webhookHandler struct {
	secret      []byte
	sink        func(ctx context.Context, c incident.ChangeEvent) error
	issueClosed func(ctx context.Context, incidentKey string, itemID int64, url string) error
	log         *slog.Logger
}

// markerRE finds the action-item marker of an exported issue's body.
var markerRE = regexp.MustCompile(`<!-- firebreak:action-item:(INC-\d+):(\d+) -->`)

func (h *webhookHandler) handleIssues(w http.ResponseWriter, r *http.Request, payload []byte, log *slog.Logger) {
	var ev gh.IssuesEvent
	if err := json.Unmarshal(payload, &ev); err != nil || ev.Issue == nil {
		http.Error(w, "malformed issues payload", http.StatusBadRequest)
		return
	}
	m := markerRE.FindStringSubmatch(ev.Issue.GetBody())
	if ev.GetAction() != "closed" || h.issueClosed == nil || m == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	if ev.Issue.GetStateReason() == "not_planned" {
		// Closed as not planned: the follow-up was dropped, not done.
		log.Info("github: action item issue closed as not planned", slog.String("url", ev.Issue.GetHTMLURL()))
		w.WriteHeader(http.StatusOK)
		return
	}
	id, _ := strconv.ParseInt(m[2], 10, 64)
	if err := h.issueClosed(r.Context(), m[1], id, ev.Issue.GetHTMLURL()); err != nil && incident.ErrorCode(err) != incident.ENOTFOUND {
		log.Error("github webhook: marking the action item done failed", slog.Any("error", err))
		http.Error(w, "could not mark the action item done", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	event, delivery := gh.WebHookType(r), gh.DeliveryID(r)
	log := h.log.With(slog.String("event", event), slog.String("delivery", delivery))
	if len(h.secret) == 0 {
		log.Error("github webhook rejected: no webhook secret is configured")
		http.Error(w, "webhook secret not configured", http.StatusUnauthorized)
		return
	}
	// Only the SHA-256 signature is accepted: GitHub always sends it, and
	// the SHA-1 one exists for old receivers.
	sig := r.Header.Get(gh.SHA256SignatureHeader)
	if sig == "" || !strings.HasPrefix(sig, "sha256=") {
		log.Warn("github webhook rejected: missing signature")
		http.Error(w, "missing signature", http.StatusUnauthorized)
		return
	}
	if err := gh.ValidateSignature(sig, body, h.secret); err != nil {
		log.Warn("github webhook rejected: bad signature")
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	payload, err := jsonPayload(r.Header.Get("Content-Type"), body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	var change incident.ChangeEvent
	switch event {
	case "issues":
		h.handleIssues(w, r, payload, log)
		return
	case "ping":
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "pong\n")
		return
	case "deployment_status":
		var ev gh.DeploymentStatusEvent
		if err := json.Unmarshal(payload, &ev); err != nil || ev.Deployment == nil || ev.DeploymentStatus == nil || ev.Repo == nil {
			http.Error(w, "malformed deployment_status payload", http.StatusBadRequest)
			return
		}
		repo := ev.Repo.GetFullName()
		change = deployChange("", repo, ev.Repo.GetHTMLURL(), ev.Deployment, ev.DeploymentStatus)
	case "workflow_run":
		var ev gh.WorkflowRunEvent
		if err := json.Unmarshal(payload, &ev); err != nil || ev.WorkflowRun == nil || ev.Repo == nil {
			http.Error(w, "malformed workflow_run payload", http.StatusBadRequest)
			return
		}
		change = runChange("", ev.Repo.GetFullName(), path.Base(ev.Workflow.GetPath()), ev.WorkflowRun)
		if change.Data["workflow"] == "." {
			change.Data["workflow"] = ""
		}
		change.Data["action"] = ev.GetAction()
	default:
		log.Debug("github webhook ignored")
		w.WriteHeader(http.StatusOK)
		return
	}
	change.Data["delivery"] = delivery
	if err := h.sink(r.Context(), change); err != nil {
		log.Error("github webhook: storing the change failed",
			slog.String("external_id", change.ExternalID), slog.Any("error", err))
		http.Error(w, "could not record the change", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// jsonPayload returns the event JSON from a body GitHub sent as JSON or as
// a form with a payload field, the two content types a webhook can choose.
func jsonPayload(contentType string, body []byte) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, errors.New("missing or malformed Content-Type")
	}
	switch mt {
	case "application/json":
		return body, nil
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errors.New("malformed form body")
		}
		return []byte(form.Get("payload")), nil
	}
	return nil, errors.New("unsupported Content-Type " + strconv.Quote(mt))
}

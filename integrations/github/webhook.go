package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/firebreakhq/firebreak/integrations/webhook"
)

// MaxWebhookBody bounds a webhook delivery read into memory. The events
// handled here are tens of kilobytes; GitHub caps any payload at 25 MB.
const MaxWebhookBody = 5 << 20

// NewWebhookHandler returns the handler for POST /webhooks/github. It reads
// the raw body (up to MaxWebhookBody), verifies X-Hub-Signature-256 with
// secret and answers 401 on a missing or wrong signature, and on any
// delivery at all when secret is empty: go-github would skip verification
// then. deployment, deployment_status and workflow_run events become
// ChangeEvents handed to sink, with X-GitHub-Delivery in Data["delivery"]
// for deduplication; closed issues go to WithIssueClosed; ping and other
// events get 200. A malformed delivery gets 400 and a sink error 500,
// which GitHub shows on the delivery (it does not redeliver by itself).
func NewWebhookHandler(secret string, sink func(ctx context.Context, c incident.ChangeEvent) error, log *slog.Logger, opts ...WebhookOption) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &webhookHandler{secret: []byte(secret), sink: sink, log: log}
	for _, o := range opts {
		o(h)
	}
	return &webhook.Handler{Provider: Source, MaxBody: MaxWebhookBody, Log: log, Verify: h.verify, Handle: h.handle}
}

// WebhookOption configures NewWebhookHandler.
type WebhookOption func(*webhookHandler)

// WithIssueClosed hands every closed issue that is an exported action item
// to done, with the incident key ("INC-42"), the action item's id and the
// issue's URL. An exported action item is an issue whose body carries the
// action-item marker the export writes, in the export repository, opened
// by the bot itself: anyone who can open and close an issue can write the
// marker. Which repository and which login that is comes from the client
// given with WithBotIdentity; without it no issue marks an item done.
func WithIssueClosed(done func(ctx context.Context, incidentKey string, itemID int64, url string) error) WebhookOption {
	return func(h *webhookHandler) { h.issueClosed = done }
}

// WithBotIdentity names the client that exports action items as issues:
// a closed issue counts as an action item only in its export repository
// and when opened by the login its token acts as (asked of GitHub once).
func WithBotIdentity(c *Client) WebhookOption {
	return func(h *webhookHandler) { h.owner = c }
}

type webhookHandler struct {
	secret      []byte
	sink        func(ctx context.Context, c incident.ChangeEvent) error
	issueClosed func(ctx context.Context, incidentKey string, itemID int64, url string) error
	owner       *Client
	log         *slog.Logger
}

// markerRE finds the action-item marker of an exported issue's body.
var markerRE = regexp.MustCompile(`<!-- firebreak:action-item:(INC-\d+):(\d+) -->`)

func (h *webhookHandler) handleIssues(r *http.Request, payload []byte, log *slog.Logger) (any, error) {
	var ev gh.IssuesEvent
	if err := json.Unmarshal(payload, &ev); err != nil || ev.Issue == nil {
		return nil, webhook.Errorf(http.StatusBadRequest, "malformed issues payload")
	}
	m := markerRE.FindStringSubmatch(ev.Issue.GetBody())
	if ev.GetAction() != "closed" || h.issueClosed == nil || m == nil {
		return nil, nil
	}
	if reason := ev.Issue.GetStateReason(); reason != "completed" && reason != "" {
		// Only "completed" says the work was done. GitHub also closes as
		// not_planned (dropped) and duplicate (the work goes on in the
		// issue it duplicates), and may add reasons; an empty reason comes
		// from a GitHub Enterprise Server that predates close reasons,
		// where closing meant done.
		log.Info("github: action item issue closed without being completed; the action item stays open",
			slog.String("state_reason", reason), slog.String("url", ev.Issue.GetHTMLURL()))
		return nil, nil
	}
	repo, author := ev.GetRepo().GetFullName(), ev.Issue.GetUser().GetLogin()
	if h.owner == nil {
		log.Warn("github: closed action item issue ignored: the webhook does not know the bot's GitHub identity",
			slog.String("url", ev.Issue.GetHTMLURL()))
		return nil, nil
	}
	own, err := h.owner.ownsIssue(r.Context(), repo, author)
	if err != nil {
		return nil, webhook.Failed("could not check who opened the issue", err)
	}
	if !own {
		log.Warn("github: closed issue carries an action item marker but the bot did not open it; ignored",
			slog.String("repo", repo), slog.String("author", author), slog.String("url", ev.Issue.GetHTMLURL()))
		return nil, nil
	}
	id, _ := strconv.ParseInt(m[2], 10, 64)
	if err := h.issueClosed(r.Context(), m[1], id, ev.Issue.GetHTMLURL()); err != nil && incident.ErrorCode(err) != incident.ENOTFOUND {
		return nil, webhook.Failed("could not mark the action item done", err)
	}
	return nil, nil
}

// verify checks X-Hub-Signature-256 with go-github. Only the SHA-256
// signature is accepted: GitHub always sends it, and the SHA-1 one exists
// for old receivers. With no secret every delivery is refused: go-github
// would skip verification then.
func (h *webhookHandler) verify(hdr http.Header, body []byte) error {
	if len(h.secret) == 0 {
		return webhook.Errorf(http.StatusUnauthorized, "webhook secret not configured")
	}
	sig := hdr.Get(gh.SHA256SignatureHeader)
	if sig == "" || !strings.HasPrefix(sig, "sha256=") {
		return webhook.Errorf(http.StatusUnauthorized, "missing signature")
	}
	if err := gh.ValidateSignature(sig, body, h.secret); err != nil {
		return webhook.Errorf(http.StatusUnauthorized, "bad signature")
	}
	return nil
}

// handle turns a verified delivery into a change, or an issue closed into
// a done action item.
func (h *webhookHandler) handle(r *http.Request, body []byte) (any, error) {
	event, delivery := gh.WebHookType(r), gh.DeliveryID(r)
	log := h.log.With(slog.String("event", event), slog.String("delivery", delivery))
	payload, err := jsonPayload(r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, webhook.Errorf(http.StatusBadRequest, "%s", err.Error())
	}
	payload = withoutCustomProperties(payload)
	switch event {
	case "issues":
		return h.handleIssues(r, payload, log)
	case "ping":
		return map[string]any{"pong": true}, nil
	}
	change, ok, err := webhookChange(event, payload)
	if err != nil {
		return nil, err
	}
	if !ok {
		log.Debug("github webhook ignored")
		return nil, nil
	}
	change.Data["delivery"] = delivery
	if err := h.sink(r.Context(), change); err != nil {
		return nil, webhook.Failed("could not record the change", fmt.Errorf("change %s: %w", change.ExternalID, err))
	}
	return nil, nil
}

// webhookChange decodes a deployment, deployment_status or workflow_run
// delivery into a change; ok is false for any other event, and for a
// deployment marked inactive.
func webhookChange(event string, payload []byte) (change incident.ChangeEvent, ok bool, err error) {
	switch event {
	case "deployment":
		// A new deployment, before any status: pending at its creation, as
		// the API lists it. Its statuses, with greater revisions, replace
		// it; delivered after them, it changes nothing.
		var ev gh.DeploymentEvent
		if err := json.Unmarshal(payload, &ev); err != nil || ev.Deployment == nil || ev.Repo == nil {
			return change, false, webhook.Errorf(http.StatusBadRequest, "malformed deployment payload")
		}
		return deployChange("", ev.Repo.GetFullName(), ev.Repo.GetHTMLURL(), ev.Deployment, nil), true, nil
	case "deployment_status":
		var ev gh.DeploymentStatusEvent
		if err := json.Unmarshal(payload, &ev); err != nil || ev.Deployment == nil || ev.DeploymentStatus == nil || ev.Repo == nil {
			return change, false, webhook.Errorf(http.StatusBadRequest, "malformed deployment_status payload")
		}
		if ev.DeploymentStatus.GetState() == "inactive" {
			// GitHub marks a deployment inactive when a later one to its
			// environment succeeds: the later one is the change, and this
			// one stays the success it was (see describingStatus).
			return change, false, nil
		}
		repo := ev.Repo.GetFullName()
		return deployChange("", repo, ev.Repo.GetHTMLURL(), ev.Deployment, ev.DeploymentStatus), true, nil
	case "workflow_run":
		var ev gh.WorkflowRunEvent
		if err := json.Unmarshal(payload, &ev); err != nil || ev.WorkflowRun == nil || ev.Repo == nil {
			return change, false, webhook.Errorf(http.StatusBadRequest, "malformed workflow_run payload")
		}
		change = runChange("", ev.Repo.GetFullName(), path.Base(ev.Workflow.GetPath()), ev.WorkflowRun)
		if change.Data["workflow"] == "." {
			change.Data["workflow"] = ""
		}
		change.Data["action"] = ev.GetAction()
		return change, true, nil
	}
	return change, false, nil
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

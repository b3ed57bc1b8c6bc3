package ghfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// WebhookOption changes how SendWebhook delivers, mostly to forge a bad
// delivery.
type WebhookOption func(*webhookOpts)

type webhookOpts struct {
	delivery    string
	signature   *string
	contentType string
	headers     http.Header
	client      *http.Client
}

// WithDelivery sets X-GitHub-Delivery (default: a random GUID).
func WithDelivery(id string) WebhookOption { return func(o *webhookOpts) { o.delivery = id } }

// WithSignature sends this X-Hub-Signature-256 value instead of the real
// one, to forge a delivery.
func WithSignature(sig string) WebhookOption { return func(o *webhookOpts) { o.signature = &sig } }

// WithoutSignature sends no signature header at all.
func WithoutSignature() WebhookOption { return WithSignature("") }

// WithContentType sets the Content-Type (default application/json).
func WithContentType(ct string) WebhookOption { return func(o *webhookOpts) { o.contentType = ct } }

// WithHeader adds a header to the delivery.
func WithHeader(key, value string) WebhookOption {
	return func(o *webhookOpts) { o.headers.Add(key, value) }
}

// WithHTTPClient sends the delivery with c (default http.DefaultClient).
func WithHTTPClient(c *http.Client) WebhookOption { return func(o *webhookOpts) { o.client = c } }

// Sign returns the X-Hub-Signature-256 value GitHub sends for body.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// SendWebhook delivers one webhook to url as GitHub does: a POST of the
// JSON payload (a []byte is sent as is) with X-GitHub-Event,
// X-GitHub-Delivery, X-GitHub-Hook-ID and X-Hub-Signature-256 signed with
// secret. It returns the response status.
func SendWebhook(ctx context.Context, url, secret, event string, payload any, opts ...WebhookOption) (int, error) {
	o := webhookOpts{contentType: "application/json", headers: http.Header{}, client: http.DefaultClient}
	for _, opt := range opts {
		opt(&o)
	}
	body, ok := payload.([]byte)
	if !ok {
		var err error
		if body, err = json.Marshal(payload); err != nil {
			return 0, fmt.Errorf("encode webhook payload: %w", err)
		}
	}
	if o.delivery == "" {
		o.delivery = guid()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build webhook request: %w", err)
	}
	for k, vs := range o.headers {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", o.contentType)
	req.Header.Set("User-Agent", "GitHub-Hookshot/ghfake")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", o.delivery)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	sig := Sign(secret, body)
	if o.signature != nil {
		sig = *o.signature
	}
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("deliver webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// SendWebhook is the package's SendWebhook, for callers holding a Server.
func (s *Server) SendWebhook(ctx context.Context, url, secret, event string, payload any, opts ...WebhookOption) (int, error) {
	return SendWebhook(ctx, url, secret, event, payload, opts...)
}

func guid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// deploymentLocked finds a repository's deployment; s.mu is held.
func (s *Server) deploymentLocked(repo string, id int64) (*repoState, *Deployment, error) {
	r := s.mustRepo(repo)
	d := r.deployment(id)
	if d == nil {
		return nil, nil, fmt.Errorf("ghfake: no deployment %d in %s", id, repo)
	}
	return r, d, nil
}

// DeploymentPayload builds the deployment webhook payload (action
// "created") GitHub delivers when a deployment is created, shaped like its
// documented example: the deployment, the workflow and workflow_run that
// created it (null here), the repository and the sender.
func (s *Server) DeploymentPayload(repo string, deploymentID int64) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, d, err := s.deploymentLocked(repo, deploymentID)
	if err != nil {
		return nil, err
	}
	dj := s.deploymentJSON(r, d)
	dj["updated_at"] = dj["created_at"] // as it was when created
	return map[string]any{
		"action":       "created",
		"deployment":   dj,
		"workflow":     nil,
		"workflow_run": nil,
		"repository":   s.repoJSON(r),
		"sender":       user(d.Creator),
	}, nil
}

// DeploymentStatusPayload builds the deployment_status webhook payload
// (action "created") for a deployment's latest status, shaped like
// GitHub's documented example.
func (s *Server) DeploymentStatusPayload(repo string, deploymentID int64) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, d, err := s.deploymentLocked(repo, deploymentID)
	if err != nil {
		return nil, err
	}
	st, ok := latestStatus(d)
	if !ok {
		return nil, fmt.Errorf("ghfake: deployment %d has no status", deploymentID)
	}
	return map[string]any{
		"action":            "created",
		"deployment_status": s.deploymentStatusJSON(r, d, st),
		"deployment":        s.deploymentJSON(r, d),
		"repository":        s.repoJSON(r),
		"sender":            user(st.Creator),
	}, nil
}

// WorkflowRunPayload builds the workflow_run webhook payload for a run in
// its current state: action requested, in_progress or completed.
func (s *Server) WorkflowRunPayload(repo string, runID int64) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repo)
	run := r.run(runID)
	if run == nil {
		return nil, fmt.Errorf("ghfake: no workflow run %d in %s", runID, repo)
	}
	action := "requested"
	switch run.Status {
	case "in_progress":
		action = "in_progress"
	case "completed":
		action = "completed"
	}
	return map[string]any{
		"action":       action,
		"workflow_run": s.runJSON(r, run),
		"workflow":     s.workflowJSON(r, r.workflows[run.Workflow]),
		"repository":   s.repoJSON(r),
		"organization": user(r.owner),
		"sender":       user(run.Actor),
	}, nil
}

// DeleteIssue deletes the issue, as a repository admin can on GitHub (by
// the web or GraphQL's deleteIssue; REST has no call for it): it is no
// longer listed or found by search, and reading or editing it is answered
// 410 Gone, "This issue was deleted". Its number is not given again.
func (s *Server) DeleteIssue(repo string, number int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repo)
	for k, i := range r.issues {
		if i.Number == number {
			r.issues = slices.Delete(r.issues, k, k+1)
			if r.deletedIssues == nil {
				r.deletedIssues = map[int]bool{}
			}
			r.deletedIssues[number] = true
			return nil
		}
	}
	return fmt.Errorf("ghfake: %s has no issue #%d", repo, number)
}

// CloseIssue closes an issue as someone does in GitHub, with reason
// "completed", "not_planned" or "duplicate" (GitHub's close reasons), or
// "" as a GitHub Enterprise Server older than close reasons does (the
// payload's state_reason is then null), and returns the issues webhook
// payload (action "closed") GitHub then delivers, shaped like its
// documented example.
func (s *Server) CloseIssue(repo string, number int, reason, by string) (map[string]any, error) {
	switch reason {
	case "", "completed", "not_planned", "duplicate":
	default:
		return nil, fmt.Errorf("ghfake: %q is not a reason GitHub closes an issue for", reason)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustRepo(repo)
	i := r.issue(number)
	if i == nil {
		return nil, fmt.Errorf("ghfake: no issue %d in %s", number, repo)
	}
	now := s.clock()
	i.State, i.StateReason, i.ClosedAt, i.UpdatedAt = "closed", reason, now, now
	return map[string]any{
		"action":     "closed",
		"issue":      s.issueJSON(r, i),
		"repository": s.repoJSON(r),
		"sender":     user(by),
	}, nil
}

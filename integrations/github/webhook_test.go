package github_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

const hookSecret = "hook-secret"

type sinkRecorder struct {
	mu      sync.Mutex
	changes []incident.ChangeEvent
	err     error
}

func (s *sinkRecorder) sink(_ context.Context, c incident.ChangeEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes = append(s.changes, c)
	return s.err
}

func (s *sinkRecorder) got() []incident.ChangeEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]incident.ChangeEvent(nil), s.changes...)
}

func webhookServer(t *testing.T, secret string, rec *sinkRecorder) string {
	t.Helper()
	srv := httptest.NewServer(github.NewWebhookHandler(secret, rec.sink, nil))
	t.Cleanup(srv.Close)
	return srv.URL + "/webhooks/github"
}

func TestWebhookDeploymentStatusMatchesTheAPIsChange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ids := seedProduction(b.fake)
	rec := &sinkRecorder{}
	hook := webhookServer(t, hookSecret, rec)
	payload, err := b.fake.DeploymentStatusPayload(repo, ids[3])
	require.NoError(t, err)

	status, err := ghfake.SendWebhook(t.Context(), hook, hookSecret, "deployment_status", payload, ghfake.WithDelivery("d-1"))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)

	got := rec.got()
	require.Len(t, got, 1)
	listed := badDeploy(t, b, checkoutService())
	fromHook := got[0]
	require.Equal(t, "d-1", fromHook.Data["delivery"])
	delete(fromHook.Data, "delivery")
	listed.Service = "" // the webhook does not know the service; the sink maps the repo
	require.Equal(t, listed, fromHook, "the webhook and the API report the same change")
	require.Equal(t, "success", fromHook.Data["state"])
}

func TestWebhookWorkflowRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fake.AddWorkflow(repo, "deploy.yml", true, ghfake.WithWorkflowName("Deploy"))
	id := b.fake.AddWorkflowRun(repo, ghfake.WorkflowRun{Workflow: "deploy.yml", Event: "workflow_dispatch", Status: "queued", HeadSHA: sha3, Actor: "grace", CreatedAt: at(11, 0)})
	rec := &sinkRecorder{}
	hook := webhookServer(t, hookSecret, rec)

	send := func() {
		payload, err := b.fake.WorkflowRunPayload(repo, id)
		require.NoError(t, err)
		status, err := b.fake.SendWebhook(t.Context(), hook, hookSecret, "workflow_run", payload)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
	}
	send()
	require.NoError(t, b.fake.CompleteRun(repo, id, "failure"))
	send()

	got := rec.got()
	require.Len(t, got, 2)
	require.Equal(t, fmt.Sprintf("workflow_run:%s:%d", repo, id), got[0].ExternalID)
	require.Equal(t, "requested", got[0].Data["action"])
	done := got[1]
	require.Equal(t, fmt.Sprintf("workflow_run:%s:%d", repo, id), done.ExternalID, "one run, one change, at its latest state")
	require.Greater(t, done.Revision, got[0].Revision)
	require.Equal(t, incident.ChangeWorkflow, done.Kind)
	require.Equal(t, "github", done.Source)
	require.Equal(t, sha3, done.Ref)
	require.Equal(t, "grace", done.Actor)
	require.Equal(t, at(12, 0), done.OccurredAt, "a run happened when it completed, not when it was created")
	require.Equal(t, fmt.Sprintf("%s%s/actions/runs/%d", b.fake.URL(), repo, id), done.URL)
	require.Equal(t, "Workflow deploy.yml run #1 on acme/checkout@3333333 (completed: failure)", done.Summary)
	for k, v := range map[string]string{
		"status": "completed", "conclusion": "failure", "run_id": fmt.Sprint(id), "head_sha": sha3,
		"event": "workflow_dispatch", "workflow": "deploy.yml", "repo": repo, "action": "completed",
	} {
		require.Equal(t, v, done.Data[k], k)
	}
	require.NotEmpty(t, done.Data["delivery"])
}

func TestWebhookRejectsAndIgnores(t *testing.T) {
	t.Parallel()
	valid := []byte(`{"action":"created","deployment":{"id":1,"sha":"abc","environment":"production"},"deployment_status":{"state":"success"},"repository":{"full_name":"acme/checkout"}}`)
	tests := []struct {
		name    string
		secret  string
		event   string
		payload any
		opts    []ghfake.WebhookOption
		sinkErr error
		status  int
		sunk    int
	}{
		{name: "forged signature", secret: hookSecret, event: "deployment_status", payload: valid,
			opts: []ghfake.WebhookOption{ghfake.WithSignature(ghfake.Sign("other-secret", valid))}, status: http.StatusUnauthorized},
		{name: "garbage signature", secret: hookSecret, event: "deployment_status", payload: valid,
			opts: []ghfake.WebhookOption{ghfake.WithSignature("sha256=zz")}, status: http.StatusUnauthorized},
		{name: "missing signature", secret: hookSecret, event: "deployment_status", payload: valid,
			opts: []ghfake.WebhookOption{ghfake.WithoutSignature()}, status: http.StatusUnauthorized},
		{name: "SHA-1 signature only", secret: hookSecret, event: "deployment_status", payload: valid,
			opts: []ghfake.WebhookOption{ghfake.WithoutSignature(), ghfake.WithHeader("X-Hub-Signature", "sha1=00")}, status: http.StatusUnauthorized},
		{name: "empty secret, unsigned", secret: "", event: "deployment_status", payload: valid,
			opts: []ghfake.WebhookOption{ghfake.WithoutSignature()}, status: http.StatusUnauthorized},
		{name: "empty secret, signed with the empty secret", secret: "", event: "deployment_status", payload: valid,
			status: http.StatusUnauthorized},
		{name: "ping", secret: hookSecret, event: "ping", payload: map[string]any{"zen": "Keep it logically awesome."}, status: http.StatusOK},
		{name: "other event", secret: hookSecret, event: "push", payload: map[string]any{"ref": "refs/heads/main"}, status: http.StatusOK},
		{name: "malformed JSON", secret: hookSecret, event: "deployment_status", payload: []byte(`{"deployment":`), status: http.StatusBadRequest},
		{name: "missing deployment", secret: hookSecret, event: "deployment_status", payload: map[string]any{"action": "created"}, status: http.StatusBadRequest},
		{name: "unsupported content type", secret: hookSecret, event: "deployment_status", payload: valid,
			opts: []ghfake.WebhookOption{ghfake.WithContentType("text/plain")}, status: http.StatusBadRequest},
		{name: "sink fails", secret: hookSecret, event: "deployment_status", payload: valid, sinkErr: errors.New("db down"),
			status: http.StatusInternalServerError, sunk: 1},
		{name: "accepted", secret: hookSecret, event: "deployment_status", payload: valid, status: http.StatusOK, sunk: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &sinkRecorder{err: tt.sinkErr}
			hook := webhookServer(t, tt.secret, rec)

			status, err := ghfake.SendWebhook(t.Context(), hook, tt.secret, tt.event, tt.payload, tt.opts...)
			require.NoError(t, err)
			require.Equal(t, tt.status, status)
			require.Len(t, rec.got(), tt.sunk)
		})
	}
}

func TestWebhookAcceptsFormEncodedPayloads(t *testing.T) {
	t.Parallel()
	rec := &sinkRecorder{}
	hook := webhookServer(t, hookSecret, rec)
	body := []byte("payload=" + url.QueryEscape(`{"deployment":{"id":9,"sha":"abc","environment":"production"},"deployment_status":{"state":"failure"},"repository":{"full_name":"acme/checkout","html_url":"https://github.com/acme/checkout"}}`))

	status, err := ghfake.SendWebhook(t.Context(), hook, hookSecret, "deployment_status", body,
		ghfake.WithContentType("application/x-www-form-urlencoded"))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	got := rec.got()
	require.Len(t, got, 1)
	require.Equal(t, "deployment:acme/checkout:9", got[0].ExternalID)
	require.Equal(t, "failure", got[0].Data["state"])
	require.Equal(t, "https://github.com/acme/checkout/deployments", got[0].URL)
}

func TestWebhookBoundsTheBodyAndMethod(t *testing.T) {
	t.Parallel()
	rec := &sinkRecorder{}
	hook := webhookServer(t, hookSecret, rec)

	big := []byte(`{"pad":"` + strings.Repeat("x", github.MaxWebhookBody) + `"}`)
	status, err := ghfake.SendWebhook(t.Context(), hook, hookSecret, "deployment_status", big)
	require.NoError(t, err)
	require.Equal(t, http.StatusRequestEntityTooLarge, status)

	resp, err := http.Get(hook)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Empty(t, rec.got())
}

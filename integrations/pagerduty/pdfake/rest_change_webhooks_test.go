package pdfake_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/PagerDuty/go-pagerduty"
	"github.com/PagerDuty/go-pagerduty/webhookv3"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// received is what a webhook receiver got, in order.
type received struct {
	mu     sync.Mutex
	events []receivedEvent
}

type receivedEvent struct {
	ID, Type, Agent, Incident, Status string
	Assignees                         []string
	Verified                          bool
}

func (rc *received) list() []receivedEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedEvent(nil), rc.events...)
}

func (rc *received) types() []string {
	var out []string
	for _, e := range rc.list() {
		out = append(out, e.Type)
	}
	return out
}

// receiver verifies each delivery's signature as a subscriber does and
// records its event.
func receiver(t *testing.T, secret string) (*received, string) {
	t.Helper()
	rc := &received{}
	url := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		verify := &http.Request{Header: r.Header, Body: io.NopCloser(bytes.NewReader(body))}
		var env struct {
			Event struct {
				ID    string `json:"id"`
				Type  string `json:"event_type"`
				Agent *struct {
					Summary string `json:"summary"`
				} `json:"agent"`
				Data struct {
					ID        string `json:"id"`
					Status    string `json:"status"`
					Assignees []struct {
						Summary string `json:"summary"`
					} `json:"assignees"`
				} `json:"data"`
			} `json:"event"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e := receivedEvent{ID: env.Event.ID, Type: env.Event.Type, Incident: env.Event.Data.ID, Status: env.Event.Data.Status,
			Verified: webhookv3.VerifySignature(verify, secret) == nil}
		if env.Event.Agent != nil {
			e.Agent = env.Event.Agent.Summary
		}
		for _, a := range env.Event.Data.Assignees {
			e.Assignees = append(e.Assignees, a.Summary)
		}
		rc.mu.Lock()
		rc.events = append(rc.events, e)
		rc.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	return rc, url
}

func TestRESTChangesSendSignedWebhooks(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	rc, url := receiver(t, "s3cret")
	f.fake.SetWebhooks(pdfake.Webhooks{URL: url, Secret: "s3cret"})
	carl := f.fake.AddUser(pdfake.User{Name: "Carl", Email: "carl@example.com"})
	f.fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: f.svc.EscalationPolicyID, Level: 2, UserID: carl.ID})

	inc, err := f.pd.CreateIncidentWithContext(ctx, f.ann.Email, &pagerduty.CreateIncidentOptions{
		Title: "Down", Service: &pagerduty.APIReference{ID: f.svc.ID, Type: "service_reference"}, IncidentKey: "key-1",
	})
	require.NoError(t, err)
	manage := func(from string, o pagerduty.ManageIncidentsOptions) {
		t.Helper()
		o.ID = inc.ID
		_, err := f.pd.ManageIncidentsWithContext(ctx, from, []pagerduty.ManageIncidentsOptions{o})
		require.NoError(t, err)
	}
	manage(f.ben.Email, pagerduty.ManageIncidentsOptions{Status: "acknowledged"})
	_, err = f.pd.ManageIncidentsWithContext(ctx, f.ben.Email, []pagerduty.ManageIncidentsOptions{{ID: inc.ID, Status: "acknowledged"}})
	require.Error(t, err, "acknowledged already (1002): no change, no webhook")
	manage(f.ann.Email, pagerduty.ManageIncidentsOptions{EscalationLevel: 2})
	manage(f.ann.Email, pagerduty.ManageIncidentsOptions{Assignments: []pagerduty.Assignee{{Assignee: pagerduty.APIObject{ID: f.ann.ID, Type: "user_reference"}}}})
	manage(f.ann.Email, pagerduty.ManageIncidentsOptions{Status: "resolved"})
	manage(f.ben.Email, pagerduty.ManageIncidentsOptions{Status: "acknowledged"}) // reopens it
	require.NoError(t, f.fake.WaitWebhooks(ctx))

	require.Equal(t, []string{"incident.triggered", "incident.acknowledged", "incident.escalated", "incident.reassigned",
		"incident.resolved", "incident.reopened", "incident.acknowledged"}, rc.types(), "in order, one per change")
	got := rc.list()
	ids := map[string]bool{}
	for _, e := range got {
		require.True(t, e.Verified, "signed like PagerDuty: %s", e.Type)
		require.Equal(t, inc.ID, e.Incident)
		require.False(t, ids[e.ID], "one id per event")
		ids[e.ID] = true
	}
	require.Equal(t, "Ben", got[1].Agent, "the From user acted")
	require.Equal(t, "acknowledged", got[1].Status)
	require.Equal(t, []string{"Carl"}, got[2].Assignees, "escalated to level 2")
	require.Equal(t, "Ann", got[2].Agent)
	require.Equal(t, []string{"Ann"}, got[3].Assignees)
	require.Equal(t, "resolved", got[4].Status)
	for _, d := range f.fake.WebhookDeliveries() {
		require.NoError(t, d.Err)
		require.Equal(t, http.StatusAccepted, d.Status)
	}

	// The Events API's changes too, with no agent.
	ev := &pagerduty.V2Event{RoutingKey: f.svc.RoutingKey, Action: "trigger", DedupKey: "ev-1",
		Payload: &pagerduty.V2Payload{Summary: "Disk full", Source: "db-1", Severity: "critical"}}
	_, err = f.pd.ManageEventWithContext(ctx, ev)
	require.NoError(t, err)
	_, err = f.pd.ManageEventWithContext(ctx, &pagerduty.V2Event{RoutingKey: f.svc.RoutingKey, Action: "acknowledge", DedupKey: "ev-1"})
	require.NoError(t, err)
	require.NoError(t, f.fake.WaitWebhooks(ctx))
	got = rc.list()[7:]
	require.Len(t, got, 2)
	require.Equal(t, "incident.triggered", got[0].Type)
	require.Equal(t, "incident.acknowledged", got[1].Type)
	require.Empty(t, got[1].Agent)
}

func TestWebhooksBeforeAnswerAndHeld(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	rc, url := receiver(t, "s3cret")
	inc, err := f.pd.CreateIncidentWithContext(ctx, f.ann.Email, &pagerduty.CreateIncidentOptions{
		Title: "Down", Service: &pagerduty.APIReference{ID: f.svc.ID, Type: "service_reference"},
	})
	require.NoError(t, err)
	require.Empty(t, rc.list(), "none sent without a subscription")

	f.fake.SetWebhooks(pdfake.Webhooks{URL: url, Secret: "s3cret", When: pdfake.WebhooksBeforeAnswer})
	_, err = f.pd.ManageIncidentsWithContext(ctx, f.ben.Email, []pagerduty.ManageIncidentsOptions{{ID: inc.ID, Status: "acknowledged"}})
	require.NoError(t, err)
	require.Equal(t, []string{"incident.acknowledged"}, rc.types(), "delivered by the time the change is answered")

	f.fake.SetWebhooks(pdfake.Webhooks{URL: url, Secret: "s3cret", When: pdfake.WebhooksHeld})
	_, err = f.pd.ManageIncidentsWithContext(ctx, f.ben.Email, []pagerduty.ManageIncidentsOptions{{ID: inc.ID, Status: "resolved"}})
	require.NoError(t, err)
	require.NoError(t, f.fake.WaitWebhooks(ctx))
	require.Len(t, rc.list(), 1, "held")
	f.fake.DeliverWebhooks(ctx)
	require.Equal(t, []string{"incident.acknowledged", "incident.resolved"}, rc.types(), "delivered when the test says")

	f.fake.SetWebhooks(pdfake.Webhooks{})
	_, err = f.pd.ManageIncidentsWithContext(ctx, f.ann.Email, []pagerduty.ManageIncidentsOptions{{ID: inc.ID, Status: "acknowledged"}})
	require.NoError(t, err)
	require.NoError(t, f.fake.WaitWebhooks(ctx))
	require.Len(t, rc.list(), 2, "stopped")
}

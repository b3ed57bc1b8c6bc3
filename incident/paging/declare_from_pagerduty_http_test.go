package paging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/alerts"
	"github.com/firebreakhq/firebreak/integrations/pagerduty"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

// checkoutRoutingKey is the key of the Events API v2 integration a
// monitoring tool (Datadog) triggers Checkout's PagerDuty service with.
var checkoutRoutingKey = pdfake.RoutingKey("checkout datadog")

// alertBundle is paging and alerts over one store, with PagerDuty's
// webhooks (pdfake's own, for the changes made through its APIs) sent to
// the bot's real handler, which hands PagerDuty incidents the bot did not
// open to alerts: README "Alerts start the response".
type alertBundle struct {
	bundle
	alrt *alerts.Service
	fake *pdfake.Server
}

func alertSetup(t *testing.T, kind storeKind, severity func(*incident.Policy)) alertBundle {
	t.Helper()
	var b bundle
	fake := pdfake.New(pdfake.WithClock(func() time.Time { return b.clock.Now() }))
	t.Cleanup(fake.Close)
	fake.AddService(pdfake.Service{ID: "PSVC1", Name: "Checkout", EscalationPolicyID: "PEP1", RoutingKey: checkoutRoutingKey})
	fake.AddUser(pdfake.User{ID: "PUBOT", Name: "firebreak", Email: "bot@example.com"})
	fake.AddUser(pdfake.User{ID: "PUBOB", Name: "Bob Roe", Email: "bob@example.com"})
	fake.AddUser(pdfake.User{ID: "PUCAROL", Name: "Carol Poe", Email: "carol@example.com"})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 1, UserID: "PUBOB", Schedule: "Primary"})
	fake.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 2, UserID: "PUCAROL", Schedule: "Secondary"})
	client := pagerduty.New(pagerduty.Config{APIURL: fake.URL(), EventsURL: fake.EventsURL(), Token: fake.Token(), FromEmail: "bot@example.com"})
	mutate := func(p *incident.Policy) {
		svc := p.Services["checkout"]
		svc.PagerDuty = incident.PagerDutyService{ServiceID: "PSVC1"}
		p.Services["checkout"] = svc
		if severity != nil {
			severity(p)
		}
	}
	b = setupOn(t, kind, client, mutate)
	policy := incident.DefaultPolicy()
	policy.BroadcastChannel = "#incidents"
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout"}}
	mutate(&policy)
	alrt := alerts.New(alerts.Config{Store: b.store, Core: b.svc, Chat: b.chat, Scheduler: b.queue, Policy: policy, Clock: b.clock})
	alrt.RegisterJobs(b.queue)
	hooks := httptest.NewServer(pagerduty.NewWebhookHandler([]string{echoSecret}, b.pg.HandlePageEvent, nil, pagerduty.WithAlerts(alrt.HandleAlert)))
	t.Cleanup(hooks.Close)
	fake.SetWebhooks(pdfake.Webhooks{URL: hooks.URL + "/webhooks/pagerduty", Secret: echoSecret, When: pdfake.WebhooksHeld})
	return alertBundle{bundle: b, alrt: alrt, fake: fake}
}

// monitorTriggers sends what a monitoring tool sends PagerDuty's Events
// API v2 for an alert on Checkout: PagerDuty opens an incident, which pages
// Checkout's on-call.
func monitorTriggers(t *testing.T, fake *pdfake.Server, dedupKey, summary string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"routing_key": checkoutRoutingKey, "event_action": "trigger", "dedup_key": dedupKey,
		"payload": map[string]any{"summary": summary, "source": "datadog", "severity": "critical"}})
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, fake.EventsURL()+"/v2/enqueue", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
}

// TestDeclaringFromAPagerDutyIncidentTakesItAsThePage: a PagerDuty incident
// the bot did not open, on Checkout's PagerDuty service, is proposed at P2;
// declaring it does not page Checkout a second time: the PagerDuty incident
// is the incident's page. Bob's acknowledgement of it in PagerDuty is the
// incident's, the channel shows the page with its Acknowledge button, and
// resolving the incident resolves it in PagerDuty.
func TestDeclaringFromAPagerDutyIncidentTakesItAsThePage(t *testing.T) {
	t.Parallel()
	for _, kind := range everyStore {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			b := alertSetup(t, kind, nil)
			ctx := context.Background()
			monitorTriggers(t, b.fake, "d3640fbd41094207a1c11e58e46b1662", "Checkout 5xx above 10%")
			require.Len(t, b.fake.Incidents(), 1)
			origin := b.fake.Incidents()[0]
			require.Equal(t, []string{"PUBOB"}, origin.Notified, "PagerDuty pages Bob")
			b.fake.DeliverWebhooks(ctx)
			b.queue.RunAll(t)
			a, err := b.store.FindAlert(ctx, "pagerduty", origin.ID)
			require.NoError(t, err)
			require.Equal(t, incident.P2, a.Severity)

			inc, err := b.alrt.DeclareFromAlert(ctx, a.ID, "U0DECL", incident.ReplyTarget{UserID: "U0DECL"})
			require.NoError(t, err)
			b.queue.RunAll(t)
			advance(t, b.bundle, 10*time.Second)
			inc, err = b.store.GetIncident(ctx, inc.ID)
			require.NoError(t, err)
			require.Len(t, b.fake.Incidents(), 1, "Checkout is not paged a second time")
			got, _ := b.fake.Incident(origin.ID)
			require.Equal(t, []string{"PUBOB"}, got.Notified, "nor is Bob")
			pages, err := b.store.ListPages(ctx, inc.ID)
			require.NoError(t, err)
			require.Len(t, pages, 1)
			require.Equal(t, origin.ID, pages[0].ExternalID)
			require.Equal(t, "d3640fbd41094207a1c11e58e46b1662", pages[0].DedupKey)
			require.Len(t, postsContaining(b.chat, inc.ChannelID, "[Acknowledge:page_ack=d3640fbd41094207a1c11e58e46b1662]"), 1,
				"the channel shows the page: %q", b.chat.Posts[inc.ChannelID])

			// Bob acknowledges it in PagerDuty.
			onPhone(t, b.fake, origin.ID, "bob@example.com", "acknowledged")
			b.fake.DeliverWebhooks(ctx)
			b.queue.RunAll(t)
			inc, err = b.store.GetIncident(ctx, inc.ID)
			require.NoError(t, err)
			require.NotNil(t, inc.AcknowledgedAt, "the page's acknowledgement is the incident's")
			require.Len(t, postsContaining(b.chat, inc.ChannelID, "Acknowledged by Bob Roe in PagerDuty"), 1)

			_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "")
			require.NoError(t, err)
			b.queue.RunAll(t)
			got, _ = b.fake.Incident(origin.ID)
			require.Equal(t, "resolved", got.Status, "resolving the incident resolves its page")
			require.Len(t, b.fake.Incidents(), 1)
		})
	}
}

// TestDeclaringAP1FromAPagerDutyIncidentAddsTheBackupToIt: a P1 pages the
// backup too; declared from a PagerDuty incident, it adds the backup to
// that incident rather than opening another.
func TestDeclaringAP1FromAPagerDutyIncidentAddsTheBackupToIt(t *testing.T) {
	t.Parallel()
	b := alertSetup(t, storeMemory, func(p *incident.Policy) {
		p.AlertRules = []incident.AlertRule{{Name: "checkout-5xx", Match: map[string]string{"pagerduty_service": "PSVC1"}, Service: "checkout", Severity: incident.P1}}
	})
	ctx := context.Background()
	monitorTriggers(t, b.fake, "e7b1", "Checkout down")
	origin := b.fake.Incidents()[0]
	b.fake.DeliverWebhooks(ctx)
	b.queue.RunAll(t)
	a, err := b.store.FindAlert(ctx, "pagerduty", origin.ID)
	require.NoError(t, err)
	require.Equal(t, incident.P1, a.Severity)

	inc, err := b.alrt.DeclareFromAlert(ctx, a.ID, "U0DECL", incident.ReplyTarget{UserID: "U0DECL"})
	require.NoError(t, err)
	b.queue.RunAll(t)
	advance(t, b.bundle, 10*time.Second)
	require.Len(t, b.fake.Incidents(), 1, "no second PagerDuty incident")
	got, _ := b.fake.Incident(origin.ID)
	require.ElementsMatch(t, []string{"PUBOB", "PUCAROL"}, got.Assignees, "the backup is added to the PagerDuty incident")
	require.Equal(t, []string{"PUBOB", "PUCAROL"}, got.Notified, "Bob is not paged again")
	inc, err = b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, postsContaining(b.chat, inc.ChannelID, "Paged *Checkout* in PagerDuty: Bob Roe, Carol Poe (and the backup)"), 1, "%q", b.chat.Posts[inc.ChannelID])
}

// TestDeclaringFromAPagerDutyIncidentOfAnotherServicePagesTheIncidentsOwn:
// a policy rule maps Checkout's PagerDuty incidents to Payments, whose
// on-call PagerDuty is not paging: the incident declared pages Payments.
func TestDeclaringFromAPagerDutyIncidentOfAnotherServicePagesTheIncidentsOwn(t *testing.T) {
	t.Parallel()
	b := alertSetup(t, storeMemory, func(p *incident.Policy) {
		p.Services["payments"] = incident.ServicePolicy{Key: "payments", Name: "Payments", PagerDuty: incident.PagerDutyService{ServiceID: "PSVC2"}}
		p.AlertRules = []incident.AlertRule{{Name: "checkout-to-payments", Match: map[string]string{"pagerduty_service": "PSVC1"}, Service: "payments", Severity: incident.P2}}
	})
	b.fake.AddService(pdfake.Service{ID: "PSVC2", Name: "Payments", EscalationPolicyID: "PEP1"})
	ctx := context.Background()
	monitorTriggers(t, b.fake, "f00d", "Checkout calls to Payments fail")
	origin := b.fake.Incidents()[0]
	b.fake.DeliverWebhooks(ctx)
	b.queue.RunAll(t)
	a, err := b.store.FindAlert(ctx, "pagerduty", origin.ID)
	require.NoError(t, err)
	require.Equal(t, "payments", a.Service)

	_, err = b.alrt.DeclareFromAlert(ctx, a.ID, "U0DECL", incident.ReplyTarget{UserID: "U0DECL"})
	require.NoError(t, err)
	b.queue.RunAll(t)
	advance(t, b.bundle, 10*time.Second)
	require.Len(t, b.fake.Incidents(), 2, "Payments is paged")
	require.Equal(t, "PSVC2", b.fake.Incidents()[1].ServiceID)
}

package alerts_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/alerts"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/storetest"
	"github.com/firebreakhq/firebreak/integrations/alerting"
)

// testStore is what the tests need of a store: the whole incident store.
type testStore interface {
	incident.Store
}

// storeKind names a store the tests run on.
type storeKind = storetest.Kind

// openStore returns a fresh store of the kind whose transactions hand their
// jobs to q (storetest.Open).
func openStore(t *testing.T, kind storeKind, clock incident.Clock, q *incidenttest.Queue) testStore {
	return storetest.Open[testStore](t, kind, clock, q)
}

// bundle is the core and the alerts service over one store, queue, chat
// (worded as Slack words notices) and clock.
type bundle struct {
	svc   *incident.Service
	alrt  *alerts.Service
	store testStore
	chat  *incidenttest.Chat
	queue *incidenttest.Queue
	clock *incidenttest.Clock
}

// options change how setup wires the alerts service.
type options struct {
	// core wraps the core the alerts service calls.
	core func(alerts.Core) alerts.Core
	// sched wraps the scheduler the alerts service schedules on.
	sched func(incident.Scheduler) incident.Scheduler
	// store wraps the store the alerts service reads and writes.
	store func(alerts.Store) alerts.Store
}

// alertPolicy maps checkout's alerts: HighErrorRate is proposed, and
// CheckoutDown declared at once.
func alertPolicy(p *incident.Policy) {
	p.BroadcastChannel = "#incidents"
	p.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout", Channel: "#checkout",
		Responders: []string{"U0ALICE"}, Runbook: "https://runbooks/checkout"}}
	p.AlertRules = []incident.AlertRule{
		{Name: "checkout-errors", Match: map[string]string{"alertname": "HighErrorRate", "service": "checkout"}, Service: "checkout", Severity: incident.P1},
		{Name: "checkout-down", Match: map[string]string{"alertname": "CheckoutDown"}, Service: "checkout", Severity: incident.P1, Auto: true},
	}
}

func setupOn(t *testing.T, kind storeKind, o options) bundle {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	q := incidenttest.NewQueue()
	store := openStore(t, kind, clock, q)
	policy := incident.DefaultPolicy()
	alertPolicy(&policy)
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	var core alerts.Core = svc
	if o.core != nil {
		core = o.core(core)
	}
	var sched incident.Scheduler = q
	if o.sched != nil {
		sched = o.sched(sched)
	}
	var astore alerts.Store = store
	if o.store != nil {
		astore = o.store(astore)
	}
	alrt := alerts.New(alerts.Config{Store: astore, Core: core, Chat: c, Scheduler: sched, Policy: policy, Clock: clock})
	alrt.RegisterJobs(q)
	return bundle{svc: svc, alrt: alrt, store: store, chat: c, queue: q, clock: clock}
}

// forEachStore runs test on every store kind.
func forEachStore(t *testing.T, test func(t *testing.T, kind storeKind)) {
	t.Helper()
	storetest.ForEach(t, test)
}

const token = "am-token"

// alertmanager is the Alertmanager webhook receiver of the bot, handing
// alerts to b's alerts service.
func alertmanager(b bundle) http.Handler {
	return alerting.NewAlertmanagerHandler(alerting.Auth{Tokens: []string{token}}, b.alrt.HandleAlerts, nil)
}

// fixture reads a payload from testdata.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return body
}

// deliver posts body to h as Alertmanager does and returns the status.
func deliver(t *testing.T, h http.Handler, body []byte) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/alertmanager", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// incidents returns every incident of the store.
func incidents(t *testing.T, b bundle) []*incident.Incident {
	t.Helper()
	list, err := b.store.ListIncidents(context.Background(), incident.IncidentFilter{})
	require.NoError(t, err)
	return list
}

func postsContaining(c *incidenttest.Chat, ch, sub string) []string {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	var out []string
	for _, p := range c.Posts[ch] {
		if strings.Contains(p, sub) {
			out = append(out, p)
		}
	}
	return out
}

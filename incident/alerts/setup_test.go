package alerts_test

import (
	"bytes"
	"context"
	"database/sql"
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
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/integrations/alerting"
)

// testStore is what the tests need of a store: the whole incident store.
type testStore interface {
	incident.Store
}

// storeKind names a store the tests run on.
type storeKind string

const (
	storeMemory   storeKind = "memory"
	storeSQLite   storeKind = "sqlite"
	storePostgres storeKind = "postgres"
)

// everyStore is the stores a test about what the store records runs on.
var everyStore = []storeKind{storeMemory, storeSQLite, storePostgres}

// openStore returns a fresh store of the kind whose transactions hand their
// jobs to q. A PostgreSQL one is skipped when the server is unreachable,
// except in CI (pgtest).
func openStore(t *testing.T, kind storeKind, clock incident.Clock, q *incidenttest.Queue) testStore {
	t.Helper()
	ctx := context.Background()
	var url string
	switch kind {
	case storeMemory:
		store := incidenttest.NewMemStore(clock)
		store.SetScheduler(q)
		return store
	case storeSQLite:
		url = "sqlite:" + filepath.Join(t.TempDir(), "firebreak.db")
	case storePostgres:
		url = pgtest.MigratedDSN(t)
	default:
		t.Fatalf("unknown store %q", kind)
	}
	db, err := gormstore.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	if kind == storeSQLite {
		require.NoError(t, db.Migrate(ctx))
	}
	return gormstore.New(db, clock, gormstore.WithJobs(queueJobs{q}))
}

// queueJobs hands the jobs of a database transaction to the test queue, as
// the job engine stores them with it.
type queueJobs struct{ q *incidenttest.Queue }

func (j queueJobs) ScheduleManyTx(ctx context.Context, _ *sql.Tx, jobs []incident.Job) error {
	for _, job := range jobs {
		if _, err := j.q.Schedule(ctx, job); err != nil {
			return err
		}
	}
	return nil
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
	for _, kind := range everyStore {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			test(t, kind)
		})
	}
}

const token = "am-token"

// alertmanager is the Alertmanager webhook receiver of the bot, handing
// alerts to b's alerts service.
func alertmanager(b bundle) http.Handler {
	return alerting.NewAlertmanagerHandler(alerting.Auth{Tokens: []string{token}}, b.alrt.HandleAlert, nil)
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

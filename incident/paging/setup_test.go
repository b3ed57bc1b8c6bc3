package paging_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/paging"
)

var (
	_ paging.Store = (*incidenttest.MemStore)(nil)
	_ paging.Tx    = (*incidenttest.MemStore)(nil)
	_ paging.Core  = (*incident.Service)(nil)
	_ paging.Chat  = incident.Chat{}
)

// bundle is the core and paging over one store (in memory unless the test
// asks for SQLite or PostgreSQL), queue, chat (worded as Slack words
// notices) and clock.
type bundle struct {
	svc   *incident.Service
	pg    *paging.Service
	store testStore
	chat  *incidenttest.Chat
	queue *incidenttest.Queue
	clock *incidenttest.Clock
}

func setup(t *testing.T, pager incident.Pager, mutate ...func(*incident.Policy)) bundle {
	t.Helper()
	return setupOn(t, storeMemory, pager, mutate...)
}

// testInstallation names the installation in the tests' page keys.
const testInstallation = "inst"

// setupOn is setup over the named store.
func setupOn(t *testing.T, kind storeKind, pager incident.Pager, mutate ...func(*incident.Policy)) bundle {
	t.Helper()
	return setupInstalled(t, kind, pager, testInstallation, mutate...)
}

// setupInstalled is setupOn naming the installation in page keys as
// installation; empty leaves it to the store (or, for the in-memory store,
// to paging).
func setupInstalled(t *testing.T, kind storeKind, pager incident.Pager, installation string, mutate ...func(*incident.Policy)) bundle {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	q := incidenttest.NewQueue()
	store := openStore(t, kind, clock, q)
	policy := incident.DefaultPolicy()
	policy.BroadcastChannel = "#incidents"
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout",
		Responders: []string{"U0ALICE", "S0TEAM", "bob@example.com"}, Runbook: "https://runbooks/checkout"}}
	// Kim, who acknowledges pages from Slack in these tests, is one of the
	// commander group, whom an acknowledgement is open to.
	policy.CommanderGroup = "S0ICS"
	for _, m := range mutate {
		m(&policy)
	}
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	c.Users["S0TEAM"] = []string{"U0CAROL", "U0DAVE"}
	c.Users["bob@example.com"] = []string{"U0BOB"}
	c.Users["S0ICS"] = []string{"U0KIM"}
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	pg := paging.New(paging.Config{Store: store, Core: svc, Chat: incident.MarkDrills(c.Roles(), store), Pager: pager, Scheduler: q, Policy: policy, Clock: clock,
		Installation: installation})
	pg.RegisterJobs(q)
	svc.Use(pg.Feature())
	return bundle{svc: svc, pg: pg, store: store, chat: c, queue: q, clock: clock}
}

func declare(t *testing.T, b bundle, title string, sev incident.Severity, key string) *incident.Incident {
	t.Helper()
	inc, existed, err := b.svc.Declare(context.Background(), incident.DeclareInput{Title: title, Severity: sev, ServiceKey: "checkout",
		DeclaredBy: "U0DECL", Key: key, ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}})
	require.NoError(t, err)
	require.False(t, existed)
	return inc
}

func advance(t *testing.T, b bundle, d time.Duration) {
	t.Helper()
	end := b.clock.Now().Add(d)
	for b.clock.Now().Before(end) {
		step := min(30*time.Second, end.Sub(b.clock.Now()))
		b.clock.Advance(step)
		b.queue.RunDue(t, b.clock.Now())
	}
}

func readyAt(t *testing.T, b bundle, sev incident.Severity) *incident.Incident {
	t.Helper()
	inc := declare(t, b, "checkout is down", sev, "")
	b.queue.RunDue(t, b.clock.Now())
	inc, err := b.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, inc.ChannelID)
	return inc
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

package postmortem_test

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/integrations/confluence"
	"github.com/firebreakhq/firebreak/integrations/confluence/confluencefake"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// replica is one process of the bot: its own store handle on the shared
// database, its own GitHub client and its own job queue.
type replica struct {
	store *gormstore.Store
	queue *incidenttest.Queue
	pm    *postmortem.Service
}

func newReplica(t *testing.T, dbURL string, clock incident.Clock, fake *ghfake.Server, more ...incident.Exporter) replica {
	t.Helper()
	ctx := context.Background()
	db, err := gormstore.Open(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Migrate(ctx))
	store := gormstore.New(db, clock)
	ghc, err := github.New(github.Config{APIURL: fake.URL(), Token: fake.Token(), ExportRepo: "acme/postmortems",
		ExportMode: github.ExportIssue, ActionItemIssues: true, Clock: clock})
	require.NoError(t, err)
	q := incidenttest.NewQueue()
	policy := incident.DefaultPolicy()
	policy.GitHubLogins = map[string]string{dev: "dpatel"}
	policy.Exporters = []string{bob} // bob has no role in the incident
	pm := postmortem.New(postmortem.Config{Store: store, Chat: newFakeChat(), Scheduler: q, Exporters: append([]incident.Exporter{ghc}, more...),
		Renderer: mustTemplates(t), Clock: clock, Policy: policy})
	pm.RegisterJobs(q)
	return replica{store: store, queue: q, pm: pm}
}

// Two replicas, on one SQLite or PostgreSQL database, export one
// postmortem to GitHub at the same moment, from export jobs scheduled in
// different minutes (so the job engine does not take them for one), while
// GitHub's search index lags: one postmortem issue is opened, and one
// issue per action item.
func TestConcurrentExportsToGitHubOpenOneIssue(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			dbURL := "sqlite:" + filepath.Join(t.TempDir(), "firebreak.db")
			if dialect == "postgres" {
				dbURL = pgtest.DSN(t)
			}
			concurrentExports(t, dbURL)
		})
	}
}

func concurrentExports(t *testing.T, dbURL string) {
	ctx := context.Background()
	clock := incidenttest.NewClock(declaredAt())
	fake := ghfake.New(ghfake.WithClock(clock.Now))
	t.Cleanup(fake.Close)
	fake.AddRepo("acme/postmortems", "main", "")
	fake.SetSearchLag(time.Hour)
	// Every call takes a while, so both exports look for the issue before
	// either opens it.
	fake.SetLatency(30 * time.Millisecond)

	a := newReplica(t, dbURL, clock, fake)
	b := newReplica(t, dbURL, clock, fake)

	inc, err := a.store.CreateIncident(ctx, &incident.Incident{Title: "Checkout fails for card payments", Severity: incident.P1,
		Status: incident.StatusClosed, Service: "checkout", DeclaredBy: alice, Commander: alice, ChannelID: "C0PM",
		Roles: map[string]string{}, DeclaredAt: declaredAt()})
	require.NoError(t, err)
	require.NoError(t, a.store.AddActionItem(ctx, &incident.ActionItem{IncidentID: inc.ID, Text: "Add an index on orders.customer_id", Owner: dev, CreatedBy: alice, CreatedAt: declaredAt()}))
	require.NoError(t, a.store.AddActionItem(ctx, &incident.ActionItem{IncidentID: inc.ID, Text: "Alert on pool use", CreatedBy: alice, CreatedAt: declaredAt()}))

	reply := incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: alice}
	require.NoError(t, a.pm.Export(ctx, inc.ID, "github", alice, reply))
	clock.Advance(time.Minute)
	require.NoError(t, b.pm.Export(ctx, inc.ID, "github", bob, reply))
	jobA, ok := a.queue.Take(postmortem.JobExport)
	require.True(t, ok)
	jobB, ok := b.queue.Take(postmortem.JobExport)
	require.True(t, ok)

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, r := range []struct {
		rep replica
		job incident.Job
	}{{a, jobA}, {b, jobB}} {
		wg.Go(func() { errs[i] = r.rep.queue.Handler(postmortem.JobExport)(ctx, r.job.Payload) })
	}
	wg.Wait()
	// An export that found the other under way asks to run again a little
	// later; run it, as the job engine would.
	for i, err := range errs {
		if err == nil {
			continue
		}
		var later interface{ RetryAfter() time.Duration }
		require.ErrorAs(t, err, &later, "only a wait for the other export may fail")
		rep, job := a, jobA
		if i == 1 {
			rep, job = b, jobB
		}
		require.NoError(t, rep.queue.Handler(postmortem.JobExport)(ctx, job.Payload))
	}

	var postmortems, followUps []ghfake.Issue
	for _, is := range fake.Issues("acme/postmortems") {
		if len(is.Labels) > 0 && is.Labels[0] == "postmortem" {
			postmortems = append(postmortems, is)
		} else {
			followUps = append(followUps, is)
		}
	}
	require.Equal(t, 1, len(postmortems), "exactly one postmortem issue")
	require.Equal(t, 2, len(followUps), "exactly one issue per action item")
	ref, err := a.store.GetExport(ctx, inc.ID, "github")
	require.NoError(t, err)
	require.Equal(t, postmortems[0].Number, mustAtoi(t, ref.ID))
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

// The action items' issues name their owners as Slack does, and the owner
// the policy maps to a GitHub login is assigned; Confluence's table of
// action items names them too. A person mentioned in an action item is
// named in its issue's title, as in the draft, not by Slack's markup.
func TestExportNamesActionItemOwners(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := incidenttest.NewClock(declaredAt())
	fake := ghfake.New(ghfake.WithClock(clock.Now))
	t.Cleanup(fake.Close)
	fake.AddRepo("acme/postmortems", "main", "")
	fake.SetAssignable("acme/postmortems", "dpatel")
	conf := confluencefake.New(confluencefake.Config{Email: "bot@example.com", APIToken: "atl-token", Spaces: map[string]string{"42": "OPS"}})
	t.Cleanup(conf.Close)
	cc := confluence.New(confluence.Config{BaseURL: conf.URL(), Email: "bot@example.com", APIToken: "atl-token", SpaceID: "42"})
	r := newReplica(t, "sqlite:"+filepath.Join(t.TempDir(), "firebreak.db"), clock, fake, cc)

	inc, err := r.store.CreateIncident(ctx, &incident.Incident{Title: "Checkout fails for card payments", Severity: incident.P1,
		Status: incident.StatusClosed, Service: "checkout", DeclaredBy: alice, Commander: alice, ChannelID: "C0PM",
		Roles: map[string]string{}, DeclaredAt: declaredAt()})
	require.NoError(t, err)
	require.NoError(t, r.store.AddActionItem(ctx, &incident.ActionItem{IncidentID: inc.ID, Text: "Add an index on orders.customer_id", Owner: dev, CreatedBy: alice, CreatedAt: declaredAt()}))
	require.NoError(t, r.store.AddActionItem(ctx, &incident.ActionItem{IncidentID: inc.ID, Text: "Alert on pool use", Owner: bob, CreatedBy: alice, CreatedAt: declaredAt()}))
	require.NoError(t, r.store.AddActionItem(ctx, &incident.ActionItem{IncidentID: inc.ID, Text: "Pair with <@" + dev + "> on the\nquery plan", Owner: bob, CreatedBy: alice, CreatedAt: declaredAt()}))
	reply := incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: alice}
	require.NoError(t, r.pm.Export(ctx, inc.ID, "github", alice, reply))
	require.NoError(t, r.pm.Export(ctx, inc.ID, "confluence", alice, reply))
	require.Empty(t, r.queue.RunAll(t))

	issues := map[string]ghfake.Issue{}
	for _, is := range fake.Issues("acme/postmortems") {
		issues[is.Title] = is
	}
	index := issues["Add an index on orders.customer_id"]
	// The owner is reached by the assignment; the body names their login
	// without mentioning it (ADR 0040).
	require.Contains(t, index.Body, "Owner: Dev Patel (@\u200bdpatel)")
	require.Equal(t, []string{"dpatel"}, index.Assignees)
	pool := issues["Alert on pool use"]
	require.Contains(t, pool.Body, "Owner: Bob Martin")
	require.Empty(t, pool.Assignees, "nobody is mapped to a GitHub login")
	_, named := issues["Pair with Dev Patel on the query plan"]
	require.True(t, named, "a mention in an action item is named, and its lines joined, in the issue's title: %v", slices.Collect(maps.Keys(issues)))

	pages := conf.Pages()
	require.Len(t, pages, 1)
	require.Contains(t, pages[0].Body, "<td>Dev Patel</td>")
	require.Contains(t, pages[0].Body, "<td>Bob Martin</td>")
	require.NotContains(t, pages[0].Body, dev)
}

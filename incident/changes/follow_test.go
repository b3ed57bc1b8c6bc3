package changes_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

const (
	followRepo   = "acme/checkout"
	followSecret = "hook-secret"
	goodSHA      = "1111111111111111111111111111111111111111"
	shippedSHA   = "3333333333333333333333333333333333333333"
)

// githubFollow is "what changed?" and its rollbacks wired to the GitHub
// integration, talking to a fake GitHub, with GitHub's webhooks delivered
// through the integration's handler into RecordChange as the program does.
type githubFollow struct {
	changeBundle
	fake *ghfake.Server
	hook string
}

// newGitHubFollow seeds a good deployment three hours before the incident
// and the one to roll back five minutes before it, and a dispatchable
// deploy.yml. The fake's dispatches predate return_run_details (204), so
// the rollback's run is known only by its title.
func newGitHubFollow(t *testing.T, wf ...ghfake.WorkflowOption) githubFollow {
	t.Helper()
	return newGitHubFollowOn(t, nil, []ghfake.Option{ghfake.WithLegacyDispatch(0)}, wf...)
}

// newGitHubFollowOn is newGitHubFollow with the fake's options, and with
// the store that "what changed?" and rollbacks use wrapped by wrap when it
// is set, so a test can make the database fail.
func newGitHubFollowOn(t *testing.T, wrap func(*incidenttest.MemStore) changes.Store, opts []ghfake.Option, wf ...ghfake.WorkflowOption) githubFollow {
	t.Helper()
	return newGitHubFollowWith(t, nil, wrap, opts, wf...)
}

// newGitHubFollowWith is newGitHubFollowOn with the policy changed by
// mutate when it is set.
func newGitHubFollowWith(t *testing.T, mutate func(*incident.Policy), wrap func(*incidenttest.MemStore) changes.Store, opts []ghfake.Option, wf ...ghfake.WorkflowOption) githubFollow {
	t.Helper()
	start := time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC)
	clock := incidenttest.NewClock(start)
	fake := ghfake.New(append([]ghfake.Option{ghfake.WithClock(clock.Now)}, opts...)...)
	t.Cleanup(fake.Close)
	fake.AddRepo(followRepo, "main", "")
	fake.AddDeployment(followRepo, ghfake.Deployment{SHA: goodSHA, Environment: "production", CreatedAt: start.Add(-3 * time.Hour),
		Statuses: []ghfake.DeploymentStatus{{State: "success"}}})
	fake.AddDeployment(followRepo, ghfake.Deployment{SHA: shippedSHA, Environment: "production", Creator: "grace", CreatedAt: start.Add(-5 * time.Minute),
		Statuses: []ghfake.DeploymentStatus{{State: "success"}}})
	fake.AddWorkflow(followRepo, "deploy.yml", true, append([]ghfake.WorkflowOption{ghfake.WithInputs("sha", "environment", "reason")}, wf...)...)
	gh, err := github.New(github.Config{APIURL: fake.URL(), Token: fake.Token(), Clock: clock})
	require.NoError(t, err)

	store := incidenttest.NewMemStore(clock)
	policy := incident.DefaultPolicy()
	policy.Services = map[string]incident.ServicePolicy{
		"checkout": {Key: "checkout", Name: "Checkout", Owners: []string{"S0CHECKOUT"},
			GitHub: incident.GitHubService{Repos: []string{followRepo}, Environments: []string{"production"}, DeployWorkflow: "deploy.yml"}},
	}
	policy.RollbackGroup = "S0ROLL"
	if mutate != nil {
		mutate(&policy)
	}
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	c.Users["S0ROLL"] = []string{"U0ROLL1", "U0ROLL2"}
	c.Users["S0CHECKOUT"] = []string{"U0DECL"}
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	core := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
	core.RegisterJobs(q)
	var chgStore changes.Store = store
	if wrap != nil {
		chgStore = wrap(store)
	}
	chg := changes.New(changes.Config{Store: chgStore, Core: core, Chat: c, Scheduler: q, Policy: policy, Clock: clock,
		Sources: []incident.ChangeSource{gh}, Rollbackers: []incident.Rollbacker{gh}, Render: bot.TimelineText})
	chg.RegisterJobs(q)
	core.Use(chg.Feature())
	sink := func(ctx context.Context, ch incident.ChangeEvent) error {
		if err := chg.RecordChange(ctx, ch); incident.ErrorCode(err) != incident.ECONFLICT {
			return err
		}
		return nil
	}
	srv := httptest.NewServer(github.NewWebhookHandler(followSecret, sink, nil))
	t.Cleanup(srv.Close)
	return githubFollow{
		changeBundle: changeBundle{core: core, chg: chg, rb: chg.Rollbacks(), store: store, chat: c, queue: q, clock: clock},
		fake:         fake, hook: srv.URL,
	}
}

// rollBack declares an incident, lists its changes and rolls the shipped
// deploy back; it returns the running rollback.
func (g githubFollow) rollBack(t *testing.T) (*incident.Incident, *incident.Rollback) {
	t.Helper()
	ctx := context.Background()
	inc := g.open(t, incident.P2)
	var value string
	for _, it := range g.lastList(t, inc, 0).Items {
		if it.Change.Kind == incident.ChangeDeploy && it.Change.Ref == shippedSHA {
			value = it.Value
		}
	}
	require.NotEmpty(t, value, "the shipped deploy is listed")
	r, err := g.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Equal(t, "workflow", r.Plan.Method)
	require.Empty(t, g.queue.RunDue(t, g.clock.Now()))
	require.Len(t, g.fake.Dispatches(followRepo), 1)
	r, err = g.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, incident.RollbackRunning, r.Status)
	return inc, r
}

// deliver sends the workflow_run webhook GitHub sends for a run's state.
func (g githubFollow) deliver(t *testing.T, runID int64) {
	t.Helper()
	payload, err := g.fake.WorkflowRunPayload(followRepo, runID)
	require.NoError(t, err)
	status, err := ghfake.SendWebhook(t.Context(), g.hook, followSecret, "workflow_run", payload)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
}

func (g githubFollow) rollback(t *testing.T, key string) *incident.Rollback {
	t.Helper()
	r, err := g.store.GetRollback(context.Background(), key)
	require.NoError(t, err)
	return r
}

// A teammate dispatches the deploy workflow seconds after the bot's
// rollback did, and its run succeeds. The workflow has no run-name, so no
// run says it is the rollback's: the teammate's run is not adopted, and
// its success is not the rollback's.
func TestRollbackDoesNotAdoptSomeoneElsesWorkflowRun(t *testing.T) {
	t.Parallel()
	g := newGitHubFollow(t)
	_, r := g.rollBack(t)
	require.Empty(t, r.ExternalID, "GitHub did not say which run the dispatch started")

	g.clock.Advance(2 * time.Second)
	alice := g.fake.AddWorkflowRun(followRepo, ghfake.WorkflowRun{Workflow: "deploy.yml", Event: "workflow_dispatch", Status: "in_progress", Actor: "alice"})
	g.deliver(t, alice)
	g.clock.Advance(time.Minute)
	require.NoError(t, g.fake.CompleteRun(followRepo, alice, "success"))
	g.deliver(t, alice)

	r = g.rollback(t, r.Key)
	require.Equal(t, incident.RollbackRunning, r.Status, "alice's run is not the rollback")
	require.Empty(t, r.ExternalID)
}

// With run-name set to the reason input, the rollback's run names its key:
// that run is the one followed, and the teammate's is not.
func TestRollbackFollowsTheWorkflowRunNamingItsKey(t *testing.T) {
	t.Parallel()
	g := newGitHubFollow(t, ghfake.WithRunNameInput("reason"))
	_, r := g.rollBack(t)
	ours := g.fake.Dispatches(followRepo)[0].RunID
	require.Equal(t, fmt.Sprint(ours), r.ExternalID, "the run naming the rollback is found")

	g.clock.Advance(2 * time.Second)
	alice := g.fake.AddWorkflowRun(followRepo, ghfake.WorkflowRun{Workflow: "deploy.yml", Event: "workflow_dispatch", Status: "in_progress", Actor: "alice"})
	g.deliver(t, alice)
	require.NoError(t, g.fake.StartRun(followRepo, ours))
	g.deliver(t, ours)
	require.Equal(t, fmt.Sprint(ours), g.rollback(t, r.Key).ExternalID)

	require.NoError(t, g.fake.CompleteRun(followRepo, alice, "failure"))
	g.deliver(t, alice)
	require.Equal(t, incident.RollbackRunning, g.rollback(t, r.Key).Status)
	require.NoError(t, g.fake.CompleteRun(followRepo, ours, "success"))
	g.deliver(t, ours)
	require.Equal(t, incident.RollbackSucceeded, g.rollback(t, r.Key).Status)
}

package github_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// A run of the deploy workflow is listed without an environment (a run
// names none), and its rollback redeploys production, where its commit
// went. Who may roll it back, and whether a second person must approve,
// is decided on production, as the plan says and the confirmation form
// shows: with the two-person rule on production's P2s and everywhere's
// P1s, a P2 rollback of the run waits for a second person; an owner of
// production may ask for it; someone who may roll back nothing is refused
// before GitHub is asked anything.
func TestRollbackOfADeployRunIsDecidedOnTheEnvironmentItRedeploys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedProduction(b.fake)
	b.fake.AddWorkflow(repo, "deploy.yml", true, ghfake.WithInputs("sha", "environment", "reason"))
	b.fake.AddWorkflowRun(repo, ghfake.WorkflowRun{Workflow: "deploy.yml", Event: "push", Status: "completed", Conclusion: "success",
		HeadBranch: "main", HeadSHA: sha3, CreatedAt: at(11, 29), UpdatedAt: at(11, 34)})

	clock := incidenttest.NewClock(now)
	store := incidenttest.NewMemStore(clock)
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	policy := incident.DefaultPolicy()
	svc := checkoutService()
	svc.Name, svc.Owners = "Checkout", []string{"S0CHECKOUT"}
	policy.Services = map[string]incident.ServicePolicy{"checkout": svc}
	policy.RollbackGroup = "S0ROLL"
	policy.Environments = map[string]incident.EnvironmentPolicy{"production": {Owners: []string{"S0PRODOPS"}}}
	policy.TwoPersonRollback = map[string]map[incident.Severity]bool{
		"production":            {incident.P1: true, incident.P2: true},
		incident.AnyEnvironment: {incident.P1: true},
	}
	chat := incidenttest.NewChat()
	chat.Word = bot.NoticeText
	chat.Users["S0CHECKOUT"] = []string{"U0DECL"}
	chat.Users["S0ROLL"] = []string{"U0ROLL1"}
	chat.Users["S0PRODOPS"] = []string{"U0PRODOPS"}
	core := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: chat.Roles(), Policy: policy, Clock: clock})
	core.RegisterJobs(q)
	chg := changes.New(changes.Config{Store: store, Core: core, Chat: chat, Scheduler: q, Policy: policy, Clock: clock,
		Sources: []incident.ChangeSource{b.client}, Rollbackers: []incident.Rollbacker{b.client}, Render: bot.TimelineText})
	chg.RegisterJobs(q)
	core.Use(chg.Feature())
	rbs := chg.Rollbacks()
	ctx := t.Context()

	inc, _, err := core.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P2, ServiceKey: "checkout",
		DeclaredBy: "U0DECL", ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}})
	require.NoError(t, err)
	require.Empty(t, q.RunAll(t))
	require.Len(t, chat.ChangeLists, 1, "the list is posted at declare")
	var run incident.ChangeItem
	for _, it := range chat.ChangeLists[0].Items {
		if it.Change.Kind == incident.ChangeWorkflow {
			run = it
		}
	}
	require.Equal(t, "Roll back", run.Action, "the run is listed with a Roll back button")
	require.Empty(t, run.Change.Environment, "a run names no environment")

	// Someone who may roll back nothing: refused, and GitHub is not asked.
	calls := len(b.fake.Calls())
	_, err = rbs.PlanRollback(ctx, inc.ID, run.Value, "U0RANDOM")
	requireCode(t, err, incident.EFORBIDDEN)
	_, err = rbs.RequestRollback(ctx, inc.ID, run.Value, "U0RANDOM")
	requireCode(t, err, incident.EFORBIDDEN)
	require.Len(t, b.fake.Calls(), calls, "a refused person causes no call to GitHub")

	// An owner of production may roll it back, with a second person's
	// approval, as the form says.
	plan, err := rbs.PlanRollback(ctx, inc.ID, run.Value, "U0PRODOPS")
	require.NoError(t, err)
	require.Equal(t, "production", plan.Environment, "the run's commit went to production")
	rule := bot.NoticeText(rbs.RollbackRule(ctx, inc, plan))
	require.Contains(t, rule, "needs a second person's approval")
	require.Contains(t, rule, "<!subteam^S0PRODOPS>")

	r, err := rbs.RequestRollback(ctx, inc.ID, run.Value, "U0PRODOPS")
	require.NoError(t, err)
	require.Equal(t, incident.RollbackAwaitingApproval, r.Status, "a P2 rollback in production waits for a second person")
	require.Empty(t, q.RunAll(t))
	require.Empty(t, b.fake.Dispatches(repo), "nothing is dispatched before the approval")

	_, err = rbs.ApproveRollback(ctx, r.Key, "U0ROLL1")
	require.NoError(t, err)
	require.Empty(t, q.RunDue(t, clock.Now()))
	dispatches := b.fake.Dispatches(repo)
	require.Len(t, dispatches, 1, "the approved rollback runs")
	require.Equal(t, "production", dispatches[0].Inputs["environment"])
	require.Equal(t, sha2, dispatches[0].Inputs["sha"])
}

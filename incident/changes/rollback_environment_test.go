package changes_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/integrations/flagoff"
)

// plannerRollbacker is a flag rollbacker that plans exactly as the real
// LaunchDarkly and Unleash clients do (flagoff.Planner): the environment
// comes from the change, else from the service's flag in the policy. It
// counts its plans, which stand for calls to the provider.
type plannerRollbacker struct {
	p     flagoff.Planner
	plans *atomic.Int32
}

func (r plannerRollbacker) Handles(c incident.ChangeEvent) bool { return r.p.Handles(c) }

func (r plannerRollbacker) Plan(_ context.Context, c incident.ChangeEvent, svc incident.ServicePolicy) (incident.RollbackPlan, error) {
	r.plans.Add(1)
	return r.p.Plan(c, svc)
}

func (r plannerRollbacker) Execute(_ context.Context, plan incident.RollbackPlan, _ string) (incident.RollbackRun, error) {
	return incident.RollbackRun{Plan: plan, Status: flagoff.StatusSucceeded}, nil
}

func (r plannerRollbacker) Progress(_ context.Context, run incident.RollbackRun) (incident.RollbackRun, error) {
	return run, nil
}

// An Unleash "feature-updated" event names no environment (nor does a
// GitHub workflow run): the plan takes it from the service's flag in the
// policy, production. The two-person rule and the environment's owners are
// those of production, for the confirmation form and the request alike: a
// P2 rollback waits for a second person, an owner of production may ask for
// it, and someone who may roll back nothing is refused before the provider
// is asked anything.
func TestRollbackOfAChangeWithoutEnvironmentIsDecidedOnThePlansEnvironment(t *testing.T) {
	t.Parallel()
	b := setupChanges(t, func(p *incident.Policy) {
		p.TwoPersonRollback = map[string]map[incident.Severity]bool{
			"production":            {incident.P1: true, incident.P2: true},
			incident.AnyEnvironment: {incident.P1: true},
		}
		p.Environments = map[string]incident.EnvironmentPolicy{
			"production": {Owners: []string{"S0PRODOPS"}},
			"staging":    {Owners: []string{"S0STAGING"}},
		}
		svc := p.Services["checkout"]
		svc.Flags = append(svc.Flags, incident.FlagRef{Provider: "unleash", Project: "default", Key: "fast-pay", Environment: "production"})
		p.Services["checkout"] = svc
	})
	b.chat.Users["S0PRODOPS"] = []string{"U0PRODOPS"}
	b.chat.Users["S0STAGING"] = []string{"U0STAGING"}
	ctx := context.Background()
	inc := b.open(t, incident.P2)
	ev := incident.ChangeEvent{Source: "unleash", ExternalID: "4711", Kind: incident.ChangeFlag, Summary: "Updated fast-pay",
		Actor: "eve@example.com", Ref: "fast-pay", OccurredAt: b.start().Add(-5 * time.Minute),
		Data: map[string]string{"project": "default", "flag": "fast-pay", "type": "feature-updated"}}
	require.NoError(t, b.chg.RecordChange(ctx, ev))

	plans := &atomic.Int32{}
	rb := plannerRollbacker{p: flagoff.Planner{Source: "unleash", Name: "Unleash", Article: "an"}, plans: plans}
	chg := changes.New(changes.Config{Store: b.store, Core: b.core, Chat: b.chat, Scheduler: b.queue, Policy: b.core.Policy(),
		Clock: b.clock, Rollbackers: []incident.Rollbacker{rb}, Render: bot.TimelineText})
	chg.RegisterJobs(b.queue)
	rbs := chg.Rollbacks()
	value := changes.ChangeValue(ev)

	// Someone who owns nothing and is in no rollback group: refused, and
	// the provider is not asked.
	_, err := rbs.PlanRollback(ctx, inc.ID, value, "U0RANDOM")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	_, err = rbs.RequestRollback(ctx, inc.ID, value, "U0RANDOM")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	require.Zero(t, plans.Load(), "a refused person causes no call to the provider")

	// An owner of staging may roll back in staging, not in production.
	_, err = rbs.RequestRollback(ctx, inc.ID, value, "U0STAGING")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	require.Contains(t, slackMessage(err), "in production")

	// An owner of production may: the form and the request say a second
	// person must approve.
	plan, err := rbs.PlanRollback(ctx, inc.ID, value, "U0PRODOPS")
	require.NoError(t, err)
	require.Equal(t, "production", plan.Environment, "the flag is turned off in production")
	rule := bot.NoticeText(rbs.RollbackRule(ctx, inc, plan))
	require.Contains(t, rule, "needs a second person's approval")
	require.Contains(t, rule, "<!subteam^S0PRODOPS>")

	r, err := rbs.RequestRollback(ctx, inc.ID, value, "U0PRODOPS")
	require.NoError(t, err)
	require.Equal(t, incident.RollbackAwaitingApproval, r.Status,
		"a P2 rollback in production waits for a second person, as the form said")
	require.Empty(t, b.queue.RunAll(t))
	r, err = b.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, incident.RollbackAwaitingApproval, r.Status, "nothing ran before the approval")

	// A member of the rollback group approves, and it runs.
	_, err = rbs.ApproveRollback(ctx, r.Key, "U0ROLL1")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	r, err = b.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, incident.RollbackSucceeded, r.Status)
}

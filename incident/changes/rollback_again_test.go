package changes_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// The bad commit is rolled back in one incident; a day later it is
// deployed again and the outage comes back. Rolling the new deploy back
// is a new rollback, not the finished one of the day before.
func TestRollbackOfTheSameCommitDeployedAgainIsANewRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newGitHubFollow(t, ghfake.WithRunNameInput("reason"))
	first, r := g.rollBack(t)
	ours := g.fake.Dispatches(followRepo)[0].RunID
	require.NoError(t, g.fake.CompleteRun(followRepo, ours, "success"))
	g.deliver(t, ours)
	require.Equal(t, incident.RollbackSucceeded, g.rollback(t, r.Key).Status)
	// The deploy workflow's deployment of the good commit.
	g.fake.AddDeployment(followRepo, ghfake.Deployment{SHA: goodSHA, Environment: "production", CreatedAt: g.clock.Now(),
		Statuses: []ghfake.DeploymentStatus{{State: "success", CreatedAt: g.clock.Now()}}})
	_, err := g.core.SetStatus(ctx, first.ID, incident.StatusResolved, "U0DECL", "rolled back")
	require.NoError(t, err)
	require.Empty(t, g.queue.RunAll(t))

	// A day later the same commit is deployed again.
	g.clock.Advance(24 * time.Hour)
	g.fake.AddDeployment(followRepo, ghfake.Deployment{SHA: shippedSHA, Environment: "production", Creator: "grace", CreatedAt: g.clock.Now().Add(-5 * time.Minute),
		Statuses: []ghfake.DeploymentStatus{{State: "success", CreatedAt: g.clock.Now().Add(-4 * time.Minute)}}})
	g.chat.ChangeLists = nil
	second := g.open(t, incident.P2)
	require.NotEqual(t, first.ID, second.ID)
	var value string
	for _, it := range g.lastList(t, second, 0).Items {
		if it.Change.Kind == incident.ChangeDeploy && it.Change.Ref == shippedSHA {
			value = it.Value
		}
	}
	require.NotEmpty(t, value, "the new deploy of the shipped commit is listed")

	again, err := g.rb.RequestRollback(ctx, second.ID, value, "U0DECL")
	require.NoError(t, err, "the rollback of the day before does not stand in for this one")
	require.NotEqual(t, r.Key, again.Key)
	require.Equal(t, second.ID, again.IncidentID)
	require.Equal(t, goodSHA, again.Plan.ToRef)
	require.Empty(t, g.queue.RunDue(t, g.clock.Now()))
	require.Len(t, g.fake.Dispatches(followRepo), 2, "the workflow is dispatched again")

	// A double click on the new deploy's button still rolls back once.
	_, err = g.rb.RequestRollback(ctx, second.ID, value, "U0DECL")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
}

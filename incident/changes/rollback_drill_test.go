package changes_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// openDrill declares a drill on checkout and takes the list posted at
// declare out of the way.
func (g githubFollow) openDrill(t *testing.T) *incident.Incident {
	t.Helper()
	ctx := context.Background()
	drill, _, err := g.core.Declare(ctx, incident.DeclareInput{Title: "practice", Severity: incident.P2, ServiceKey: "checkout",
		DeclaredBy: "U0DECL", Drill: true})
	require.NoError(t, err)
	require.Empty(t, g.queue.RunAll(t))
	g.chat.ChangeLists = nil
	drill, err = g.store.GetIncident(ctx, drill.ID)
	require.NoError(t, err)
	require.True(t, drill.Drill)
	return drill
}

// shippedValue lists inc's changes and returns the button value of the
// shipped deploy.
func (g githubFollow) shippedValue(t *testing.T, inc *incident.Incident) string {
	t.Helper()
	for _, it := range g.lastList(t, inc, 0).Items {
		if it.Change.Kind == incident.ChangeDeploy && it.Change.Ref == shippedSHA {
			return it.Value
		}
	}
	t.Fatalf("the shipped deploy is not listed in %s", inc.Key())
	return ""
}

// In the weekly drill someone presses Roll back on the real deploy that
// shipped minutes ago: the drill dry-runs it and GitHub is not asked. When
// that deploy then causes a real outage, the real incident's Roll back
// redeploys the good commit on GitHub; it is not refused as already done.
// Double clicks, in the drill and in the real incident, still roll back
// once.
func TestDrillDryRunDoesNotStandInForARealRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newGitHubFollow(t)

	drill := g.openDrill(t)
	value := g.shippedValue(t, drill)
	dr, err := g.rb.RequestRollback(ctx, drill.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Empty(t, g.queue.RunDue(t, g.clock.Now()))
	require.Empty(t, g.fake.Dispatches(followRepo), "a drill's rollback changes nothing on GitHub")
	dr = g.rollback(t, dr.Key)
	require.Equal(t, incident.RollbackSucceeded, dr.Status)
	require.Contains(t, dr.Detail, "dry run")
	_, err = g.rb.RequestRollback(ctx, drill.ID, value, "U0ROLL1")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "a double click in the drill dry-runs once")

	g.chat.ChangeLists = nil
	real := g.open(t, incident.P1)
	value = g.shippedValue(t, real)
	r, err := g.rb.RequestRollback(ctx, real.ID, value, "U0DECL")
	require.NoError(t, err, "a drill's dry run does not stand in for a real rollback: %s", slackMessage(err))
	require.Equal(t, real.ID, r.IncidentID)
	require.NotEqual(t, dr.Key, r.Key)
	require.Equal(t, goodSHA, r.Plan.ToRef)
	require.Empty(t, g.queue.RunDue(t, g.clock.Now()))
	require.Len(t, g.fake.Dispatches(followRepo), 1, "the real incident's rollback redeploys the good commit")
	require.Equal(t, incident.RollbackRunning, g.rollback(t, r.Key).Status)

	_, err = g.rb.RequestRollback(ctx, real.ID, value, "U0ROLL1")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "a double click in the real incident rolls back once")
	require.Contains(t, slackMessage(err), "is running")
	require.Empty(t, g.queue.RunDue(t, g.clock.Now()))
	require.Len(t, g.fake.Dispatches(followRepo), 1)
}

// With drills.allow_rollback a drill's rollback runs on GitHub for real:
// it is done, so a real incident's Roll back of the same deploy is the
// same rollback and is refused, as is a double click in the drill.
func TestDrillRollbackAllowedStandsInForARealOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newGitHubFollowWith(t, func(p *incident.Policy) { p.Drills.AllowRollback = true }, nil, nil)

	drill := g.openDrill(t)
	value := g.shippedValue(t, drill)
	dr, err := g.rb.RequestRollback(ctx, drill.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Empty(t, g.queue.RunDue(t, g.clock.Now()))
	require.Len(t, g.fake.Dispatches(followRepo), 1, "the policy lets a drill roll back for real")
	require.Equal(t, incident.RollbackRunning, g.rollback(t, dr.Key).Status)
	_, err = g.rb.RequestRollback(ctx, drill.ID, value, "U0ROLL1")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "a double click in the drill rolls back once")

	g.chat.ChangeLists = nil
	real := g.open(t, incident.P1)
	value = g.shippedValue(t, real)
	_, err = g.rb.RequestRollback(ctx, real.ID, value, "U0DECL")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "the drill's real rollback is this one")
	require.Contains(t, slackMessage(err), "is running")
	require.Empty(t, g.queue.RunDue(t, g.clock.Now()))
	require.Len(t, g.fake.Dispatches(followRepo), 1)
}

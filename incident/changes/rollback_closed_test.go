package changes_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// closeIncident resolves and closes inc.
func (b changeBundle) closeIncident(t *testing.T, inc *incident.Incident) {
	t.Helper()
	ctx := context.Background()
	_, err := b.core.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "fixed forward")
	require.NoError(t, err)
	_, err = b.core.SetStatus(ctx, inc.ID, incident.StatusClosed, "U0DECL", "")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
}

// A rollback failed in an incident that was then closed, its Retry button
// with it: the bot refuses to start anything from a closed incident. When
// the outage comes back in a new incident, rolling the same deploy back
// must not be refused for ever as "already requested, use its Retry
// button": it is a new rollback of the new incident, run once, whose
// double click is still one.
func TestRollbackThatFailedInAClosedIncidentCanBeRequestedAgain(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	ctx := context.Background()
	d := b.deploy("1", 5*time.Minute, "success")
	b.github.list = []incident.ChangeEvent{d}
	first := b.open(t, incident.P2)
	value := itemOf(t, b.lastList(t, first, 0), d.ExternalID).Value
	b.deploys.execErrs = []error{incident.Errorf(incident.EINVALID, "GitHub refused to create a deployment.")}
	failed, err := b.rb.RequestRollback(ctx, first.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	require.Equal(t, incident.RollbackFailed, b.rollbackStatus(t, failed.Key))
	b.closeIncident(t, first)
	_, err = b.rb.RetryRollback(ctx, failed.Key, "U0DECL")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "a closed incident's Retry button starts nothing")

	b.clock.Advance(time.Hour)
	b.chat.ChangeLists = nil
	second := b.open(t, incident.P2)
	value = itemOf(t, b.lastList(t, second, 2*time.Hour), d.ExternalID).Value
	b.deploys.execStatus = "succeeded"
	again, err := b.rb.RequestRollback(ctx, second.ID, value, "U0DECL")
	require.NoError(t, err, "the failed rollback of a closed incident does not stand in for this one")
	require.Equal(t, second.ID, again.IncidentID)
	require.NotEqual(t, failed.Key, again.Key)
	_, err = b.rb.RequestRollback(ctx, second.ID, value, "U0ROLL1")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "a double click is still one rollback")
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, b.deploys.executions(), 2, "one failed execution, one new")
	require.Equal(t, incident.RollbackSucceeded, b.rollbackStatus(t, again.Key))
	require.Contains(t, b.posts(second), "succeeded")
	require.Equal(t, incident.RollbackFailed, b.rollbackStatus(t, failed.Key), "the old rollback stays as it ended")
}

func (b changeBundle) rollbackStatus(t *testing.T, key string) incident.RollbackStatus {
	t.Helper()
	r, err := b.store.GetRollback(context.Background(), key)
	require.NoError(t, err)
	return r.Status
}

package changes_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// rollbacksDownStore fails reading the rollbacks while down is set, as a
// database that stopped answering does.
type rollbacksDownStore struct {
	*incidenttest.MemStore
	down atomic.Bool
}

func (s *rollbacksDownStore) ListRollbacks(ctx context.Context, incidentID int64) ([]incident.Rollback, error) {
	if s.down.Load() {
		return nil, incident.Errorf(incident.EUNAVAILABLE, "The incident database is not answering.")
	}
	return s.MemStore.ListRollbacks(ctx, incidentID)
}

// A later state of a known deployment that fails to move its rollback on is
// not answered as a duplicate: the error reaches the webhook, which answers
// 5xx, and GitHub's redelivery moves the rollback.
func TestRollbackProgressFailureIsNotADuplicate(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	ctx := context.Background()
	d := b.deploy("1", 0, "success")
	b.github.list = []incident.ChangeEvent{d}
	inc := b.open(t, incident.P2)
	value := itemOf(t, b.lastList(t, inc, 0), d.ExternalID).Value
	r, err := b.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))

	store := &rollbacksDownStore{MemStore: b.store}
	svc := changes.New(changes.Config{Store: store, Core: b.core, Chat: b.chat, Scheduler: b.queue, Policy: b.core.Policy(), Clock: b.clock,
		Rollbackers: []incident.Rollbacker{b.deploys, b.flagsOff}})
	status := func(state string) incident.ChangeEvent {
		c := b.deploy("777", 0, state)
		c.Ref, c.OccurredAt = "0ld5afe1234", b.clock.Now()
		return c
	}
	require.NoError(t, svc.RecordChange(ctx, status("in_progress")))

	store.down.Store(true)
	err = svc.RecordChange(ctx, status("failure"))
	require.Error(t, err)
	require.NotEqual(t, incident.ECONFLICT, incident.ErrorCode(err), "the webhook must not answer 200 for a state that was lost")
	r, err = b.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, incident.RollbackRunning, r.Status)

	// GitHub redelivers; the change is a duplicate now, but the rollback moves.
	store.down.Store(false)
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(svc.RecordChange(ctx, status("failure"))))
	r, err = b.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, incident.RollbackFailed, r.Status)
}

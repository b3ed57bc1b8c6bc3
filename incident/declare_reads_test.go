package incident_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// timelineReadsStore counts the timeline reads made inside its
// transactions.
type timelineReadsStore struct {
	incident.Store
	reads *atomic.Int32
}

func (s timelineReadsStore) Atomic(ctx context.Context, fn func(incident.Tx) error) error {
	return s.Store.Atomic(ctx, func(tx incident.Tx) error { return fn(timelineReadsTx{tx, s.reads}) })
}

type timelineReadsTx struct {
	incident.Tx
	reads *atomic.Int32
}

func (t timelineReadsTx) ListTimeline(ctx context.Context, id int64) ([]incident.TimelineEvent, error) {
	t.reads.Add(1)
	return t.Tx.ListTimeline(ctx, id)
}

// TestDeclareReadsNoTimeline: a declare's transaction is on the
// acknowledgement's path, and on PostgreSQL every read in it is a round
// trip; a new incident has no timeline to read, so its jobs (the
// response-time check's among them) are planned without one.
func TestDeclareReadsNoTimeline(t *testing.T) {
	t.Parallel()
	reads := &atomic.Int32{}
	b := setupOn(t, func(s *incidenttest.MemStore) incident.Store { return timelineReadsStore{s, reads} })
	for _, sev := range []incident.Severity{incident.P1, incident.P2} {
		declare(t, b, "checkout is down", sev, "")
	}
	require.Zero(t, reads.Load(), "timeline reads in the declare's transaction")
}

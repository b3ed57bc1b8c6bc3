package paging_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/paging"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// testStore is what the tests need of a store: the whole incident store,
// with paging's pages.
type testStore interface {
	incident.Store
	paging.Store
}

// storeKind names a store the tests run on.
type storeKind string

const (
	storeMemory   storeKind = "memory"
	storeSQLite   storeKind = "sqlite"
	storePostgres storeKind = "postgres"
)

// everyStore is the stores a test about what the store records runs on.
var everyStore = []storeKind{storeMemory, storeSQLite, storePostgres}

// openStore returns a fresh store of the kind whose transactions hand their
// jobs to q. A PostgreSQL one is skipped when the server is unreachable,
// except in CI (pgtest).
func openStore(t *testing.T, kind storeKind, clock incident.Clock, q *incidenttest.Queue) testStore {
	t.Helper()
	ctx := context.Background()
	var url string
	switch kind {
	case storeMemory:
		store := incidenttest.NewMemStore(clock)
		store.SetScheduler(q)
		return store
	case storeSQLite:
		url = "sqlite:" + filepath.Join(t.TempDir(), "firebreak.db")
	case storePostgres:
		url = pgtest.MigratedDSN(t)
	default:
		t.Fatalf("unknown store %q", kind)
	}
	db, err := gormstore.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	if kind == storeSQLite {
		require.NoError(t, db.Migrate(ctx))
	}
	return gormstore.New(db, clock, gormstore.WithJobs(queueJobs{q}))
}

// queueJobs hands the jobs of a database transaction to the test queue, as
// the job engine stores them with it. The queue takes them when the
// transaction's function returns, a moment before it commits; the flows
// tested here schedule nothing on a transaction that then rolls back.
type queueJobs struct{ q *incidenttest.Queue }

func (j queueJobs) ScheduleManyTx(ctx context.Context, _ *sql.Tx, jobs []incident.Job) error {
	for _, job := range jobs {
		if _, err := j.q.Schedule(ctx, job); err != nil {
			return err
		}
	}
	return nil
}

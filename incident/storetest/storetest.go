// Package storetest opens the stores a feature's tests run on: the
// in-memory store, SQLite and PostgreSQL, each fresh, with its
// transactions' jobs handed to a test queue.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// Kind names a store.
type Kind string

// The stores.
const (
	Memory   Kind = "memory"
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// Every is the stores a test about what the store records runs on.
var Every = []Kind{Memory, SQLite, Postgres}

// Open returns a fresh store of the kind, as S (an interface of the store
// methods the test needs, which both stores implement), whose transactions
// hand their jobs to q. A PostgreSQL one is skipped when the server is
// unreachable, except in CI (pgtest).
func Open[S any](t testing.TB, kind Kind, clock incident.Clock, q *incidenttest.Queue) S {
	t.Helper()
	var store any
	switch kind {
	case Memory:
		mem := incidenttest.NewMemStore(clock)
		mem.SetScheduler(q)
		store = mem
	case SQLite:
		store = openSQL(t, "sqlite:"+filepath.Join(t.TempDir(), "firebreak.db"), true, clock, q)
	case Postgres:
		store = openSQL(t, pgtest.MigratedDSN(t), false, clock, q)
	default:
		t.Fatalf("unknown store %q", kind)
	}
	s, ok := store.(S)
	if !ok {
		t.Fatalf("the %s store is not a %s", kind, fmt.Sprintf("%T", (*S)(nil))[1:])
	}
	return s
}

func openSQL(t testing.TB, url string, migrate bool, clock incident.Clock, q *incidenttest.Queue) *gormstore.Store {
	t.Helper()
	ctx := context.Background()
	db, err := gormstore.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	if migrate {
		require.NoError(t, db.Migrate(ctx))
	}
	return gormstore.New(db, clock, gormstore.WithJobs(QueueJobs{Q: q}))
}

// QueueJobs hands the jobs of a database transaction to the test queue, as
// the job engine stores them with it. The queue takes them when the
// transaction's function returns, a moment before it commits; tests using
// it schedule nothing on a transaction that then rolls back.
type QueueJobs struct{ Q *incidenttest.Queue }

// ScheduleManyTx schedules jobs on the queue.
func (j QueueJobs) ScheduleManyTx(ctx context.Context, _ *sql.Tx, jobs []incident.Job) error {
	for _, job := range jobs {
		if _, err := j.Q.Schedule(ctx, job); err != nil {
			return err
		}
	}
	return nil
}

// ForEach runs test, in parallel, on every store kind.
func ForEach(t *testing.T, test func(t *testing.T, kind Kind)) {
	t.Helper()
	for _, kind := range Every {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			test(t, kind)
		})
	}
}

package migrations_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/migrations"
)

// syncBuffer is a log destination several goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// oldReplicaReads opens the transaction of a replica that read incidents
// and then went quiet (its network cut, or a bug): it holds a lock that
// 00035's ALTER TABLE incidents must wait for.
func oldReplicaReads(t *testing.T, dsn string) *sql.Tx {
	t.Helper()
	db, err := sql.Open("pgx", dsn+"&application_name=old-replica")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	tx, err := db.Begin()
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback() })
	var n int
	require.NoError(t, tx.QueryRow(`SELECT count(*) FROM incidents`).Scan(&n))
	return tx
}

// TestMigrationGivesWayToAnOpenTransaction: a migration that needs a lock
// another session holds waits for it at most its lock timeout, then gives
// way (every other session's queries of the table would queue behind its
// wait) and tries again a little later, logging which session it waits
// for; it is applied once that transaction ends. Meanwhile the other
// replicas' reads of the table are held up for at most a lock timeout.
func TestMigrationGivesWayToAnOpenTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openPostgres(t)
	require.NoError(t, migrations.UpTo(ctx, d.db, migrations.Postgres, 34))
	old := oldReplicaReads(t, d.dsn)

	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	migrated := make(chan error, 1)
	start := time.Now()
	go func() {
		migrated <- migrations.Up(ctx, d.db, migrations.Postgres, migrations.WithLogger(log),
			migrations.WithLockWait(300*time.Millisecond, time.Minute))
	}()

	// Another replica's reads go on, each held up at most a lock timeout.
	var slowest time.Duration
	for time.Since(start) < 3*time.Second {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		began := time.Now()
		var n int
		err := d.db.QueryRowContext(rctx, `SELECT count(*) FROM incidents`).Scan(&n)
		cancel()
		require.NoError(t, err, "a read while the migration waits")
		slowest = max(slowest, time.Since(began))
		time.Sleep(50 * time.Millisecond)
	}
	require.Less(t, slowest, time.Second, "reads are held up at most a lock timeout (300ms)")
	select {
	case err := <-migrated:
		t.Fatalf("the migration ended while the transaction was open: %v", err)
	default:
	}
	require.Contains(t, logs.String(), "old-replica", "the log names the session it waits for")
	require.Contains(t, logs.String(), "idle in transaction")
	require.Contains(t, logs.String(), "00035")

	require.NoError(t, old.Rollback())
	select {
	case err := <-migrated:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the migration was not applied after the transaction ended")
	}
	st, err := migrations.Status(ctx, d.db, migrations.Postgres)
	require.NoError(t, err)
	for _, s := range st {
		require.True(t, s.Applied, "%s", s.Name)
	}
	var timeout string
	require.NoError(t, d.db.QueryRow(`SHOW lock_timeout`).Scan(&timeout))
	require.Equal(t, "0", timeout, "the pool's connections keep no lock timeout")
}

// TestMigrationGivesUpOnATransactionThatStaysOpen: a transaction that
// never ends makes the migration give up once its time is out, with an
// error that names the session to end.
func TestMigrationGivesUpOnATransactionThatStaysOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openPostgres(t)
	require.NoError(t, migrations.UpTo(ctx, d.db, migrations.Postgres, 34))
	oldReplicaReads(t, d.dsn)

	start := time.Now()
	err := migrations.Up(ctx, d.db, migrations.Postgres, migrations.WithLockWait(200*time.Millisecond, 2*time.Second))
	require.Error(t, err)
	require.Less(t, time.Since(start), 6*time.Second)
	require.ErrorContains(t, err, "00035")
	require.ErrorContains(t, err, "old-replica")
	require.ErrorContains(t, err, "pg_terminate_backend")
	var applied int
	require.NoError(t, d.db.QueryRow(`SELECT count(*) FROM goose_db_version WHERE version_id = 35`).Scan(&applied))
	require.Zero(t, applied)
}

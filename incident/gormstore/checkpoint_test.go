package gormstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/migrations"
)

// TestCheckpointerKeepsTheLogSmall: the checkpointer copies the
// write-ahead log into the file while commits go on, and the log does not
// grow with the writes: the commit that takes it past the autocheckpoint
// size finds it nearly all copied and starts it again.
func TestCheckpointerKeepsTheLogSmall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMigrated(t, migrations.SQLite)
	require.NotNil(t, db.checkpoints)
	var auto int
	require.NoError(t, db.SQL().QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto))
	require.Equal(t, autocheckpointPages, auto)
	// A smaller bound, for a test that writes less.
	_, err := db.SQL().ExecContext(ctx, "PRAGMA wal_autocheckpoint(500)")
	require.NoError(t, err)

	s := New(db, incident.SystemClock)
	burst := func() {
		for range 300 {
			_, err := s.CreateIncident(ctx, &incident.Incident{Title: "checkpoint me", Severity: incident.P3})
			require.NoError(t, err)
		}
	}
	// Wait until the log is all in the file, as the checkpointer leaves it.
	settled := func() int {
		var pages int
		require.Eventually(t, func() bool {
			logPages, copied, err := db.checkpoints.checkpoint(ctx)
			pages = logPages
			return err == nil && logPages == copied
		}, 10*time.Second, 50*time.Millisecond)
		return pages
	}
	var most int
	for range 5 {
		burst()
		most = max(most, settled())
	}
	// Five bursts write about 12,000 pages; a burst alone well over 500.
	require.Less(t, most, 1500, "the log is started again past 500 pages")
	info, err := os.Stat(dbPath(t, db) + "-wal")
	require.NoError(t, err)
	require.Less(t, info.Size(), int64(1500*4096+65536), "the log file stays small")
}

// dbPath returns the file of a SQLite DB.
func dbPath(t *testing.T, db *DB) string {
	t.Helper()
	var seq int
	var name, file string
	require.NoError(t, db.SQL().QueryRow("PRAGMA database_list").Scan(&seq, &name, &file))
	return file
}

func TestCheckpointerOnlyForFiles(t *testing.T) {
	t.Parallel()
	db, err := Open(context.Background(), ":memory:")
	require.NoError(t, err)
	require.Nil(t, db.checkpoints, "an in-memory database has no log to copy")
	require.NoError(t, db.Close())

	file, err := Open(context.Background(), filepath.Join(t.TempDir(), "f.db"))
	require.NoError(t, err)
	require.NotNil(t, file.checkpoints)
	require.NoError(t, file.Close())
	_, _, err = file.checkpoints.checkpoint(context.Background())
	require.Error(t, err, "Close stops the checkpointer and closes its connection")
}

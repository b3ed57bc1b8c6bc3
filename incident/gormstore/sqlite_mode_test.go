package gormstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/gormstore"
)

// TestSQLiteFileIsPrivate: the SQLite database holds every incident,
// private ones included, and the web view's sessions: the file it creates,
// and its write-ahead log and shared-memory files beside it, are readable
// by the bot's user alone (0600), not by every user of the host.
func TestSQLiteFileIsPrivate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "firebreak.db")
	db, err := gormstore.Open(ctx, "sqlite:"+path)
	require.NoError(t, err)
	require.NoError(t, db.Migrate(ctx))
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "%s", filepath.Base(name))
	}
	require.NoError(t, db.Close())

	// A file that exists keeps the mode its owner gave it.
	shared := filepath.Join(t.TempDir(), "shared.db")
	require.NoError(t, os.WriteFile(shared, nil, 0o640))
	require.NoError(t, os.Chmod(shared, 0o640))
	db, err = gormstore.Open(ctx, "sqlite:"+shared)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	fi, err := os.Stat(shared)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
}

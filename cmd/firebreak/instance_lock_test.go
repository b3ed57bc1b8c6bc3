package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/jobs"
)

// TestSQLiteInstanceIDIsLockedNextToTheDatabase: on the embedded SQLite
// database the job engine holds a lock file of its INSTANCE_ID next to
// SQLITE_PATH while it runs, so a second process under the same id is
// refused at once, naming INSTANCE_ID, and a clean stop frees the id.
func TestSQLiteInstanceIDIsLockedNextToTheDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, err := loadConfig(envOf(map[string]string{"SQLITE_PATH": filepath.Join(dir, "firebreak.db"), "INSTANCE_ID": "web-1"}), false)
	require.NoError(t, err)
	ctx := context.Background()
	open := func() storage {
		st, err := openStorage(ctx, cfg, incident.SystemClock, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
		require.NoError(t, err)
		t.Cleanup(func() {
			stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_ = st.engine.Stop(stopCtx)
			_ = st.db.Close()
		})
		return st
	}
	first, second := open(), open()
	require.NoError(t, first.engine.Start(ctx))
	locks, err := filepath.Glob(filepath.Join(dir, "firebreak.db.instance-web-1-*.lock"))
	require.NoError(t, err)
	require.Len(t, locks, 1, "the lock file is next to the database")

	err = second.engine.Start(ctx)
	require.ErrorIs(t, err, jobs.ErrInstanceInUse)
	require.Contains(t, err.Error(), "INSTANCE_ID")

	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, first.engine.Stop(stopCtx))
	require.NoError(t, second.engine.Start(ctx), "a clean stop frees the instance id")
}

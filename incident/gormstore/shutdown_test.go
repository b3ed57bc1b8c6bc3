package gormstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// TestShutdownDoesNotWaitForeverOnHeldConnections: a connection held by a
// statement stuck on a database that does not answer would keep Close
// waiting; Shutdown waits only until its context ends, and says how many
// were still in use.
func TestShutdownDoesNotWaitForeverOnHeldConnections(t *testing.T) {
	t.Parallel()
	db, err := Open(context.Background(), pgtest.DSN(t))
	require.NoError(t, err)
	held, err := db.BackgroundPool().Acquire(context.Background())
	require.NoError(t, err)
	t.Cleanup(held.Release)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	begun := time.Now()
	err = db.Shutdown(ctx)
	require.Less(t, time.Since(begun), 2*time.Second)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), "1 connections still in use")
}

// TestShutdownClosesAnIdleDatabase: with nothing in use, Shutdown is Close.
func TestShutdownClosesAnIdleDatabase(t *testing.T) {
	t.Parallel()
	for _, url := range []string{"sqlite:" + t.TempDir() + "/shutdown.db", pgtest.DSN(t)} {
		db, err := Open(context.Background(), url)
		require.NoError(t, err)
		require.NoError(t, db.Shutdown(context.Background()))
		require.Error(t, db.SQL().Ping(), "closed")
	}
}

package gormstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// TestIdleTransactionsEndOnTheirOwn: on PostgreSQL, a transaction of the
// bot's that goes quiet (its replica cut off from the network, or stuck)
// is ended by the server after a minute, so the locks it holds do not hold
// up the other replicas, or a migration, for as long as the connection
// lives. The setting is a connection parameter: it costs a transaction no
// round trip. A URL that sets its own keeps it.
func TestIdleTransactionsEndOnTheirOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.MigratedDSN(t)
	for _, tc := range []struct{ url, want string }{
		{dsn, "1min"},
		{dsn + "&idle_in_transaction_session_timeout=10s", "10s"},
	} {
		db, err := gormstore.Open(ctx, tc.url)
		require.NoError(t, err)
		var fg, bg string
		require.NoError(t, db.Pool().QueryRow(ctx, "SHOW idle_in_transaction_session_timeout").Scan(&fg))
		require.NoError(t, db.BackgroundPool().QueryRow(ctx, "SHOW idle_in_transaction_session_timeout").Scan(&bg))
		require.Equal(t, tc.want, fg, "the store's pool")
		require.Equal(t, tc.want, bg, "the background pool")
		require.NoError(t, db.Close())
	}
}

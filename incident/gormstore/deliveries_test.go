package gormstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
)

// TestRecordDeliveries records several deliveries in one statement: each is
// first once, whether it was recorded before alone, earlier in the same
// batch, or in an earlier batch.
func TestRecordDeliveries(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := gormstore.New(openDB(t, dialect), testClock())
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

			first, err := store.RecordDelivery(ctx, incident.Delivery{Source: "slack-signature", ID: "a", ReceivedAt: at})
			require.NoError(t, err)
			require.True(t, first)

			got, err := store.RecordDeliveries(ctx, []incident.Delivery{
				{Source: "slack-signature", ID: "a", ReceivedAt: at},
				{Source: "slack-signature", ID: "b", ReceivedAt: at},
				{Source: "slack-signature", ID: "b", ReceivedAt: at},
				{Source: "other", ID: "a"},
			})
			require.NoError(t, err)
			require.Equal(t, []bool{false, true, false, true}, got)

			got, err = store.RecordDeliveries(ctx, []incident.Delivery{{Source: "slack-signature", ID: "b"}, {Source: "slack-signature", ID: "c"}})
			require.NoError(t, err)
			require.Equal(t, []bool{false, true}, got)
			first, err = store.RecordDelivery(ctx, incident.Delivery{Source: "slack-signature", ID: "c"})
			require.NoError(t, err)
			require.False(t, first)

			got, err = store.RecordDeliveries(ctx, nil)
			require.NoError(t, err)
			require.Empty(t, got)
			_, err = store.RecordDeliveries(ctx, []incident.Delivery{{Source: "slack-signature"}})
			require.Equal(t, incident.EINVALID, incident.ErrorCode(err))

			// The purge sees batch-recorded deliveries like the others.
			n, err := store.PurgeDeliveries(ctx, at.Add(time.Second))
			require.NoError(t, err)
			require.EqualValues(t, 2, n, "a and b, recorded at the given time")
		})
	}
}

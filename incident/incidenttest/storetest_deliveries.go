package incidenttest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func testDeliveries(t *testing.T, s Store) {
	ctx := context.Background()
	record := func(source, id string, minute int) bool {
		first, err := s.RecordDelivery(ctx, incident.Delivery{Source: source, ID: id, ReceivedAt: at(minute)})
		require.NoError(t, err)
		return first
	}
	require.True(t, record("slack", "Ev1", 0))
	require.False(t, record("slack", "Ev1", 1), "a redelivery is not first")
	require.True(t, record("github", "Ev1", 1), "another source's id is separate")
	require.True(t, record("slack", "Ev2", 5))
	require.True(t, record("slack", "Ev3", 10))

	_, err := s.RecordDelivery(ctx, incident.Delivery{Source: "", ID: "x"})
	RequireCode(t, err, incident.EINVALID)
	_, err = s.RecordDelivery(ctx, incident.Delivery{Source: "slack"})
	RequireCode(t, err, incident.EINVALID)

	n, err := s.PurgeDeliveries(ctx, at(5))
	require.NoError(t, err)
	require.Equal(t, int64(2), n, "strictly before the cutoff")
	n, err = s.PurgeDeliveries(ctx, at(5))
	require.NoError(t, err)
	require.Zero(t, n)

	require.True(t, record("slack", "Ev1", 20), "a purged delivery is first again")
	require.False(t, record("slack", "Ev2", 20), "a kept delivery is still known")

	n, err = s.PurgeDeliveries(ctx, at(5).Add(time.Nanosecond))
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "a cutoff just after a delivery purges it")

	// Last, because the clock decides when it was received.
	first, err := s.RecordDelivery(ctx, incident.Delivery{Source: "slack", ID: "Ev-now"})
	require.NoError(t, err)
	require.True(t, first, "a zero ReceivedAt becomes now")
}

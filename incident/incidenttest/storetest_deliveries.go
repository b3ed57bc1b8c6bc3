package incidenttest

import (
	"context"
	"strings"
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

func testReplayBatches(t *testing.T, s Store) {
	ctx := context.Background()
	record := func(instance string, minute int, keys ...string) {
		t.Helper()
		require.NoError(t, s.RecordReplayBatch(ctx, incident.ReplayBatch{Instance: instance, RecordedAt: at(minute), Keys: keys}))
	}
	record("a", 0, "100:aa", "100:bb")
	record("b", 1, "101:cc")
	record("a", 2, "102:dd")
	record("c", 3, "103:ee", "103:ff", "103:gg")

	keys := func(bs []incident.ReplayBatch) (out []string) {
		for _, b := range bs {
			out = append(out, b.Instance+"="+strings.Join(b.Keys, ","))
		}
		return out
	}
	got, err := s.ReplayBatchesSince(ctx, at(0), "a")
	require.NoError(t, err)
	require.Equal(t, []string{"b=101:cc", "c=103:ee,103:ff,103:gg"}, keys(got), "every instance's but the one asking, in order")
	require.Less(t, got[0].ID, got[1].ID)
	require.True(t, got[0].RecordedAt.Equal(at(1)), "recorded at %v", got[0].RecordedAt)
	got, err = s.ReplayBatchesSince(ctx, at(1), "c")
	require.NoError(t, err)
	require.Equal(t, []string{"b=101:cc", "a=102:dd"}, keys(got), "at or after since")
	got, err = s.ReplayBatchesSince(ctx, at(4), "")
	require.NoError(t, err)
	require.Empty(t, got)

	for _, bad := range []incident.ReplayBatch{{Keys: []string{"1:x"}}, {Instance: "a"}, {Instance: "a", Keys: []string{"1:x\n2:y"}}, {Instance: "a", Keys: []string{""}}} {
		RequireCode(t, s.RecordReplayBatch(ctx, bad), incident.EINVALID)
	}

	n, err := s.PurgeReplayBatches(ctx, at(2))
	require.NoError(t, err)
	require.Equal(t, int64(2), n, "strictly before the cutoff")
	got, err = s.ReplayBatchesSince(ctx, at(0), "")
	require.NoError(t, err)
	require.Equal(t, []string{"a=102:dd", "c=103:ee,103:ff,103:gg"}, keys(got))

	// Last, because the clock decides when it was recorded.
	require.NoError(t, s.RecordReplayBatch(ctx, incident.ReplayBatch{Instance: "d", Keys: []string{"now:x"}}))
	got, err = s.ReplayBatchesSince(ctx, at(0), "")
	require.NoError(t, err)
	require.Len(t, got, 3, "a zero RecordedAt becomes now")
}

func testPeopleStandings(t *testing.T, s Store) {
	ctx := context.Background()
	RequireCode(t, s.RecordStanding(ctx, incident.PersonStanding{Guest: true}), incident.EINVALID)

	require.NoError(t, s.RecordStanding(ctx, incident.PersonStanding{UserID: "U0GUEST", Guest: true, ChangedAt: at(1)}))
	require.NoError(t, s.RecordStanding(ctx, incident.PersonStanding{UserID: "U0LEFT", Deactivated: true, ChangedAt: at(2)}))
	require.NoError(t, s.RecordStanding(ctx, incident.PersonStanding{UserID: "U0BACK", Guest: true, ChangedAt: at(3)}))
	got, err := s.StandingsChangedSince(ctx, at(2))
	require.NoError(t, err)
	require.Equal(t, []incident.PersonStanding{
		{UserID: "U0LEFT", Deactivated: true, ChangedAt: at(2)},
		{UserID: "U0BACK", Guest: true, ChangedAt: at(3)},
	}, got, "since is inclusive, oldest first")

	// A later change replaces the person's standing.
	require.NoError(t, s.RecordStanding(ctx, incident.PersonStanding{UserID: "U0BACK", ChangedAt: at(4)}))
	got, err = s.StandingsChangedSince(ctx, at(0))
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, incident.PersonStanding{UserID: "U0BACK", ChangedAt: at(4)}, got[2], "a member again")

	require.NoError(t, s.RecordStanding(ctx, incident.PersonStanding{UserID: "U0NOW", Guest: true}))
	got, err = s.StandingsChangedSince(ctx, at(5))
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "U0NOW", got[0].UserID)
	require.False(t, got[0].ChangedAt.IsZero(), "a zero time becomes the clock's now")
}

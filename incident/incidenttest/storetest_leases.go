package incidenttest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// LeaseLister lists the leases on record by name, those whose time is up
// and that are not deleted yet included. RunLeaseStoreTests reads a store
// through it to see that ended leases do not stay.
type LeaseLister interface {
	LeaseNames(ctx context.Context) ([]string, error)
}

// RunLeaseStoreTests checks that a LeaseStore keeps its contract. newStore
// must return a new, empty store that tells the time with clock each time
// it is called, and that is a LeaseLister.
func RunLeaseStoreTests(t *testing.T, newStore func(t *testing.T, clock incident.Clock) incident.LeaseStore) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s incident.LeaseStore, clock *Clock)
	}{
		{"Leases", testLeases},
		{"LeaseEndsByItself", testLeaseEnds},
		{"ConcurrentAcquireLease", testConcurrentAcquireLease},
		{"EndedLeasesAreDeleted", testEndedLeasesAreDeleted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock(Epoch().Add(24 * time.Hour))
			tc.run(t, newStore(t, clock), clock)
		})
	}
}

func testLeases(t *testing.T, s incident.LeaseStore, _ *Clock) {
	ctx := context.Background()
	for _, bad := range []struct {
		key, holder string
		ttl         time.Duration
	}{{"", "a", time.Minute}, {"k", "", time.Minute}, {"k", "a", 0}, {"k", "a", time.Microsecond}} {
		_, err := s.AcquireLease(ctx, bad.key, bad.holder, bad.ttl)
		RequireCode(t, err, incident.EINVALID)
	}

	acquire := func(key, holder string) bool {
		t.Helper()
		ok, err := s.AcquireLease(ctx, key, holder, time.Minute)
		require.NoError(t, err)
		return ok
	}
	require.True(t, acquire("statuspage:1", "a"))
	require.False(t, acquire("statuspage:1", "b"), "held by a")
	require.True(t, acquire("statuspage:1", "a"), "its holder takes it again")
	require.True(t, acquire("statuspage:2", "b"), "each key has its own lease")

	require.NoError(t, s.ReleaseLease(ctx, "statuspage:1", "b"), "releasing a lease one does not hold does nothing")
	require.False(t, acquire("statuspage:1", "b"))
	require.NoError(t, s.ReleaseLease(ctx, "statuspage:1", "a"))
	require.True(t, acquire("statuspage:1", "b"), "free once released")
	require.NoError(t, s.ReleaseLease(ctx, "statuspage:9", "a"), "releasing a lease nobody holds is no error")
}

func testLeaseEnds(t *testing.T, s incident.LeaseStore, clock *Clock) {
	ctx := context.Background()
	ok, err := s.AcquireLease(ctx, "statuspage:1", "dead", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	clock.Advance(time.Minute - time.Millisecond)
	ok, err = s.AcquireLease(ctx, "statuspage:1", "live", time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "a millisecond before it ends")
	clock.Advance(time.Millisecond)
	ok, err = s.AcquireLease(ctx, "statuspage:1", "live", time.Minute)
	require.NoError(t, err)
	require.True(t, ok, "a lease whose holder died ends by itself")
	require.NoError(t, s.ReleaseLease(ctx, "statuspage:1", "dead"), "the late holder's release")
	ok, err = s.AcquireLease(ctx, "statuspage:1", "other", time.Minute)
	require.NoError(t, err)
	require.False(t, ok, "leaves the new holder's lease alone")
}

// testEndedLeasesAreDeleted: a holder that died leaves its lease on
// record; the next release of any lease deletes it, and leaves the leases
// still held alone.
func testEndedLeasesAreDeleted(t *testing.T, s incident.LeaseStore, clock *Clock) {
	ctx := context.Background()
	lister, ok := s.(LeaseLister)
	require.True(t, ok, "%T lists its leases", s)
	acquire := func(key, holder string, ttl time.Duration) bool {
		t.Helper()
		ok, err := s.AcquireLease(ctx, key, holder, ttl)
		require.NoError(t, err)
		return ok
	}
	names := func() []string {
		t.Helper()
		names, err := lister.LeaseNames(ctx)
		require.NoError(t, err)
		slices.Sort(names)
		return names
	}
	require.True(t, acquire("statuspage:1", "dead", time.Minute))
	require.True(t, acquire("statuspage:2", "live", 10*time.Minute))
	require.True(t, acquire("statuspage:3", "done", 10*time.Minute))
	clock.Advance(time.Minute)
	require.Equal(t, []string{"statuspage:1", "statuspage:2", "statuspage:3"}, names(), "an ended lease stays until a release")

	require.NoError(t, s.ReleaseLease(ctx, "statuspage:3", "done"))
	require.Equal(t, []string{"statuspage:2"}, names(), "the dead holder's lease of another incident is deleted, the live one is not")
	require.False(t, acquire("statuspage:2", "other", time.Minute), "the live lease still holds")

	clock.Advance(10 * time.Minute)
	require.NoError(t, s.ReleaseLease(ctx, "statuspage:9", "nobody"), "a release of a lease nobody holds")
	require.Empty(t, names(), "deletes the leases ended since")
}

func testConcurrentAcquireLease(t *testing.T, s incident.LeaseStore, _ *Clock) {
	require.Len(t, RaceForLease(t, "statuspage:1", 8, s), 1, "exactly one of the racing holders gets the lease")
}

// RaceForLease has perStore holders on each of stores (one store, or the
// stores of several processes on one database) ask for the lease key at
// once, for a minute, and returns those who got it.
func RaceForLease(t *testing.T, key string, perStore int, stores ...incident.LeaseStore) []string {
	t.Helper()
	var wg sync.WaitGroup
	won := make(chan string, perStore*len(stores))
	for r, s := range stores {
		for i := range perStore {
			wg.Go(func() {
				holder := fmt.Sprintf("replica-%d/%d", r, i)
				ok, err := s.AcquireLease(context.Background(), key, holder, time.Minute)
				if err != nil {
					t.Errorf("%s: %v", holder, err)
				}
				if ok {
					won <- holder
				}
			})
		}
	}
	wg.Wait()
	close(won)
	var winners []string
	for h := range won {
		winners = append(winners, h)
	}
	return winners
}

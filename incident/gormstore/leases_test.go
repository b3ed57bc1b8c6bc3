package gormstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

func TestLeaseStore(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			incidenttest.RunLeaseStoreTests(t, func(t *testing.T, clock incident.Clock) incident.LeaseStore {
				return gormstore.New(openDB(t, dialect), clock)
			})
		})
	}
}

// TestLeaseAcrossReplicas: two processes' stores on one database race for
// a lease; one gets it, and the other only once it is released.
func TestLeaseAcrossReplicas(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := dbURL(t, dialect)
			clock := testClock()
			first := gormstore.New(openURL(t, url, dialect == "sqlite"), clock)
			second := gormstore.New(openURL(t, url, false), clock)

			winners := incidenttest.RaceForLease(t, "statuspage:1", 4, first, second)
			require.Len(t, winners, 1)
			for _, s := range []*gormstore.Store{first, second} {
				ok, err := s.AcquireLease(ctx, "statuspage:1", "late", time.Minute)
				require.NoError(t, err)
				require.False(t, ok, "held, as either replica sees it")
			}
			require.NoError(t, second.ReleaseLease(ctx, "statuspage:1", winners[0]))
			ok, err := first.AcquireLease(ctx, "statuspage:1", "late", time.Minute)
			require.NoError(t, err)
			require.True(t, ok, "released through either replica")
		})
	}
}

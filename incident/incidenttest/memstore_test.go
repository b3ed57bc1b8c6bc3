package incidenttest_test

import (
	"testing"
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

func TestMemStore(t *testing.T) {
	t.Parallel()
	incidenttest.RunStoreTests(t, func(*testing.T) incidenttest.Store {
		return incidenttest.NewMemStore(incidenttest.NewClock(incidenttest.Epoch().Add(24 * time.Hour)))
	})
}

func TestMemLeaseStore(t *testing.T) {
	t.Parallel()
	incidenttest.RunLeaseStoreTests(t, func(_ *testing.T, clock incident.Clock) incident.LeaseStore {
		return incidenttest.NewMemStore(clock)
	})
}

func TestMemAccessStore(t *testing.T) {
	t.Parallel()
	incidenttest.RunAccessStoreTests(t, func(*testing.T) incident.AccessStore {
		return incidenttest.NewMemAccessStore(nil)
	})
}

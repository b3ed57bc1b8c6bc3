package incidenttest

import (
	"context"
	"maps"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// memLeases hands out leases.
type memLeases struct{ *memShared }

// memLease is a lease held: by whom, and until when (Unix milliseconds).
type memLease struct {
	holder  string
	untilMS int64
}

// AcquireLease implements incident.LeaseStore. As the database store, it
// counts in whole milliseconds.
func (m *memLeases) AcquireLease(_ context.Context, key, holder string, ttl time.Duration) (bool, error) {
	if key == "" || holder == "" || ttl < time.Millisecond {
		return false, errorf("acquire lease", incident.EINVALID, "A lease needs a key, a holder and a duration of a millisecond or more.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now().UnixMilli()
	if cur, ok := m.leases[key]; ok && cur.holder != holder && cur.untilMS > now {
		return false, nil
	}
	m.leases[key] = memLease{holder: holder, untilMS: now + ttl.Milliseconds()}
	return true, nil
}

// ReleaseLease implements incident.LeaseStore.
func (m *memLeases) ReleaseLease(_ context.Context, key, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.leases[key]; ok && cur.holder == holder {
		delete(m.leases, key)
	}
	now := m.clock.Now().UnixMilli()
	maps.DeleteFunc(m.leases, func(_ string, l memLease) bool { return l.untilMS <= now })
	return nil
}

// LeaseNames implements LeaseLister.
func (m *memLeases) LeaseNames(_ context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.leases))
	for name := range m.leases {
		names = append(names, name)
	}
	return names, nil
}

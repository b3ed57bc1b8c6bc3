package incidenttest

import (
	"context"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// memDeliveries remembers the webhook and Slack deliveries seen.
type memDeliveries struct{ *memShared }

type deliveryKey struct{ source, id string }

// RecordDelivery implements incident.Store. A zero ReceivedAt becomes the
// clock's now; Source and ID are required (EINVALID).
func (m *memDeliveries) RecordDelivery(_ context.Context, d incident.Delivery) (bool, error) {
	if d.Source == "" || d.ID == "" {
		return false, errorf("record delivery", incident.EINVALID, "A delivery needs a source and an id.")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := deliveryKey{d.Source, d.ID}
	if _, ok := m.deliveries[k]; ok {
		return false, nil
	}
	at := normTime(d.ReceivedAt)
	if at.IsZero() {
		at = m.now()
	}
	m.deliveries[k] = at
	return true, nil
}

// PurgeDeliveries implements incident.Store.
func (m *memDeliveries) PurgeDeliveries(_ context.Context, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for k, at := range m.deliveries {
		if at.Before(before) {
			delete(m.deliveries, k)
			n++
		}
	}
	return n, nil
}

package incidenttest

import (
	"context"
	"strings"
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

// RecordReplayBatch implements incident.Store.
func (m *memDeliveries) RecordReplayBatch(_ context.Context, b incident.ReplayBatch) error {
	if b.Instance == "" || len(b.Keys) == 0 {
		return errorf("record replay batch", incident.EINVALID, "A replay batch needs an instance and keys.")
	}
	for _, k := range b.Keys {
		if k == "" || strings.ContainsRune(k, '\n') {
			return errorf("record replay batch", incident.EINVALID, "A replay key is one line of text.")
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b.RecordedAt = normTime(b.RecordedAt)
	if b.RecordedAt.IsZero() {
		b.RecordedAt = m.now()
	}
	b.ID = int64(len(m.replays)) + 1
	b.Keys = append([]string(nil), b.Keys...)
	m.replays = append(m.replays, b)
	return nil
}

// ReplayBatchesSince implements incident.Store.
func (m *memDeliveries) ReplayBatchesSince(_ context.Context, since time.Time, except string) ([]incident.ReplayBatch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []incident.ReplayBatch
	for _, b := range m.replays {
		if b.Instance != except && !b.RecordedAt.Before(since) && b.Keys != nil {
			b.Keys = append([]string(nil), b.Keys...)
			out = append(out, b)
		}
	}
	return out, nil
}

// PurgeReplayBatches implements incident.Store. A purged batch keeps its
// place (and so the IDs of the others), without its keys.
func (m *memDeliveries) PurgeReplayBatches(_ context.Context, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for i, b := range m.replays {
		if b.Keys != nil && b.RecordedAt.Before(before) {
			m.replays[i].Keys = nil
			n++
		}
	}
	return n, nil
}

package gormstore

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firebreakhq/firebreak/incident"
)

// deliveryStore remembers the webhook and Slack deliveries seen, so a
// replayed one is recognised.
type deliveryStore struct{ *handle }

// RecordDelivery implements incident.Store. A zero ReceivedAt becomes the
// clock's now; Source and ID are required (EINVALID).
func (s *deliveryStore) RecordDelivery(ctx context.Context, d incident.Delivery) (bool, error) {
	const op = "record delivery"
	if d.Source == "" || d.ID == "" {
		return false, invalid(op, "A delivery needs a source and an id.")
	}
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = s.now()
	}
	row := deliveryRow{Source: d.Source, ID: d.ID, ReceivedAt: dbTime(d.ReceivedAt)}
	// One INSERT ... ON CONFLICT DO NOTHING is atomic by itself; it runs on
	// the 3-second path of every Slack request, so it skips the BEGIN and
	// COMMIT round trips of an explicit transaction.
	res := s.session(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return false, translate(op, res.Error, nil)
	}
	return res.RowsAffected == 1, nil
}

// ForgetDelivery removes the record of the delivery with this source and
// id, so that the same delivery is taken again, by any replica: one that
// was recorded but could not be handled, whose sender retries it. A
// delivery never recorded is no error.
func (s *deliveryStore) ForgetDelivery(ctx context.Context, source, id string) error {
	const op = "forget delivery"
	if source == "" || id == "" {
		return invalid(op, "A delivery needs a source and an id.")
	}
	err := s.one(ctx, func(db *gorm.DB) error {
		return db.Where("source = ? AND id = ?", source, id).Delete(&deliveryRow{}).Error
	})
	return translate(op, err, nil)
}

// PurgeDeliveries implements incident.Store.
func (s *deliveryStore) PurgeDeliveries(ctx context.Context, before time.Time) (int64, error) {
	const op = "purge deliveries"
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("received_at < ?", ceilMicro(before.UTC())).Delete(&deliveryRow{})
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, translate(op, err, nil)
	}
	return n, nil
}

// RecordReplayBatch implements incident.Store: one row, its keys one per
// line.
func (s *deliveryStore) RecordReplayBatch(ctx context.Context, b incident.ReplayBatch) error {
	const op = "record replay batch"
	if b.Instance == "" || len(b.Keys) == 0 {
		return invalid(op, "A replay batch needs an instance and keys.")
	}
	for _, k := range b.Keys {
		if k == "" || strings.ContainsRune(k, '\n') {
			return invalid(op, "A replay key is one line of text.")
		}
	}
	at := s.now()
	if !b.RecordedAt.IsZero() {
		at = dbTime(b.RecordedAt)
	}
	row := replayBatchRow{Instance: b.Instance, RecordedAt: at, Keys: strings.Join(b.Keys, "\n")}
	if err := s.session(ctx).Create(&row).Error; err != nil {
		return translate(op, err, nil)
	}
	return nil
}

// ReplayBatchesSince implements incident.Store.
func (s *deliveryStore) ReplayBatchesSince(ctx context.Context, since time.Time, except string) ([]incident.ReplayBatch, error) {
	const op = "read replay batches"
	var rows []replayBatchRow
	err := s.session(ctx).Where("recorded_at >= ? AND instance <> ?", dbTime(since), except).Order("id").Find(&rows).Error
	if err != nil {
		return nil, translate(op, err, nil)
	}
	out := make([]incident.ReplayBatch, len(rows))
	for i, r := range rows {
		out[i] = incident.ReplayBatch{ID: r.ID, Instance: r.Instance, RecordedAt: r.RecordedAt.UTC(), Keys: strings.Split(r.Keys, "\n")}
	}
	return out, nil
}

// PurgeReplayBatches implements incident.Store.
func (s *deliveryStore) PurgeReplayBatches(ctx context.Context, before time.Time) (int64, error) {
	const op = "purge replay batches"
	res := s.session(ctx).Where("recorded_at < ?", ceilMicro(before.UTC())).Delete(&replayBatchRow{})
	if res.Error != nil {
		return 0, translate(op, res.Error, nil)
	}
	return res.RowsAffected, nil
}

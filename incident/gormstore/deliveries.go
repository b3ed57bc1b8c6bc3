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
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return false, translate(op, res.Error, nil)
	}
	return res.RowsAffected == 1, nil
}

// RecordDeliveries records several deliveries in one statement and reports,
// for each, whether it is the first of its source and id (as RecordDelivery
// does; of two equal ones in ds, the first). A zero ReceivedAt becomes the
// clock's now.
func (s *deliveryStore) RecordDeliveries(ctx context.Context, ds []incident.Delivery) ([]bool, error) {
	const op = "record deliveries"
	first := make([]bool, len(ds))
	if len(ds) == 0 {
		return first, nil
	}
	var (
		q    strings.Builder
		args = make([]any, 0, 3*len(ds))
		now  = s.now()
	)
	q.WriteString("INSERT INTO deliveries (source, id, received_at) VALUES ")
	for i, d := range ds {
		if d.Source == "" || d.ID == "" {
			return nil, invalid(op, "A delivery needs a source and an id.")
		}
		at := now
		if !d.ReceivedAt.IsZero() {
			at = dbTime(d.ReceivedAt)
		}
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?)")
		args = append(args, d.Source, d.ID, at)
	}
	q.WriteString(" ON CONFLICT DO NOTHING RETURNING source, id")
	rows, err := s.db.WithContext(ctx).Raw(q.String(), args...).Rows()
	if err != nil {
		return nil, translate(op, err, nil)
	}
	defer rows.Close()
	inserted := map[[2]string]bool{}
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			return nil, translate(op, err, nil)
		}
		inserted[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, translate(op, err, nil)
	}
	for i, d := range ds {
		k := [2]string{d.Source, d.ID}
		first[i] = inserted[k]
		delete(inserted, k) // a repeat within ds is not first
	}
	return first, nil
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

package gormstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firebreakhq/firebreak/incident"
)

// changeStore keeps the changes reported by change sources and webhooks
// (changes.go) and the rollbacks asked for (rollbacks.go).
type changeStore struct{ *handle }

// AddChangeEvent implements incident.Store. A zero OccurredAt becomes the
// clock's now; Source, ExternalID and Kind are required (EINVALID). A later
// report of a stored change replaces it by a conditional UPDATE, so two
// reports racing each other leave the newer one whichever commits first.
func (s *changeStore) AddChangeEvent(ctx context.Context, c *incident.ChangeEvent) error {
	const op = "add change event"
	if c == nil {
		return invalid(op, "No change to add.")
	}
	if c.Source == "" || c.ExternalID == "" || c.Kind == "" {
		return invalid(op, "A change needs a source, an id and a kind.")
	}
	in := *c
	if in.OccurredAt.IsZero() {
		in.OccurredAt = s.now()
	}
	row, err := toChangeEventRow(&in)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	row.ID = 0
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if ok, err := replaceChange(tx, &row); ok || err != nil {
			return err
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil || res.RowsAffected == 1 {
			return res.Error
		}
		// Stored meanwhile by another report, or stored before: replace
		// it if this one is newer.
		if ok, err := replaceChange(tx, &row); ok || err != nil {
			return err
		}
		return storeError(op, incident.Errorf(incident.ECONFLICT, "The %s change %s is already recorded.", c.Source, c.ExternalID), nil)
	})
	if err != nil {
		return translate(op, err, map[string]string{
			incident.ECONFLICT: fmt.Sprintf("The %s change %s is already recorded.", c.Source, c.ExternalID),
		})
	}
	c.ID, c.OccurredAt, c.Service = row.ID, domainTime(row.OccurredAt), row.Service
	return nil
}

// replaceChange overwrites an older stored report of row's change with row,
// and reports whether there was one; row gets the stored ID and Service.
func replaceChange(tx *gorm.DB, row *changeEventRow) (bool, error) {
	res := tx.Model(&changeEventRow{}).
		Where("source = ? AND external_id = ?", row.Source, row.ExternalID).
		Where("revision < ? OR (revision = ? AND revision <> 0 AND occurred_at < ?)", row.Revision, row.Revision, row.OccurredAt).
		Updates(map[string]any{
			"kind": row.Kind, "summary": row.Summary, "actor": row.Actor, "url": row.URL,
			"environment": row.Environment, "ref": row.Ref, "occurred_at": row.OccurredAt,
			"revision": row.Revision, "data": row.Data,
			"service": gorm.Expr("CASE WHEN ? <> '' THEN ? ELSE service END", row.Service, row.Service),
		})
	if res.Error != nil || res.RowsAffected == 0 {
		return false, res.Error
	}
	var stored changeEventRow
	err := tx.Select("id", "service").Where("source = ? AND external_id = ?", row.Source, row.ExternalID).Take(&stored).Error
	row.ID, row.Service = stored.ID, stored.Service
	return true, err
}

// ListChangeEvents implements incident.Store.
func (s *changeStore) ListChangeEvents(ctx context.Context, service string, from, to time.Time) ([]incident.ChangeEvent, error) {
	const op = "list change events"
	// Stored times are whole microseconds, so rounding from up and to down
	// keeps the window exact on both dialects.
	lo, hi := ceilMicro(from.UTC()), dbTime(to)
	var rows []changeEventRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
		q := tx.Where("occurred_at >= ? AND occurred_at <= ?", lo, hi)
		if service != "" {
			q = q.Where("service = ?", service)
		}
		return q.Order("occurred_at DESC, id DESC").Find(&rows).Error
	})
	if err != nil {
		return nil, translate(op, err, nil)
	}
	return domainRows(op, rows, (*changeEventRow).toDomain)
}

package gormstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"

	"gorm.io/gorm"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/migrations"
)

var _ incident.ReportReader = (*Store)(nil)

// ListIncidentRecords implements incident.ReportReader in four SELECTs, one
// a kind of record, whatever the number of ids: the ids go as one bound
// parameter (an array literal on PostgreSQL, a JSON array on SQLite), so
// the statements' text does not change with their number either and stays
// prepared, and no dialect's limit on bound parameters is ever reached.
// On SQLite each SELECT searches its table's (incident_id, ...) index once
// an id, reading the rows in the order asked for; on PostgreSQL the
// planner picks index lookups for a few ids and a hash join for many. The
// four run in one transaction, so they see one state of the database: a
// read-only REPEATABLE READ one on PostgreSQL, the store's usual one on
// SQLite.
func (s *Store) ListIncidentRecords(ctx context.Context, ids []int64) (map[int64]incident.IncidentRecord, error) {
	const op = "list incident records"
	out := map[int64]incident.IncidentRecord{}
	if len(ids) == 0 {
		return out, nil
	}
	where, arg := s.idsIn(ids)
	var (
		events    []timelineEventRow
		updates   []statusUpdateRow
		items     []actionItemRow
		rollbacks []rollbackRow
	)
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where(where, arg).Order("incident_id ASC, at ASC, id ASC").Find(&events).Error; err != nil {
			return err
		}
		if err := tx.Where(where, arg).Order("incident_id ASC, posted_at ASC, id ASC").Find(&updates).Error; err != nil {
			return err
		}
		if err := tx.Where(where, arg).Order("incident_id ASC, created_at ASC, id ASC").Find(&items).Error; err != nil {
			return err
		}
		return tx.Where(where, arg).Order("incident_id ASC, created_at ASC, id ASC").Find(&rollbacks).Error
	})
	if err != nil {
		return nil, translate(op, err, nil)
	}
	for i := range events {
		ev, err := events[i].toDomain()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		rec := out[ev.IncidentID]
		rec.Timeline = append(rec.Timeline, ev)
		out[ev.IncidentID] = rec
	}
	for i := range updates {
		u := updates[i].toDomain()
		rec := out[u.IncidentID]
		rec.Updates = append(rec.Updates, u)
		out[u.IncidentID] = rec
	}
	for i := range items {
		a := items[i].toDomain()
		rec := out[a.IncidentID]
		rec.ActionItems = append(rec.ActionItems, a)
		out[a.IncidentID] = rec
	}
	for i := range rollbacks {
		r, err := rollbacks[i].toDomain()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		rec := out[r.IncidentID]
		rec.Rollbacks = append(rec.Rollbacks, *r)
		out[r.IncidentID] = rec
	}
	return out, nil
}

// idsIn is a WHERE clause keeping the rows whose incident_id is one of ids,
// and its one argument.
func (h *handle) idsIn(ids []int64) (string, string) {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	b := make([]byte, 0, len(sorted)*8+2)
	open, end := byte('['), byte(']')
	if h.dialect == migrations.Postgres {
		open, end = '{', '}'
	}
	b = append(b, open)
	for i, id := range sorted {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	b = append(b, end)
	if h.dialect == migrations.Postgres {
		// The parameter is sent as text and cast here, in a subquery the
		// planner runs once: as `incident_id = ANY(CAST(...))` the cast of
		// a 2,000-id literal ran again for every row a scan met, 100 µs
		// each.
		return "incident_id IN (SELECT unnest(CAST(CAST(? AS text) AS bigint[])))", string(b)
	}
	return "incident_id IN (SELECT value FROM json_each(?))", string(b)
}

// readTx runs read, which only reads, on the transaction in progress when
// there is one, and otherwise in a transaction of its own, so its
// statements see one state of the database. Unlike tx it counts no write:
// the reads shared with other callers (sharedReads) stay good.
func (h *handle) readTx(ctx context.Context, read func(tx *gorm.DB) error) error {
	if h.sqlTx != nil {
		return read(h.db.WithContext(ctx))
	}
	var opts *sql.TxOptions
	if h.dialect == migrations.Postgres {
		// At READ COMMITTED, PostgreSQL's default, each statement would
		// see the commits made since the one before.
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	return h.admitted(ctx, func() error { return h.session(ctx).Transaction(read, opts) })
}

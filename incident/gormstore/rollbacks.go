package gormstore

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firebreakhq/firebreak/incident"
)

const (
	msgRollbackDuplicate = "That rollback was already requested."
	msgRollbackMissing   = "That rollback was not found."
)

// rollbackKey is the rollbacks.key column, named through gorm so that it is
// quoted: KEY is a keyword in both dialects.
var rollbackKey = clause.Column{Name: "key"}

// checkRollbackKey settles Key and Plan.Key, which name one thing: an empty
// one is filled from the other, and two different ones are EINVALID.
func checkRollbackKey(op string, r *incident.Rollback) error {
	switch {
	case r.Key == "":
		r.Key = r.Plan.Key
	case r.Plan.Key == "":
		r.Plan.Key = r.Key
	}
	switch {
	case r.Key == "":
		return invalid(op, "A rollback needs its plan's key.")
	case r.Key != r.Plan.Key:
		return invalid(op, "A rollback's key must be its plan's key.")
	}
	return nil
}

// AddRollback implements incident.Store. Key and Plan.Key are one value: an
// empty one is filled from the other, and both empty or different is
// EINVALID. An empty Status becomes RollbackAwaitingApproval. CreatedAt and
// UpdatedAt are always the clock's now. The argument gets the stored ID,
// Key, Plan.Key, Status and times. ENOTFOUND when the incident is unknown.
func (s *changeStore) AddRollback(ctx context.Context, r *incident.Rollback) error {
	const op = "add rollback"
	if r == nil {
		return invalid(op, "No rollback to add.")
	}
	in := *r
	if err := checkRollbackKey(op, &in); err != nil {
		return err
	}
	if in.Status == "" {
		in.Status = incident.RollbackAwaitingApproval
	}
	now := s.now()
	in.CreatedAt, in.UpdatedAt = now, now
	row, err := toRollbackRow(&in)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	row.ID = 0
	err = s.tx(ctx, func(tx *gorm.DB) error { return tx.Create(&row).Error })
	if err != nil {
		return translate(op, err, map[string]string{
			incident.ECONFLICT: msgRollbackDuplicate,
			incident.ENOTFOUND: fmt.Sprintf("Incident %d was not found.", r.IncidentID),
		})
	}
	in.ID = row.ID
	*r = in
	return nil
}

// UpdateRollback implements incident.Store. On Postgres the row is read with
// SELECT ... FOR UPDATE, as in UpdateIncident. ID, IncidentID, Key (and
// Plan.Key) and CreatedAt cannot be changed; UpdatedAt is set from the
// clock; an empty Status is EINVALID. fn's error aborts the update and is
// returned as is. ENOTFOUND when the id is unknown.
func (s *changeStore) UpdateRollback(ctx context.Context, id int64, fn func(*incident.Rollback) error) (*incident.Rollback, error) {
	const op = "update rollback"
	var (
		fnErr  error
		result *incident.Rollback
	)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row rollbackRow
		if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("id = ?", id).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return notFound(op, msgRollbackMissing)
			}
			return err
		}
		r, err := row.toDomain()
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			fnErr = err
			return err
		}
		r.ID, r.IncidentID, r.Key, r.Plan.Key = row.ID, row.IncidentID, row.Key, row.Key
		r.CreatedAt, r.UpdatedAt = row.CreatedAt, s.now()
		if r.Status == "" {
			return invalid(op, "A rollback needs a status.")
		}
		updated, err := toRollbackRow(r)
		if err != nil {
			return err
		}
		if err := updateOne(tx, &updated, "id", "incident_id", "key", "created_at"); err != nil {
			return err
		}
		result, err = updated.toDomain()
		return err
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, translate(op, err, nil)
	}
	return result, nil
}

// GetRollback implements incident.Store: ENOTFOUND when no rollback has the key.
func (s *changeStore) GetRollback(ctx context.Context, key string) (*incident.Rollback, error) {
	const op = "get rollback"
	if key == "" {
		return nil, notFound(op, msgRollbackMissing)
	}
	var row rollbackRow
	err := s.one(ctx, func(tx *gorm.DB) error {
		return tx.Where(clause.Eq{Column: rollbackKey, Value: key}).Take(&row).Error
	})
	if err != nil {
		return nil, translate(op, err, map[string]string{incident.ENOTFOUND: msgRollbackMissing})
	}
	r, err := row.toDomain()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return r, nil
}

// ListRollbacks implements incident.Store.
func (s *changeStore) ListRollbacks(ctx context.Context, incidentID int64) ([]incident.Rollback, error) {
	const op = "list rollbacks"
	var rows []rollbackRow
	err := s.one(ctx, func(tx *gorm.DB) error {
		return tx.Where("incident_id = ?", incidentID).Order("created_at ASC, id ASC").Find(&rows).Error
	})
	if err != nil {
		return nil, translate(op, err, nil)
	}
	out := make([]incident.Rollback, 0, len(rows))
	for i := range rows {
		r, err := rows[i].toDomain()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, *r)
	}
	return out, nil
}

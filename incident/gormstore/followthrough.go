package gormstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/followthrough"
)

// followUpStore keeps follow-ups (action items), postmortem reviews and
// the notices already sent about them.
type followUpStore struct{ *handle }

// The store, and the store of an Atomic's transaction, keep follow-through.
var (
	_ followthrough.Store = (*Store)(nil)
	_ followthrough.Tx    = txStore{}
)

const (
	msgActionItemMissing = "That follow-up was not found."
	msgReviewMissing     = "That incident has no review yet."
)

type reviewRow struct {
	IncidentID int64     `gorm:"column:incident_id;primaryKey;autoIncrement:false"`
	State      string    `gorm:"column:state"`
	DueOn      time.Time `gorm:"column:due_on"`
	Owner      string    `gorm:"column:owner"`
	UpdatedBy  string    `gorm:"column:updated_by"`
	CreatedAt  time.Time `gorm:"column:created_at;autoCreateTime:false;autoUpdateTime:false"`
	UpdatedAt  time.Time `gorm:"column:updated_at;autoCreateTime:false;autoUpdateTime:false"`
}

func (reviewRow) TableName() string { return "reviews" }

func (r *reviewRow) toDomain() incident.Review {
	return incident.Review{IncidentID: r.IncidentID, State: incident.ReviewState(r.State), DueOn: domainTime(r.DueOn),
		Owner: r.Owner, UpdatedBy: r.UpdatedBy, CreatedAt: domainTime(r.CreatedAt), UpdatedAt: domainTime(r.UpdatedAt)}
}

type noticeRow struct {
	Key    string    `gorm:"column:key;primaryKey"`
	SentAt time.Time `gorm:"column:sent_at"`
}

func (noticeRow) TableName() string { return "notices" }

// AddActionItem implements incident.Store. A zero CreatedAt becomes the
// clock's now.
func (s *followUpStore) AddActionItem(ctx context.Context, a *incident.ActionItem) error {
	const op = "add action item"
	if a == nil {
		return invalid(op, "No follow-up to add.")
	}
	if a.Text == "" {
		return invalid(op, "A follow-up needs a description.")
	}
	in := *a
	if in.CreatedAt.IsZero() {
		in.CreatedAt = s.now()
	}
	row := toActionItemRow(&in)
	row.ID = 0
	err := s.tx(ctx, func(tx *gorm.DB) error { return tx.Create(&row).Error })
	if err != nil {
		return translate(op, err, map[string]string{
			incident.ENOTFOUND: fmt.Sprintf("Incident %d was not found.", a.IncidentID),
		})
	}
	a.ID, a.CreatedAt = row.ID, row.CreatedAt
	return nil
}

// ListActionItems implements incident.Store.
func (s *followUpStore) ListActionItems(ctx context.Context, incidentID int64) ([]incident.ActionItem, error) {
	const op = "list action items"
	var rows []actionItemRow
	err := s.one(ctx, func(tx *gorm.DB) error {
		return tx.Where("incident_id = ?", incidentID).Order("created_at ASC, id ASC").Find(&rows).Error
	})
	if err != nil {
		return nil, translate(op, err, nil)
	}
	out := make([]incident.ActionItem, 0, len(rows))
	for i := range rows {
		out = append(out, rows[i].toDomain())
	}
	return out, nil
}

// GetActionItem implements followthrough.Store.
func (s *followUpStore) GetActionItem(ctx context.Context, id int64) (*incident.ActionItem, error) {
	const op = "get action item"
	var row actionItemRow
	if err := s.one(ctx, func(tx *gorm.DB) error { return tx.Where("id = ?", id).Take(&row).Error }); err != nil {
		return nil, translate(op, err, map[string]string{incident.ENOTFOUND: msgActionItemMissing})
	}
	a := row.toDomain()
	return &a, nil
}

// UpdateActionItem implements followthrough.Store. The incident, creator and
// creation time cannot change.
func (s *followUpStore) UpdateActionItem(ctx context.Context, id int64, fn func(*incident.ActionItem) error) (*incident.ActionItem, error) {
	const op = "update action item"
	var (
		fnErr  error
		result incident.ActionItem
	)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row actionItemRow
		if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ?", id).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return notFound(op, msgActionItemMissing)
			}
			return err
		}
		a := row.toDomain()
		if err := fn(&a); err != nil {
			fnErr = err
			return err
		}
		if a.Text == "" {
			return invalid(op, "A follow-up needs a description.")
		}
		a.ID, a.IncidentID, a.CreatedBy, a.CreatedAt = row.ID, row.IncidentID, row.CreatedBy, row.CreatedAt
		updated := toActionItemRow(&a)
		if err := updateOne(tx, &updated, "id", "incident_id", "created_by", "created_at"); err != nil {
			return err
		}
		result = updated.toDomain()
		return nil
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, translate(op, err, map[string]string{incident.ENOTFOUND: msgActionItemMissing})
	}
	return &result, nil
}

// ListOpenActionItems implements followthrough.Store.
func (s *followUpStore) ListOpenActionItems(ctx context.Context) ([]incident.ActionItem, error) {
	const op = "list open action items"
	var rows []actionItemRow
	err := s.one(ctx, func(tx *gorm.DB) error {
		return tx.Where("NOT done").Order("created_at ASC, id ASC").Find(&rows).Error
	})
	if err != nil {
		return nil, translate(op, err, nil)
	}
	out := make([]incident.ActionItem, 0, len(rows))
	for i := range rows {
		out = append(out, rows[i].toDomain())
	}
	return out, nil
}

// SaveReview implements followthrough.Store. Zero CreatedAt and UpdatedAt
// become the clock's now.
func (s *followUpStore) SaveReview(ctx context.Context, r *incident.Review) error {
	const op = "save review"
	if r == nil || r.IncidentID == 0 {
		return invalid(op, "A review needs an incident.")
	}
	if !r.State.Valid() {
		return invalid(op, "Unknown review state.")
	}
	if r.DueOn.IsZero() {
		return invalid(op, "A review needs a due date.")
	}
	now := s.now()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = now
	}
	row := reviewRow{IncidentID: r.IncidentID, State: string(r.State), DueOn: dbTime(r.DueOn), Owner: r.Owner, UpdatedBy: r.UpdatedBy,
		CreatedAt: dbTime(r.CreatedAt), UpdatedAt: dbTime(r.UpdatedAt)}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "incident_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"state", "due_on", "owner", "updated_by", "updated_at"}),
		}).Create(&row).Error
	})
	if err != nil {
		return translate(op, err, map[string]string{incident.ENOTFOUND: fmt.Sprintf("Incident %d was not found.", r.IncidentID)})
	}
	r.CreatedAt, r.UpdatedAt, r.DueOn = row.CreatedAt, row.UpdatedAt, row.DueOn
	return nil
}

// GetReview implements followthrough.Store.
func (s *followUpStore) GetReview(ctx context.Context, incidentID int64) (*incident.Review, error) {
	const op = "get review"
	var row reviewRow
	if err := s.one(ctx, func(tx *gorm.DB) error { return tx.Where("incident_id = ?", incidentID).Take(&row).Error }); err != nil {
		return nil, translate(op, err, map[string]string{incident.ENOTFOUND: msgReviewMissing})
	}
	r := row.toDomain()
	return &r, nil
}

// ListReviews implements followthrough.Store.
func (s *followUpStore) ListReviews(ctx context.Context) ([]incident.Review, error) {
	const op = "list reviews"
	var rows []reviewRow
	err := s.one(ctx, func(tx *gorm.DB) error {
		return tx.Where("state <> ?", string(incident.ReviewPublished)).Order("due_on ASC, incident_id ASC").Find(&rows).Error
	})
	if err != nil {
		return nil, translate(op, err, nil)
	}
	out := make([]incident.Review, 0, len(rows))
	for i := range rows {
		out = append(out, rows[i].toDomain())
	}
	return out, nil
}

// RecordNotice implements followthrough.Store with one INSERT ... ON CONFLICT DO
// NOTHING, atomic by itself.
func (s *followUpStore) RecordNotice(ctx context.Context, key string, at time.Time) (bool, error) {
	const op = "record notice"
	if key == "" {
		return false, invalid(op, "A notice needs a key.")
	}
	if at.IsZero() {
		at = s.now()
	}
	res := s.session(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&noticeRow{Key: key, SentAt: dbTime(at)})
	if res.Error != nil {
		return false, translate(op, res.Error, nil)
	}
	return res.RowsAffected == 1, nil
}

// noticeChunk bounds the keys of one query, well within both dialects'
// limits on bound parameters.
const noticeChunk = 500

// NoticesSent implements followthrough.Store.
func (s *followUpStore) NoticesSent(ctx context.Context, keys []string) (map[string]bool, error) {
	const op = "notices sent"
	out := make(map[string]bool, len(keys))
	for start := 0; start < len(keys); start += noticeChunk {
		chunk := keys[start:min(start+noticeChunk, len(keys))]
		var found []string
		if err := s.session(ctx).Model(&noticeRow{}).Where("key IN ?", chunk).Pluck("key", &found).Error; err != nil {
			return nil, translate(op, err, nil)
		}
		for _, k := range found {
			out[k] = true
		}
	}
	return out, nil
}

// NoticeSent implements followthrough.Store.
func (s *followUpStore) NoticeSent(ctx context.Context, key string) (bool, error) {
	const op = "notice sent"
	var n int64
	if err := s.session(ctx).Model(&noticeRow{}).Where("key = ?", key).Count(&n).Error; err != nil {
		return false, translate(op, err, nil)
	}
	return n > 0, nil
}

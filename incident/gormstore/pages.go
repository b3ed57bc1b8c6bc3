package gormstore

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firebreakhq/firebreak/incident"
)

// pageStore keeps the pages sent for incidents.
type pageStore struct{ *handle }

const (
	msgPageDuplicate = "That page was already sent."
	msgPageMissing   = "That page was not found."
)

// AddPage implements paging.Store. Provider is required (EINVALID); a zero
// CreatedAt becomes the clock's now; an empty DedupKey never conflicts. The
// argument gets the stored ID and CreatedAt.
func (s *pageStore) AddPage(ctx context.Context, p *incident.Page) error {
	const op = "add page"
	if p == nil {
		return invalid(op, "No page to add.")
	}
	if p.Provider == "" {
		return invalid(op, "A page needs a provider.")
	}
	in := *p
	if in.CreatedAt.IsZero() {
		in.CreatedAt = s.now()
	}
	row, err := toPageRow(&in)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	row.ID = 0
	err = s.tx(ctx, func(tx *gorm.DB) error { return tx.Create(&row).Error })
	if err != nil {
		return translate(op, err, map[string]string{
			incident.ECONFLICT: msgPageDuplicate,
			incident.ENOTFOUND: fmt.Sprintf("Incident %d was not found.", p.IncidentID),
		})
	}
	p.ID, p.CreatedAt = row.ID, row.CreatedAt
	return nil
}

// UpdatePage implements paging.Store. On Postgres the row is read with
// SELECT ... FOR UPDATE, as in UpdateIncident. ID and IncidentID cannot be
// changed; a zero CreatedAt keeps the stored one; an empty Provider is
// EINVALID and a Provider+DedupKey another page has is ECONFLICT. fn's error
// aborts the update and is returned as is. ENOTFOUND when the id is unknown.
func (s *pageStore) UpdatePage(ctx context.Context, id int64, fn func(*incident.Page) error) (*incident.Page, error) {
	const op = "update page"
	var (
		fnErr  error
		result incident.Page
	)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row pageRow
		if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("id = ?", id).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return notFound(op, msgPageMissing)
			}
			return err
		}
		p, err := row.toDomain()
		if err != nil {
			return err
		}
		if err := fn(&p); err != nil {
			fnErr = err
			return err
		}
		p.ID, p.IncidentID = row.ID, row.IncidentID
		if p.CreatedAt.IsZero() {
			p.CreatedAt = row.CreatedAt
		}
		if p.Provider == "" {
			return invalid(op, "A page needs a provider.")
		}
		updated, err := toPageRow(&p)
		if err != nil {
			return err
		}
		if err := updateOne(tx, &updated, "id", "incident_id"); err != nil {
			return err
		}
		result, err = updated.toDomain()
		return err
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		return nil, translate(op, err, map[string]string{incident.ECONFLICT: msgPageDuplicate})
	}
	return &result, nil
}

// FindPage implements paging.Store. When several of the provider's pages
// match, the oldest is returned. ENOTFOUND when none does.
func (s *pageStore) FindPage(ctx context.Context, provider, ref string) (*incident.Page, error) {
	const op = "find page"
	if provider == "" || ref == "" {
		return nil, notFound(op, msgPageMissing)
	}
	var row pageRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
		return tx.Where("provider = ? AND (external_id = ? OR dedup_key = ?)", provider, ref, ref).
			Order("id ASC").Take(&row).Error
	})
	if err != nil {
		return nil, translate(op, err, map[string]string{incident.ENOTFOUND: msgPageMissing})
	}
	p, err := row.toDomain()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return &p, nil
}

// ListPages implements incident.Store.
func (s *pageStore) ListPages(ctx context.Context, incidentID int64) ([]incident.Page, error) {
	const op = "list pages"
	var rows []pageRow
	err := s.one(ctx, func(tx *gorm.DB) error {
		return tx.Where("incident_id = ?", incidentID).Order("created_at ASC, id ASC").Find(&rows).Error
	})
	if err != nil {
		return nil, translate(op, err, nil)
	}
	return domainRows(op, rows, (*pageRow).toDomain)
}

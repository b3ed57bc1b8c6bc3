package gormstore

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firebreakhq/firebreak/incident"
)

// exportStore records where postmortems were exported.
type exportStore struct{ *handle }

// SaveExport implements incident.Store. Target is required (EINVALID); the
// record also notes when it was saved, from the clock. ENOTFOUND when the
// incident is unknown.
func (s *exportStore) SaveExport(ctx context.Context, incidentID int64, ref incident.ExportRef) error {
	const op = "save export"
	if ref.Target == "" {
		return invalid(op, "An export needs a target.")
	}
	row := exportRow{
		IncidentID: incidentID,
		Target:     ref.Target,
		ExternalID: ref.ID,
		URL:        ref.URL,
		Version:    int64(ref.Version),
		Digest:     ref.Digest,
		Pending:    ref.Pending,
		ExportedAt: s.now(),
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "incident_id"}, {Name: "target"}},
			DoUpdates: clause.AssignmentColumns([]string{"external_id", "url", "version", "digest", "pending", "exported_at"}),
		}).Create(&row).Error
	})
	if err != nil {
		return translate(op, err, map[string]string{
			incident.ENOTFOUND: fmt.Sprintf("Incident %d was not found.", incidentID),
		})
	}
	return nil
}

// GetExport implements incident.Store.
func (s *exportStore) GetExport(ctx context.Context, incidentID int64, target string) (*incident.ExportRef, error) {
	const op = "get export"
	missing := fmt.Sprintf("The postmortem was never exported to %s.", target)
	var row exportRow
	err := s.one(ctx, func(tx *gorm.DB) error {
		return tx.Where("incident_id = ? AND target = ?", incidentID, target).Take(&row).Error
	})
	if err != nil {
		return nil, translate(op, err, map[string]string{incident.ENOTFOUND: missing})
	}
	return row.toDomain(), nil
}

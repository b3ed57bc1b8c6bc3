package gormstore

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/firebreakhq/firebreak/incident"
)

// updateStore keeps the status updates posted for incidents.
type updateStore struct{ *handle }

// AddStatusUpdate implements incident.Store. The timeline event it adds is
// an EventUpdatePosted by the update's author, at its PostedAt (a zero
// PostedAt becomes the clock's now), with the update's text and an
// UpdatePostedData of the update's status.
func (s *updateStore) AddStatusUpdate(ctx context.Context, u *incident.StatusUpdate) error {
	const op = "add status update"
	if u == nil {
		return invalid(op, "No status update to add.")
	}
	switch {
	case !u.Status.Valid():
		return invalid(op, "Unknown status %q.", u.Status)
	case u.NextUpdateIn < 0:
		return invalid(op, "The time to the next update cannot be negative.")
	}
	in := *u
	if in.PostedAt.IsZero() {
		in.PostedAt = s.now()
	}
	row := toStatusUpdateRow(&in)
	row.ID = 0
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return insertEvent(tx, &incident.TimelineEvent{
			IncidentID: row.IncidentID,
			Kind:       incident.EventUpdatePosted,
			Actor:      row.Author,
			At:         row.PostedAt,
			Text:       in.EventText(),
			SourceID:   u.SourceID,
			Payload:    incident.UpdatePostedData{Status: incident.Status(row.Status)},
		})
	})
	if err != nil {
		return translate(op, err, map[string]string{
			incident.ECONFLICT: "That update is already on the timeline.",
			incident.ENOTFOUND: fmt.Sprintf("Incident %d was not found.", u.IncidentID),
		})
	}
	u.ID, u.PostedAt = row.ID, row.PostedAt
	return nil
}

// ListStatusUpdates implements incident.Store.
func (s *updateStore) ListStatusUpdates(ctx context.Context, incidentID int64) ([]incident.StatusUpdate, error) {
	const op = "list status updates"
	var rows []statusUpdateRow
	err := s.one(ctx, func(tx *gorm.DB) error {
		return tx.Where("incident_id = ?", incidentID).Order("posted_at ASC, id ASC").Find(&rows).Error
	})
	if err != nil {
		return nil, translate(op, err, nil)
	}
	out := make([]incident.StatusUpdate, 0, len(rows))
	for i := range rows {
		out = append(out, rows[i].toDomain())
	}
	return out, nil
}

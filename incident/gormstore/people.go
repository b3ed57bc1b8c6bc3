package gormstore

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/firebreakhq/firebreak/incident"
)

// peopleStore keeps the standings the chat reported (table
// people_standings).
type peopleStore struct{ *handle }

type standingRow struct {
	UserID      string    `gorm:"column:user_id;primaryKey"`
	Guest       bool      `gorm:"column:guest"`
	Deactivated bool      `gorm:"column:deactivated"`
	ChangedAt   time.Time `gorm:"column:changed_at"`
}

func (standingRow) TableName() string { return "people_standings" }

var _ incident.PeopleStore = (*Store)(nil)

// RecordStanding implements incident.PeopleStore: one upsert, atomic by
// itself.
func (s *peopleStore) RecordStanding(ctx context.Context, p incident.PersonStanding) error {
	const op = "record standing"
	if p.UserID == "" {
		return invalid(op, "A standing needs a user id.")
	}
	at := s.now()
	if !p.ChangedAt.IsZero() {
		at = dbTime(p.ChangedAt)
	}
	row := standingRow{UserID: p.UserID, Guest: p.Guest, Deactivated: p.Deactivated, ChangedAt: at}
	err := s.session(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"guest", "deactivated", "changed_at"}),
	}).Create(&row).Error
	return translate(op, err, nil)
}

// StandingsChangedSince implements incident.PeopleStore.
func (s *peopleStore) StandingsChangedSince(ctx context.Context, since time.Time) ([]incident.PersonStanding, error) {
	const op = "read standings"
	var rows []standingRow
	if err := s.session(ctx).Where("changed_at >= ?", dbTime(since)).Order("changed_at, user_id").Find(&rows).Error; err != nil {
		return nil, translate(op, err, nil)
	}
	out := make([]incident.PersonStanding, len(rows))
	for i, r := range rows {
		out[i] = incident.PersonStanding{UserID: r.UserID, Guest: r.Guest, Deactivated: r.Deactivated, ChangedAt: r.ChangedAt.UTC()}
	}
	return out, nil
}

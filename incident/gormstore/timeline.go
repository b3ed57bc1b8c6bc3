package gormstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firebreakhq/firebreak/incident"
)

// timelineStore keeps each incident's timeline events.
type timelineStore struct{ *handle }

func insertEvent(tx *gorm.DB, ev *incident.TimelineEvent) error {
	if ev.Kind == "" {
		return invalid("add timeline event", "A timeline event needs a kind.")
	}
	row, err := toTimelineEventRow(ev)
	if err != nil {
		return err
	}
	// A repeated source id is a conflict its caller may handle and go on
	// from: the statement does nothing rather than fail, which on
	// PostgreSQL would abort the transaction it runs in.
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return storeError("add timeline event", incident.Errorf(incident.ECONFLICT, "%s", msgEventDuplicate), nil)
	}
	ev.ID, ev.At = row.ID, row.At
	return nil
}

// insertEvents inserts evs, the events of incidentID's change, on tx in one
// statement; a zero At becomes now. A SourceID already stored is ECONFLICT,
// and the caller's transaction is to be rolled back: the statement does
// nothing for that event rather than fail, so the others may be stored.
func insertEvents(tx *gorm.DB, evs []incident.TimelineEvent, incidentID int64, now time.Time) error {
	if len(evs) == 0 {
		return nil
	}
	rows, err := eventRows(evs, incidentID, now)
	if err != nil {
		return err
	}
	for i := range rows {
		rows[i].ID = 0 // new events: the database numbers them
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != int64(len(rows)) {
		return storeError("add timeline event", incident.Errorf(incident.ECONFLICT, "%s", msgEventDuplicate), nil)
	}
	return nil
}

// AddTimelineEvent implements incident.Store. A zero At becomes the clock's now.
func (s *timelineStore) AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error {
	const op = "add timeline event"
	if ev == nil {
		return invalid(op, "No event to add.")
	}
	in := *ev
	if in.At.IsZero() {
		in.At = s.now()
	}
	err := s.one(ctx, func(tx *gorm.DB) error { return insertEvent(tx, &in) })
	if err != nil {
		return translate(op, err, map[string]string{
			incident.ECONFLICT: msgEventDuplicate,
			incident.ENOTFOUND: fmt.Sprintf("Incident %d was not found.", ev.IncidentID),
		})
	}
	ev.ID, ev.At = in.ID, in.At
	return nil
}

// AddTimelineEvents implements incident.TimelineBatcher: the events in one
// INSERT. A zero At becomes the clock's now.
func (s *timelineStore) AddTimelineEvents(ctx context.Context, evs []incident.TimelineEvent) error {
	const op = "add timeline events"
	if len(evs) == 0 {
		return nil
	}
	rows, err := eventRows(evs, 0, s.now())
	if err != nil {
		return err
	}
	err = s.one(ctx, func(tx *gorm.DB) error { return tx.Create(&rows).Error })
	if err != nil {
		return translate(op, err, map[string]string{
			incident.ECONFLICT: msgEventDuplicate,
			incident.ENOTFOUND: "The incident of an event was not found.",
		})
	}
	for i := range evs {
		evs[i].ID, evs[i].At = rows[i].ID, rows[i].At
	}
	return nil
}

// UpdateTimelineEvent implements incident.Store. On Postgres the row is read
// with SELECT ... FOR UPDATE, as in UpdateIncident. ID, IncidentID and
// SourceID cannot be changed; a zero At keeps the stored one; an empty Kind
// is EINVALID. fn's error aborts the update and is returned as is.
func (s *timelineStore) UpdateTimelineEvent(ctx context.Context, incidentID int64, sourceID string, fn func(*incident.TimelineEvent) error) (*incident.TimelineEvent, error) {
	const op = "update timeline event"
	const missing = "That message is not on the incident's timeline."
	if sourceID == "" {
		return nil, notFound(op, missing)
	}
	var (
		fnErr  error
		result incident.TimelineEvent
	)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row timelineEventRow
		if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("incident_id = ? AND source_id = ?", incidentID, sourceID).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return notFound(op, missing)
			}
			return err
		}
		ev, err := row.toDomain()
		if err != nil {
			return err
		}
		if err := fn(&ev); err != nil {
			fnErr = err
			return err
		}
		ev.ID, ev.IncidentID, ev.SourceID = row.ID, row.IncidentID, sourceID
		if ev.At.IsZero() {
			ev.At = row.At
		}
		if ev.Kind == "" {
			return invalid(op, "A timeline event needs a kind.")
		}
		updated, err := toTimelineEventRow(&ev)
		if err != nil {
			return err
		}
		if err := updateOne(tx, &updated, "id", "incident_id", "source_id"); err != nil {
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
	return &result, nil
}

// ListTimeline implements incident.Store.
func (s *timelineStore) ListTimeline(ctx context.Context, incidentID int64) ([]incident.TimelineEvent, error) {
	const op = "list timeline"
	var rows []timelineEventRow
	err := s.one(ctx, func(tx *gorm.DB) error {
		return tx.Where("incident_id = ?", incidentID).Order("at ASC, id ASC").Find(&rows).Error
	})
	if err != nil {
		return nil, translate(op, err, nil)
	}
	return domainRows(op, rows, (*timelineEventRow).toDomain)
}

// eventRows are the rows of events stored in one statement: each has a
// kind and a time (now when unset), belongs to incidentID (unless 0: then
// to its own), and no two share a source id, which the statement would
// fail on.
func eventRows(evs []incident.TimelineEvent, incidentID int64, now time.Time) ([]timelineEventRow, error) {
	const op = "add timeline events"
	rows := make([]timelineEventRow, 0, len(evs))
	sources := map[string]bool{}
	for _, ev := range evs {
		if ev.Kind == "" {
			return nil, invalid(op, "A timeline event needs a kind.")
		}
		if ev.SourceID != "" {
			if sources[ev.SourceID] {
				return nil, storeError(op, incident.Errorf(incident.ECONFLICT, "%s", msgEventDuplicate), nil)
			}
			sources[ev.SourceID] = true
		}
		if ev.At.IsZero() {
			ev.At = now
		}
		if incidentID != 0 {
			ev.IncidentID = incidentID
		}
		row, err := toTimelineEventRow(&ev)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

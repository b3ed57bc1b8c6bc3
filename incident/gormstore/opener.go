package gormstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/migrations"
)

var _ incident.IncidentOpener = (*incidentStore)(nil)

// CreateIncidentWith implements incident.IncidentOpener.
//
// On PostgreSQL the incident and its first events are one statement: the
// INSERT of the incident, whose number the sequence assigns, feeds the
// INSERT of the events, which put the incident's key in their text where
// the stand-in's is. A declare is then four round trips (begin, this
// statement, its jobs, commit) rather than five. SQLite, in the process,
// numbers the incident first and inserts the events after it, on the same
// transaction.
func (s *incidentStore) CreateIncidentWith(ctx context.Context, inc *incident.Incident, first func(*incident.Incident) []incident.TimelineEvent) (*incident.Incident, error) {
	const op = "create incident"
	row, err := s.newIncidentRow(op, inc)
	if err != nil {
		return nil, err
	}
	var existing *incidentRow
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		if s.dialect == migrations.Postgres {
			existing, err = s.insertOpenedPostgres(ctx, tx, &row, first)
		} else {
			existing, err = s.insertOpened(tx, &row, first)
		}
		return err
	})
	return s.created(op, &row, existing, err)
}

// created is what CreateIncident and CreateIncidentWith return once the
// INSERT ran: the stored row, or the incident stored before with the same
// declare key and ECONFLICT, or the error translated.
func (s *incidentStore) created(op string, row, existing *incidentRow, err error) (*incident.Incident, error) {
	if err != nil {
		return nil, translate(op, err, map[string]string{incident.ECONFLICT: msgChannelTaken})
	}
	if existing != nil {
		out, err := existing.toDomain()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return out, storeError(op, incident.Errorf(incident.ECONFLICT, "This incident was already declared as %s.", out.Key()), nil)
	}
	out, err := row.toDomain()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// insertOpened inserts the incident, then its first events, on tx.
func (s *incidentStore) insertOpened(tx *gorm.DB, row *incidentRow, first func(*incident.Incident) []incident.TimelineEvent) (*incidentRow, error) {
	existing, err := s.insertIncidentOn(tx, row)
	if err != nil || existing != nil {
		return existing, err
	}
	inc, err := row.toDomain()
	if err != nil {
		return nil, err
	}
	rows, err := eventRows(first(inc), row.ID, s.now())
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return nil, tx.Create(&rows).Error
}

// openedEvents is the rest of the statement that stores an incident and its
// first events on PostgreSQL, after the incident's INSERT (named inc). The
// events' columns come as arrays, one element per event, in order; an
// incident INSERT that did nothing inserts no events. Its verbs are, in
// order, the stand-in key, the key prefix and the seven arrays.
const openedEvents = `, ev AS (
	INSERT INTO timeline_events (incident_id, kind, actor, at, text, key_event, source_id, data)
	SELECT inc.id, e.kind, e.actor, e.at, replace(e.text, %s, %s || inc.number::text), e.key_event, e.source_id, e.data::jsonb
	FROM inc, unnest(%s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::boolean[], %s::text[], %s::text[])
		WITH ORDINALITY AS e(kind, actor, at, text, key_event, source_id, data, ord)
	ORDER BY e.ord
)
SELECT inc.number, inc.id FROM inc`

// insertOpenedPostgres stores the incident and its first events in one
// statement on tx. first is given the incident numbered with a random
// stand-in of 19 digits, whose key nobody types by chance. A statement
// whose number was taken stored nothing, and runs again with another
// (notInserted).
func (s *incidentStore) insertOpenedPostgres(ctx context.Context, tx *gorm.DB, row *incidentRow, first func(*incident.Incident) []incident.TimelineEvent) (*incidentRow, error) {
	inc, err := row.toDomain()
	if err != nil {
		return nil, err
	}
	inc.Number = 1<<62 + rand.Int64N(1<<62)
	standIn := inc.Key()
	rows, err := eventRows(first(inc), 0, s.now())
	if err != nil {
		return nil, err
	}
	insert := tx.Session(&gorm.Session{DryRun: true}).
		Clauses(clause.OnConflict{DoNothing: true}, clause.Returning{Columns: []clause.Column{{Name: "id"}, {Name: "number"}}}).
		Create(row).Statement
	if insert.Error != nil {
		return nil, insert.Error
	}
	args := append([]any(nil), insert.Vars...)
	param := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	kinds, actors, ats, texts := make([]string, len(rows)), make([]string, len(rows)), make([]time.Time, len(rows)), make([]string, len(rows))
	keys, sources, data := make([]bool, len(rows)), make([]*string, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		kinds[i], actors[i], ats[i], texts[i] = r.Kind, r.Actor, r.At, r.Text
		keys[i], sources[i], data[i] = r.KeyEvent, r.SourceID, r.Data
	}
	var q strings.Builder
	q.WriteString("WITH inc AS (")
	q.WriteString(insert.SQL.String())
	q.WriteString(")")
	fmt.Fprintf(&q, openedEvents, param(standIn), param(incident.KeyPrefix),
		param(kinds), param(actors), param(ats), param(texts), param(keys), param(sources), param(data))

	for draw := 1; ; draw++ {
		found, err := queryNumberID(ctx, tx.Statement.ConnPool, q.String(), args, &row.Number, &row.ID)
		if err != nil || found {
			return nil, err
		}
		existing, again, err := s.notInserted(tx, row, draw)
		if !again {
			return existing, err
		}
	}
}

// queryNumberID runs q, which returns at most one row of a number and an
// id, and reports whether it returned one.
func queryNumberID(ctx context.Context, db gorm.ConnPool, q string, args []any, number, id *int64) (bool, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return false, err
	}
	defer func() { _ = rows.Close() }()
	if !rows.Next() {
		return false, rows.Err()
	}
	if err := rows.Scan(number, id); err != nil {
		return false, err
	}
	return true, rows.Close()
}

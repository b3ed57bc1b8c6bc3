package gormstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/migrations"
)

// incidentStore keeps incidents: their numbering, lookups, the list and
// the locked update that also records the update's events.
type incidentStore struct{ *handle }

// counterIncidentNumber is the incident_counters row that numbers incidents.
const counterIncidentNumber = "incident_number"

// checkIncident enforces the schema's rules before the database does, so the
// message can say what is wrong.
func checkIncident(op string, inc *incident.Incident) error {
	switch {
	case inc.Title == "":
		return invalid(op, "The incident needs a title.")
	case !inc.Severity.Valid():
		return invalid(op, "Unknown severity %d: use P1, P2, P3 or P4.", int(inc.Severity))
	case !inc.Status.Valid():
		return invalid(op, "Unknown status %q.", inc.Status)
	case inc.NagCount < 0:
		return invalid(op, "The nag count cannot be negative.")
	}
	return nil
}

// User-safe messages for the conflicts the schema can report.
const (
	msgChannelTaken   = "Another incident already uses this channel."
	msgEventDuplicate = "That event is already on the timeline."
)

// CreateIncident implements incident.Store.
func (s *incidentStore) CreateIncident(ctx context.Context, inc *incident.Incident) (*incident.Incident, error) {
	const op = "create incident"
	row, err := s.newIncidentRow(op, inc)
	if err != nil {
		return nil, err
	}
	existing, err := s.insertIncident(ctx, &row)
	return s.created(op, &row, existing, err)
}

// newIncidentRow is the row CreateIncident inserts for inc, with its
// defaults set and no ID or Number yet; inc is left untouched.
func (s *incidentStore) newIncidentRow(op string, inc *incident.Incident) (incidentRow, error) {
	if inc == nil {
		return incidentRow{}, invalid(op, "No incident to create.")
	}
	in := *inc
	now := s.now()
	if in.Status == "" {
		in.Status = incident.StatusDeclared
	}
	if in.DeclaredAt.IsZero() {
		in.DeclaredAt = now
	}
	in.UpdatedAt = now
	if err := checkIncident(op, &in); err != nil {
		return incidentRow{}, err
	}
	row, err := toIncidentRow(&in)
	if err != nil {
		return incidentRow{}, fmt.Errorf("%s: %w", op, err)
	}
	row.ID, row.Number = 0, 0
	return row, nil
}

// insertIncident numbers row and inserts it, unless an incident with its
// DeclareKey is stored: then it returns that one and inserts nothing. On the
// transaction of an Atomic it runs with no savepoint of its own: a unique
// rule that holds the row back makes the INSERT do nothing rather than fail
// (which on PostgreSQL would abort the declare's transaction).
//
// On PostgreSQL the INSERT is the one round trip of a new incident: the
// number is the column's default (the sequence), and a repeated key is found
// after the INSERT did nothing (the number it took stays unused). SQLite,
// whose numbers have no gaps, looks for the key first.
func (s *incidentStore) insertIncident(ctx context.Context, row *incidentRow) (existing *incidentRow, err error) {
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		existing, err = s.insertIncidentOn(tx, row)
		return err
	})
	return existing, err
}

// insertIncidentOn is insertIncident on the transaction tx.
func (s *incidentStore) insertIncidentOn(tx *gorm.DB, row *incidentRow) (*incidentRow, error) {
	if s.dialect != migrations.Postgres {
		if existing, err := incidentByKey(tx, row.DeclareKey); err != nil || existing != nil {
			return existing, err
		}
	}
	for draw := 1; ; draw++ {
		if s.dialect != migrations.Postgres {
			number, err := s.nextNumber(tx)
			if err != nil {
				return nil, err
			}
			row.Number = number
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(row)
		if res.Error != nil || res.RowsAffected == 1 {
			return nil, res.Error
		}
		existing, again, err := s.notInserted(tx, row, draw)
		if !again || err != nil {
			return existing, err
		}
	}
}

// numberDraws bounds the numbers a declare draws when the one it drew is
// taken (see notInserted).
const numberDraws = 5

// notInserted explains an incident INSERT that did nothing, the draw-th
// of the declare: a declare with the same key was stored (or committed
// while the INSERT waited for it), and that incident is returned; or the
// channel belongs to an incident; or the number is taken, and the declare
// is to draw another (again) while it has draws left.
//
// A number is taken while replicas of a release that numbered incidents
// from incident_counters (0.1.0) still run beside this one's, which number
// them from the sequence that started where the counter stood: each hands
// out numbers the other already gave. The sequence is then moved past the
// highest number stored, so the next draw lands on a free one. None of this
// costs a declare that was stored a statement.
func (s *incidentStore) notInserted(tx *gorm.DB, row *incidentRow, draw int) (existing *incidentRow, again bool, err error) {
	if existing, err := incidentByKey(tx, row.DeclareKey); err != nil || existing != nil {
		return existing, false, errors.Join(err, s.returnNumber(tx))
	}
	channelTaken, number, err := s.clash(tx, row)
	switch {
	case err != nil:
		return nil, false, err
	case channelTaken:
		if err := s.returnNumber(tx); err != nil {
			return nil, false, err
		}
		return nil, false, storeError("create incident", incident.Errorf(incident.ECONFLICT, "%s", msgChannelTaken), nil)
	case draw < numberDraws:
		// The number is taken (or the row that held the INSERT back is
		// gone already): draw again, past the numbers in use.
		return nil, true, s.skipTakenNumbers(tx)
	case number > 0:
		return nil, false, storeError("create incident", incident.Errorf(incident.ECONFLICT,
			"INC-%d is already taken: replicas of an older firebreak, still running during an upgrade, number incidents their own way. Try again.", number), nil)
	}
	return nil, false, storeError("create incident", incident.Errorf(incident.ECONFLICT,
		"The incident could not be stored: another one took its place %d times in a row. Try again.", draw), nil)
}

// clash tells which unique rule other than the declare key held back the
// INSERT of row: its channel, which belongs to an incident, or its number
// (returned when taken; on PostgreSQL the one the INSERT drew last).
func (s *incidentStore) clash(tx *gorm.DB, row *incidentRow) (channelTaken bool, number int64, err error) {
	drawn := "?"
	args := []any{row.ChannelID, row.Number}
	if s.dialect == migrations.Postgres {
		drawn = "currval('incident_number_seq')"
		args = args[:1]
	}
	var found struct {
		Channel bool
		Number  *int64
	}
	err = tx.Raw("SELECT EXISTS (SELECT 1 FROM incidents WHERE channel_id = ?) AS channel, "+
		"(SELECT number FROM incidents WHERE number = "+drawn+") AS number", args...).Scan(&found).Error
	if err != nil || found.Number == nil {
		return found.Channel, 0, err
	}
	return found.Channel, *found.Number, nil
}

// skipTakenNumbers moves PostgreSQL's sequence past the highest incident
// number stored, when it is behind it: the next draw is then free (unless
// another old replica takes it meanwhile). It draws the numbers in between
// rather than setting the sequence, which another replica may have moved
// past the highest meanwhile: a sequence only ever moves forward. SQLite's
// counter moves on with the next draw itself.
func (s *incidentStore) skipTakenNumbers(tx *gorm.DB) error {
	if s.dialect != migrations.Postgres {
		return nil
	}
	return tx.Exec(`SELECT count(nextval('incident_number_seq')) FROM generate_series(1,
		(SELECT GREATEST(0, max(number) - (SELECT last_value FROM incident_number_seq)) FROM incidents))`).Error
}

// incidentByKey reads the incident stored with the declare key, or nil when
// there is none (or no key).
func incidentByKey(tx *gorm.DB, key *string) (*incidentRow, error) {
	if key == nil {
		return nil, nil
	}
	var found incidentRow
	err := tx.Where("declare_key = ?", *key).Take(&found).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &found, nil
}

// nextNumber hands out the next incident number on SQLite, whose one writer
// serializes declares anyway: the counter row's UPDATE hands out numbers
// with no gaps. On PostgreSQL the number is the column's default, from a
// sequence, which locks nothing, so declares on every replica run side by
// side; a declare that rolls back leaves its number unused.
func (s *incidentStore) nextNumber(tx *gorm.DB) (int64, error) {
	var number int64
	q := tx.Raw("UPDATE incident_counters SET value = value + 1 WHERE name = ? RETURNING value", counterIncidentNumber)
	if err := q.Scan(&number).Error; err != nil {
		return 0, err
	}
	if number == 0 {
		return 0, errors.New("no incident number was handed out; is the database migrated?")
	}
	return number, nil
}

// returnNumber gives back the number nextNumber handed out last on tx, for
// an incident that was not stored after all: SQLite's numbers stay free of
// gaps (its one writer took no other number since); PostgreSQL's sequence
// never gives one back.
func (s *incidentStore) returnNumber(tx *gorm.DB) error {
	if s.dialect == migrations.Postgres {
		return nil
	}
	return tx.Exec("UPDATE incident_counters SET value = value - 1 WHERE name = ?", counterIncidentNumber).Error
}

// incidentBy reads one incident row.
func (s *incidentStore) incidentBy(ctx context.Context, where string, arg any) (*incidentRow, error) {
	var row incidentRow
	err := s.one(ctx, func(tx *gorm.DB) error {
		return tx.Where(where, arg).Take(&row).Error
	})
	if err != nil {
		return nil, err
	}
	return &row, nil
}

func (s *incidentStore) getIncident(ctx context.Context, op, where string, arg any, missing string) (*incident.Incident, error) {
	row, err := s.incidentBy(ctx, where, arg)
	if err != nil {
		return nil, translate(op, err, map[string]string{incident.ENOTFOUND: missing})
	}
	out, err := row.toDomain()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// GetIncident implements incident.Store.
func (s *incidentStore) GetIncident(ctx context.Context, id int64) (*incident.Incident, error) {
	return s.getIncident(ctx, "get incident", "id = ?", id, fmt.Sprintf("Incident %d was not found.", id))
}

// GetIncidentByNumber implements incident.Store.
func (s *incidentStore) GetIncidentByNumber(ctx context.Context, number int64) (*incident.Incident, error) {
	return s.getIncident(ctx, "get incident by number", "number = ?", number, fmt.Sprintf("INC-%d was not found.", number))
}

// GetIncidentByChannel implements incident.Store.
func (s *incidentStore) GetIncidentByChannel(ctx context.Context, channelID string) (*incident.Incident, error) {
	const op, missing = "get incident by channel", "This channel does not belong to an incident."
	if channelID == "" {
		return nil, notFound(op, missing)
	}
	return s.getIncident(ctx, op, "channel_id = ?", channelID, missing)
}

// ListIncidents implements incident.Store. A Limit of zero or less means no
// limit. Outside a transaction, callers asking for the same incidents at
// the same time share one read (sharedReads), never one that began before a
// write committed through this DB.
func (s *incidentStore) ListIncidents(ctx context.Context, filter incident.IncidentFilter) ([]*incident.Incident, error) {
	const op = "list incidents"
	if !filter.Order.Valid() {
		return nil, invalid(op, "Unknown list order %d.", int(filter.Order))
	}
	read := func(ctx context.Context) (any, error) { return s.incidentRows(ctx, filter) }
	var (
		got any
		err error
	)
	if s.sqlTx != nil {
		got, err = read(ctx) // a transaction reads its own writes
	} else {
		got, err = s.shared.do(ctx, filterKey(filter), read)
	}
	if err != nil {
		return nil, translate(op, err, nil)
	}
	rows := got.([]incidentRow) // shared with the other callers: read only
	out := make([]*incident.Incident, 0, len(rows))
	for i := range rows {
		inc, err := rows[i].toDomain()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, inc)
	}
	return out, nil
}

// filterKey names the incidents filter selects, for sharedReads: two
// filters have the same key exactly when they select the same rows. It is
// built on every `list`, so it costs a few appends rather than fmt's
// reflection and two formatted times.
func filterKey(f incident.IncidentFilter) string {
	b := make([]byte, 0, 64)
	b = append(b, "incidents"...)
	b = strconv.AppendBool(append(b, " open="...), f.OpenOnly)
	b = append(b, " statuses="...)
	for _, st := range f.Statuses {
		b = strconv.AppendQuote(b, string(st))
	}
	b = strconv.AppendInt(append(b, " severity="...), int64(f.Severity), 10)
	b = strconv.AppendQuote(append(b, " service="...), f.Service)
	b = appendTime(append(b, " from="...), f.DeclaredFrom)
	b = appendTime(append(b, " before="...), f.DeclaredBefore)
	b = strconv.AppendBool(append(b, " nodrills="...), f.ExcludeDrills)
	b = strconv.AppendQuote(append(b, " key="...), f.DeclareKey)
	b = strconv.AppendInt(append(b, " limit="...), int64(max(f.Limit, 0)), 10)
	b = strconv.AppendInt(append(b, " order="...), int64(f.Order), 10)
	if f.After != nil {
		b = appendTime(append(b, " after="...), f.After.DeclaredAt)
		b = strconv.AppendInt(append(b, '/'), f.After.ID, 10)
	}
	return string(b)
}

// appendTime appends t as seconds and nanoseconds since 1970, or "-" for
// the zero time (no bound).
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, '-')
	}
	b = strconv.AppendInt(b, t.Unix(), 10)
	return strconv.AppendInt(append(b, '.'), int64(t.Nanosecond()), 10)
}

// CountOpenIncidents returns how many incidents are open (declared,
// investigating or mitigated), by severity, drills left out: one counting
// query, for the open-incidents gauge read at every metrics scrape.
func (s *incidentStore) CountOpenIncidents(ctx context.Context) (map[incident.Severity]int, error) {
	const op = "count open incidents"
	var rows []struct {
		Severity int16
		N        int
	}
	err := s.one(ctx, func(tx *gorm.DB) error {
		return tx.Model(&incidentRow{}).Select("severity, count(*) AS n").
			Where("status IN ?", []string{string(incident.StatusDeclared), string(incident.StatusInvestigating), string(incident.StatusMitigated)}).
			Where("drill = ?", false).Group("severity").Scan(&rows).Error
	})
	if err != nil {
		return nil, translate(op, err, nil)
	}
	counts := make(map[incident.Severity]int, len(rows))
	for _, r := range rows {
		counts[incident.Severity(r.Severity)] = r.N
	}
	return counts, nil
}

// listOrders are the ORDER BY clauses of the list orders. Each one is an
// index read in order, so a LIMIT stops the read once it has enough:
// incidents_list_idx (severity, declared_at DESC, id DESC) for
// OrderSeverity; for OrderNewest incidents_declared_at_idx (declared_at,
// id) read backwards, or with a service filter
// incidents_service_declared_at_idx (service, declared_at, id). A filter on
// status or drills is checked on the rows as the index yields them
// (TestListReadsAnIndexInOrder pins the plans).
var listOrders = map[incident.ListOrder]string{
	incident.OrderSeverity: "severity ASC, declared_at DESC, id DESC",
	incident.OrderNewest:   "declared_at DESC, id DESC",
}

// incidentRows reads the rows of the incidents filter selects, in one SELECT,
// which is consistent on its own: no transaction, which would cost a BEGIN
// and a COMMIT on every `list`.
func (s *incidentStore) incidentRows(ctx context.Context, filter incident.IncidentFilter) ([]incidentRow, error) {
	var rows []incidentRow
	return rows, listQuery(s.session(ctx), filter).Find(&rows).Error
}

// listQuery is the SELECT of the incidents filter selects, on q.
func listQuery(q *gorm.DB, filter incident.IncidentFilter) *gorm.DB {
	q = q.Order(listOrders[filter.Order])
	if c := filter.After; c != nil {
		// A row value comparison: both dialects read it as a range of the
		// (declared_at, id) index columns, where the OR spelled out would
		// be a filter on every row.
		at, id := dbTime(c.DeclaredAt), c.ID
		if !at.Equal(c.DeclaredAt) {
			// Stored times are whole microseconds: every row stored at the
			// truncated time was declared before the cursor's.
			id = math.MaxInt64
		}
		q = q.Where("(declared_at, id) < (?, ?)", at, id)
	}
	if filter.OpenOnly {
		q = q.Where("status IN ?", []string{
			string(incident.StatusDeclared), string(incident.StatusInvestigating), string(incident.StatusMitigated),
		})
	}
	if len(filter.Statuses) > 0 {
		statuses := make([]string, len(filter.Statuses))
		for i, st := range filter.Statuses {
			statuses[i] = string(st)
		}
		q = q.Where("status IN ?", statuses)
	}
	if filter.Severity != 0 {
		q = q.Where("severity = ?", int16(filter.Severity))
	}
	if filter.Service != "" {
		q = q.Where("service = ?", filter.Service)
	}
	if !filter.DeclaredFrom.IsZero() {
		q = q.Where("declared_at >= ?", dbTime(filter.DeclaredFrom))
	}
	if !filter.DeclaredBefore.IsZero() {
		q = q.Where("declared_at < ?", dbTime(filter.DeclaredBefore))
	}
	if filter.ExcludeDrills {
		q = q.Where("drill = ?", false)
	}
	if filter.DeclareKey != "" {
		q = q.Where("declare_key = ?", filter.DeclareKey)
	}
	if filter.Limit > 0 {
		q = q.Limit(filter.Limit)
	}
	return q
}

// UpdateIncident implements incident.Store. On Postgres the row is read with
// SELECT ... FOR UPDATE, so concurrent updates of one incident (from several
// replicas) run one after another, each seeing the previous one's result.
// ID and Number cannot be changed; UpdatedAt is set from the clock; events
// get the incident's ID and, when their At is zero, the clock's now. An
// event whose SourceID is already stored aborts the update with ECONFLICT.
func (s *incidentStore) UpdateIncident(ctx context.Context, id int64, fn func(*incident.Incident) ([]incident.TimelineEvent, error)) (*incident.Incident, error) {
	const op = "update incident"
	var (
		fnErr  error
		result *incident.Incident
	)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row incidentRow
		if err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("id = ?", id).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return notFound(op, "Incident %d was not found.", id)
			}
			return err
		}
		inc, err := row.toDomain()
		if err != nil {
			return err
		}
		events, err := fn(inc)
		if err != nil {
			fnErr = err
			return err
		}
		now := s.now()
		inc.ID, inc.Number, inc.UpdatedAt = row.ID, row.Number, now
		if err := checkIncident(op, inc); err != nil {
			return err
		}
		updated, err := toIncidentRow(inc)
		if err != nil {
			return err
		}
		res := tx.Model(&updated).Select("*").Omit("id", "number").Updates(&updated)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("updated %d rows for incident %d", res.RowsAffected, id)
		}
		if err := insertEvents(tx, events, id, now); err != nil {
			return err
		}
		result, err = updated.toDomain()
		return err
	})
	if fnErr != nil {
		return nil, fnErr
	}
	if err != nil {
		msg := msgEventDuplicate
		if strings.Contains(err.Error(), "channel_id") {
			msg = msgChannelTaken
		}
		return nil, translate(op, err, map[string]string{incident.ECONFLICT: msg})
	}
	return result, nil
}

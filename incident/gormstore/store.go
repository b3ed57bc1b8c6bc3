package gormstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/migrations"
)

// counterIncidentNumber is the incident_counters row that numbers incidents.
const counterIncidentNumber = "incident_number"

// Store implements incident.Store on a migrated database.
//
// Beyond the interface's contract: CreateIncident defaults an empty Status to
// declared and a zero DeclaredAt to the clock's now, always sets UpdatedAt,
// and leaves its argument untouched; the Add methods set the stored ID and
// any defaulted time (At, PostedAt, CreatedAt, OccurredAt) on their argument.
// Times are stored in UTC to the microsecond and read back in UTC. Empty
// Roles and Data maps, empty event payloads and empty Assignees read back
// as nil. A row that breaks
// a schema rule (unknown severity or status, empty title, empty kind,
// negative nag count ...) is EINVALID, and an event, update, follow-up,
// page, rollback or export for an unknown incident is ENOTFOUND. The Update
// methods lock the row, call fn, and write the result back in one
// transaction; fn's error is returned as is and nothing is written.
type Store struct {
	db      *gorm.DB
	dialect migrations.Dialect
	clock   incident.Clock
	jobs    JobInserter
	sqlTx   *sql.Tx      // set on the Store of an Atomic's transaction
	pending *pendingJobs // the jobs of that transaction, stored at its end
}

var _ incident.Store = (*Store)(nil)

// JobInserter stores jobs inside a transaction of the store's database.
// *jobs.Engine is one.
type JobInserter interface {
	// ScheduleManyTx stores the jobs in tx, skipping those whose Kind and
	// Key are already scheduled.
	ScheduleManyTx(ctx context.Context, tx *sql.Tx, jobs []incident.Job) error
}

// pendingJobs collects the jobs scheduled on an Atomic's transaction (and
// on its nested ones), so they are stored in one statement when the
// transaction's function returns, before it commits.
type pendingJobs struct {
	jobs []incident.Job
	keys map[string]bool // Kind and Key of the keyed jobs collected
}

func (p *pendingJobs) add(job incident.Job) {
	if job.Key != "" {
		// One statement cannot store two jobs with the same key; the
		// first one scheduled wins, as it would have one by one.
		k := job.Kind + "\x00" + job.Key
		if p.keys[k] {
			return
		}
		if p.keys == nil {
			p.keys = map[string]bool{}
		}
		p.keys[k] = true
	}
	p.jobs = append(p.jobs, job)
}

// truncate forgets the jobs collected after the first n, as a nested
// transaction rolled back to its savepoint forgets its rows.
func (p *pendingJobs) truncate(n int) {
	for _, job := range p.jobs[n:] {
		if job.Key != "" {
			delete(p.keys, job.Kind+"\x00"+job.Key)
		}
	}
	p.jobs = p.jobs[:n]
}

// Option configures a Store.
type Option func(*Store)

// WithJobs makes Schedule on an Atomic's Tx insert the job with j, inside
// the transaction. Without it, scheduling on a Tx fails.
func WithJobs(j JobInserter) Option { return func(s *Store) { s.jobs = j } }

// New returns a Store on db, which must be migrated, telling the time with clock.
func New(db *DB, clock incident.Clock, opts ...Option) *Store {
	s := &Store{db: db.gorm, dialect: db.dialect, clock: clock}
	for _, o := range opts {
		o(s)
	}
	return s
}

// txStore is the Store of one Atomic's transaction.
type txStore struct{ *Store }

var _ incident.Tx = txStore{}

// Schedule implements incident.Scheduler: the job is inserted in the
// transaction, with the others scheduled on it, when the Atomic's function
// returns; it exists only if the transaction commits. It reports true: a
// job whose Kind and Key are already scheduled is skipped when stored.
func (t txStore) Schedule(ctx context.Context, job incident.Job) (bool, error) {
	if t.jobs == nil {
		return false, errors.New("gormstore: the store has no job engine (gormstore.WithJobs)")
	}
	t.pending.add(job)
	return true, nil
}

// Atomic implements incident.Store. On the Tx of an Atomic it opens a
// savepoint, so a failed inner function undoes only its own writes (and
// forgets the jobs it scheduled). The jobs scheduled on the transaction are
// inserted in one statement at its end, before it commits.
func (s *Store) Atomic(ctx context.Context, fn func(tx incident.Tx) error) error {
	const op = "atomic"
	var fnErr error
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		sqlTx, pending := s.sqlTx, s.pending
		outer := sqlTx == nil
		if outer {
			var ok bool
			if sqlTx, ok = tx.Statement.ConnPool.(*sql.Tx); !ok {
				return fmt.Errorf("transaction runs on %T, not *sql.Tx", tx.Statement.ConnPool)
			}
			pending = &pendingJobs{}
		}
		mark := len(pending.jobs)
		fnErr = fn(txStore{&Store{db: tx, dialect: s.dialect, clock: s.clock, jobs: s.jobs, sqlTx: sqlTx, pending: pending}})
		if fnErr != nil {
			pending.truncate(mark)
			return fnErr
		}
		if !outer || len(pending.jobs) == 0 {
			return nil
		}
		if err := s.jobs.ScheduleManyTx(ctx, sqlTx, pending.jobs); err != nil {
			fnErr = storeError("schedule jobs", incident.Errorf(incident.EUNAVAILABLE, "The jobs of the change could not be stored."), err)
			return fnErr
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return storeError(op, incident.Errorf(incident.EUNAVAILABLE, "The change could not be saved; try again."), err)
	}
	return nil
}

func (s *Store) now() time.Time { return dbTime(s.clock.Now()) }

// tx runs fn in one transaction. On Postgres it runs at READ COMMITTED, with
// explicit row locks where an update must see the latest row.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn)
}

func invalid(op, format string, args ...any) error {
	return storeError(op, incident.Errorf(incident.EINVALID, format, args...), nil)
}

func notFound(op, format string, args ...any) error {
	return storeError(op, incident.Errorf(incident.ENOTFOUND, format, args...), nil)
}

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
func (s *Store) CreateIncident(ctx context.Context, inc *incident.Incident) (*incident.Incident, error) {
	const op = "create incident"
	if inc == nil {
		return nil, invalid(op, "No incident to create.")
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
		return nil, err
	}
	row, err := toIncidentRow(&in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	row.ID, row.Number = 0, 0

	var existing *incidentRow
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if row.DeclareKey != nil {
			var found incidentRow
			err := tx.Where("declare_key = ?", *row.DeclareKey).Take(&found).Error
			if err == nil {
				existing = &found
				return nil
			}
			if !errors.Is(err, gorm.ErrRecordNotFound) {
				return err
			}
		}
		// The counter row stays locked until commit: concurrent declares
		// queue here and each gets the next number.
		var number int64
		if err := tx.Raw("UPDATE incident_counters SET value = value + 1 WHERE name = ? RETURNING value", counterIncidentNumber).
			Scan(&number).Error; err != nil {
			return err
		}
		if number == 0 {
			return errors.New("incident_counters has no incident_number row; is the database migrated?")
		}
		row.Number = number
		return tx.Create(&row).Error
	})
	if err != nil && row.DeclareKey != nil && errorKind(err) == incident.ECONFLICT {
		// A concurrent declare with the same key committed between our
		// check and our insert; the unique index caught it.
		if found, ferr := s.incidentBy(ctx, "declare_key = ?", *row.DeclareKey); ferr == nil {
			existing, err = found, nil
		}
	}
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

// incidentBy reads one incident row in its own transaction.
func (s *Store) incidentBy(ctx context.Context, where string, arg any) (*incidentRow, error) {
	var row incidentRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
		return tx.Where(where, arg).Take(&row).Error
	})
	if err != nil {
		return nil, err
	}
	return &row, nil
}

func (s *Store) getIncident(ctx context.Context, op, where string, arg any, missing string) (*incident.Incident, error) {
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
func (s *Store) GetIncident(ctx context.Context, id int64) (*incident.Incident, error) {
	return s.getIncident(ctx, "get incident", "id = ?", id, fmt.Sprintf("Incident %d was not found.", id))
}

// GetIncidentByNumber implements incident.Store.
func (s *Store) GetIncidentByNumber(ctx context.Context, number int64) (*incident.Incident, error) {
	return s.getIncident(ctx, "get incident by number", "number = ?", number, fmt.Sprintf("INC-%d was not found.", number))
}

// GetIncidentByChannel implements incident.Store.
func (s *Store) GetIncidentByChannel(ctx context.Context, channelID string) (*incident.Incident, error) {
	const op, missing = "get incident by channel", "This channel does not belong to an incident."
	if channelID == "" {
		return nil, notFound(op, missing)
	}
	return s.getIncident(ctx, op, "channel_id = ?", channelID, missing)
}

// ListIncidents implements incident.Store. A Limit of zero or less means no
// limit.
func (s *Store) ListIncidents(ctx context.Context, filter incident.IncidentFilter) ([]*incident.Incident, error) {
	const op = "list incidents"
	var rows []incidentRow
	// One SELECT is consistent on its own: no transaction, which would cost
	// a BEGIN and a COMMIT on every `list`.
	err := func(tx *gorm.DB) error {
		q := tx.Order("severity ASC, declared_at DESC, id DESC")
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
		if filter.Limit > 0 {
			q = q.Limit(filter.Limit)
		}
		return q.Find(&rows).Error
	}(s.db.WithContext(ctx))
	if err != nil {
		return nil, translate(op, err, nil)
	}
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

// UpdateIncident implements incident.Store. On Postgres the row is read with
// SELECT ... FOR UPDATE, so concurrent updates of one incident (from several
// replicas) run one after another, each seeing the previous one's result.
// ID and Number cannot be changed; UpdatedAt is set from the clock; events
// get the incident's ID and, when their At is zero, the clock's now. An
// event whose SourceID is already stored aborts the update with ECONFLICT.
func (s *Store) UpdateIncident(ctx context.Context, id int64, fn func(*incident.Incident) ([]incident.TimelineEvent, error)) (*incident.Incident, error) {
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
		for i := range events {
			ev := events[i]
			ev.ID, ev.IncidentID = 0, id
			if ev.At.IsZero() {
				ev.At = now
			}
			if err := insertEvent(tx, &ev); err != nil {
				return err
			}
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

func insertEvent(tx *gorm.DB, ev *incident.TimelineEvent) error {
	if ev.Kind == "" {
		return invalid("add timeline event", "A timeline event needs a kind.")
	}
	row, err := toTimelineEventRow(ev)
	if err != nil {
		return err
	}
	if err := tx.Create(&row).Error; err != nil {
		return err
	}
	ev.ID, ev.At = row.ID, row.At
	return nil
}

// AddTimelineEvent implements incident.Store. A zero At becomes the clock's now.
func (s *Store) AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error {
	const op = "add timeline event"
	if ev == nil {
		return invalid(op, "No event to add.")
	}
	in := *ev
	if in.At.IsZero() {
		in.At = s.now()
	}
	err := s.tx(ctx, func(tx *gorm.DB) error { return insertEvent(tx, &in) })
	if err != nil {
		return translate(op, err, map[string]string{
			incident.ECONFLICT: msgEventDuplicate,
			incident.ENOTFOUND: fmt.Sprintf("Incident %d was not found.", ev.IncidentID),
		})
	}
	ev.ID, ev.At = in.ID, in.At
	return nil
}

// UpdateTimelineEvent implements incident.Store. On Postgres the row is read
// with SELECT ... FOR UPDATE, as in UpdateIncident. ID, IncidentID and
// SourceID cannot be changed; a zero At keeps the stored one; an empty Kind
// is EINVALID. fn's error aborts the update and is returned as is.
func (s *Store) UpdateTimelineEvent(ctx context.Context, incidentID int64, sourceID string, fn func(*incident.TimelineEvent) error) (*incident.TimelineEvent, error) {
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

// updateOne writes every column of row except the omitted ones to the row
// with its primary key, and fails unless exactly one row changed.
func updateOne(tx *gorm.DB, row any, omit ...string) error {
	res := tx.Model(row).Select("*").Omit(omit...).Updates(row)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("updated %d rows, want 1", res.RowsAffected)
	}
	return nil
}

// ListTimeline implements incident.Store.
func (s *Store) ListTimeline(ctx context.Context, incidentID int64) ([]incident.TimelineEvent, error) {
	const op = "list timeline"
	var rows []timelineEventRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
		return tx.Where("incident_id = ?", incidentID).Order("at ASC, id ASC").Find(&rows).Error
	})
	if err != nil {
		return nil, translate(op, err, nil)
	}
	out := make([]incident.TimelineEvent, 0, len(rows))
	for i := range rows {
		ev, err := rows[i].toDomain()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// AddStatusUpdate implements incident.Store. The timeline event it adds is
// an EventUpdatePosted by the update's author, at its PostedAt (a zero
// PostedAt becomes the clock's now), with the update's text and an
// UpdatePostedData of the update's status.
func (s *Store) AddStatusUpdate(ctx context.Context, u *incident.StatusUpdate) error {
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
			Text:       row.Text,
			Payload:    incident.UpdatePostedData{Status: incident.Status(row.Status)},
		})
	})
	if err != nil {
		return translate(op, err, map[string]string{
			incident.ENOTFOUND: fmt.Sprintf("Incident %d was not found.", u.IncidentID),
		})
	}
	u.ID, u.PostedAt = row.ID, row.PostedAt
	return nil
}

// ListStatusUpdates implements incident.Store.
func (s *Store) ListStatusUpdates(ctx context.Context, incidentID int64) ([]incident.StatusUpdate, error) {
	const op = "list status updates"
	var rows []statusUpdateRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
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

// AddActionItem implements incident.Store. A zero CreatedAt becomes the
// clock's now.
func (s *Store) AddActionItem(ctx context.Context, a *incident.ActionItem) error {
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
func (s *Store) ListActionItems(ctx context.Context, incidentID int64) ([]incident.ActionItem, error) {
	const op = "list action items"
	var rows []actionItemRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
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

// AddChangeEvent implements incident.Store. A zero OccurredAt becomes the
// clock's now; Source, ExternalID and Kind are required (EINVALID). A later
// report of a stored change replaces it by a conditional UPDATE, so two
// reports racing each other leave the newer one whichever commits first.
func (s *Store) AddChangeEvent(ctx context.Context, c *incident.ChangeEvent) error {
	const op = "add change event"
	if c == nil {
		return invalid(op, "No change to add.")
	}
	if c.Source == "" || c.ExternalID == "" || c.Kind == "" {
		return invalid(op, "A change needs a source, an id and a kind.")
	}
	in := *c
	if in.OccurredAt.IsZero() {
		in.OccurredAt = s.now()
	}
	row, err := toChangeEventRow(&in)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	row.ID = 0
	// replace overwrites an older stored report of the change, and reports
	// whether there was one.
	replace := func(tx *gorm.DB) (bool, error) {
		res := tx.Model(&changeEventRow{}).
			Where("source = ? AND external_id = ?", row.Source, row.ExternalID).
			Where("revision < ? OR (revision = ? AND occurred_at < ?)", row.Revision, row.Revision, row.OccurredAt).
			Updates(map[string]any{
				"kind": row.Kind, "summary": row.Summary, "actor": row.Actor, "url": row.URL,
				"environment": row.Environment, "ref": row.Ref, "occurred_at": row.OccurredAt,
				"revision": row.Revision, "data": row.Data,
				"service": gorm.Expr("CASE WHEN ? <> '' THEN ? ELSE service END", row.Service, row.Service),
			})
		if res.Error != nil || res.RowsAffected == 0 {
			return false, res.Error
		}
		var stored changeEventRow
		err := tx.Select("id", "service").Where("source = ? AND external_id = ?", row.Source, row.ExternalID).Take(&stored).Error
		row.ID, row.Service = stored.ID, stored.Service
		return true, err
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if ok, err := replace(tx); ok || err != nil {
			return err
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		if res.Error != nil || res.RowsAffected == 1 {
			return res.Error
		}
		// Stored meanwhile by another report, or stored before: replace
		// it if this one is newer.
		if ok, err := replace(tx); ok || err != nil {
			return err
		}
		return storeError(op, incident.Errorf(incident.ECONFLICT, "The %s change %s is already recorded.", c.Source, c.ExternalID), nil)
	})
	if err != nil {
		return translate(op, err, map[string]string{
			incident.ECONFLICT: fmt.Sprintf("The %s change %s is already recorded.", c.Source, c.ExternalID),
		})
	}
	c.ID, c.OccurredAt, c.Service = row.ID, domainTime(row.OccurredAt), row.Service
	return nil
}

// ListChangeEvents implements incident.Store.
func (s *Store) ListChangeEvents(ctx context.Context, service string, from, to time.Time) ([]incident.ChangeEvent, error) {
	const op = "list change events"
	// Stored times are whole microseconds, so rounding from up and to down
	// keeps the window exact on both dialects.
	lo, hi := ceilMicro(from.UTC()), dbTime(to)
	var rows []changeEventRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
		q := tx.Where("occurred_at >= ? AND occurred_at <= ?", lo, hi)
		if service != "" {
			q = q.Where("service = ?", service)
		}
		return q.Order("occurred_at DESC, id DESC").Find(&rows).Error
	})
	if err != nil {
		return nil, translate(op, err, nil)
	}
	out := make([]incident.ChangeEvent, 0, len(rows))
	for i := range rows {
		c, err := rows[i].toDomain()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func ceilMicro(t time.Time) time.Time {
	if r := t.Sub(t.Truncate(time.Microsecond)); r > 0 {
		return t.Truncate(time.Microsecond).Add(time.Microsecond)
	}
	return t
}

// RecordDelivery implements incident.Store. A zero ReceivedAt becomes the
// clock's now; Source and ID are required (EINVALID).
func (s *Store) RecordDelivery(ctx context.Context, d incident.Delivery) (bool, error) {
	const op = "record delivery"
	if d.Source == "" || d.ID == "" {
		return false, invalid(op, "A delivery needs a source and an id.")
	}
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = s.now()
	}
	row := deliveryRow{Source: d.Source, ID: d.ID, ReceivedAt: dbTime(d.ReceivedAt)}
	// One INSERT ... ON CONFLICT DO NOTHING is atomic by itself; it runs on
	// the 3-second path of every Slack request, so it skips the BEGIN and
	// COMMIT round trips of an explicit transaction.
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return false, translate(op, res.Error, nil)
	}
	return res.RowsAffected == 1, nil
}

// RecordDeliveries records several deliveries in one statement and reports,
// for each, whether it is the first of its source and id (as RecordDelivery
// does; of two equal ones in ds, the first). A zero ReceivedAt becomes the
// clock's now.
func (s *Store) RecordDeliveries(ctx context.Context, ds []incident.Delivery) ([]bool, error) {
	const op = "record deliveries"
	first := make([]bool, len(ds))
	if len(ds) == 0 {
		return first, nil
	}
	var (
		q    strings.Builder
		args = make([]any, 0, 3*len(ds))
		now  = s.now()
	)
	q.WriteString("INSERT INTO deliveries (source, id, received_at) VALUES ")
	for i, d := range ds {
		if d.Source == "" || d.ID == "" {
			return nil, invalid(op, "A delivery needs a source and an id.")
		}
		at := now
		if !d.ReceivedAt.IsZero() {
			at = dbTime(d.ReceivedAt)
		}
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?)")
		args = append(args, d.Source, d.ID, at)
	}
	q.WriteString(" ON CONFLICT DO NOTHING RETURNING source, id")
	rows, err := s.db.WithContext(ctx).Raw(q.String(), args...).Rows()
	if err != nil {
		return nil, translate(op, err, nil)
	}
	defer rows.Close()
	inserted := map[[2]string]bool{}
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			return nil, translate(op, err, nil)
		}
		inserted[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, translate(op, err, nil)
	}
	for i, d := range ds {
		k := [2]string{d.Source, d.ID}
		first[i] = inserted[k]
		delete(inserted, k) // a repeat within ds is not first
	}
	return first, nil
}

// PurgeDeliveries implements incident.Store.
func (s *Store) PurgeDeliveries(ctx context.Context, before time.Time) (int64, error) {
	const op = "purge deliveries"
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("received_at < ?", ceilMicro(before.UTC())).Delete(&deliveryRow{})
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, translate(op, err, nil)
	}
	return n, nil
}

// Ping implements incident.Store: EUNAVAILABLE when the database does not
// answer.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.WithContext(ctx).Raw("SELECT 1").Scan(&one).Error; err != nil {
		return storeError("ping", incident.Errorf(incident.EUNAVAILABLE, "The database is unreachable."), err)
	}
	return nil
}

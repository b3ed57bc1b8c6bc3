package gormstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/migrations"
)

// Store implements incident.Store, and the store interfaces of the feature
// packages, on a migrated database. It is composed of one part per feature,
// each in its own file and all on one database handle: incidents
// (incidents.go), the timeline (timeline.go), status updates (updates.go),
// follow-ups, reviews and sent notices (followthrough.go), pages (pages.go),
// changes and rollbacks (changes.go, rollbacks.go), alerts (alerts.go), web
// sessions and API tokens (access.go), webhook deliveries (deliveries.go),
// postmortem exports (exports.go), leases (leases.go) and the
// installation's id (installation.go). Atomic
// (atomic.go) composes the same parts on the handle of one transaction.
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
	*handle
	incidentStore
	timelineStore
	updateStore
	followUpStore
	pageStore
	changeStore
	alertStore
	accessStore
	deliveryStore
	exportStore
	leaseStore
	peopleStore
	installationStore
}

var _ incident.Store = (*Store)(nil)

// handle is what every part of a Store shares: the database, or the
// transaction of an Atomic, and what runs on it.
type handle struct {
	db      *gorm.DB
	bg      *gorm.DB // the background pool's, on PostgreSQL outside a transaction; else nil
	dialect migrations.Dialect
	clock   incident.Clock
	jobs    JobInserter
	sqlTx   *sql.Tx      // set on the Store of an Atomic's transaction
	pending *pendingJobs // the jobs of that transaction, stored at its end
	gate    *gate        // orders transactions on SQLite; nil on PostgreSQL and inside a transaction
	shared  *sharedReads // reads concurrent callers share, and the count of writes that ends a share
}

// Option configures a Store.
type Option func(*Store)

// WithJobs makes Schedule on an Atomic's Tx insert the job with j, inside
// the transaction. Without it, scheduling on a Tx fails.
func WithJobs(j JobInserter) Option { return func(s *Store) { s.jobs = j } }

// New returns a Store on db, which must be migrated, telling the time with clock.
func New(db *DB, clock incident.Clock, opts ...Option) *Store {
	h := &handle{db: db.gorm, dialect: db.dialect, clock: clock, gate: db.gate, shared: db.shared}
	if db.background != nil {
		h.bg = db.background.gorm
	}
	s := newStore(h)
	for _, o := range opts {
		o(s)
	}
	return s
}

// newStore composes the parts of a Store on h.
func newStore(h *handle) *Store {
	return &Store{
		handle:            h,
		incidentStore:     incidentStore{h},
		timelineStore:     timelineStore{h},
		updateStore:       updateStore{h},
		followUpStore:     followUpStore{h},
		pageStore:         pageStore{h},
		changeStore:       changeStore{h},
		alertStore:        alertStore{h},
		accessStore:       accessStore{h},
		deliveryStore:     deliveryStore{h},
		exportStore:       exportStore{h},
		leaseStore:        leaseStore{h},
		peopleStore:       peopleStore{h},
		installationStore: installationStore{h},
	}
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

func (h *handle) now() time.Time { return dbTime(h.clock.Now()) }

// session is the handle's database for ctx: the transaction in progress,
// or outside one the background pool for background work
// (incident.IsBackground), whose commits do not wait for the disk, and the
// store's pool for everything else.
func (h *handle) session(ctx context.Context) *gorm.DB {
	if h.bg != nil && incident.IsBackground(ctx) {
		return h.bg.WithContext(ctx)
	}
	return h.db.WithContext(ctx)
}

// tx runs fn in one transaction. On Postgres it runs at READ COMMITTED, with
// explicit row locks where an update must see the latest row.
func (h *handle) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	err := h.admitted(ctx, func() error { return h.session(ctx).Transaction(fn) })
	if err == nil && h.sqlTx == nil {
		h.shared.wrote()
	}
	return err
}

// one runs fn, which issues one statement, on the transaction in progress
// when there is one, with no savepoint around it (on PostgreSQL a savepoint is
// a round trip of its own), and otherwise in no transaction: one statement is
// atomic by itself. On PostgreSQL a statement that fails aborts the
// transaction it runs in, so fn is a read, or a write that meets the
// conflicts its caller handles with ON CONFLICT DO NOTHING rather than by
// failing.
func (h *handle) one(ctx context.Context, fn func(db *gorm.DB) error) error {
	if h.sqlTx != nil {
		return fn(h.db.WithContext(ctx))
	}
	return h.admitted(ctx, func() error { return fn(h.session(ctx)) })
}

// inTx runs fn on the transaction in progress when there is one, with no
// savepoint around it, and otherwise in a transaction of its own. As for
// one, fn meets the conflicts its caller handles without a statement failing.
func (h *handle) inTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if h.sqlTx != nil {
		return fn(h.db.WithContext(ctx))
	}
	return h.tx(ctx, fn)
}

// admitted runs fn, which opens a transaction, once the gate admits it:
// foreground work first (incident.Foreground).
func (h *handle) admitted(ctx context.Context, fn func() error) error {
	if h.gate == nil {
		return fn()
	}
	if err := h.gate.acquire(ctx, incident.IsForeground(ctx)); err != nil {
		return err
	}
	defer h.gate.release()
	return fn()
}

func invalid(op, format string, args ...any) error {
	return storeError(op, incident.Errorf(incident.EINVALID, format, args...), nil)
}

func notFound(op, format string, args ...any) error {
	return storeError(op, incident.Errorf(incident.ENOTFOUND, format, args...), nil)
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

func ceilMicro(t time.Time) time.Time {
	if r := t.Sub(t.Truncate(time.Microsecond)); r > 0 {
		return t.Truncate(time.Microsecond).Add(time.Microsecond)
	}
	return t
}

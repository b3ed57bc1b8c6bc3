// Package migrations holds the database schema as numbered, embedded SQL
// migrations, one directory per dialect, and applies them with goose.
//
// The set covers both the incident tables and River's job tables, so that
// "migrate down" all the way leaves an empty database and "migrate status"
// shows everything. River's versions are copied verbatim from River's own
// migration files (one goose migration per River version, because River runs
// each version in its own transaction: Postgres cannot use an enum value added
// earlier in the same transaction) and each one records itself in River's
// river_migration table exactly as rivermigrate would, so River sees its schema
// as fully migrated.
package migrations

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"math"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Dialect names a database flavour with its own migration directory.
type Dialect string

// The supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Valid reports whether d is a supported dialect.
func (d Dialect) Valid() bool { return d == Postgres || d == SQLite }

// String returns the dialect's name, "postgres" or "sqlite".
func (d Dialect) String() string { return string(d) }

// ErrNothingToRollBack is returned by Down when no migration is applied.
var ErrNothingToRollBack = errors.New("no migration is applied, nothing to roll back")

// ErrNewerSchema is what a *NewerSchemaError is (errors.Is), and what Down
// and DownTo return when the migration they would roll back is unknown to
// this release.
var ErrNewerSchema = errors.New("the database has migrations this release does not know")

// NewerSchemaError is returned by Up and UpTo, once they applied this
// release's pending migrations, when the database also has migrations this
// release does not know: a newer release of firebreak applied them (a
// rollback of the binary, or an older replica during a rolling deploy).
// This release may then fail on what those migrations changed.
type NewerSchemaError struct {
	// Database is the highest version applied to the database.
	Database int64
	// Release is the highest version this release knows.
	Release int64
	// Unknown are the versions applied that this release does not know,
	// in ascending order.
	Unknown []int64
}

func (e *NewerSchemaError) Error() string {
	unknown := make([]string, len(e.Unknown))
	for i, v := range e.Unknown {
		unknown[i] = fmt.Sprintf("%05d", v)
	}
	return fmt.Sprintf("the database's schema is at version %05d, newer than this release's %05d (migrations unknown to this release: %s): "+
		"a newer release of firebreak migrated it, and this one may fail on what those migrations changed; "+
		"run the newer release, or roll its migrations back with it (migrate down)", e.Database, e.Release, strings.Join(unknown, ", "))
}

// Is makes errors.Is(err, ErrNewerSchema) true.
func (e *NewerSchemaError) Is(target error) bool { return target == ErrNewerSchema }

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// VersionStatus is one migration and whether it is applied.
type VersionStatus struct {
	Version int64
	// Name is the migration's file name, such as "00001_incidents.sql";
	// empty for a version unknown to this release.
	Name    string
	Applied bool
	// AppliedAt is when the migration was applied; zero when it is pending.
	AppliedAt time.Time
	// Unknown is set on a version applied to the database that this
	// release has no migration for: a newer release applied it.
	Unknown bool
}

// Option configures a migration run.
type Option func(*config)

type config struct {
	logger *slog.Logger
	// lockTimeout is how long one PostgreSQL migration waits for a lock
	// (lock_timeout); retryFor how long a run keeps trying again after
	// one gave up waiting.
	lockTimeout, retryFor time.Duration
}

// The defaults of WithLockWait.
const (
	DefaultLockTimeout = time.Second
	DefaultLockRetry   = 10 * time.Minute
)

// WithLogger makes goose report each migration it applies to l, and the
// run report each wait for a lock. Without it the run is silent.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithLockWait sets, on PostgreSQL, how long each migration waits for a
// lock it needs (each; lock_timeout, DefaultLockTimeout by default), and
// for how long a run tries again, with growing pauses, after one gave up
// (total; DefaultLockRetry). A migration waiting for a lock on a table
// holds up every other session's queries of it behind its wait, so it
// waits briefly and gives way rather than for as long as the session
// holding the lock (an old replica's forgotten transaction) takes.
func WithLockWait(each, total time.Duration) Option {
	return func(c *config) { c.lockTimeout, c.retryFor = each, total }
}

func newConfig(opts []Option) *config {
	c := &config{lockTimeout: DefaultLockTimeout, retryFor: DefaultLockRetry}
	for _, o := range opts {
		o(c)
	}
	return c
}

// FS returns the dialect's migration files, for tools that want to read them.
func FS(d Dialect) (fs.FS, error) {
	if !d.Valid() {
		return nil, fmt.Errorf("unknown dialect %q", d)
	}
	sub, err := fs.Sub(files, string(d))
	if err != nil {
		return nil, fmt.Errorf("migrations for %s: %w", d, err)
	}
	return sub, nil
}

// Up applies every pending migration. It returns a *NewerSchemaError
// (ErrNewerSchema) after applying them when the database has migrations
// this release does not know.
func Up(ctx context.Context, db *sql.DB, d Dialect, opts ...Option) error {
	return upTo(ctx, db, d, math.MaxInt64, "migrate up", opts)
}

// UpTo applies every pending migration up to and including version, and
// returns a *NewerSchemaError as Up does.
func UpTo(ctx context.Context, db *sql.DB, d Dialect, version int64, opts ...Option) error {
	return upTo(ctx, db, d, version, fmt.Sprintf("migrate up to %d", version), opts)
}

func upTo(ctx context.Context, db *sql.DB, d Dialect, version int64, what string, opts []Option) error {
	cfg := newConfig(opts)
	err := cfg.run(ctx, db, d, func(p *goose.Provider) error {
		_, err := p.UpTo(ctx, version)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	applied, err := appliedVersions(ctx, db, d)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return newer(d, applied)
}

// Down rolls back the most recently applied migration. It returns
// ErrNothingToRollBack when no migration is applied, and ErrNewerSchema,
// rolling back nothing, when that migration is unknown to this release.
func Down(ctx context.Context, db *sql.DB, d Dialect, opts ...Option) error {
	if err := refuseUnknown(ctx, db, d, -1); err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	err := newConfig(opts).run(ctx, db, d, func(p *goose.Provider) error {
		_, err := p.Down(ctx)
		return err
	})
	if errors.Is(err, goose.ErrNoNextVersion) {
		return ErrNothingToRollBack
	}
	if err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// DownTo rolls back every applied migration above version; version 0 rolls
// back everything, leaving only goose's own version table. It returns
// ErrNewerSchema, rolling back nothing, when one of them is unknown to
// this release.
func DownTo(ctx context.Context, db *sql.DB, d Dialect, version int64, opts ...Option) error {
	if err := refuseUnknown(ctx, db, d, version); err != nil {
		return fmt.Errorf("migrate down to %d: %w", version, err)
	}
	err := newConfig(opts).run(ctx, db, d, func(p *goose.Provider) error {
		_, err := p.DownTo(ctx, version)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate down to %d: %w", version, err)
	}
	return nil
}

// Status lists every known migration, oldest first, with whether and when it
// was applied, and the versions applied that this release does not know
// (Unknown) among them.
func Status(ctx context.Context, db *sql.DB, d Dialect, opts ...Option) ([]VersionStatus, error) {
	p, err := newProvider(ctx, db, d, newConfig(opts))
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]VersionStatus, 0, len(st))
	for _, s := range st {
		v := VersionStatus{
			Version: s.Source.Version,
			Name:    path.Base(s.Source.Path),
			Applied: s.State == goose.StateApplied,
		}
		if v.Applied {
			v.AppliedAt = s.AppliedAt.UTC()
		}
		out = append(out, v)
	}
	applied, err := appliedVersions(ctx, db, d)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	known := knownVersions(d)
	for _, a := range applied {
		if !known[a.version] {
			out = append(out, VersionStatus{Version: a.version, Applied: true, AppliedAt: a.at.UTC(), Unknown: true})
		}
	}
	slices.SortStableFunc(out, func(a, b VersionStatus) int { return cmpInt(a.Version, b.Version) })
	return out, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// appliedVersion is a row of goose's version table.
type appliedVersion struct {
	version int64
	at      time.Time
}

// appliedVersions reads the versions applied, the most recently applied
// first, as goose rolls them back; none when goose's table does not exist
// yet.
func appliedVersions(ctx context.Context, db *sql.DB, d Dialect) ([]appliedVersion, error) {
	exists := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'`
	if d == Postgres {
		exists = `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'goose_db_version'`
	}
	var n int
	if err := db.QueryRowContext(ctx, exists).Scan(&n); err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT version_id, tstamp FROM goose_db_version WHERE version_id > 0 AND is_applied ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []appliedVersion
	for rows.Next() {
		var a appliedVersion
		var at sql.NullTime
		if err := rows.Scan(&a.version, &at); err != nil {
			return nil, fmt.Errorf("read applied migrations: %w", err)
		}
		a.at = at.Time
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	return out, nil
}

// knownVersions are the versions of the dialect's migration files.
func knownVersions(d Dialect) map[int64]bool {
	known := map[int64]bool{}
	fsys, err := FS(d)
	if err != nil {
		return known
	}
	names, _ := fs.Glob(fsys, "*.sql")
	for _, name := range names {
		var v int64
		if _, err := fmt.Sscanf(name, "%d_", &v); err == nil {
			known[v] = true
		}
	}
	return known
}

// latestKnown is the highest version this release has a migration for.
func latestKnown(d Dialect) int64 {
	var latest int64
	for v := range knownVersions(d) {
		latest = max(latest, v)
	}
	return latest
}

// newer is a *NewerSchemaError when applied holds versions this release
// does not know, else nil.
func newer(d Dialect, applied []appliedVersion) error {
	known := knownVersions(d)
	e := &NewerSchemaError{Release: latestKnown(d)}
	for _, a := range applied {
		e.Database = max(e.Database, a.version)
		if !known[a.version] {
			e.Unknown = append(e.Unknown, a.version)
		}
	}
	if len(e.Unknown) == 0 {
		return nil
	}
	slices.Sort(e.Unknown)
	return e
}

// refuseUnknown returns ErrNewerSchema, naming the version, when a roll
// back to version (-1: of the latest migration alone) would reach a
// migration this release has no file for: only the release that applied
// it can roll it back.
func refuseUnknown(ctx context.Context, db *sql.DB, d Dialect, version int64) error {
	applied, err := appliedVersions(ctx, db, d)
	if err != nil {
		return err
	}
	if version < 0 && len(applied) > 0 {
		applied = applied[:1]
	}
	known := knownVersions(d)
	for i, a := range applied {
		if version >= 0 && a.version <= version {
			break
		}
		if !known[a.version] {
			return &unknownVersionError{version: a.version, release: latestKnown(d), latest: i == 0}
		}
	}
	return nil
}

// unknownVersionError is a roll back refused: the migration it would roll
// back is unknown to this release.
type unknownVersionError struct {
	version, release int64
	// latest is set when it is the most recently applied migration.
	latest bool
}

func (e *unknownVersionError) Error() string {
	which := fmt.Sprintf("the latest migration applied, %05d,", e.version)
	if !e.latest {
		which = fmt.Sprintf("migration %05d, which this would roll back,", e.version)
	}
	return fmt.Sprintf("%s is unknown to this release (which knows up to %05d): "+
		"a newer release of firebreak applied it; run migrate down with the release that applied it", which, e.release)
}

// Is makes errors.Is(err, ErrNewerSchema) true.
func (e *unknownVersionError) Is(target error) bool { return target == ErrNewerSchema }

// run runs fn on a new provider, again while it fails only because a
// PostgreSQL migration gave up waiting for a lock, with growing pauses,
// for up to c.retryFor. Each wait is logged with the sessions whose
// transactions it likely waited for; the final error names them.
func (c *config) run(ctx context.Context, db *sql.DB, d Dialect, fn func(*goose.Provider) error) error {
	deadline := time.Now().Add(c.retryFor)
	pause := min(500*time.Millisecond, c.retryFor)
	for tries := 1; ; tries++ {
		p, err := newProvider(ctx, db, d, c)
		if err != nil {
			return err
		}
		err = fn(p)
		if err == nil || d != Postgres || !lockTimedOut(err) {
			return err
		}
		version := "a migration"
		var partial *goose.PartialError
		if errors.As(err, &partial) && partial.Failed != nil && partial.Failed.Source != nil {
			version = fmt.Sprintf("migration %05d", partial.Failed.Source.Version)
		}
		holders := lockHolders(ctx, db, c.lockTimeout)
		if time.Now().Add(pause).After(deadline) {
			return fmt.Errorf("%s gave up waiting for a lock %d times over %s (lock_timeout %s each): %s; "+
				"end those transactions (SELECT pg_terminate_backend(pid)) or let them finish, then start again: %w",
				version, tries, c.retryFor, c.lockTimeout, holders, err)
		}
		if c.logger != nil {
			c.logger.WarnContext(ctx, version+" waits for a lock other sessions hold, and gives way to their queries meanwhile; trying again",
				"lock_timeout", c.lockTimeout, "tries", tries, "again_in", pause, "waiting_for", holders)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s waited for a lock: %s: %w", version, holders, context.Cause(ctx))
		case <-t.C:
		}
		pause = min(pause*2, 15*time.Second)
	}
}

// lockTimedOut reports whether err is PostgreSQL's lock_timeout firing
// (SQLSTATE 55P03).
func lockTimedOut(err error) bool {
	var state interface{ SQLState() string }
	return errors.As(err, &state) && state.SQLState() == "55P03"
}

// lockHolders describes the sessions that hold a lock on a table of the
// schema being migrated in a transaction open longer than wait, besides
// those queued for a lock themselves: those a migration that waited that
// long waited for.
func lockHolders(ctx context.Context, db *sql.DB, wait time.Duration) string {
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	rows, err := db.QueryContext(qctx, `SELECT pid, coalesce(application_name, ''), coalesce(host(client_addr), 'local'), coalesce(state, ''),
			extract(epoch FROM now() - xact_start)::float8, left(regexp_replace(coalesce(query, ''), '\s+', ' ', 'g'), 100)
		FROM pg_stat_activity a
		WHERE pid <> pg_backend_pid() AND xact_start < now() - make_interval(secs => $1) AND wait_event_type IS DISTINCT FROM 'Lock'
			AND EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
				WHERE l.pid = a.pid AND l.granted AND c.relnamespace = current_schema()::regnamespace)
		ORDER BY xact_start LIMIT 5`, wait.Seconds())
	if err != nil {
		return "the sessions holding it could not be read: " + err.Error()
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var pid int64
		var app, addr, state, query string
		var open float64
		if err := rows.Scan(&pid, &app, &addr, &state, &open, &query); err != nil {
			return "the sessions holding it could not be read: " + err.Error()
		}
		d := time.Duration(open * float64(time.Second))
		if d < 10*time.Second {
			d = d.Round(100 * time.Millisecond)
		} else {
			d = d.Round(time.Second)
		}
		out = append(out, fmt.Sprintf("pid %d (application %q from %s, %s, transaction open %s, last query %q)", pid, app, addr, state, d, query))
	}
	if len(out) == 0 {
		return "no session holds a lock on its tables in a transaction open longer than the lock timeout now"
	}
	return "sessions holding locks on its tables: " + strings.Join(out, "; ")
}

// newProvider builds a goose provider with no global state: no registered Go
// migrations, no package-level dialect. On Postgres it takes a session-level
// advisory lock so that replicas starting together migrate one at a time,
// and gives each statement cfg.lockTimeout to take the locks it needs.
func newProvider(ctx context.Context, db *sql.DB, d Dialect, cfg *config) (*goose.Provider, error) {
	fsys, err := FS(d)
	if err != nil {
		return nil, err
	}
	// Migration numbers are handed out in ranges, so a release may bring a
	// migration numbered below one a database already has: apply it rather
	// than refuse to start.
	popts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true), goose.WithAllowOutofOrder(true)}
	if cfg.logger != nil {
		popts = append(popts, goose.WithSlog(cfg.logger))
	} else {
		popts = append(popts, goose.WithLogger(goose.NopLogger()))
	}

	var gd goose.Dialect
	switch d {
	case Postgres:
		gd = goose.DialectPostgres
		id, err := lockID(ctx, db)
		if err != nil {
			return nil, err
		}
		// Poll once a second for up to ten minutes: a replica waiting on
		// another's migration should start soon after it finishes.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(id), lock.WithLockTimeout(1, 600))
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		popts = append(popts, goose.WithSessionLocker(timedLocker{SessionLocker: locker, timeout: cfg.lockTimeout}))
	case SQLite:
		// SQLite allows one writer at a time, so concurrent runs already
		// serialise on the database lock.
		gd = goose.DialectSQLite3
	}
	p, err := goose.NewProvider(gd, db, fsys, popts...)
	if err != nil {
		return nil, fmt.Errorf("migration provider: %w", err)
	}
	return p, nil
}

// timedLocker sets lock_timeout on the session that runs the migrations
// once it holds the advisory lock, and resets it before releasing the
// lock: the connection goes back to the pool as it came.
type timedLocker struct {
	lock.SessionLocker
	timeout time.Duration
}

func (l timedLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if err := l.SessionLocker.SessionLock(ctx, conn); err != nil {
		return err
	}
	if l.timeout <= 0 {
		return nil
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET lock_timeout = %d", max(1, l.timeout.Milliseconds()))); err != nil {
		return errors.Join(fmt.Errorf("set lock_timeout: %w", err), l.SessionLocker.SessionUnlock(context.WithoutCancel(ctx), conn))
	}
	return nil
}

func (l timedLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var reset error
	if l.timeout > 0 {
		if _, err := conn.ExecContext(ctx, "RESET lock_timeout"); err != nil {
			reset = fmt.Errorf("reset lock_timeout: %w", err)
			// Not back to the pool with the migrations' timeout.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}
	return errors.Join(reset, l.SessionLocker.SessionUnlock(ctx, conn))
}

// lockID derives the advisory lock from the database and schema being
// migrated: replicas of one deployment contend for the same lock, while
// deployments in other schemas of the same server (and parallel tests, each in
// its own schema) do not wait for each other.
func lockID(ctx context.Context, db *sql.DB) (int64, error) {
	var target string
	err := db.QueryRowContext(ctx, "SELECT current_database() || '.' || coalesce(current_schema(), '')").Scan(&target)
	if err != nil {
		return 0, fmt.Errorf("read current schema: %w", err)
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("firebreak migrations " + target))
	return int64(h.Sum64()), nil
}

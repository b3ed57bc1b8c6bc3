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
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"path"
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

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// VersionStatus is one migration and whether it is applied.
type VersionStatus struct {
	Version int64
	// Name is the migration's file name, such as "00001_incidents.sql".
	Name    string
	Applied bool
	// AppliedAt is when the migration was applied; zero when it is pending.
	AppliedAt time.Time
}

// Option configures a migration run.
type Option func(*config)

type config struct {
	logger *slog.Logger
}

// WithLogger makes goose report each migration it applies to l. Without it
// the run is silent.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
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

// Up applies every pending migration.
func Up(ctx context.Context, db *sql.DB, d Dialect, opts ...Option) error {
	p, err := newProvider(ctx, db, d, opts)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	return nil
}

// UpTo applies every pending migration up to and including version.
func UpTo(ctx context.Context, db *sql.DB, d Dialect, version int64, opts ...Option) error {
	p, err := newProvider(ctx, db, d, opts)
	if err != nil {
		return err
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("migrate up to %d: %w", version, err)
	}
	return nil
}

// Down rolls back the most recently applied migration. It returns
// ErrNothingToRollBack when no migration is applied.
func Down(ctx context.Context, db *sql.DB, d Dialect, opts ...Option) error {
	p, err := newProvider(ctx, db, d, opts)
	if err != nil {
		return err
	}
	if _, err := p.Down(ctx); err != nil {
		if errors.Is(err, goose.ErrNoNextVersion) {
			return ErrNothingToRollBack
		}
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// DownTo rolls back every applied migration above version; version 0 rolls
// back everything, leaving only goose's own version table.
func DownTo(ctx context.Context, db *sql.DB, d Dialect, version int64, opts ...Option) error {
	p, err := newProvider(ctx, db, d, opts)
	if err != nil {
		return err
	}
	if _, err := p.DownTo(ctx, version); err != nil {
		return fmt.Errorf("migrate down to %d: %w", version, err)
	}
	return nil
}

// Status lists every known migration, oldest first, with whether and when it
// was applied.
func Status(ctx context.Context, db *sql.DB, d Dialect, opts ...Option) ([]VersionStatus, error) {
	p, err := newProvider(ctx, db, d, opts)
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
	return out, nil
}

// newProvider builds a goose provider with no global state: no registered Go
// migrations, no package-level dialect. On Postgres it takes a session-level
// advisory lock so that replicas starting together migrate one at a time.
func newProvider(ctx context.Context, db *sql.DB, d Dialect, opts []Option) (*goose.Provider, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
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
		popts = append(popts, goose.WithSessionLocker(locker))
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

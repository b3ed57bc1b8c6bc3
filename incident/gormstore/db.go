// Package gormstore implements incident.Store with gorm on SQLite (pure Go,
// embedded) and PostgreSQL. It is the only package that imports gorm: rows are
// private structs mapped to and from the domain types, driver errors are
// translated to domain error kinds at the edge, and the schema comes from the
// reviewed SQL in package migrations, never from AutoMigrate.
package gormstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/libtnb/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	msqlite "modernc.org/sqlite"

	"github.com/firebreakhq/firebreak/migrations"
)

// DefaultSQLitePath is the database file Open uses for an empty URL.
const DefaultSQLitePath = "firebreak.db"

// sqliteBusyTimeout is how long a SQLite statement waits for another process
// (such as "firebreak migrate") holding the write lock before failing.
const sqliteBusyTimeout = 10 * time.Second

// DB is an open database: the gorm handle the Store uses, the database/sql
// pool underneath it (for migrations and for River's drivers), and the
// dialect, which selects the migration set.
//
// On PostgreSQL every connection of the store's foreground work comes from
// one pgx pool (Pool): gorm uses it through database/sql, and the job engine
// inserts through the same pool, so a job can be inserted in the very
// transaction that writes the rows it belongs to. Background writes
// (incident.IsBackground: a job's, and the bookkeeping marked so) go
// through a second pool of the same database, BackgroundPool, whose
// connections commit without waiting for the disk.
type DB struct {
	gorm        *gorm.DB
	sql         *sql.DB
	pool        *pgxpool.Pool // nil for SQLite
	background  *background   // nil for SQLite
	dialect     migrations.Dialect
	checkpoints *checkpointer // nil but for a SQLite file
	gate        *gate         // orders the transactions of every Store on a SQLite DB; nil on PostgreSQL
	shared      *sharedReads  // reads of every Store on the DB that concurrent callers share
}

// postgresMaxConns sizes the pool when the URL has no pool_max_conns: the
// store's foreground work and the jobs the engine inserts share it. The
// background pool (the store's background writes, the engine's workers
// and its listener) has as many again.
const postgresMaxConns = 20

// idleTransactionTimeout ends, on the server, a transaction of the bot's
// that has sat idle that long: its replica was cut off from the network
// halfway, or is stuck. The bot's transactions take milliseconds; one left
// open would hold its locks, and every session queued behind them (the
// other replicas' declares, a migration), for as long as the connection
// lives. A connection parameter, sent when the connection opens: it costs
// a transaction nothing. A URL that sets idleTransactionParam keeps its
// own.
const (
	idleTransactionParam   = "idle_in_transaction_session_timeout"
	idleTransactionTimeout = "60000" // milliseconds
)

// background is the second PostgreSQL pool: its connections set
// synchronous_commit to off, so a commit returns once its record is in
// PostgreSQL's log buffer, and the log writer makes it durable within three
// times wal_writer_delay (600 ms by default). A crash of the database
// server (not of the bot) may lose the latest such commits, never a part
// of one, and never one that a later synchronous commit followed: the log
// is flushed in order. See ADR 0025.
type background struct {
	gorm *gorm.DB
	sql  *sql.DB
	pool *pgxpool.Pool
}

// Open connects to the database a URL names and checks that it answers.
//
// "postgres://..." and "postgresql://..." open PostgreSQL. Anything else is
// SQLite: "sqlite:PATH", "sqlite://PATH", a bare file path, ":memory:" (a
// private in-memory database, for tests), or "" for DefaultSQLitePath. The
// SQLite file uses WAL journaling (readers do not block the writer), a busy
// timeout, enforced foreign keys and IMMEDIATE transactions (a transaction
// takes the write lock when it starts, so one that reads and then writes can
// never fail to upgrade its lock halfway).
//
// A SQLite DB has exactly one connection (SetMaxOpenConns(1)). River's SQLite
// driver requires that: SQLite allows one writer at a time, and River's
// producers and maintenance services would otherwise fight over the write lock
// and fail with SQLITE_BUSY. The cost is that every statement of the process,
// the Store's and River's alike, takes turns on that connection; so code
// holding a transaction must never wait on another query through the same DB.
func Open(ctx context.Context, databaseURL string) (*DB, error) {
	if strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://") {
		return openPostgres(ctx, databaseURL)
	}
	path, err := sqlitePath(databaseURL)
	if err != nil {
		return nil, err
	}
	return openSQLite(ctx, path)
}

// sqlitePath extracts the file path from a SQLite database URL.
func sqlitePath(databaseURL string) (string, error) {
	p := databaseURL
	if rest, ok := strings.CutPrefix(p, "sqlite:"); ok {
		p = strings.TrimPrefix(rest, "//")
	}
	if p == "" {
		p = DefaultSQLitePath
	}
	if strings.ContainsRune(p, '?') {
		// The driver reads everything after '?' as its own options; ours are
		// fixed, so refuse rather than silently drop or duplicate them.
		return "", fmt.Errorf("sqlite database path %q must not contain '?'", p)
	}
	return p, nil
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	// Times are written as "2006-01-02 15:04:05.999999999-07:00", SQLite's
	// own format, which is what databases written before this driver hold,
	// and read back in UTC.
	q.Set("_time_format", "sqlite")
	q.Set("_timezone", "UTC")
	// Without the "file:" prefix the driver strips the query before opening,
	// so the path needs no URI escaping.
	file := !inMemory(path)
	if file {
		createPrivate(path)
		// Commits seldom copy the log into the database file: the
		// checkpointer does, on a connection of its own.
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", autocheckpointPages))
	}
	connector, err := msqlite.NewConnector(path + "?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	sqlDB := sql.OpenDB(cachingConnector{Connector: connector, size: stmtCacheSize})
	sqlDB.SetMaxOpenConns(1)
	// An in-memory database lives as long as its connection: keep it.
	sqlDB.SetConnMaxLifetime(0)
	sqlDB.SetConnMaxIdleTime(0)
	db, err := finishOpen(ctx, sqlDB, sqlite.New(sqlite.Config{Conn: sqlDB}), migrations.SQLite)
	if err != nil {
		return nil, err
	}
	db.gate = newGate(1) // the pool's one connection
	db.shared.version = sqliteVersion(sqlDB)
	if !file {
		return db, nil
	}
	if db.checkpoints, err = startCheckpointer(ctx, path); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// createPrivate creates the SQLite file at path, empty (an empty file is
// an empty database), readable and writable by this process's user alone,
// unless it exists: it holds every incident, private ones included, and
// SQLite would create it readable by every user of the host (0644 under
// the usual umask). SQLite gives the write-ahead log and shared-memory
// files it creates beside it the database file's mode. A file that exists
// keeps the mode its owner gave it. A path that cannot be created is left
// to SQLite, whose error the caller explains.
func createPrivate(path string) {
	if strings.HasPrefix(path, "file:") {
		return // a URI, which SQLite reads
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		_ = f.Close()
	}
}

// inMemory reports whether a SQLite path names a private in-memory database.
func inMemory(path string) bool {
	return path == ":memory:" || strings.HasPrefix(path, "file::memory:")
}

// openPostgres opens the two pools on databaseURL; tune, if any, adjusts
// the pools' configuration first (a test's statement tracer).
func openPostgres(ctx context.Context, databaseURL string, tune ...func(*pgxpool.Config)) (*DB, error) {
	pcfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	for _, t := range tune {
		t(pcfg)
	}
	if !strings.Contains(databaseURL, "pool_max_conns") {
		pcfg.MaxConns = postgresMaxConns
	}
	pcfg.MaxConnIdleTime = 5 * time.Minute
	if _, set := pcfg.ConnConfig.RuntimeParams[idleTransactionParam]; !set {
		pcfg.ConnConfig.RuntimeParams[idleTransactionParam] = idleTransactionTimeout
	}
	bcfg := pcfg.Copy()
	bcfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	name := "firebreak"
	if set := pcfg.ConnConfig.RuntimeParams["application_name"]; set != "" {
		name = set
	}
	bcfg.ConnConfig.RuntimeParams["application_name"] = name + "-background"
	gdb, sqlDB, pool, err := openPool(ctx, pcfg)
	if err != nil {
		return nil, err
	}
	db := &DB{gorm: gdb, sql: sqlDB, pool: pool, dialect: migrations.Postgres, shared: &sharedReads{keepFor: versionEvery}}
	bg := &background{}
	if bg.gorm, bg.sql, bg.pool, err = openPool(ctx, bcfg); err != nil {
		_ = db.Close()
		return nil, err
	}
	db.background = bg
	if err := db.ping(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// openPool opens a pgx pool and gorm on top of it, through database/sql.
func openPool(ctx context.Context, cfg *pgxpool.Config) (*gorm.DB, *sql.DB, *pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open postgres: %w", err)
	}
	// Idle connections are kept by the pgx pool, which database/sql borrows
	// from per statement or transaction.
	sqlDB := stdlib.OpenDBFromPool(pool)
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: sqlDB}), gormConfig())
	if err != nil {
		_ = sqlDB.Close()
		pool.Close()
		return nil, nil, nil, fmt.Errorf("open postgres: %w", err)
	}
	return gdb, sqlDB, pool, nil
}

func finishOpen(ctx context.Context, sqlDB *sql.DB, dialector gorm.Dialector, d migrations.Dialect) (*DB, error) {
	gdb, err := gorm.Open(dialector, gormConfig())
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("open %s: %w", d, err)
	}
	db := &DB{gorm: gdb, sql: sqlDB, dialect: d, shared: &sharedReads{}}
	if err := db.ping(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return db, nil
}

func gormConfig() *gorm.Config {
	return &gorm.Config{
		// Every Store method opens its own transaction.
		SkipDefaultTransaction: true,
		// Errors are returned, translated, to callers, who log them once.
		Logger: logger.Discard,
		// Open pings with the caller's context (ping), which a stop or a
		// deadline ends; gorm's own ping takes none and waits out TCP.
		DisableAutomaticPing: true,
	}
}

func (db *DB) ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", db.dialect, err)
	}
	if db.background != nil {
		if err := db.background.sql.PingContext(ctx); err != nil {
			return fmt.Errorf("ping %s background pool: %w", db.dialect, err)
		}
	}
	return nil
}

// Gorm returns the gorm handle.
func (db *DB) Gorm() *gorm.DB { return db.gorm }

// SQL returns the database/sql pool, for migrations and River's drivers.
func (db *DB) SQL() *sql.DB { return db.sql }

// Pool returns the pgx pool under SQL on PostgreSQL, and nil on SQLite. The
// job engine must run on it (jobs.NewPostgres) for Store.Atomic to insert
// jobs in the store's transactions.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// BackgroundPool returns the pgx pool of the store's background writes on
// PostgreSQL, whose connections commit without waiting for the disk, and
// nil on SQLite. The job engine runs its own bookkeeping on it
// (jobs.Options.BackgroundPool).
func (db *DB) BackgroundPool() *pgxpool.Pool {
	if db.background == nil {
		return nil
	}
	return db.background.pool
}

// Dialect returns which migration set the database needs.
func (db *DB) Dialect() migrations.Dialect { return db.dialect }

// Migrate applies every pending migration.
func (db *DB) Migrate(ctx context.Context) error {
	return migrations.Up(ctx, db.sql, db.dialect)
}

// Close closes the pools, waiting for the connections in use to be
// returned.
func (db *DB) Close() error {
	return db.close()
}

// Shutdown closes the pools like Close, but waits for the connections in
// use only until ctx ends: a statement stuck on a database that does not
// answer (a network partition holds its packets) would otherwise hold the
// process open. It then returns an error saying how many were still in
// use, and leaves them to be closed when returned, or to end with the
// process.
func (db *DB) Shutdown(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- db.close() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	inUse := 0
	for _, p := range []*pgxpool.Pool{db.Pool(), db.BackgroundPool()} {
		if p != nil {
			inUse += int(p.Stat().AcquiredConns())
		}
	}
	if db.pool == nil {
		inUse = db.sql.Stats().InUse
	}
	return fmt.Errorf("close %s: %d connections still in use: %w", db.dialect, inUse, context.Cause(ctx))
}

func (db *DB) close() error {
	if db.checkpoints != nil {
		db.checkpoints.stop()
	}
	err := db.sql.Close()
	if db.pool != nil {
		db.pool.Close()
	}
	if bg := db.background; bg != nil {
		err = errors.Join(err, bg.sql.Close())
		bg.pool.Close()
	}
	if err != nil {
		return fmt.Errorf("close %s: %w", db.dialect, err)
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/firebreakhq/firebreak/incident/gormstore"
)

// databaseWait bounds how long serve waits, at start, for a PostgreSQL
// that does not take connections yet, such as the Helm chart's bundled
// one on a first install: long enough for it to come up, short enough
// that a database that is not coming still fails the start.
const databaseWait = 60 * time.Second

// databaseTries is how many tries at least fit in the wait when the
// database URL sets no connect_timeout: each try gets that share of the
// wait (10 s of 60), so a host that drops the connection unanswered is
// tried again instead of holding the start for the system's TCP timeout.
const databaseTries = 6

// openDatabaseWaiting is openDatabase, trying again with backoff for up to
// databaseWait while PostgreSQL refuses connections, does not answer, or
// says it is starting up, or while its host name does not resolve yet (a
// docker-compose service that has not started). Any other error (a wrong
// password, an unknown database, a malformed URL) is returned at once:
// waiting cannot fix it. When ctx ends during the wait (SIGTERM), it
// returns ctx's error, not the database's.
func openDatabaseWaiting(ctx context.Context, cfg Config, log *slog.Logger, phase func(string)) (*gormstore.DB, error) {
	return openDatabaseWithin(ctx, cfg, databaseWait, log, phase)
}

// openDatabaseWithin is openDatabaseWaiting with a wait of limit: no try
// outlasts it.
func openDatabaseWithin(ctx context.Context, cfg Config, limit time.Duration, log *slog.Logger, phase func(string)) (*gormstore.DB, error) {
	if !isPostgresURL(cfg.DatabaseURL) {
		// SQLite: there is nothing to wait for, and the open database
		// keeps ctx for its checkpointer.
		return openDatabase(ctx, cfg)
	}
	deadline := time.Now().Add(limit)
	pcfg, perr := pgxpool.ParseConfig(cfg.DatabaseURL)
	perTry := time.Duration(0)
	if perr == nil && pcfg.ConnConfig.ConnectTimeout == 0 {
		perTry = limit / databaseTries
	}
	// try first connects once, under the wait's deadline and the try's
	// own limit, and opens the database only once PostgreSQL has
	// answered: opening the pools pings without a time limit.
	try := func() (*gormstore.DB, error) {
		if perr == nil {
			tryCtx, cancel := context.WithDeadline(ctx, deadline)
			defer cancel()
			if perTry > 0 {
				var cancelTry context.CancelFunc
				tryCtx, cancelTry = context.WithTimeout(tryCtx, perTry)
				defer cancelTry()
			}
			conn, err := pgx.ConnectConfig(tryCtx, pcfg.ConnConfig)
			if err == nil {
				_ = conn.Close(tryCtx)
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err != nil {
				return nil, fmt.Errorf("DATABASE_URL: open database: %w", err)
			}
		}
		db, err := openDatabase(ctx, cfg)
		if ctx.Err() != nil {
			if db != nil {
				_ = db.Close()
			}
			return nil, ctx.Err()
		}
		return db, err
	}
	db, err := try()
	if err == nil || ctx.Err() != nil || !databaseNotUpYet(err) {
		return db, err
	}
	phase("waiting for the database")
	backoff := 250 * time.Millisecond
	for {
		if !time.Now().Add(backoff).Before(deadline) {
			return nil, fmt.Errorf("%w (gave up waiting for the database after %s)", err, limit)
		}
		log.WarnContext(ctx, "waiting for the database: PostgreSQL does not take connections yet", "err", err,
			"retry_in", backoff, "gives_up_in", time.Until(deadline).Round(time.Second))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
		if db, err = try(); err == nil || ctx.Err() != nil || !databaseNotUpYet(err) {
			if err == nil {
				phase("opening the database")
			}
			return db, err
		}
	}
}

// isPostgresURL reports whether a DATABASE_URL names PostgreSQL.
func isPostgresURL(databaseURL string) bool {
	return strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://")
}

// databaseNotUpYet reports an error of a database that is not up yet: the
// connection refused or timed out (a try's own time limit included), its
// host name not resolving yet, or PostgreSQL still starting (57P03,
// cannot_connect_now).
func databaseNotUpYet(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "57P03"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsNotFound || dns.IsTemporary || dns.IsTimeout
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

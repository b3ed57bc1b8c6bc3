package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/firebreakhq/firebreak/incident/gormstore"
)

// databaseWait bounds how long serve waits, at start, for a PostgreSQL
// that does not take connections yet, such as the Helm chart's bundled
// one on a first install: long enough for it to come up, short enough
// that a database that is not coming still fails the start.
const databaseWait = 60 * time.Second

// openDatabaseWaiting is openDatabase, trying again with backoff for up to
// databaseWait while PostgreSQL refuses connections, does not answer, or
// says it is starting up. Any other error (a wrong password, an unknown
// database, a malformed URL) is returned at once: waiting cannot fix it.
func openDatabaseWaiting(ctx context.Context, cfg Config, log *slog.Logger, phase func(string)) (*gormstore.DB, error) {
	db, err := openDatabase(ctx, cfg)
	if err == nil || cfg.DatabaseURL == "" || !databaseNotUpYet(err) {
		return db, err
	}
	phase("waiting for the database")
	deadline := time.Now().Add(databaseWait)
	backoff := 250 * time.Millisecond
	for {
		if !time.Now().Add(backoff).Before(deadline) {
			return nil, err
		}
		log.WarnContext(ctx, "waiting for the database: PostgreSQL does not take connections yet", "err", err,
			"retry_in", backoff, "gives_up_in", time.Until(deadline).Round(time.Second))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
		if db, err = openDatabase(ctx, cfg); err == nil || !databaseNotUpYet(err) {
			if err == nil {
				phase("opening the database")
			}
			return db, err
		}
	}
}

// databaseNotUpYet reports an error of a database that is not up yet: the
// connection refused or timed out, or PostgreSQL still starting
// (57P03, cannot_connect_now).
func databaseNotUpYet(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "57P03"
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

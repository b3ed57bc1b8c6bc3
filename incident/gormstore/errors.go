package gormstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/firebreakhq/firebreak/incident"
)

// errorKind classifies a database error as a domain error code, or "" when
// the error means nothing to the domain (a bug, a broken connection ...).
func errorKind(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return incident.ENOTFOUND
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return incident.ECONFLICT
		case "23503": // foreign_key_violation: the parent incident is missing
			return incident.ENOTFOUND
		case "23514", "23502", "22001", "22003", "22P02": // check, not null, too long, out of range, bad text
			return incident.EINVALID
		case unstorableText, "22P05": // a NUL or invalid UTF-8 in text; \u0000 in JSON
			return incident.EINVALID
		}
		if databaseState(pgErr.Code, pgErr.Message) {
			return incident.EUNAVAILABLE
		}
		// A refusal at connect time is wrapped in a ConnectError.
		if connectionLost(err) {
			return incident.EUNAVAILABLE
		}
		return ""
	}
	var sqErr *msqlite.Error
	if errors.As(err, &sqErr) {
		return sqliteKind(sqErr.Code(), sqErr.Error())
	}
	if connectionLost(err) {
		return incident.EUNAVAILABLE
	}
	return ""
}

// databaseState reports whether a PostgreSQL error code is the database
// refusing work because of its own state, not because of the statement:
// trying again once it has recovered (or been repaired) is the answer, and
// the person is told the database is unavailable.
func databaseState(code, message string) bool {
	if code == "55000" {
		// Object not in prerequisite state: also a statement's own
		// fault ("lastval is not yet defined in this session"), which
		// is a bug to report, not an outage.
		return strings.Contains(message, "not currently accepting connections")
	}
	switch code {
	case "40001", "40P01", // serialization failure, deadlock: try again
		"25006",          // read-only transaction: a standby, or a primary demoted by a failover
		"28000", "28P01", // the server refuses our credentials: the password rotated, pg_hba changed
		"55P03", // lock not available within lock_timeout
		"57014": // statement cancelled: statement_timeout
		return true
	}
	switch code[:min(2, len(code))] {
	case "08", // connection exception
		"53", // insufficient resources: too many connections, disk full, out of memory
		"58": // system error: the server's I/O failing
		return true
	case "57": // operator intervention: shutdown, crash shutdown, starting up, database dropped
		return strings.HasPrefix(code, "57P")
	}
	return false
}

// connectionLost reports whether err is the connection to the database
// failing rather than the database refusing a statement: it could not be
// opened, it was closed under the query (an EOF halfway through a reply),
// reset, or timed out. Nothing about the statement is wrong; trying again
// once the database is back is.
func connectionLost(err error) bool {
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr):
		return true
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, pgconn.ErrConnClosed), pgconn.Timeout(err):
		return true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	}
	return false
}

// sqliteKind classifies by extended result code, falling back on the
// message for drivers that report only the primary code.
func sqliteKind(code int, msg string) string {
	switch code {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return incident.ECONFLICT
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return incident.ENOTFOUND
	case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		return incident.EINVALID
	}
	switch code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return incident.EUNAVAILABLE
	case sqlite3.SQLITE_CONSTRAINT:
		switch {
		case strings.Contains(msg, "UNIQUE constraint failed"), strings.Contains(msg, "PRIMARY KEY constraint failed"):
			return incident.ECONFLICT
		case strings.Contains(msg, "FOREIGN KEY constraint failed"):
			return incident.ENOTFOUND
		case strings.Contains(msg, "CHECK constraint failed"), strings.Contains(msg, "NOT NULL constraint failed"):
			return incident.EINVALID
		}
	}
	return ""
}

// storeError is a failed store operation: op says what was attempted (for
// logs), domain is what callers act on, cause is the database's own error,
// kept as text so that driver types never leak past this package.
func storeError(op string, domain *incident.Error, cause error) error {
	if cause == nil {
		return fmt.Errorf("%s: %w", op, domain)
	}
	return fmt.Errorf("%s: %w: %v", op, domain, cause)
}

// translate turns a database error into a domain error with a user-safe
// message chosen by the caller for the kinds it expects; unexpected kinds get
// generic messages and unknown errors are only wrapped.
func translate(op string, err error, messages map[string]string) error {
	if err == nil {
		return nil
	}
	var domain *incident.Error
	if errors.As(err, &domain) {
		// Already translated (and given its context) inside the transaction.
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	kind := errorKind(err)
	if kind == "" {
		return fmt.Errorf("%s: %w", op, err)
	}
	msg, ok := messages[kind]
	if !ok {
		msg = genericMessage(kind)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == unstorableText || pgErr.Code == "22P05") {
		msg = "The text holds a character that cannot be stored, such as a NUL; remove it."
	}
	return storeError(op, incident.Errorf(kind, "%s", msg), err)
}

// unstorableText is PostgreSQL's character_not_in_repertoire: text with a
// NUL or invalid UTF-8, which SQLite would have kept.
const unstorableText = "22021"

func genericMessage(kind string) string {
	switch kind {
	case incident.ENOTFOUND:
		return "That record was not found."
	case incident.ECONFLICT:
		return "That record already exists."
	case incident.EINVALID:
		return "That value is not allowed."
	case incident.EUNAVAILABLE:
		return "The database is busy or unreachable; try again in a moment."
	}
	return "Something went wrong on our side."
}

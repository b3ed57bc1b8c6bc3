package gormstore

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// TestDatabaseStatesAreUnavailable: PostgreSQL refusing work because of
// its own state (starting, shutting down, read-only after a failover, out
// of connections, the password rotated) is the database being unavailable,
// which the bot says in its own sentence, not "something went wrong".
func TestDatabaseStatesAreUnavailable(t *testing.T) {
	t.Parallel()
	for code, what := range map[string]string{
		"55000": `database "firebreak" is not currently accepting connections`,
		"55P03": "lock not available (lock_timeout)",
		"28P01": "password authentication failed (rotated)",
		"28000": "no pg_hba.conf entry",
		"25006": "cannot execute INSERT in a read-only transaction (a standby after failover)",
		"57P01": "terminating connection due to administrator command",
		"57P02": "terminating connection due to crash of another server process",
		"57P03": "the database system is starting up",
		"57014": "canceling statement due to statement timeout",
		"53300": "too many connections",
		"53100": "could not extend file: No space left on device",
		"08006": "connection failure",
		"58030": "could not read block: I/O error",
		"40001": "could not serialize access",
	} {
		err := &pgconn.PgError{Severity: "FATAL", Code: code, Message: what}
		require.Equal(t, incident.EUNAVAILABLE, errorKind(err), "%s (%s)", code, what)
		// At connect time pgx wraps the server's refusal in a ConnectError.
		connectErr := &pgconn.ConnectError{Config: &pgconn.Config{Host: "db", Port: 5432}}
		wrapped := fmt.Errorf("query: %w", joinConnect(connectErr, err))
		require.Equal(t, incident.EUNAVAILABLE, errorKind(wrapped), "%s at connect time", code)
		got := translate("list incidents", err, nil)
		require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(got))
		require.Contains(t, incident.ErrorMessage(got), "database", "the bot's database-unavailable sentence")
	}
	// A statement that is itself wrong stays a bug, logged as such.
	require.Equal(t, "", errorKind(&pgconn.PgError{Code: "42P01"}))
	require.Equal(t, "", errorKind(&pgconn.PgError{Code: "42601"}))
	// 55000 is also a statement's own fault.
	require.Equal(t, "", errorKind(&pgconn.PgError{Code: "55000", Message: "lastval is not yet defined in this session"}))
}

// joinConnect is a ConnectError caused by err, as pgconn returns when the
// server refuses the connection.
func joinConnect(ce *pgconn.ConnectError, err error) error {
	return &connectRefused{ConnectError: ce, cause: err}
}

type connectRefused struct {
	*pgconn.ConnectError
	cause error
}

func (c *connectRefused) Error() string { return "failed to connect: " + c.cause.Error() }
func (c *connectRefused) Unwrap() []error {
	return []error{c.ConnectError, c.cause}
}

// TestReadOnlyDatabaseIsUnavailable writes to a PostgreSQL session that is
// read-only, as a standby promoted late or a primary demoted by a failover
// answers: the store reports the database unavailable.
func TestReadOnlyDatabaseIsUnavailable(t *testing.T) {
	t.Parallel()
	dsn := pgtest.MigratedDSN(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db, err := Open(context.Background(), dsn+sep+"default_transaction_read_only=on")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	s := New(db, incident.SystemClock)
	_, err = s.CreateIncident(context.Background(), &incident.Incident{Title: "read only", Severity: incident.P2})
	require.Error(t, err)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err), "%v", err)
	require.Contains(t, err.Error(), "25006")
}

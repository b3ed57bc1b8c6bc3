package gormstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	gosqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/migrations"
)

func TestSQLitePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, want, err string
	}{
		{url: "", want: DefaultSQLitePath},
		{url: "sqlite:", want: DefaultSQLitePath},
		{url: "sqlite:data/bot.db", want: "data/bot.db"},
		{url: "sqlite:///var/lib/firebreak/bot.db", want: "/var/lib/firebreak/bot.db"},
		{url: "sqlite://bot.db", want: "bot.db"},
		{url: "/tmp/bot.db", want: "/tmp/bot.db"},
		{url: ":memory:", want: ":memory:"},
		{url: "sqlite:bot.db?cache=shared", err: "must not contain '?'"},
	}
	for _, tc := range tests {
		got, err := sqlitePath(tc.url)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.url)
			continue
		}
		require.NoError(t, err, tc.url)
		require.Equal(t, tc.want, got, tc.url)
	}
}

func TestOpenSQLiteSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "settings.db")
	db, err := Open(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.Equal(t, migrations.SQLite, db.Dialect())
	require.Equal(t, 1, db.SQL().Stats().MaxOpenConnections, "River's SQLite driver needs a single connection")

	pragma := func(name string) string {
		var v string
		require.NoError(t, db.SQL().QueryRowContext(ctx, "PRAGMA "+name).Scan(&v))
		return v
	}
	require.Equal(t, "wal", pragma("journal_mode"))
	require.Equal(t, "1", pragma("foreign_keys"))
	require.Equal(t, fmt.Sprint(sqliteBusyTimeout.Milliseconds()), pragma("busy_timeout"))
	require.FileExists(t, path)

	var n int
	require.NoError(t, db.Gorm().WithContext(ctx).Raw("SELECT 1").Scan(&n).Error)
	require.Equal(t, 1, n)

	// Transactions are IMMEDIATE: an open one already holds the write lock,
	// so another process cannot write even before this one has.
	require.NoError(t, migrations.Up(ctx, db.SQL(), migrations.SQLite))
	tx, err := db.SQL().BeginTx(ctx, nil)
	require.NoError(t, err)
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	require.NoError(t, err)
	defer other.Close()
	_, err = other.ExecContext(ctx, "INSERT INTO deliveries (source, id, received_at) VALUES ('s', '1', '2026-01-01 00:00:00+00:00')")
	require.ErrorContains(t, err, "locked")
	require.NoError(t, tx.Rollback())
	_, err = other.ExecContext(ctx, "INSERT INTO deliveries (source, id, received_at) VALUES ('s', '1', '2026-01-01 00:00:00+00:00')")
	require.NoError(t, err)
	require.NoError(t, db.Close())
}

func TestOpenMemory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Migrate(ctx))
	s := New(db, incident.SystemClock)
	inc, err := s.CreateIncident(ctx, &incident.Incident{Title: "in memory", Severity: incident.P4})
	require.NoError(t, err)
	got, err := s.GetIncident(ctx, inc.ID)
	require.NoError(t, err, "the in-memory database outlives a single statement")
	require.Equal(t, inc, got)
}

func TestOpenPostgresUnreachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback refuses connections at once.
	_, err := Open(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "password")
}

// TestSQLiteStoresUTCText pins the on-disk form of SQLite timestamps: UTC
// text with a fixed offset, which sorts in time order and reads back as a
// UTC time.Time.
func TestSQLiteStoresUTCText(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMigrated(t, migrations.SQLite)
	s := New(db, incident.SystemClock)
	zone := time.FixedZone("PST", -8*3600)
	declared := time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, zone)
	inc, err := s.CreateIncident(ctx, &incident.Incident{Title: "t", Severity: incident.P1, DeclaredAt: declared})
	require.NoError(t, err)

	var raw string
	require.NoError(t, db.SQL().QueryRowContext(ctx, "SELECT CAST(declared_at AS TEXT) FROM incidents WHERE id = ?", inc.ID).Scan(&raw))
	require.Equal(t, "2026-01-02 11:04:05.6+00:00", raw)

	var row incidentRow
	require.NoError(t, db.Gorm().WithContext(ctx).Take(&row, inc.ID).Error)
	require.Equal(t, time.UTC, row.DeclaredAt.Location())
	require.True(t, row.DeclaredAt.Equal(declared))
}

func TestErrorKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"record not found", fmt.Errorf("x: %w", gorm.ErrRecordNotFound), incident.ENOTFOUND},
		{"pg unique", &pgconn.PgError{Code: "23505"}, incident.ECONFLICT},
		{"pg foreign key", &pgconn.PgError{Code: "23503"}, incident.ENOTFOUND},
		{"pg check", &pgconn.PgError{Code: "23514"}, incident.EINVALID},
		{"pg NUL in text", &pgconn.PgError{Code: "22021"}, incident.EINVALID},
		{"pg NUL in JSON", &pgconn.PgError{Code: "22P05"}, incident.EINVALID},
		{"pg deadlock", &pgconn.PgError{Code: "40P01"}, incident.EUNAVAILABLE},
		{"pg other", &pgconn.PgError{Code: "42P01"}, ""},
		{"plain", errors.New("boom"), ""},
		// The connection failing under a statement: the database is
		// unreachable, not the statement wrong.
		{"reply cut short", fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF), incident.EUNAVAILABLE},
		{"closed connection", fmt.Errorf("query: %w", pgconn.ErrConnClosed), incident.EUNAVAILABLE},
		{"bad connection", fmt.Errorf("exec: %w", driver.ErrBadConn), incident.EUNAVAILABLE},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, incident.EUNAVAILABLE},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), incident.EUNAVAILABLE},
		{"broken pipe", fmt.Errorf("write: %w", syscall.EPIPE), incident.EUNAVAILABLE},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, errorKind(tc.err), tc.name)
	}

	sqliteTests := []struct {
		code int
		msg  string
		want string
	}{
		{sqlite3.SQLITE_CONSTRAINT_UNIQUE, "", incident.ECONFLICT},
		{sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, "", incident.ECONFLICT},
		{sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY, "", incident.ENOTFOUND},
		{sqlite3.SQLITE_CONSTRAINT_CHECK, "", incident.EINVALID},
		{sqlite3.SQLITE_CONSTRAINT_NOTNULL, "", incident.EINVALID},
		{sqlite3.SQLITE_BUSY, "", incident.EUNAVAILABLE},
		{sqlite3.SQLITE_CONSTRAINT, "UNIQUE constraint failed: incidents.channel_id", incident.ECONFLICT},
		{sqlite3.SQLITE_CONSTRAINT, "FOREIGN KEY constraint failed", incident.ENOTFOUND},
		{sqlite3.SQLITE_CONSTRAINT, "CHECK constraint failed: severity", incident.EINVALID},
		{sqlite3.SQLITE_ERROR, "no such table: incidents", ""},
	}
	for _, tc := range sqliteTests {
		require.Equal(t, tc.want, sqliteKind(tc.code, tc.msg), "code %d %q", tc.code, tc.msg)
	}
}

// TestRealSQLiteErrors checks the classification against errors the driver
// really returns, so a driver upgrade that changes codes is caught.
func TestRealSQLiteErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openMigrated(t, migrations.SQLite)
	exec := func(q string, args ...any) error {
		_, err := db.SQL().ExecContext(ctx, q, args...)
		return err
	}
	now := time.Now().UTC()
	require.NoError(t, exec(`INSERT INTO deliveries (source, id, received_at) VALUES ('s', '1', ?)`, now))
	cases := map[string]struct {
		err  error
		want string
	}{
		"unique":  {exec(`INSERT INTO deliveries (source, id, received_at) VALUES ('s', '1', ?)`, now), incident.ECONFLICT},
		"check":   {exec(`INSERT INTO deliveries (source, id, received_at) VALUES ('', '2', ?)`, now), incident.EINVALID},
		"notnull": {exec(`INSERT INTO deliveries (source, id) VALUES ('s', '3')`), incident.EINVALID},
		"foreign key": {exec(`INSERT INTO timeline_events (incident_id, kind, at) VALUES (424242, 'note', ?)`, now),
			incident.ENOTFOUND},
	}
	for name, tc := range cases {
		var sqErr *gosqlite.Error
		require.ErrorAs(t, tc.err, &sqErr, name)
		require.Equal(t, tc.want, errorKind(tc.err), "%s: %v", name, tc.err)
	}
}

func TestTranslateKeepsContext(t *testing.T) {
	t.Parallel()
	err := translate("add change event", &pgconn.PgError{Code: "23505", Message: "duplicate key"}, map[string]string{
		incident.ECONFLICT: "Already recorded.",
	})
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Equal(t, "Already recorded.", incident.ErrorMessage(err))
	require.True(t, strings.HasPrefix(err.Error(), "add change event: "))
	require.Contains(t, err.Error(), "duplicate key", "the cause stays in the log line")

	var pgErr *pgconn.PgError
	require.False(t, errors.As(err, &pgErr), "driver types do not leak to callers")

	plain := errors.New("boom")
	require.ErrorIs(t, translate("op", plain, nil), plain)
	require.Equal(t, incident.EINTERNAL, incident.ErrorCode(translate("op", plain, nil)))
	require.ErrorIs(t, translate("op", context.Canceled, nil), context.Canceled)
}

func TestPingClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "ping.db"))
	require.NoError(t, err)
	s := New(db, incident.SystemClock)
	require.NoError(t, s.Ping(ctx))
	require.NoError(t, db.Close())
	err = s.Ping(ctx)
	require.Equal(t, incident.EUNAVAILABLE, incident.ErrorCode(err))
}

package gormstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/migrations"
)

// A commit's error leaves its outcome unknown only when COMMIT may have
// reached PostgreSQL and its answer did not come back.
func TestCommitUnanswered(t *testing.T) {
	t.Parallel()
	pg := &Store{handle: &handle{dialect: migrations.Postgres}}
	lite := &Store{handle: &handle{dialect: migrations.SQLite}}
	for _, tt := range []struct {
		name    string
		err     error
		unknown bool
	}{
		{"PostgreSQL refused the commit", &pgconn.PgError{Code: "40001"}, false},
		{"the context ended before COMMIT was sent (database/sql)", context.DeadlineExceeded, false},
		{"cancelled before COMMIT was sent (database/sql)", context.Canceled, false},
		{"the transaction was already rolled back", sql.ErrTxDone, false},
		{"the connection broke after COMMIT was sent", fmt.Errorf("commit: %w", io.ErrUnexpectedEOF), true},
		{"the deadline passed while COMMIT was answered", fmt.Errorf("timeout: %w", context.DeadlineExceeded), true},
		{"some other failure", errors.New("conn closed"), true},
	} {
		require.Equal(t, tt.unknown, pg.commitUnanswered(tt.err), tt.name)
		require.False(t, lite.commitUnanswered(tt.err), "SQLite: "+tt.name)
	}
}

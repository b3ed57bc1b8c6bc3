package gormstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	msqlite "modernc.org/sqlite"
)

// countingConnector counts the statements the caching connection prepares
// on the real SQLite connection under it.
type countingConnector struct {
	driver.Connector
	prepares *atomic.Int64
}

func (c countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return countingConn{sqliteConn: conn.(sqliteConn), prepares: c.prepares}, nil
}

type countingConn struct {
	sqliteConn
	prepares *atomic.Int64
}

func (c countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.prepares.Add(1)
	return c.sqliteConn.PrepareContext(ctx, query)
}

// openCaching opens a one-connection SQLite database through the statement
// cache, keeping size statements, and counts the statements it prepares.
func openCaching(t *testing.T, size int) (*sql.DB, *atomic.Int64) {
	t.Helper()
	base, err := msqlite.NewConnector(filepath.Join(t.TempDir(), "cache.db"))
	require.NoError(t, err)
	prepares := new(atomic.Int64)
	db := sql.OpenDB(cachingConnector{Connector: countingConnector{Connector: base, prepares: prepares}, size: size})
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	_, err = db.Exec("CREATE TABLE t (x INTEGER NOT NULL)")
	require.NoError(t, err)
	for i := 1; i <= 5; i++ {
		_, err = db.Exec("INSERT INTO t (x) VALUES (?)", i)
		require.NoError(t, err)
	}
	return db, prepares
}

func TestStatementCacheReusesPreparedStatements(t *testing.T) {
	t.Parallel()
	db, prepares := openCaching(t, 16)
	before := prepares.Load()
	for i := 1; i <= 100; i++ {
		var n int
		require.NoError(t, db.QueryRow("SELECT count(*) FROM t WHERE x <= ?", i%6).Scan(&n))
		require.Equal(t, i%6, n)
		_, err := db.Exec("UPDATE t SET x = x WHERE x = ?", i%6)
		require.NoError(t, err)
	}
	require.EqualValues(t, 2, prepares.Load()-before, "one SELECT and one UPDATE prepared once each, for 200 runs")

	// In a transaction the statements are the same connection's.
	tx, err := db.Begin()
	require.NoError(t, err)
	_, err = tx.Exec("UPDATE t SET x = x WHERE x = ?", 1)
	require.NoError(t, err)
	require.NoError(t, tx.Commit())
	require.EqualValues(t, 2, prepares.Load()-before)
}

func TestStatementCacheGivesABusyStatementsQueryItsOwn(t *testing.T) {
	t.Parallel()
	db, _ := openCaching(t, 16)
	tx, err := db.Begin()
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	const q = "SELECT x FROM t WHERE x >= ? ORDER BY x"
	outer, err := tx.Query(q, 2)
	require.NoError(t, err)
	var got [][2]int
	for outer.Next() {
		var x int
		require.NoError(t, outer.Scan(&x))
		// The same query while the outer rows are still open.
		var inner []int
		rows, err := tx.Query(q, 4)
		require.NoError(t, err)
		for rows.Next() {
			var y int
			require.NoError(t, rows.Scan(&y))
			inner = append(inner, y)
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		require.Equal(t, []int{4, 5}, inner)
		got = append(got, [2]int{x, len(inner)})
	}
	require.NoError(t, outer.Err())
	require.NoError(t, outer.Close())
	require.Equal(t, [][2]int{{2, 2}, {3, 2}, {4, 2}, {5, 2}}, got, "the outer rows were not disturbed")
}

func TestStatementCacheEvictsTheLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	db, prepares := openCaching(t, 2)
	queries := []string{"SELECT count(*) FROM t WHERE x = ?", "SELECT count(*) FROM t WHERE x > ?", "SELECT count(*) FROM t WHERE x < ?"}
	run := func(q string) {
		var n int
		require.NoError(t, db.QueryRow(q, 3).Scan(&n))
	}
	before := prepares.Load()
	run(queries[0])
	run(queries[1])
	run(queries[0]) // queries[1] is now the least recently used
	run(queries[2]) // evicts queries[1]
	require.EqualValues(t, 3, prepares.Load()-before)
	run(queries[0])
	require.EqualValues(t, 3, prepares.Load()-before, "kept")
	run(queries[1])
	require.EqualValues(t, 4, prepares.Load()-before, "evicted, prepared again")

	conn, err := db.Conn(context.Background())
	require.NoError(t, err)
	require.NoError(t, conn.Raw(func(dc any) error {
		require.Len(t, dc.(*cachingConn).stmts, 2)
		return nil
	}))
	require.NoError(t, conn.Close())
}

func TestStatementCacheFollowsSchemaChanges(t *testing.T) {
	t.Parallel()
	db, _ := openCaching(t, 16)
	columns := func() []string {
		rows, err := db.Query("SELECT * FROM t LIMIT 1")
		require.NoError(t, err)
		defer rows.Close()
		cols, err := rows.Columns()
		require.NoError(t, err)
		return cols
	}
	require.Equal(t, []string{"x"}, columns())
	_, err := db.Exec("ALTER TABLE t ADD COLUMN y TEXT")
	require.NoError(t, err)
	require.Equal(t, []string{"x", "y"}, columns(), "a kept statement sees the new column")
}

func TestStatementCacheRunsScripts(t *testing.T) {
	t.Parallel()
	db, _ := openCaching(t, 16)
	_, err := db.Exec("INSERT INTO t (x) VALUES (10); INSERT INTO t (x) VALUES (11);")
	require.NoError(t, err)
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t WHERE x >= 10").Scan(&n))
	require.Equal(t, 2, n, "both statements of the script ran")
}

func TestStatementCacheSkipsSavepointsAndScripts(t *testing.T) {
	t.Parallel()
	for q, want := range map[string]bool{
		"SELECT 1":                        true,
		"SAVEPOINT sp123":                 false,
		"savepoint sp123":                 false,
		"RELEASE SAVEPOINT sp123":         false,
		"ROLLBACK TO SAVEPOINT sp123":     false,
		"ROLLBACK":                        true,
		strings.Repeat("SELECT 1;", 4000): false,
		// The job engine's statement that completes a job.
		"SELECT 1" + strings.Repeat(" ", 5000): true,
	} {
		require.Equal(t, want, cacheable(q), "%.40s", q)
	}
	db, prepares := openCaching(t, 16)
	before := prepares.Load()
	tx, err := db.Begin()
	require.NoError(t, err)
	for i := range 5 {
		_, err = tx.Exec(fmt.Sprintf("SAVEPOINT sp%d", i))
		require.NoError(t, err)
		_, err = tx.Exec(fmt.Sprintf("RELEASE SAVEPOINT sp%d", i))
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
	require.Zero(t, prepares.Load()-before, "savepoints are not kept")
}

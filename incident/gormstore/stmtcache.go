package gormstore

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
	"strings"
	"sync"
)

// stmtCacheSize is how many prepared statements a SQLite connection keeps.
// The store and the job engine run about 150 distinct statements; statements
// built with a variable number of placeholders (IN lists) make more, and the
// least recently used go first.
const stmtCacheSize = 512

// stmtCacheMaxQuery is the longest query text kept prepared: longer ones are
// migration scripts and such, run once. The job engine's own statements run
// up to about 5 KB once its templates are filled in (completing a job is one
// of them, run for every job), so the bound is well above that.
const stmtCacheMaxQuery = 32 << 10

// cachingConnector opens SQLite connections that keep their prepared
// statements. modernc.org/sqlite compiles a statement's SQL on every call
// that is not made on a prepared statement, which is how gorm and River's
// SQLite driver run all of theirs; compiling was about half of the database
// engine's CPU time per statement. A statement prepared once per connection
// and reused is compiled once (SQLite re-prepares it by itself when the
// schema changes).
type cachingConnector struct {
	driver.Connector
	size int
}

// Connect implements driver.Connector.
func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn, c.size)
}

// sqliteConn is what a modernc.org/sqlite connection implements and
// database/sql uses.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachedStmt is one prepared statement of a connection. A statement is busy
// while rows read from it are open: SQLite steps one statement through one
// result at a time, so a second query with the same text meanwhile gets a
// statement of its own.
type cachedStmt struct {
	query string
	stmt  driver.Stmt
	busy  bool
	elem  *list.Element
}

// cachingConn is a SQLite connection with a least-recently-used set of
// prepared statements keyed by their SQL text. database/sql never uses a
// connection from two goroutines at once; the mutex guards against the rows
// of a cancelled query being closed from database/sql's watcher anyway.
type cachingConn struct {
	sqliteConn
	mu    sync.Mutex
	size  int
	stmts map[string]*cachedStmt
	lru   *list.List // of *cachedStmt, most recently used first
}

func newCachingConn(conn driver.Conn, size int) (driver.Conn, error) {
	sc, ok := conn.(sqliteConn)
	if !ok {
		_ = conn.Close()
		return nil, errors.New("sqlite statement cache: the driver's connection lacks a context-aware method database/sql needs: " + reflect.TypeOf(conn).String())
	}
	return &cachingConn{sqliteConn: sc, size: size, stmts: make(map[string]*cachedStmt), lru: list.New()}, nil
}

// acquire returns the connection's idle prepared statement for query, now
// busy, preparing and keeping it if there is none; ok is false when the
// query is not to be cached or its statement is busy, and the caller runs it
// unprepared.
func (c *cachingConn) acquire(ctx context.Context, query string) (*cachedStmt, bool, error) {
	if !cacheable(query) {
		return nil, false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs, found := c.stmts[query]; found {
		if cs.busy {
			return nil, false, nil
		}
		c.lru.MoveToFront(cs.elem)
		cs.busy = true
		return cs, true, nil
	}
	stmt, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	cs := &cachedStmt{query: query, stmt: stmt, busy: true}
	cs.elem = c.lru.PushFront(cs)
	c.stmts[query] = cs
	c.evictLocked()
	return cs, true, nil
}

// cacheable reports whether query is worth keeping prepared: not a long
// script, and not a savepoint statement, whose names gorm makes up anew for
// every nested transaction.
func cacheable(query string) bool {
	if len(query) > stmtCacheMaxQuery {
		return false
	}
	for _, p := range []string{"SAVEPOINT ", "RELEASE ", "ROLLBACK TO "} {
		if len(query) >= len(p) && strings.EqualFold(query[:len(p)], p) {
			return false
		}
	}
	return true
}

// evictLocked closes the least recently used idle statements beyond the
// cache's size.
func (c *cachingConn) evictLocked() {
	for e := c.lru.Back(); e != nil && c.lru.Len() > c.size; {
		cs := e.Value.(*cachedStmt)
		prev := e.Prev()
		if !cs.busy {
			c.lru.Remove(e)
			delete(c.stmts, cs.query)
			_ = cs.stmt.Close()
		}
		e = prev
	}
}

// release marks cs idle again.
func (c *cachingConn) release(cs *cachedStmt) {
	c.mu.Lock()
	cs.busy = false
	c.evictLocked()
	c.mu.Unlock()
}

// ExecContext implements driver.ExecerContext on the statement prepared
// for query.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, ok, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	if !ok {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	defer c.release(cs)
	return cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

// QueryContext implements driver.QueryerContext on the statement prepared
// for query, which stays busy until the rows are closed.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, ok, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	if !ok {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.release(cs)
		return nil, err
	}
	return &cachedRows{Rows: rows, release: func() { c.release(cs) }}, nil
}

// Close implements driver.Conn: the prepared statements are finalized
// before the connection closes.
func (c *cachingConn) Close() error {
	c.mu.Lock()
	var errs []error
	for _, cs := range c.stmts {
		errs = append(errs, cs.stmt.Close())
	}
	c.stmts = map[string]*cachedStmt{}
	c.lru.Init()
	c.mu.Unlock()
	return errors.Join(append(errs, c.sqliteConn.Close())...)
}

// cachedRows are rows read from a cached statement; closing them frees the
// statement for the next query.
type cachedRows struct {
	driver.Rows
	once    sync.Once
	release func()
}

// Close implements driver.Rows.
func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.release)
	return err
}

// The column-type methods database/sql looks for on driver rows, passed on
// to modernc.org/sqlite's rows, which implement all of them.

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

package gormstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync"
	"time"

	msqlite "modernc.org/sqlite"
)

// checkpointInterval is how often the checkpointer copies the write-ahead
// log into the SQLite file.
const checkpointInterval = 250 * time.Millisecond

// autocheckpointPages is the log's size, in pages, at which a commit still
// checkpoints (SQLite's default is 1,000): by then the checkpointer has
// copied nearly all of it, so the commit has little left to copy, and the
// next one starts the log again from the beginning. 4,096 pages of 4 KiB
// are 16 MiB.
const autocheckpointPages = 4096

// checkpointer copies a SQLite database's write-ahead log into the database
// file from a connection of its own, so that commits seldom do. By default
// SQLite makes the commit that takes the log past 1,000 pages copy them all
// and sync the file, holding the store's only connection meanwhile. A PASSIVE
// checkpoint takes no write lock, so the store's connection goes on
// committing while it copies. Under a steady stream of commits the log is
// never all copied at the moment a commit starts, which is when SQLite
// starts it again from the beginning; the commit that takes it past
// autocheckpointPages copies the little the checkpointer has not and makes
// that moment come, so the log stays bounded.
type checkpointer struct {
	db     *sql.DB
	cancel context.CancelFunc
	done   sync.WaitGroup
}

func startCheckpointer(ctx context.Context, path string) (*checkpointer, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	connector, err := msqlite.NewConnector(path + "?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s for checkpoints: %w", path, err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s for checkpoints: %w", path, err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{db: db, cancel: cancel}
	c.done.Go(func() { c.run(cctx) })
	return c, nil
}

func (c *checkpointer) run(ctx context.Context) {
	tick := time.NewTicker(checkpointInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			// A failed checkpoint (the file busy with another process)
			// is tried again at the next tick; nothing is lost meanwhile.
			_, _, _ = c.checkpoint(ctx)
		}
	}
}

// checkpoint runs one PASSIVE checkpoint and reports the log's pages and
// how many of them are in the database file now.
func (c *checkpointer) checkpoint(ctx context.Context) (logPages, copied int, err error) {
	var busy int
	err = c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &copied)
	return logPages, copied, err
}

// stop ends the checkpoints with a last one and closes the connection.
func (c *checkpointer) stop() {
	c.cancel()
	c.done.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, _ = c.checkpoint(ctx)
	_ = c.db.Close()
}

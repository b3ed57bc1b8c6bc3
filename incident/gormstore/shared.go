package gormstore

import (
	"context"
	"database/sql"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// sharedReads lets concurrent identical reads share one trip to the
// database: when many people run `list` at once during an outage, one
// SELECT answers all of those that asked while it ran. A read joins one in
// flight only if no write committed through this database handle since that
// one began, so a person always sees what they (or anyone on this replica)
// changed before asking; a write committed on another replica meanwhile may
// be missed by the reads that joined, as it would have been had they asked
// a moment earlier.
//
// A finished read is also kept, and answers again until a write commits
// here (counted), or until another process's may have: on SQLite, whose one
// connection makes every write of this process, SQLite's data_version tells
// of another process's commit, and is asked at most every versionEvery; on
// PostgreSQL, where nothing tells of another replica's commit, a read is
// kept for at most versionEvery. Either way another process's commit shows
// within that time, and this process's at once.
type sharedReads struct {
	writes  atomic.Uint64 // write transactions committed
	flights singleflight.Group

	// version, on SQLite, reports a number that changes when another
	// connection commits to the database.
	version func(ctx context.Context) (int64, error)
	// keepFor, on PostgreSQL, is how long a finished read is kept.
	keepFor time.Duration
	mu      sync.Mutex
	kept    map[string]keptRead
	seen    int64     // the version last read
	seenAt  time.Time // when
}

// versionEvery is how often a kept read asks SQLite whether another process
// committed: asking costs as much as a small read.
const versionEvery = 100 * time.Millisecond

// keptRead is a finished read and the state of the database it saw.
type keptRead struct {
	writes  uint64
	version int64
	val     any
}

// maxKeptReads bounds the reads kept: reads with other filters (a time
// range, a service) push the oldest out.
const maxKeptReads = 32

// sqliteVersion reads SQLite's data_version on the database's connection.
func sqliteVersion(db *sql.DB) func(ctx context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		var v int64
		err := db.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
		return v, err
	}
}

// wrote records a committed write transaction.
func (r *sharedReads) wrote() {
	if r != nil {
		r.writes.Add(1)
	}
}

// do runs read, or answers with the same read kept or in flight since the
// last committed write, whose result callers share and must not modify.
// The read runs on ctx without its cancellation, bounded by its deadline
// (and readGrace), so a caller that gives up does not fail the others.
func (r *sharedReads) do(ctx context.Context, key string, read func(ctx context.Context) (any, error)) (any, error) {
	if r == nil {
		return read(ctx)
	}
	writes := r.writes.Load()
	version, keep := int64(0), false
	if r.version != nil || r.keepFor > 0 {
		v, err := r.currentVersion(ctx)
		if err != nil {
			return nil, err
		}
		version, keep = v, true
		r.mu.Lock()
		k, ok := r.kept[key]
		r.mu.Unlock()
		if ok && k.writes == writes && k.version == version {
			return k.val, nil
		}
	}
	ch := r.flights.DoChan(key+"\x00"+strconv.FormatUint(writes, 10)+"\x00"+strconv.FormatInt(version, 10), func() (any, error) {
		rctx := context.WithoutCancel(ctx)
		if deadline, ok := ctx.Deadline(); ok {
			// A little after the caller's own, so a caller whose time is up
			// hears it from its context (with its cause) rather than from
			// the read.
			var cancel context.CancelFunc
			rctx, cancel = context.WithDeadline(rctx, deadline.Add(readGrace))
			defer cancel()
		}
		val, err := read(rctx)
		if err == nil && keep {
			r.keep(key, keptRead{writes: writes, version: version, val: val})
		}
		return val, err
	})
	select {
	case res := <-ch:
		if res.Err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return res.Val, res.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readGrace is how long a shared read outlives the deadline of the caller
// that started it.
const readGrace = 100 * time.Millisecond

// currentVersion returns the database's data_version, read again once
// versionEvery has passed; or, without one, the number of keepFor periods
// since 1970, which changes every keepFor.
func (r *sharedReads) currentVersion(ctx context.Context) (int64, error) {
	if r.version == nil {
		return time.Now().UnixNano() / int64(r.keepFor), nil
	}
	r.mu.Lock()
	v, at := r.seen, r.seenAt
	r.mu.Unlock()
	if !at.IsZero() && time.Since(at) < versionEvery {
		return v, nil
	}
	now := time.Now()
	v, err := r.version(ctx)
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	if now.After(r.seenAt) {
		r.seen, r.seenAt = v, now
	}
	r.mu.Unlock()
	return v, nil
}

// keep remembers k for key, unless a read that saw a later state is kept.
func (r *sharedReads) keep(key string, k keptRead) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kept == nil {
		r.kept = map[string]keptRead{}
	}
	if old, ok := r.kept[key]; ok && old.writes > k.writes {
		return
	}
	if _, ok := r.kept[key]; !ok && len(r.kept) >= maxKeptReads {
		clear(r.kept)
	}
	r.kept[key] = k
}

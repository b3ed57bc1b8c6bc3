package gormstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RateLimitChannel is the PostgreSQL notification channel on which a
// recorded rate limit is announced.
const RateLimitChannel = "firebreak_outbound_rate_limits"

// rateLimitKeep is how long a lapsed rate limit stays in the table.
const rateLimitKeep = time.Hour

// RateLimits shares the rate limits providers imposed between the replicas
// on one PostgreSQL database (table outbound_rate_limits, channel
// RateLimitChannel). Its writes and its listening connection come from the
// background pool, so they never wait behind the store's foreground work.
type RateLimits struct {
	pool *pgxpool.Pool
}

// NewRateLimits returns the rate limits of db, or nil on SQLite, where one
// process has nothing to share.
func NewRateLimits(db *DB) *RateLimits {
	pool := db.BackgroundPool()
	if pool == nil {
		return nil
	}
	return &RateLimits{pool: pool}
}

// recordRateLimit keeps the later of the two waits and announces the row
// as it now stands; the notification is sent when the statement commits,
// so a listener that reads the table afterwards finds the row.
const recordRateLimit = `WITH up AS (
	INSERT INTO outbound_rate_limits (provider, rate_key, until_ms) VALUES ($1, $2, $3)
	ON CONFLICT (provider, rate_key) DO UPDATE SET until_ms = GREATEST(outbound_rate_limits.until_ms, excluded.until_ms)
	RETURNING provider, rate_key, until_ms
)
SELECT pg_notify($4, json_build_object('schema', current_schema(), 'provider', provider, 'key', rate_key, 'until_ms', until_ms)::text) FROM up`

// pruneRateLimits deletes the limits that lapsed long ago, in a statement of
// its own that waits for no lock (SKIP LOCKED): pruning inside the upsert,
// two replicas recording two keys at once each locked its own row and
// waited for the other's, a deadlock that lost one replica's limit.
const pruneRateLimits = `DELETE FROM outbound_rate_limits WHERE (provider, rate_key) IN (
	SELECT provider, rate_key FROM outbound_rate_limits WHERE until_ms < $1 FOR UPDATE SKIP LOCKED)`

// RecordRateLimit keeps provider's key closed until until and tells every
// replica listening, then prunes the limits that lapsed long ago (a
// failure there loses nothing: the next record prunes them).
func (r *RateLimits) RecordRateLimit(ctx context.Context, provider, key string, until time.Time) error {
	if _, err := r.pool.Exec(ctx, recordRateLimit, provider, key, until.UnixMilli(), RateLimitChannel); err != nil {
		return fmt.Errorf("record rate limit: %w", err)
	}
	if _, err := r.pool.Exec(ctx, pruneRateLimits, time.Now().Add(-rateLimitKeep).UnixMilli()); err != nil {
		return fmt.Errorf("prune lapsed rate limits: %w", err)
	}
	return nil
}

// rateLimitNote is a notification's payload.
type rateLimitNote struct {
	Schema   string `json:"schema"`
	Provider string `json:"provider"`
	Key      string `json:"key"`
	UntilMS  int64  `json:"until_ms"`
}

// ListenRateLimits holds one connection of the background pool, listens
// on RateLimitChannel, applies the limits in force, calls listening, and
// then applies each one announced, until ctx ends or the connection
// fails. It starts listening before it reads the table, so a limit
// recorded in between is read, announced, or both. Notifications from
// another schema of the same database (another installation) are ignored.
func (r *RateLimits) ListenRateLimits(ctx context.Context, apply func(provider, key string, until time.Time), listening func()) error {
	pc, err := r.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("listen for rate limits: %w", err)
	}
	// The connection is closed, not handed back LISTENing: the pool then
	// drops it and opens another when it needs one.
	conn := pc.Conn()
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
		pc.Release()
	}()
	var schema string
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{RateLimitChannel}.Sanitize()); err != nil {
		return fmt.Errorf("listen for rate limits: %w", err)
	}
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fmt.Errorf("listen for rate limits: %w", err)
	}
	if err := readRateLimits(ctx, conn, apply); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("listen for rate limits: %w", err)
		}
		var note rateLimitNote
		if err := json.Unmarshal([]byte(n.Payload), &note); err != nil || note.Schema != schema {
			continue
		}
		apply(note.Provider, note.Key, time.UnixMilli(note.UntilMS))
	}
}

// readRateLimits applies every limit in force.
func readRateLimits(ctx context.Context, conn *pgx.Conn, apply func(provider, key string, until time.Time)) error {
	rows, err := conn.Query(ctx, "SELECT provider, rate_key, until_ms FROM outbound_rate_limits WHERE until_ms > $1",
		time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("read rate limits: %w", err)
	}
	type limit struct {
		provider, key string
		until         int64
	}
	var limits []limit
	for rows.Next() {
		var l limit
		if err := rows.Scan(&l.provider, &l.key, &l.until); err != nil {
			rows.Close()
			return fmt.Errorf("read rate limits: %w", err)
		}
		limits = append(limits, l)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read rate limits: %w", err)
	}
	for _, l := range limits {
		apply(l.provider, l.key, time.UnixMilli(l.until))
	}
	return nil
}

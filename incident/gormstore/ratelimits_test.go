package gormstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// heard is a rate limit a listener applied, and when.
type heard struct {
	provider, key string
	until, at     time.Time
}

// listenRateLimits runs ListenRateLimits on its own connection to dsn and
// returns what it applies, once it listens.
func listenRateLimits(t *testing.T, ctx context.Context, dsn string) <-chan heard {
	t.Helper()
	db, err := gormstore.Open(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	out := make(chan heard, 1024)
	listening := make(chan struct{})
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- gormstore.NewRateLimits(db).ListenRateLimits(lctx, func(p, k string, u time.Time) {
			out <- heard{provider: p, key: k, until: u, at: time.Now()}
		}, func() { close(listening) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-listening:
	case err := <-done:
		t.Fatalf("listen: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not listening after 10 s")
	}
	return out
}

func TestRateLimitsSharedOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.MigratedDSN(t)
	ctx := context.Background()
	db, err := gormstore.Open(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	limits := gormstore.NewRateLimits(db)

	until := time.Now().Add(time.Minute).Truncate(time.Millisecond)
	require.NoError(t, limits.RecordRateLimit(ctx, "slack", "chat.postMessage/C1", until))
	require.NoError(t, limits.RecordRateLimit(ctx, "slack", "conversations.info", time.Now().Add(-time.Second)))

	// A replica that starts later reads the limits in force, lapsed ones
	// left out.
	late := listenRateLimits(t, ctx, dsn)
	got := <-late
	require.Equal(t, heard{provider: "slack", key: "chat.postMessage/C1", until: until, at: got.at}, got)
	require.Empty(t, late)

	// An earlier wait never shortens a later one.
	require.NoError(t, limits.RecordRateLimit(ctx, "slack", "chat.postMessage/C1", until.Add(-30*time.Second)))
	got = <-late
	require.True(t, got.until.Equal(until), "the longer wait stands: %v", got.until)

	// Every replica listening hears a new limit within milliseconds;
	// measure it.
	var delays []time.Duration
	for i := range 50 {
		u := time.Now().Add(time.Minute)
		sent := time.Now()
		require.NoError(t, limits.RecordRateLimit(ctx, "slack", "views.open", u.Add(time.Duration(i)*time.Millisecond)))
		select {
		case h := <-late:
			require.Equal(t, "views.open", h.key)
			delays = append(delays, h.at.Sub(sent))
		case <-time.After(5 * time.Second):
			t.Fatal("the notification never came")
		}
	}
	slices.Sort(delays)
	t.Logf("record to applied on another connection: p50 %v, p90 %v, max %v (n=%d)",
		delays[len(delays)/2], delays[len(delays)*9/10], delays[len(delays)-1], len(delays))
	require.Less(t, delays[len(delays)/2], time.Second)
}

func TestRateLimitsNilOnSQLite(t *testing.T) {
	t.Parallel()
	db, err := gormstore.Open(context.Background(), ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.Nil(t, gormstore.NewRateLimits(db), "one process has nothing to share")
}

// Replicas record limits at the same moment, after a quiet hour left every
// row long lapsed: pruning those rows waits for no lock, so neither
// replica's limit is lost to a deadlock.
func TestRateLimitsRecordedAtOnceAfterAQuietHour(t *testing.T) {
	t.Parallel()
	dsn := pgtest.MigratedDSN(t)
	ctx := context.Background()
	db, err := gormstore.Open(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	limits := gormstore.NewRateLimits(db)
	long := time.Now().Add(-2 * time.Hour)
	keys := []string{"chat.postMessage/C1", "chat.postMessage/C2", "conversations.info", "users.info"}
	for round := range 30 {
		for _, k := range keys { // lapsed long ago, each replica's key
			_, err := db.SQL().ExecContext(ctx, `INSERT INTO outbound_rate_limits (provider, rate_key, until_ms) VALUES ('slack', $1, $2)
				ON CONFLICT (provider, rate_key) DO UPDATE SET until_ms = excluded.until_ms`, k, long.UnixMilli())
			require.NoError(t, err)
		}
		errs := make(chan error, len(keys))
		for _, k := range keys {
			go func() { errs <- limits.RecordRateLimit(ctx, "slack", k, time.Now().Add(time.Minute)) }()
		}
		for range keys {
			require.NoError(t, <-errs, "round %d", round)
		}
	}
}

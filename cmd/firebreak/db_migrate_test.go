package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/migrations"
)

// latestMigration is the highest migration version this release has.
func latestMigration(t *testing.T, d migrations.Dialect) int64 {
	t.Helper()
	fsys, err := migrations.FS(d)
	require.NoError(t, err)
	names, err := fs.Glob(fsys, "*.sql")
	require.NoError(t, err)
	var latest int64
	for _, name := range names {
		var v int64
		_, err := fmt.Sscanf(name, "%d_", &v)
		require.NoError(t, err)
		latest = max(latest, v)
	}
	return latest
}

// TestNewerSchemaIsSaidAndServed: a database a newer release migrated (its
// migration 00099 is unknown to this release) is what an older binary
// meets during a rolling deploy or after a rollback. serve warns, naming
// both versions, and starts; migrate status lists the version as "applied
// (unknown to this release)"; migrate up says so and succeeds; migrate
// down refuses to touch it and names the release to run it with.
func TestNewerSchemaIsSaidAndServed(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			env := map[string]string{"SQLITE_PATH": filepath.Join(t.TempDir(), "bot.db")}
			url := "sqlite:" + env["SQLITE_PATH"]
			if dialect == "postgres" {
				env["DATABASE_URL"] = pgtest.DSN(t)
				url = env["DATABASE_URL"]
			}
			require.NoError(t, run(ctx, []string{"migrate", "up"}, envOf(env), io.Discard, io.Discard))
			db, err := gormstore.Open(ctx, url)
			require.NoError(t, err)
			_, err = db.SQL().Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, true)`)
			require.NoError(t, err)
			require.NoError(t, db.Close())
			latest := fmt.Sprintf("%05d", latestMigration(t, db.Dialect()))

			var out bytes.Buffer
			require.NoError(t, run(ctx, []string{"migrate", "status"}, envOf(env), &out, io.Discard))
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			require.Regexp(t, `^99\s+\?\s+applied \(unknown to this release\) 20\d\d-`, lines[len(lines)-1], out.String())

			out.Reset()
			require.NoError(t, run(ctx, []string{"migrate", "up"}, envOf(env), &out, io.Discard))
			require.Contains(t, out.String(), "warning: the database's schema is at version 00099, newer than this release's "+latest)

			err = run(ctx, []string{"migrate", "down"}, envOf(env), io.Discard, io.Discard)
			require.EqualError(t, err, "migrate down: the latest migration applied, 00099, is unknown to this release (which knows up to "+latest+"): "+
				"a newer release of firebreak applied it; run migrate down with the release that applied it")
			err = run(ctx, []string{"migrate", "down", "all"}, envOf(env), io.Discard, io.Discard)
			require.ErrorContains(t, err, "run migrate down with the release that applied it")

			b := startBot(t, botOptions{mode: "http", sqlitePath: env["SQLITE_PATH"], databaseURL: env["DATABASE_URL"]})
			code, state := b.serving()
			require.Equal(t, http.StatusOK, code)
			require.Equal(t, "serving", state)
			var warning struct {
				Msg      string `json:"msg"`
				Database int64  `json:"database_version"`
				Release  int64  `json:"release_version"`
			}
			for _, line := range strings.Split(b.logs.String(), "\n") {
				if strings.Contains(line, "newer release") {
					require.NoError(t, json.Unmarshal([]byte(line), &warning))
				}
			}
			require.Equal(t, int64(99), warning.Database, b.logs.String())
			require.Equal(t, latestMigration(t, db.Dialect()), warning.Release)
			require.Contains(t, warning.Msg, "00099")
			require.Contains(t, warning.Msg, latest)
		})
	}
}

// TestProbesWhileTheMigrationWaitsForALock: an old replica's transaction
// holds a lock a migration needs (it read incidents, then went quiet). The
// new replica answers its liveness probe while the migration waits, and
// its readiness probe 503 saying it is migrating the database, so the
// kubelet does not kill it for the wait; once the transaction ends it
// migrates and serves.
func TestProbesWhileTheMigrationWaitsForALock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	schema, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = schema.Close() })
	require.NoError(t, migrations.UpTo(ctx, schema, migrations.Postgres, 34))
	old, err := schema.Begin()
	require.NoError(t, err)
	t.Cleanup(func() { _ = old.Rollback() })
	var n int
	require.NoError(t, old.QueryRow(`SELECT count(*) FROM incidents`).Scan(&n))

	admin := freeAddr(t)
	// probe is one round of the kubelet's probes: liveness, then
	// readiness and what it says.
	type probe struct {
		healthz, serving int
		state            string
	}
	probes := make(chan []probe, 1)
	go func() {
		get := func(path string) (int, string) {
			resp, err := http.Get("http://" + admin + path)
			if err != nil {
				return 0, ""
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var s struct {
				Status string `json:"status"`
			}
			_ = json.Unmarshal(body, &s)
			return resp.StatusCode, s.Status
		}
		var seen []probe
		// Past several of the migration's lock timeouts (1 s), then the old
		// transaction ends.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			var p probe
			p.healthz, _ = get("/healthz")
			p.serving, p.state = get("/serving")
			if p.healthz != 0 || len(seen) > 0 {
				seen = append(seen, p)
			}
		}
		_ = old.Rollback()
		probes <- seen
	}()
	b := startBot(t, botOptions{mode: "http", databaseURL: dsn, env: map[string]string{"ADMIN_ADDR": admin}})
	seen := <-probes
	require.Greater(t, len(seen), 30, "the admin listener answered all along the wait")
	migrating := 0
	for _, p := range seen {
		if p.state == "migrating the database" {
			migrating++
			continue
		}
		require.Equal(t, probe{http.StatusOK, http.StatusServiceUnavailable, "opening the database"}, p, "before the migration starts")
		require.Zero(t, migrating, "before the migration starts")
	}
	require.Greater(t, migrating, 25)
	for _, p := range seen[len(seen)-migrating:] {
		require.Equal(t, probe{http.StatusOK, http.StatusServiceUnavailable, "migrating the database"}, p)
	}
	require.Contains(t, b.logs.String(), "waits for a lock other sessions hold")
	resp, err := http.Get("http://" + admin + "/serving")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

package migrations_test

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/migrations"
)

// tables00001 are the tables 00001 creates.
var tables00001 = []string{"action_items", "change_events", "deliveries", "incident_counters", "incidents", "status_updates", "timeline_events"}

// tables00010 are the tables 00010 adds.
var tables00010 = []string{"exports", "pages", "rollbacks"}

// tables00022 are the tables 00022 adds.
var tables00022 = []string{"alerts", "notices", "reviews"}

// tables00011 are the tables 00011 adds.
var tables00011 = []string{"job_instances"}

// ourTables are all the incident tables.
var ourTables = append(append(append(append([]string{}, tables00001...), tables00010...), tables00011...), tables00022...)

// riverTables are River's tables at its latest main-line version.
var riverTables = []string{"river_job", "river_leader", "river_migration", "river_notification", "river_queue"}

type dialectDB struct {
	dialect migrations.Dialect
	db      *sql.DB
	dsn     string
}

func openSQLite(t *testing.T) dialectDB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	require.NoError(t, err)
	// The same single connection the application uses for River's sake.
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return dialectDB{dialect: migrations.SQLite, db: db, dsn: dsn}
}

func openPostgres(t *testing.T) dialectDB {
	t.Helper()
	dsn := pgtest.DSN(t)
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return dialectDB{dialect: migrations.Postgres, db: db, dsn: dsn}
}

func dialects() []struct {
	name string
	open func(*testing.T) dialectDB
} {
	return []struct {
		name string
		open func(*testing.T) dialectDB
	}{
		{"sqlite", openSQLite},
		{"postgres", openPostgres},
	}
}

func tables(t *testing.T, d dialectDB) []string {
	t.Helper()
	q := `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	if d.dialect == migrations.SQLite {
		q = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	}
	rows, err := d.db.QueryContext(context.Background(), q)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		out = append(out, name)
	}
	require.NoError(t, rows.Err())
	sort.Strings(out)
	return out
}

// otherObjects lists what Postgres keeps outside tables (River's enum type and
// functions), which a full rollback must remove too.
func otherObjects(t *testing.T, d dialectDB) []string {
	t.Helper()
	if d.dialect != migrations.Postgres {
		return nil
	}
	rows, err := d.db.QueryContext(context.Background(), `
		SELECT 'type ' || t.typname FROM pg_type t
		JOIN pg_namespace n ON n.oid = t.typnamespace
		WHERE n.nspname = current_schema() AND t.typtype = 'e'
		UNION ALL
		SELECT 'function ' || p.proname FROM pg_proc p
		JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = current_schema()`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		out = append(out, name)
	}
	require.NoError(t, rows.Err())
	return out
}

func migrationCount(t *testing.T, d migrations.Dialect) int {
	t.Helper()
	fsys, err := migrations.FS(d)
	require.NoError(t, err)
	names, err := fs.Glob(fsys, "*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, names)
	return len(names)
}

// riverVersions asks River itself which of its versions are applied and
// whether it considers the schema complete.
func riverVersions(t *testing.T, d dialectDB) (versions []int, ok bool) {
	t.Helper()
	ctx := context.Background()
	collect := func(existing []rivermigrate.Migration, res *rivermigrate.ValidateResult) {
		for _, m := range existing {
			versions = append(versions, m.Version)
		}
		ok = res.OK
	}
	switch d.dialect {
	case migrations.Postgres:
		pool, err := pgxpool.New(ctx, d.dsn)
		require.NoError(t, err)
		defer pool.Close()
		m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
		require.NoError(t, err)
		existing, err := m.ExistingVersions(ctx)
		require.NoError(t, err)
		res, err := m.Validate(ctx, nil)
		require.NoError(t, err)
		collect(existing, res)
	case migrations.SQLite:
		m, err := rivermigrate.New(riversqlite.New(d.db), nil)
		require.NoError(t, err)
		existing, err := m.ExistingVersions(ctx)
		require.NoError(t, err)
		res, err := m.Validate(ctx, nil)
		require.NoError(t, err)
		collect(existing, res)
	}
	return versions, ok
}

func TestUpDownUp(t *testing.T) {
	t.Parallel()
	for _, tc := range dialects() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := tc.open(t)
			total := migrationCount(t, d.dialect)

			st, err := migrations.Status(ctx, d.db, d.dialect)
			require.NoError(t, err)
			require.Len(t, st, total)
			for i, s := range st {
				require.False(t, s.Applied, "%s applied before Up", s.Name)
				require.True(t, s.AppliedAt.IsZero())
				if i > 0 {
					// Versions increase; gaps between them are allowed.
					require.Greater(t, s.Version, st[i-1].Version)
				}
			}
			require.Equal(t, "00001_incidents.sql", st[0].Name)
			require.ErrorIs(t, migrations.Down(ctx, d.db, d.dialect), migrations.ErrNothingToRollBack)

			require.NoError(t, migrations.Up(ctx, d.db, d.dialect))
			st, err = migrations.Status(ctx, d.db, d.dialect)
			require.NoError(t, err)
			for _, s := range st {
				require.True(t, s.Applied, "%s pending after Up", s.Name)
				require.False(t, s.AppliedAt.IsZero())
			}
			got := tables(t, d)
			for _, name := range append(append([]string{}, ourTables...), riverTables...) {
				require.Contains(t, got, name)
			}
			versions, ok := riverVersions(t, d)
			require.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8}, versions)
			require.True(t, ok, "River considers its schema incomplete")

			// Up again is a no-op.
			require.NoError(t, migrations.Up(ctx, d.db, d.dialect))

			// Down rolls back exactly the newest migration.
			require.NoError(t, migrations.Down(ctx, d.db, d.dialect))
			st, err = migrations.Status(ctx, d.db, d.dialect)
			require.NoError(t, err)
			require.False(t, st[total-1].Applied)
			require.True(t, st[total-2].Applied)

			// Down to 00010 leaves it applied and everything later pending;
			// one more Down removes 00010, then River's version 8.
			require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 10))
			st, err = migrations.Status(ctx, d.db, d.dialect)
			require.NoError(t, err)
			at10 := -1
			for i, s := range st {
				require.Equal(t, s.Version <= 10, s.Applied, "%s", s.Name)
				if s.Version == 10 {
					at10 = i
				}
			}
			require.GreaterOrEqual(t, at10, 1)
			require.NoError(t, migrations.Down(ctx, d.db, d.dialect))
			st, err = migrations.Status(ctx, d.db, d.dialect)
			require.NoError(t, err)
			require.False(t, st[at10].Applied)
			require.True(t, st[at10-1].Applied)
			got = tables(t, d)
			for _, name := range tables00010 {
				require.NotContains(t, got, name)
			}
			require.Contains(t, got, "incidents")
			versions, ok = riverVersions(t, d)
			require.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8}, versions)
			require.True(t, ok)

			require.NoError(t, migrations.Down(ctx, d.db, d.dialect))
			st, err = migrations.Status(ctx, d.db, d.dialect)
			require.NoError(t, err)
			require.False(t, st[at10-1].Applied)
			require.True(t, st[at10-2].Applied)
			versions, ok = riverVersions(t, d)
			require.Equal(t, []int{1, 2, 3, 4, 5, 6, 7}, versions)
			require.False(t, ok)

			// All the way down leaves only goose's version table.
			require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 0))
			require.Equal(t, []string{"goose_db_version"}, tables(t, d))
			require.Empty(t, otherObjects(t, d))
			st, err = migrations.Status(ctx, d.db, d.dialect)
			require.NoError(t, err)
			for _, s := range st {
				require.False(t, s.Applied, "%s applied after DownTo(0)", s.Name)
			}

			// And up again from scratch.
			require.NoError(t, migrations.Up(ctx, d.db, d.dialect))
			versions, ok = riverVersions(t, d)
			require.Len(t, versions, 8)
			require.True(t, ok)
			require.Subset(t, tables(t, d), ourTables)
		})
	}
}

func TestDownToKeepsLowerVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openSQLite(t)
	require.NoError(t, migrations.Up(ctx, d.db, d.dialect))
	require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 1))
	st, err := migrations.Status(ctx, d.db, d.dialect)
	require.NoError(t, err)
	require.True(t, st[0].Applied)
	for _, s := range st[1:] {
		require.False(t, s.Applied)
	}
	got := tables(t, d)
	require.Subset(t, got, tables00001)
	require.NotContains(t, got, "river_job")
	for _, name := range tables00010 {
		require.NotContains(t, got, name)
	}
}

// TestConcurrentUpPostgres starts several "replicas" at once; the advisory
// lock makes them take turns, so each one succeeds and the schema is applied
// once.
func TestConcurrentUpPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openPostgres(t)
	const replicas = 4
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		db, err := sql.Open("pgx", d.dsn)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = migrations.Up(ctx, db, migrations.Postgres)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "replica %d", i)
	}
	var applied int
	require.NoError(t, d.db.QueryRowContext(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied))
	require.Equal(t, migrationCount(t, migrations.Postgres), applied)
}

func TestUnknownDialect(t *testing.T) {
	t.Parallel()
	d := openSQLite(t)
	err := migrations.Up(context.Background(), d.db, migrations.Dialect("mysql"))
	require.ErrorContains(t, err, "unknown dialect")
	require.False(t, migrations.Dialect("mysql").Valid())
	require.True(t, migrations.SQLite.Valid())
}

// TestMigration00010 checks what a schema test of the latest version cannot:
// incidents declared before 00010 get its defaults, rolling 00010 back keeps
// them, and the new tables follow their incident on delete.
func TestMigration00010(t *testing.T) {
	t.Parallel()
	for _, tc := range dialects() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := tc.open(t)
			exec := func(q string) error {
				_, err := d.db.ExecContext(ctx, q)
				return err
			}
			count := func(table string) int {
				var n int
				require.NoError(t, d.db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n))
				return n
			}
			require.NoError(t, migrations.UpTo(ctx, d.db, d.dialect, 10))
			require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 9))
			require.NoError(t, exec(`INSERT INTO incidents (id, number, title, severity, status, declared_at, updated_at)
				VALUES (1, 1, 'checkout is down', 2, 'declared', '2026-03-02 09:30:00+00:00', '2026-03-02 09:30:00+00:00')`))

			require.NoError(t, migrations.UpTo(ctx, d.db, d.dialect, 10))
			var (
				nags                 int
				noUpdate, noSnoozing bool
			)
			require.NoError(t, d.db.QueryRowContext(ctx,
				`SELECT nag_count, last_update_at IS NULL, snoozed_until IS NULL FROM incidents WHERE id = 1`).
				Scan(&nags, &noUpdate, &noSnoozing))
			require.Zero(t, nags)
			require.True(t, noUpdate)
			require.True(t, noSnoozing)
			require.Error(t, exec(`UPDATE incidents SET nag_count = -1 WHERE id = 1`), "a negative nag count is refused")

			require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 9))
			require.Equal(t, 1, count("incidents"), "rolling 00010 back keeps the incidents")
			require.Error(t, exec(`UPDATE incidents SET nag_count = 1`), "the column is gone")
			require.NoError(t, migrations.UpTo(ctx, d.db, d.dialect, 10))

			require.NoError(t, exec(`INSERT INTO pages (incident_id, provider, dedup_key, created_at)
				VALUES (1, 'pagerduty', 'INC-1', '2026-03-02 09:31:00+00:00')`))
			require.Error(t, exec(`INSERT INTO pages (incident_id, provider, dedup_key, created_at)
				VALUES (1, 'pagerduty', 'INC-1', '2026-03-02 09:32:00+00:00')`), "provider and dedup key are unique")
			require.NoError(t, exec(`INSERT INTO rollbacks (incident_id, key, plan, status, created_at, updated_at)
				VALUES (1, 'deploy:1', '{}', 'running', '2026-03-02 09:33:00+00:00', '2026-03-02 09:33:00+00:00')`))
			require.NoError(t, exec(`INSERT INTO exports (incident_id, target, exported_at)
				VALUES (1, 'confluence', '2026-03-02 09:34:00+00:00')`))
			require.Error(t, exec(`INSERT INTO exports (incident_id, target, exported_at)
				VALUES (2, 'github', '2026-03-02 09:34:00+00:00')`), "an export needs its incident")

			require.NoError(t, exec(`DELETE FROM incidents WHERE id = 1`))
			for _, table := range tables00010 {
				require.Zero(t, count(table), "%s rows go with their incident", table)
			}
		})
	}
}

// TestMigration00019 checks that incidents declared before 00019 are not
// drills, and that rolling it back keeps them.
func TestMigration00019(t *testing.T) {
	t.Parallel()
	for _, tc := range dialects() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := tc.open(t)
			exec := func(q string) error {
				_, err := d.db.ExecContext(ctx, q)
				return err
			}
			require.NoError(t, migrations.UpTo(ctx, d.db, d.dialect, 18))
			require.NoError(t, exec(`INSERT INTO incidents (id, number, title, severity, status, declared_at, updated_at)
				VALUES (1, 1, 'checkout is down', 2, 'declared', '2026-03-02 09:30:00+00:00', '2026-03-02 09:30:00+00:00')`))
			require.Error(t, exec(`UPDATE incidents SET drill = true`), "no drill column before 00019")

			require.NoError(t, migrations.UpTo(ctx, d.db, d.dialect, 19))
			var drill bool
			require.NoError(t, d.db.QueryRowContext(ctx, `SELECT drill FROM incidents WHERE id = 1`).Scan(&drill))
			require.False(t, drill, "an existing incident is not a drill")
			require.NoError(t, exec(`UPDATE incidents SET drill = true WHERE id = 1`))

			require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 18))
			var n int
			require.NoError(t, d.db.QueryRowContext(ctx, `SELECT count(*) FROM incidents`).Scan(&n))
			require.Equal(t, 1, n, "rolling 00019 back keeps the incidents")
			require.Error(t, exec(`UPDATE incidents SET drill = true`), "the column is gone")
		})
	}
}

// TestMigration00015 checks that changes recorded before 00015 get revision
// 0, and that rolling it back keeps them.
func TestMigration00015(t *testing.T) {
	t.Parallel()
	for _, tc := range dialects() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := tc.open(t)
			exec := func(q string) error {
				_, err := d.db.ExecContext(ctx, q)
				return err
			}
			require.NoError(t, migrations.UpTo(ctx, d.db, d.dialect, 14))
			require.NoError(t, exec(`INSERT INTO change_events (source, external_id, kind, occurred_at)
				VALUES ('github', 'deployment:acme/shop:1', 'deploy', '2026-03-02 09:30:00+00:00')`))
			require.Error(t, exec(`UPDATE change_events SET revision = 1`), "no revision column before 00015")

			require.NoError(t, migrations.UpTo(ctx, d.db, d.dialect, 15))
			var revision int64
			require.NoError(t, d.db.QueryRowContext(ctx, `SELECT revision FROM change_events`).Scan(&revision))
			require.Zero(t, revision, "an existing change never moved")
			require.NoError(t, exec(`UPDATE change_events SET revision = 7`))

			require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 14))
			var n int
			require.NoError(t, d.db.QueryRowContext(ctx, `SELECT count(*) FROM change_events`).Scan(&n))
			require.Equal(t, 1, n, "rolling 00015 back keeps the changes")
			require.Error(t, exec(`UPDATE change_events SET revision = 1`), "the column is gone")
		})
	}
}

// TestMigration00017 checks that incidents declared before 00017 are not on
// the status page, and that rolling it back keeps them.
func TestMigration00017(t *testing.T) {
	t.Parallel()
	for _, tc := range dialects() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := tc.open(t)
			exec := func(q string) error {
				_, err := d.db.ExecContext(ctx, q)
				return err
			}
			require.NoError(t, migrations.UpTo(ctx, d.db, d.dialect, 16))
			require.NoError(t, exec(`INSERT INTO incidents (id, number, title, severity, status, declared_at, updated_at)
				VALUES (1, 1, 'checkout is down', 1, 'declared', '2026-03-02 09:30:00+00:00', '2026-03-02 09:30:00+00:00')`))
			require.Error(t, exec(`UPDATE incidents SET public_id = 'x'`), "no public_id column before 00017")

			require.NoError(t, migrations.UpTo(ctx, d.db, d.dialect, 17))
			var provider, id, url string
			require.NoError(t, d.db.QueryRowContext(ctx, `SELECT public_provider, public_id, public_url FROM incidents WHERE id = 1`).
				Scan(&provider, &id, &url))
			require.Equal(t, [3]string{}, [3]string{provider, id, url}, "an existing incident is not on the status page")
			require.NoError(t, exec(`UPDATE incidents SET public_provider = 'statuspage', public_id = 'p1', public_url = 'https://stspg.io/p1'`))

			require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 16))
			var n int
			require.NoError(t, d.db.QueryRowContext(ctx, "SELECT count(*) FROM incidents").Scan(&n))
			require.Equal(t, 1, n, "rolling 00017 back keeps the incidents")
			require.Error(t, exec(`UPDATE incidents SET public_id = 'x'`), "the column is gone")
		})
	}
}

// TestMigration00023 checks that on PostgreSQL the incident number sequence
// goes on from the counter, and rolling it back hands the counter the last
// number the sequence gave; on SQLite the counter stays as it is.
func TestMigration00023(t *testing.T) {
	t.Parallel()
	for _, tc := range dialects() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := tc.open(t)
			counter := func() int64 {
				var v int64
				require.NoError(t, d.db.QueryRowContext(ctx, `SELECT value FROM incident_counters WHERE name = 'incident_number'`).Scan(&v))
				return v
			}
			require.NoError(t, migrations.UpTo(ctx, d.db, d.dialect, 22))
			_, err := d.db.ExecContext(ctx, `UPDATE incident_counters SET value = 41 WHERE name = 'incident_number'`)
			require.NoError(t, err)

			require.NoError(t, migrations.UpTo(ctx, d.db, d.dialect, 23))
			if d.dialect != migrations.Postgres {
				require.EqualValues(t, 41, counter(), "SQLite keeps its counter")
				require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 22))
				require.EqualValues(t, 41, counter())
				return
			}
			var next int64
			require.NoError(t, d.db.QueryRowContext(ctx, `SELECT nextval('incident_number_seq')`).Scan(&next))
			require.EqualValues(t, 42, next, "numbers go on from the counter")
			require.NoError(t, d.db.QueryRowContext(ctx, `SELECT nextval('incident_number_seq')`).Scan(&next))
			require.EqualValues(t, 43, next)

			require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 22))
			require.EqualValues(t, 43, counter(), "the counter goes on from the last number handed out")
			_, err = d.db.ExecContext(ctx, `SELECT nextval('incident_number_seq')`)
			require.Error(t, err, "the sequence is gone")

			// A database that never numbered an incident starts at 1.
			_, err = d.db.ExecContext(ctx, `UPDATE incident_counters SET value = 0 WHERE name = 'incident_number'`)
			require.NoError(t, err)
			require.NoError(t, migrations.UpTo(ctx, d.db, d.dialect, 23))
			require.NoError(t, d.db.QueryRowContext(ctx, `SELECT nextval('incident_number_seq')`).Scan(&next))
			require.EqualValues(t, 1, next)
		})
	}
}

// TestMigration00024 checks that on PostgreSQL an incident inserted without
// a number takes the sequence's next one, and that rolling the migration
// back makes the number required again; SQLite is unchanged.
func TestMigration00024(t *testing.T) {
	t.Parallel()
	for _, tc := range dialects() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := tc.open(t)
			require.NoError(t, migrations.UpTo(ctx, d.db, d.dialect, 24))
			if d.dialect != migrations.Postgres {
				require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 23))
				return
			}
			insert := func() (int64, error) {
				var number int64
				err := d.db.QueryRowContext(ctx, `INSERT INTO incidents (title, severity, status, declared_by, declared_at, updated_at)
					VALUES ('t', 1, 'declared', 'U1', now(), now()) RETURNING number`).Scan(&number)
				return number, err
			}
			first, err := insert()
			require.NoError(t, err)
			second, err := insert()
			require.NoError(t, err)
			require.Equal(t, first+1, second, "each insert takes the next number")
			require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 23))
			_, err = insert()
			require.Error(t, err, "without the default a number is required")
		})
	}
}

// TestMigration00030 checks that a page existing before 00030 gets the
// count of the times PagerDuty put it back to triggered, as its timeline
// recorded them, and that rolling it back keeps the pages.
func TestMigration00030(t *testing.T) {
	t.Parallel()
	for _, tc := range dialects() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := tc.open(t)
			exec := func(q string) {
				t.Helper()
				_, err := d.db.ExecContext(ctx, q)
				require.NoError(t, err)
			}
			require.NoError(t, migrations.UpTo(ctx, d.db, d.dialect, 29))
			exec(`INSERT INTO incidents (id, number, title, severity, status, declared_at, updated_at)
				VALUES (1, 1, 'checkout is down', 1, 'declared', '2026-03-02 09:30:00+00:00', '2026-03-02 09:30:00+00:00')`)
			exec(`INSERT INTO pages (id, incident_id, provider, dedup_key, status, created_at)
				VALUES (1, 1, 'pagerduty', 'inc-1-payments', 'triggered', '2026-03-02 09:30:01+00:00'),
				       (2, 1, 'pagerduty', 'inc-1-checkout', 'acknowledged', '2026-03-02 09:30:01+00:00')`)
			exec(`INSERT INTO timeline_events (incident_id, kind, actor, at, source_id, data) VALUES
				(1, 'paged', 'pagerduty', '2026-03-02 09:40:00+00:00', 'pd:1', '{"page":"inc-1-payments","event":"unacknowledged"}'),
				(1, 'paged', 'pagerduty', '2026-03-02 09:50:00+00:00', 'pd:2', '{"page":"inc-1-payments","event":"reopened"}'),
				(1, 'paged', 'pagerduty', '2026-03-02 09:55:00+00:00', 'pd:3', '{"page":"inc-1-payments","event":"escalated"}'),
				(1, 'paged', 'bot', '2026-03-02 09:56:00+00:00', 'echo:1', '{"page":"inc-1-payments","event":"unacknowledged"}'),
				(1, 'paged', 'pagerduty', '2026-03-02 09:57:00+00:00', 'pd:4', '{"page":"inc-1-checkout","event":"unacknowledged"}')`)

			require.NoError(t, migrations.UpTo(ctx, d.db, d.dialect, 30))
			counts := map[int]int{}
			rows, err := d.db.QueryContext(ctx, `SELECT id, retriggers FROM pages`)
			require.NoError(t, err)
			for rows.Next() {
				var id, n int
				require.NoError(t, rows.Scan(&id, &n))
				counts[id] = n
			}
			require.NoError(t, rows.Err())
			require.NoError(t, rows.Close())
			require.Equal(t, map[int]int{1: 2, 2: 1}, counts, "PagerDuty's unacknowledgements and reopenings of each page, not the bot's records or escalations")

			require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 29))
			var n int
			require.NoError(t, d.db.QueryRowContext(ctx, `SELECT count(*) FROM pages`).Scan(&n))
			require.Equal(t, 2, n, "rolling 00030 back keeps the pages")
		})
	}
}

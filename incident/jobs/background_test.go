package jobs

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/migrations"
)

// recordCommitModes makes PostgreSQL note, for every row written to
// river_job, the statement's kind, the job's state and whether the
// transaction's commit waits for the disk (synchronous_commit).
func recordCommitModes(t *testing.T, pool *pgxpool.Pool) func() map[string][]string {
	t.Helper()
	ctx := context.Background()
	_, err := pool.Exec(ctx, `
CREATE TABLE commit_modes (id bigserial PRIMARY KEY, op text NOT NULL, state text NOT NULL, mode text NOT NULL);
CREATE FUNCTION note_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO commit_modes (op, state, mode) VALUES (TG_OP, NEW.state::text, current_setting('synchronous_commit'));
	RETURN NEW;
END $$;
CREATE TRIGGER note_commit_mode AFTER INSERT OR UPDATE ON river_job FOR EACH ROW EXECUTE FUNCTION note_commit_mode();`)
	require.NoError(t, err)
	return func() map[string][]string {
		rows, err := pool.Query(ctx, "SELECT op || ' ' || state, mode FROM commit_modes ORDER BY id")
		require.NoError(t, err)
		defer rows.Close()
		out := map[string][]string{}
		for rows.Next() {
			var what, mode string
			require.NoError(t, rows.Scan(&what, &mode))
			out[what] = append(out[what], mode)
		}
		require.NoError(t, rows.Err())
		return out
	}
}

// TestBackgroundPoolTakesRiversOwnWrites: with a background pool, the jobs
// Schedule and ScheduleManyTx insert commit durably, and River's own writes
// (taking a job, completing it) commit without waiting for the disk.
func TestBackgroundPoolTakesRiversOwnWrites(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	pool := openPool(t, dsn)
	require.NoError(t, migrations.Up(context.Background(), stdlib.OpenDBFromPool(pool), migrations.Postgres))
	modes := recordCommitModes(t, pool)

	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	bg, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(bg.Close)

	opts := testOptions()
	opts.BackgroundPool = bg
	e, err := NewPostgres(pool, opts)
	require.NoError(t, err)
	var rec recorder
	e.Handle("work", rec.handle)

	ctx := context.Background()
	_, err = e.Schedule(ctx, incident.Job{Kind: "work", Payload: []byte("alone"), Urgent: true})
	require.NoError(t, err)
	db := stdlib.OpenDBFromPool(pool)
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, e.ScheduleManyTx(ctx, tx, []incident.Job{{Kind: "work", Payload: []byte("with rows")}}))
	require.NoError(t, tx.Commit())

	start(t, e)
	require.Eventually(t, func() bool { return rec.total() == 2 && len(modes()["UPDATE completed"]) == 2 }, waitFor, tick)

	got := modes()
	require.Equal(t, []string{"on", "on"}, got["INSERT available"], "the inserts someone is told about wait for the disk")
	require.NotEmpty(t, got["UPDATE running"])
	for what, ms := range got {
		if what == "INSERT available" {
			continue
		}
		for _, m := range ms {
			require.Equal(t, "off", m, "River's own write %q", what)
		}
	}
}

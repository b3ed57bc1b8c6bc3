package gormstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// TestBackgroundWritesSkipTheDiskWait: on PostgreSQL, a job's writes and
// those marked incident.Background commit without waiting for the disk;
// every other write (a declare, a command's, a webhook's) waits for it,
// inside a transaction or not, and so does a job's write someone waits on.
func TestBackgroundWritesSkipTheDiskWait(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t, "postgres")
	require.NotNil(t, db.BackgroundPool())
	_, err := db.SQL().ExecContext(ctx, `
CREATE TABLE commit_modes (id bigserial PRIMARY KEY, what text NOT NULL, mode text NOT NULL);
CREATE FUNCTION note_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO commit_modes (what, mode) VALUES (coalesce(to_jsonb(NEW)->>'title', to_jsonb(NEW)->>'instance'), current_setting('synchronous_commit'));
	RETURN NEW;
END $$;
CREATE TRIGGER note_commit_mode AFTER INSERT ON incidents FOR EACH ROW EXECUTE FUNCTION note_commit_mode();
CREATE TRIGGER note_commit_mode AFTER INSERT ON replay_batches FOR EACH ROW EXECUTE FUNCTION note_commit_mode();`)
	require.NoError(t, err)
	s := gormstore.New(db, testClock())

	job := incident.WithJobRun(ctx, 7, 1, 3)
	create := func(ctx context.Context, title string) {
		t.Helper()
		inc := incidenttest.NewIncident()
		inc.Title = title
		_, err := s.CreateIncident(ctx, inc)
		require.NoError(t, err)
	}
	create(ctx, "unmarked")
	create(incident.Foreground(ctx), "foreground")
	create(job, "job")
	create(incident.Foreground(job), "job someone waits on")
	atomic := func(ctx context.Context, title string) {
		t.Helper()
		require.NoError(t, s.Atomic(ctx, func(tx incident.Tx) error {
			inc := incidenttest.NewIncident()
			inc.Title = title
			_, err := tx.CreateIncident(ctx, inc)
			return err
		}))
	}
	atomic(incident.Foreground(ctx), "declare")
	atomic(job, "job's transaction")
	for instance, ctx := range map[string]context.Context{"replica-bg": incident.Background(ctx), "replica-fg": ctx} {
		require.NoError(t, s.RecordReplayBatch(ctx, incident.ReplayBatch{Instance: instance, RecordedAt: time.Now(), Keys: []string{"k"}}))
	}

	rows, err := db.SQL().QueryContext(ctx, "SELECT what, mode FROM commit_modes")
	require.NoError(t, err)
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var what, mode string
		require.NoError(t, rows.Scan(&what, &mode))
		got[what] = mode
	}
	require.NoError(t, rows.Err())
	require.Equal(t, map[string]string{
		"unmarked": "on", "foreground": "on", "declare": "on", "job someone waits on": "on", "replica-fg": "on",
		"job": "off", "job's transaction": "off", "replica-bg": "off",
	}, got)
}

// TestSQLiteHasNoBackgroundPool: SQLite's one connection serves all.
func TestSQLiteHasNoBackgroundPool(t *testing.T) {
	t.Parallel()
	db := openDB(t, "sqlite")
	require.Nil(t, db.BackgroundPool())
	s := gormstore.New(db, testClock())
	_, err := s.CreateIncident(incident.WithJobRun(context.Background(), 7, 1, 3), incidenttest.NewIncident())
	require.NoError(t, err)
}

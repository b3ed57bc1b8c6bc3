package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// refuseJobs makes the database refuse, from now on, to store a job of
// kind: a trigger on River's table fails the INSERT, and with it the
// transaction it runs in. It returns a function that lifts the refusal.
func refuseJobs(t *testing.T, db *gormstore.DB, kind string) func() {
	t.Helper()
	ctx := context.Background()
	stmts := []string{`CREATE TRIGGER refuse_job BEFORE INSERT ON river_job
		WHEN json_extract(NEW.args, '$.kind') = '` + kind + `'
		BEGIN SELECT RAISE(ABORT, 'job refused by the test'); END`}
	lift := []string{"DROP TRIGGER refuse_job"}
	if db.Pool() != nil {
		stmts = []string{`CREATE FUNCTION refuse_job() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.args->>'kind' = '` + kind + `' THEN RAISE EXCEPTION 'job refused by the test'; END IF;
				RETURN NEW;
			END $$`,
			"CREATE TRIGGER refuse_job BEFORE INSERT ON river_job FOR EACH ROW EXECUTE FUNCTION refuse_job()"}
		lift = []string{"DROP TRIGGER refuse_job ON river_job", "DROP FUNCTION refuse_job()"}
	}
	for _, s := range stmts {
		_, err := db.SQL().ExecContext(ctx, s)
		require.NoError(t, err)
	}
	return func() {
		for _, s := range lift {
			_, err := db.SQL().ExecContext(ctx, s)
			require.NoError(t, err)
		}
	}
}

// TestSeverityChangeAndItsReminderAreOneWrite: a new severity comes with a
// new update cadence, and the next reminder is stored on the same
// transaction as the change. When the database refuses the reminder's job,
// the severity is not changed either (and the person is told), so no
// incident is left at a new severity under the old severity's reminder
// clock; once the database takes jobs again, the change goes through with
// its reminder. On the real job engine, SQLite and PostgreSQL.
func TestSeverityChangeAndItsReminderAreOneWrite(t *testing.T) {
	t.Parallel()
	for _, dbKind := range []string{"sqlite", "postgres"} {
		t.Run(dbKind, func(t *testing.T) {
			t.Parallel()
			fake := seededSlack(t)
			o := botOptions{mode: "http", slack: fake, sqlitePath: filepath.Join(t.TempDir(), "firebreak.db"),
				env: map[string]string{"POLICY_FILE": writePolicy(t)}}
			dsn := o.sqlitePath
			if dbKind == "postgres" {
				o.databaseURL = pgtest.MigratedDSN(t)
				dsn = o.databaseURL
			}
			b := startBot(t, o)
			_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P3 --service=checkout checkout is slow")
			require.Contains(t, text, "Declaring INC-1")
			ch := waitChannel(t, fake, "inc-"+time.Now().UTC().Format("2006-01-02")+"-checkout-is-slow")

			ctx := context.Background()
			db, err := gormstore.Open(ctx, dsn)
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			store := gormstore.New(db, incident.SystemClock)
			severityEvents := func() int {
				events, err := store.ListTimeline(ctx, 1)
				require.NoError(t, err)
				n := 0
				for _, ev := range events {
					if ev.Kind == incident.EventSeverityChanged {
						n++
					}
				}
				return n
			}
			nags := func() int {
				var n int
				q := "SELECT count(*) FROM river_job WHERE json_extract(args, '$.kind') = 'incident.nag'"
				if db.Pool() != nil {
					q = "SELECT count(*) FROM river_job WHERE args->>'kind' = 'incident.nag'"
				}
				require.NoError(t, db.SQL().QueryRowContext(ctx, q).Scan(&n))
				return n
			}
			nagsBefore := nags()

			lift := refuseJobs(t, db, incident.JobNag)
			_, text = b.command("http", "U0ALICE", ch.ID, "severity P1")
			t.Logf("refused: %s", text)
			require.NotContains(t, text, "P1", "not said to be changed: %s", text)
			inc, err := store.GetIncident(ctx, 1)
			require.NoError(t, err)
			require.Equal(t, incident.P3, inc.Severity, "the change was undone with its reminder")
			require.Zero(t, severityEvents(), "no timeline event of a change that did not happen")
			require.Equal(t, nagsBefore, nags())

			lift()
			_, text = b.command("http", "U0ALICE", ch.ID, "severity P1")
			require.True(t, strings.Contains(text, "P1"), "changed: %s", text)
			inc, err = store.GetIncident(ctx, 1)
			require.NoError(t, err)
			require.Equal(t, incident.P1, inc.Severity)
			require.Equal(t, 1, severityEvents())
			require.Greater(t, nags(), nagsBefore, "the new cadence's reminder is stored with it")
		})
	}
}

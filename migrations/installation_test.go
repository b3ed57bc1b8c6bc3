package migrations_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/migrations"
)

// TestMigration00040KeepsTheInstallation: the installation's id is part of
// every page key the bot sent PagerDuty, and cannot be made again. Rolling
// 00040 back (to run a release before it) and forward again keeps it, so
// PagerDuty's reports of pages sent before are still recognised as this
// installation's; the release in between sees its schema as it was. Only
// rolling everything back (an empty database) forgets it.
func TestMigration00040KeepsTheInstallation(t *testing.T) {
	t.Parallel()
	for _, tc := range dialects() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := tc.open(t)
			installation := func() []string {
				rows, err := d.db.QueryContext(ctx, `SELECT id FROM installation`)
				require.NoError(t, err)
				defer rows.Close()
				var ids []string
				for rows.Next() {
					var id string
					require.NoError(t, rows.Scan(&id))
					ids = append(ids, id)
				}
				require.NoError(t, rows.Err())
				return ids
			}
			require.NoError(t, migrations.Up(ctx, d.db, d.dialect))
			_, err := d.db.ExecContext(ctx, `INSERT INTO installation (singleton, id) VALUES (1, 'k3y-of-this-bot')`)
			require.NoError(t, err)

			require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 39))
			require.NotContains(t, tables(t, d), "installation", "the release before 00040 has its schema")

			require.NoError(t, migrations.Up(ctx, d.db, d.dialect))
			require.Equal(t, []string{"k3y-of-this-bot"}, installation(), "the same installation after a down and up")
			var rows int
			require.NoError(t, d.db.QueryRowContext(ctx, `SELECT count(*) FROM incident_counters`).Scan(&rows))
			require.Equal(t, 1, rows, "nothing of the id is left beside the incident counter")

			// A database that never had an id gets none from 00040.
			_, err = d.db.ExecContext(ctx, `DELETE FROM installation`)
			require.NoError(t, err)
			require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 39))
			require.NoError(t, migrations.Up(ctx, d.db, d.dialect))
			require.Empty(t, installation())

			// All the way down and up is a database made anew.
			_, err = d.db.ExecContext(ctx, `INSERT INTO installation (singleton, id) VALUES (1, 'k3y-of-this-bot')`)
			require.NoError(t, err)
			require.NoError(t, migrations.DownTo(ctx, d.db, d.dialect, 0))
			require.NoError(t, migrations.Up(ctx, d.db, d.dialect))
			require.Empty(t, installation())
		})
	}
}

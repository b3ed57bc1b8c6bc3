package migrations_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/migrations"
)

// TestNewerSchema: a database a newer release migrated (it has versions
// this release does not know) is met by this release's Up, Status and
// Down, as an older binary is during a rolling deploy or a rollback: Up
// applies nothing of its own and says the schema is newer, naming both
// versions; Status lists the unknown versions as applied; Down refuses to
// roll back a version it has no file for, and says which release can.
func TestNewerSchema(t *testing.T) {
	t.Parallel()
	for _, tc := range dialects() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			d := tc.open(t)
			require.NoError(t, migrations.Up(ctx, d.db, d.dialect))
			st, err := migrations.Status(ctx, d.db, d.dialect)
			require.NoError(t, err)
			latest := st[len(st)-1].Version

			// What a newer release's migrations 00036 (numbers are handed
			// out in ranges) and 00099 would leave.
			_, err = d.db.Exec(`CREATE TABLE future_thing (id integer PRIMARY KEY)`)
			require.NoError(t, err)
			for _, v := range []int64{36, 99} {
				_, err = d.db.Exec(fmt.Sprintf(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (%d, true)`, v))
				require.NoError(t, err)
			}

			err = migrations.Up(ctx, d.db, d.dialect)
			require.ErrorIs(t, err, migrations.ErrNewerSchema)
			var newer *migrations.NewerSchemaError
			require.True(t, errors.As(err, &newer))
			require.Equal(t, int64(99), newer.Database)
			require.Equal(t, latest, newer.Release)
			require.Equal(t, []int64{36, 99}, newer.Unknown)
			require.ErrorContains(t, err, "00099")
			require.ErrorContains(t, err, fmt.Sprintf("%05d", latest))

			st, err = migrations.Status(ctx, d.db, d.dialect)
			require.NoError(t, err)
			var unknown []int64
			for i, s := range st {
				require.True(t, s.Applied, "%d", s.Version)
				if s.Unknown {
					unknown = append(unknown, s.Version)
					require.False(t, s.AppliedAt.IsZero())
				}
				if i > 0 {
					require.Greater(t, s.Version, st[i-1].Version, "oldest first")
				}
			}
			require.Equal(t, []int64{36, 99}, unknown)

			err = migrations.Down(ctx, d.db, d.dialect)
			require.ErrorIs(t, err, migrations.ErrNewerSchema)
			require.EqualError(t, err, fmt.Sprintf("migrate down: the latest migration applied, 00099, is unknown to this release (which knows up to %05d): "+
				"a newer release of firebreak applied it; run migrate down with the release that applied it", latest))
			err = migrations.DownTo(ctx, d.db, d.dialect, 0)
			require.ErrorIs(t, err, migrations.ErrNewerSchema)
			require.ErrorContains(t, err, "00099")
			var applied int
			require.NoError(t, d.db.QueryRow(`SELECT count(*) FROM goose_db_version WHERE version_id = 41`).Scan(&applied))
			require.Equal(t, 1, applied, "nothing was rolled back")

			// Once the newer release rolled its versions back, this one's
			// Down works again.
			_, err = d.db.Exec(`DELETE FROM goose_db_version WHERE version_id IN (36, 99)`)
			require.NoError(t, err)
			require.NoError(t, migrations.Up(ctx, d.db, d.dialect))
			require.NoError(t, migrations.Down(ctx, d.db, d.dialect))
		})
	}
}

package gormstore_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/gormstore"
)

// TestInstallationIDIsMadeOncePerDatabase: the installation's id is made
// the first time it is asked for and kept: every replica on the database
// reads the same one, even asking at once, and another database has
// another.
func TestInstallationIDIsMadeOncePerDatabase(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := dbURL(t, dialect)
			clock := testClock()
			first := gormstore.New(openURL(t, url, dialect == "sqlite"), clock)
			second := gormstore.New(openURL(t, url, false), clock)

			ids := make([]string, 8)
			var wg sync.WaitGroup
			for i := range ids {
				wg.Go(func() {
					s := first
					if i%2 == 1 {
						s = second
					}
					id, err := s.InstallationID(ctx)
					require.NoError(t, err)
					ids[i] = id
				})
			}
			wg.Wait()
			require.Regexp(t, `^[a-z]{12}$`, ids[0])
			for _, id := range ids {
				require.Equal(t, ids[0], id, "one id for the database, whichever replica asks")
			}
			again, err := first.InstallationID(ctx)
			require.NoError(t, err)
			require.Equal(t, ids[0], again, "kept")

			other, err := gormstore.New(openDB(t, dialect), clock).InstallationID(ctx)
			require.NoError(t, err)
			require.NotEqual(t, ids[0], other, "another database, another installation")
		})
	}
}

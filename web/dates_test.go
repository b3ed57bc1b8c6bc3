package web_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/web"
)

// TestListDateRangeAsWideAsTheCalendar: "to" is inclusive, so the list
// reads up to the day after it; to=9999-12-31, a common "no end", has no
// day after it that a store can compare (SQLite compares times as text,
// and year 10000 sorts before 2026), and must still list every incident
// from "from" on, on every store, on the page and in the API.
func TestListDateRangeAsWideAsTheCalendar(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"memory", "sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var store web.Reader
			var create func(*incident.Incident) (*incident.Incident, error)
			clock := incidenttest.NewClock(t0)
			switch dialect {
			case "memory":
				mem := incidenttest.NewMemStore(clock)
				store, create = mem, func(i *incident.Incident) (*incident.Incident, error) { return mem.CreateIncident(ctx, i) }
			default:
				url := "sqlite:" + filepath.Join(t.TempDir(), "firebreak.db")
				if dialect == "postgres" {
					url = pgtest.MigratedDSN(t)
				}
				db, err := gormstore.Open(ctx, url)
				require.NoError(t, err)
				t.Cleanup(func() { _ = db.Close() })
				require.NoError(t, db.Migrate(ctx))
				st := gormstore.New(db, clock)
				store, create = st, func(i *incident.Incident) (*incident.Incident, error) { return st.CreateIncident(ctx, i) }
			}
			_, err := create(incidenttest.NewIncident(func(i *incident.Incident) {
				i.Title, i.DeclaredAt = "queue backlog in the far past of this test", t0.Add(-48*time.Hour)
			}))
			require.NoError(t, err)
			f := setup(t, func(cfg *web.Config) { cfg.Reader = store })
			b := f.browser()
			b.signIn(f.alice)
			for _, q := range []string{"to=9999-12-31", "from=0001-01-01&to=9999-12-31", "from=2026-03-28&to=9999-12-31"} {
				resp, page := b.get("/incidents?" + q)
				require.Equal(t, http.StatusOK, resp.StatusCode, q)
				require.Contains(t, page, "queue backlog in the far past of this test", q)
			}
			token := createToken(t, b, "wide", "read", "")
			page := listAPI(t, f, token, "to=9999-12-31")
			require.Len(t, page.Incidents, 1)
			resp, page2 := b.get("/incidents?to=2026-03-27")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.NotContains(t, page2, "queue backlog", "the end date still ends the range")
		})
	}
}

package gormstore

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/migrations"
)

// TestIncidentRecordsReadInFourStatements counts the SQL statements that
// read the records of many incidents: four, one a kind of record, however
// many incidents are asked for; read one incident and one kind at a time,
// as the reports did, they were four an incident.
func TestIncidentRecordsReadInFourStatements(t *testing.T) {
	t.Parallel()
	for _, dialect := range []migrations.Dialect{migrations.SQLite, migrations.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openMigrated(t, dialect)
			s := New(db, incidenttest.NewClock(incidenttest.Epoch()))
			var ids []int64
			for i := range 60 {
				inc, err := s.CreateIncident(ctx, incidenttest.NewIncident())
				require.NoError(t, err)
				ids = append(ids, inc.ID)
				require.NoError(t, s.AddTimelineEvent(ctx, incidenttest.NewTimelineEvent(inc.ID)))
				require.NoError(t, s.AddStatusUpdate(ctx, &incident.StatusUpdate{IncidentID: inc.ID, Author: "U0IC",
					Status: incident.StatusInvestigating, Text: "looking", PostedAt: incidenttest.Epoch().Add(time.Minute)}))
				require.NoError(t, s.AddActionItem(ctx, &incident.ActionItem{IncidentID: inc.ID, Text: "later"}))
				if i%3 == 0 {
					require.NoError(t, s.AddRollback(ctx, incidenttest.NewRollback(inc.ID, "rb-"+inc.Key())))
				}
			}
			statements := countStatements(t, db)

			few, err := s.ListIncidentRecords(ctx, ids[:2])
			require.NoError(t, err)
			require.Len(t, few, 2)
			require.Equal(t, int64(4), statements.Swap(0), "two incidents")

			all, err := s.ListIncidentRecords(ctx, append(ids, 5_000_000, 5_000_001))
			require.NoError(t, err)
			require.Len(t, all, 60)
			require.Equal(t, int64(4), statements.Swap(0), "sixty incidents and two unknown ids")

			for _, id := range ids {
				_, err := s.ListTimeline(ctx, id)
				require.NoError(t, err)
				_, err = s.ListStatusUpdates(ctx, id)
				require.NoError(t, err)
				_, err = s.ListActionItems(ctx, id)
				require.NoError(t, err)
				_, err = s.ListRollbacks(ctx, id)
				require.NoError(t, err)
			}
			require.Equal(t, int64(4*60), statements.Swap(0), "one incident and one kind at a time")
		})
	}
}

// countStatements counts the queries gorm runs on db from now on.
func countStatements(t *testing.T, db *DB) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	require.NoError(t, db.gorm.Callback().Query().After("gorm:query").Register("test:count", func(*gorm.DB) { n.Add(1) }))
	require.NoError(t, db.gorm.Callback().Raw().After("gorm:raw").Register("test:count", func(*gorm.DB) { n.Add(1) }))
	return &n
}

package gormstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/migrations"
)

// TestListReadsAnIndexInOrder pins how the database reads a page of the
// list: through an index already in the list's order, so that LIMIT stops
// the read once the page is full, rather than every matching row read and
// sorted. On PostgreSQL the planner is told to avoid sequential scans and
// sorts as far as it can; a plan that still needs one fails.
func TestListReadsAnIndexInOrder(t *testing.T) {
	t.Parallel()
	after := &incident.ListCursor{DeclaredAt: incidenttest.Epoch().Add(390 * time.Minute), ID: 391}
	newest := incident.IncidentFilter{Order: incident.OrderNewest, ExcludeDrills: true, Limit: 201}
	cases := []struct {
		name   string
		filter incident.IncidentFilter
		index  []string // any of them
	}{
		{"newest", newest, []string{"incidents_declared_at_idx"}},
		{"newest after a cursor", with(newest, func(f *incident.IncidentFilter) { f.After = after }), []string{"incidents_declared_at_idx"}},
		{"newest of a service", with(newest, func(f *incident.IncidentFilter) { f.Service = "api"; f.After = after }), []string{"incidents_service_declared_at_idx"}},
		// Four severities: either index in the declared order reads at most
		// about four rows for every one it keeps.
		{"newest of a severity", with(newest, func(f *incident.IncidentFilter) { f.Severity = incident.P2; f.After = after }),
			[]string{"incidents_list_idx", "incidents_declared_at_idx"}},
		{"newest open", with(newest, func(f *incident.IncidentFilter) { f.OpenOnly = true }), []string{"incidents_declared_at_idx"}},
		{"slack's list", incident.IncidentFilter{OpenOnly: true, Limit: 50}, []string{"incidents_list_idx"}},
	}
	for _, dialect := range []migrations.Dialect{migrations.SQLite, migrations.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			db := openMigrated(t, dialect)
			s := New(db, incidenttest.NewClock(incidenttest.Epoch()))
			seedIncidents(t, s)
			for _, tc := range cases {
				plan := explainList(t, db, tc.filter)
				require.True(t, slices.ContainsFunc(tc.index, func(idx string) bool { return strings.Contains(plan, idx) }),
					"%s reads one of %v: %s", tc.name, tc.index, plan)
				for _, bad := range []string{"TEMP B-TREE", "Sort", "Seq Scan", "Bitmap"} {
					require.NotContains(t, plan, bad, "%s: %s", tc.name, plan)
				}
			}
		})
	}
}

func with(f incident.IncidentFilter, edit func(*incident.IncidentFilter)) incident.IncidentFilter {
	edit(&f)
	return f
}

// seedIncidents stores a few hundred incidents over several services and
// severities, and has the planner read their statistics.
func seedIncidents(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	services := []string{"api", "web", "db", "queue", "search", "billing", "auth", "cdn"}
	for i := range 400 {
		_, err := s.CreateIncident(ctx, incidenttest.NewIncident(func(inc *incident.Incident) {
			inc.Service = services[i%len(services)]
			inc.Severity = incident.Severity(1 + i%4)
			inc.DeclaredAt = incidenttest.Epoch().Add(time.Duration(i) * time.Minute)
			inc.Status = incident.StatusClosed
			if i%50 == 0 {
				inc.Status = incident.StatusInvestigating
			}
		}))
		require.NoError(t, err)
	}
	require.NoError(t, s.db.Exec("ANALYZE").Error)
}

// explainList returns the database's plan for the list's SELECT.
func explainList(t *testing.T, db *DB, f incident.IncidentFilter) string {
	t.Helper()
	ctx := context.Background()
	var rows []incidentRow
	stmt := listQuery(db.gorm.Session(&gorm.Session{DryRun: true}), f).Find(&rows).Statement
	query := stmt.SQL.String()
	tx, err := db.sql.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	explain := "EXPLAIN QUERY PLAN "
	if db.dialect == migrations.Postgres {
		explain = "EXPLAIN "
		for _, set := range []string{"enable_seqscan", "enable_sort", "enable_bitmapscan", "enable_incremental_sort"} {
			_, err := tx.ExecContext(ctx, "SET LOCAL "+set+" = off")
			require.NoError(t, err)
		}
	}
	res, err := tx.QueryContext(ctx, explain+query, stmt.Vars...)
	require.NoError(t, err, query)
	defer res.Close()
	cols, err := res.Columns()
	require.NoError(t, err)
	var lines []string
	for res.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, res.Scan(ptrs...))
		lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
	}
	require.NoError(t, res.Err())
	return query + "\n" + strings.Join(lines, "\n")
}

package migrations

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivershared/sqlctemplate"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// riverFileRE matches a goose migration holding one River version:
// 00002_river_001_create_river_migration.sql.
var riverFileRE = regexp.MustCompile(`^(\d{5})_river_(\d{3})_[a-z0-9_]+\.sql$`)

// riverMigration is one River main-line version rendered for our schema.
type riverMigration struct {
	Version int
	Name    string
	Up      string
	Down    string
}

// riverMigrations returns River's main-line versions for a dialect exactly as
// rivermigrate would run them: SQL from the driver's embedded files with the
// schema template rendered empty, so objects land in the connection's
// search_path (Postgres) or main database (SQLite).
func riverMigrations(t *testing.T, d Dialect) []riverMigration {
	t.Helper()
	var (
		all         []rivermigrate.Migration
		placeholder string
	)
	switch d {
	case Postgres:
		drv := riverpgxv5.New(nil)
		m, err := rivermigrate.New(drv, nil)
		require.NoError(t, err)
		all, placeholder = m.AllVersions(), drv.ArgPlaceholder()
	case SQLite:
		drv := riversqlite.New(nil)
		m, err := rivermigrate.New(drv, nil)
		require.NoError(t, err)
		all, placeholder = m.AllVersions(), drv.ArgPlaceholder()
	}
	require.NotEmpty(t, all)

	render := func(sql string) string {
		// rivermigrate only runs the replacer when the template is present.
		if !strings.Contains(sql, "/* TEMPLATE: schema */") {
			return sql
		}
		var r sqlctemplate.Replacer
		ctx := sqlctemplate.WithReplacements(context.Background(), map[string]sqlctemplate.Replacement{
			"schema": {Value: ""},
		}, nil)
		out, _, err := r.RunSafely(ctx, placeholder, sql, nil)
		require.NoError(t, err)
		return out
	}
	out := make([]riverMigration, 0, len(all))
	for _, m := range all {
		out = append(out, riverMigration{Version: m.Version, Name: m.Name, Up: render(m.SQLUp), Down: render(m.SQLDown)})
	}
	return out
}

// riverGooseFile is the goose migration for one River version. Up runs River's
// SQL and then records the version the way rivermigrate's versionsInsert does;
// Down runs River's down SQL and then removes the record as versionsDelete
// does (nothing for version 1, whose down drops the table; without the line
// column below version 5, where River added it).
func riverGooseFile(m riverMigration) string {
	const lineColumnAdded = 5
	var b strings.Builder
	fmt.Fprintf(&b, "-- River main line, version %03d (%s).\n", m.Version, m.Name)
	b.WriteString("-- Copied from River's migration files with the schema template rendered empty;\n")
	b.WriteString("-- TestRiverMigrationsMatchRiver fails when it drifts from the River in go.mod,\n")
	b.WriteString("-- and `go test ./migrations -run TestRiverMigrationsMatchRiver -update` rewrites it.\n")
	b.WriteString("-- Do not edit by hand.\n\n")

	b.WriteString("-- +goose Up\n-- +goose StatementBegin\n")
	b.WriteString(strings.TrimSpace(m.Up))
	b.WriteString("\n-- +goose StatementEnd\n")
	if m.Version < lineColumnAdded {
		fmt.Fprintf(&b, "INSERT INTO river_migration (version) VALUES (%d);\n", m.Version)
	} else {
		fmt.Fprintf(&b, "INSERT INTO river_migration (line, version) VALUES ('main', %d);\n", m.Version)
	}

	b.WriteString("\n-- +goose Down\n-- +goose StatementBegin\n")
	b.WriteString(strings.TrimSpace(m.Down))
	b.WriteString("\n-- +goose StatementEnd\n")
	switch {
	case m.Version == 1:
	case m.Version <= lineColumnAdded:
		fmt.Fprintf(&b, "DELETE FROM river_migration WHERE version = %d;\n", m.Version)
	default:
		fmt.Fprintf(&b, "DELETE FROM river_migration WHERE line = 'main' AND version = %d;\n", m.Version)
	}
	return b.String()
}

func TestRiverMigrationsMatchRiver(t *testing.T) {
	t.Parallel()
	for _, d := range []Dialect{Postgres, SQLite} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fsys, err := FS(d)
			require.NoError(t, err)
			entries, err := fs.ReadDir(fsys, ".")
			require.NoError(t, err)

			// Map each River version to the goose file that holds it.
			byRiver := map[int]string{}
			var maxGoose int
			for _, e := range entries {
				gv, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
				require.NoError(t, err, "migration file %s has no numeric version", e.Name())
				maxGoose = max(maxGoose, gv)
				if m := riverFileRE.FindStringSubmatch(e.Name()); m != nil {
					rv, _ := strconv.Atoi(m[2])
					require.NotContains(t, byRiver, rv, "two files hold River version %d", rv)
					byRiver[rv] = e.Name()
				}
			}

			want := riverMigrations(t, d)
			var known []int
			for _, m := range want {
				known = append(known, m.Version)
				expected := riverGooseFile(m)
				name, ok := byRiver[m.Version]
				if incidenttest.Updating() {
					if !ok {
						maxGoose++
						name = fmt.Sprintf("%05d_river_%03d_%s.sql", maxGoose, m.Version, strings.ReplaceAll(m.Name, " ", "_"))
					}
					require.NoError(t, os.WriteFile(filepath.Join(string(d), name), []byte(expected), 0o644))
					continue
				}
				require.True(t, ok, "River version %03d (%s) has no migration in %s/; run this test with -update", m.Version, m.Name, d)
				got, err := fs.ReadFile(fsys, name)
				require.NoError(t, err)
				require.Equal(t, expected, string(got), "%s/%s differs from River's version %03d; run this test with -update", d, name, m.Version)
			}
			for rv, name := range byRiver {
				require.True(t, slices.Contains(known, rv), "%s/%s holds River version %d, which River does not have", d, name, rv)
			}
		})
	}
}

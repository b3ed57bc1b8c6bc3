package gormstore

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm/schema"

	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/migrations"
)

type column struct {
	name     string
	dbType   string // lower case
	nullable bool
}

func tableColumns(t *testing.T, db *DB, table string) map[string]column {
	t.Helper()
	ctx := context.Background()
	out := map[string]column{}
	switch db.dialect {
	case migrations.Postgres:
		rows, err := db.sql.QueryContext(ctx, `
			SELECT column_name, data_type, is_nullable = 'YES'
			FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1`, table)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var c column
			require.NoError(t, rows.Scan(&c.name, &c.dbType, &c.nullable))
			c.dbType = strings.ToLower(c.dbType)
			out[c.name] = c
		}
		require.NoError(t, rows.Err())
	case migrations.SQLite:
		rows, err := db.sql.QueryContext(ctx, `SELECT name, type, "notnull", pk FROM pragma_table_info(?)`, table)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var (
				c       column
				notNull bool
				pk      int
			)
			require.NoError(t, rows.Scan(&c.name, &c.dbType, &notNull, &pk))
			c.dbType = strings.ToLower(c.dbType)
			// SQLite lets a non-INTEGER primary key hold NULL unless declared NOT NULL.
			c.nullable = !notNull && !(pk > 0 && c.dbType == "integer")
			out[c.name] = c
		}
		require.NoError(t, rows.Err())
	}
	require.NotEmpty(t, out, "table %s does not exist", table)
	return out
}

// compatible lists, per Go type a row field has, the column types it may be
// stored in on each dialect.
func compatible(d migrations.Dialect, goType reflect.Type) []string {
	timeType := reflect.TypeOf(time.Time{})
	switch {
	case goType == timeType:
		if d == migrations.Postgres {
			return []string{"timestamp with time zone"}
		}
		return []string{"datetime"}
	case goType.Kind() == reflect.String:
		if d == migrations.Postgres {
			return []string{"text", "jsonb"}
		}
		return []string{"text"}
	case goType.Kind() == reflect.Bool:
		return []string{"boolean"}
	case goType.Kind() == reflect.Int16:
		if d == migrations.Postgres {
			return []string{"smallint"}
		}
		return []string{"integer"}
	case goType.Kind() == reflect.Int64:
		if d == migrations.Postgres {
			return []string{"bigint"}
		}
		return []string{"integer"}
	}
	return nil
}

// TestSchemaMatchesRows checks, on both dialects after migrating, that every
// column a row struct reads or writes exists with a compatible type, that a
// field is a pointer exactly when its column is nullable (a NULL cannot be
// scanned into a plain field, and a plain field cannot express "none"), and
// that every column of the table, NOT NULL ones above all, is written by the
// store.
func TestSchemaMatchesRows(t *testing.T) {
	t.Parallel()
	rowTypes := []interface{ TableName() string }{
		&incidentRow{}, &timelineEventRow{}, &statusUpdateRow{}, &actionItemRow{}, &changeEventRow{}, &deliveryRow{}, &replayBatchRow{},
		&pageRow{}, &rollbackRow{}, &exportRow{}, &webSessionRow{}, &apiTokenRow{}, &alertRow{}, &standingRow{},
	}
	for _, dialect := range []migrations.Dialect{migrations.SQLite, migrations.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			db := openMigrated(t, dialect)
			cache := &sync.Map{}
			for _, row := range rowTypes {
				s, err := schema.Parse(row, cache, schema.NamingStrategy{})
				require.NoError(t, err)
				table := row.TableName()
				require.Equal(t, table, s.Table)
				cols := tableColumns(t, db, table)

				var written []string
				for _, f := range s.Fields {
					if f.DBName == "" {
						continue
					}
					written = append(written, f.DBName)
					c, ok := cols[f.DBName]
					require.True(t, ok, "%s.%s: the row has it, the table does not", table, f.DBName)
					require.Contains(t, compatible(dialect, f.IndirectFieldType), c.dbType,
						"%s.%s: column type %s cannot hold %s", table, f.DBName, c.dbType, f.FieldType)
					isPtr := f.FieldType.Kind() == reflect.Pointer
					require.Equal(t, isPtr, c.nullable, "%s.%s: pointer field %v, nullable column %v", table, f.DBName, isPtr, c.nullable)
					require.False(t, f.AutoCreateTime != 0 || f.AutoUpdateTime != 0, "%s.%s: gorm must not manage times", table, f.DBName)
				}
				for name, c := range cols {
					require.True(t, slices.Contains(written, name), "%s.%s (nullable %v) is never written by the store", table, name, c.nullable)
				}
			}

			// incident_counters is written by raw SQL in CreateIncident.
			cols := tableColumns(t, db, "incident_counters")
			names := make([]string, 0, len(cols))
			for n := range cols {
				names = append(names, n)
			}
			sort.Strings(names)
			require.Equal(t, []string{"name", "value"}, names)
		})
	}
}

func openMigrated(t *testing.T, d migrations.Dialect) *DB {
	t.Helper()
	ctx := context.Background()
	url := "sqlite:" + filepath.Join(t.TempDir(), "schema.db")
	if d == migrations.Postgres {
		// A clone of the template pgtest migrated once.
		url = pgtest.MigratedDSN(t)
	}
	db, err := Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	if d != migrations.Postgres {
		require.NoError(t, db.Migrate(ctx))
	}
	return db
}

package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/migrations"
)

// migrateCommand runs "firebreak migrate up|down [all]|status".
func migrateCommand(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("migrate needs up, down or status\n%s", commandHelp["migrate"])
	}
	db, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	if err := migrate(ctx, db, args); err != nil {
		return err
	}
	st, err := migrations.Status(ctx, db.SQL(), db.Dialect())
	if err != nil {
		return err
	}
	return printMigrations(stdout, st)
}

// migrate moves the schema as args say: up, down (one step), down all, or
// status (no move).
func migrate(ctx context.Context, db *gormstore.DB, args []string) error {
	switch {
	case args[0] == "up" && len(args) == 1:
		return migrations.Up(ctx, db.SQL(), db.Dialect())
	case args[0] == "down" && len(args) == 1:
		return migrations.Down(ctx, db.SQL(), db.Dialect())
	case args[0] == "down" && len(args) == 2 && args[1] == "all":
		return migrations.DownTo(ctx, db.SQL(), db.Dialect(), 0)
	case args[0] == "status" && len(args) == 1:
		return nil
	}
	return fmt.Errorf("unknown migrate arguments %q\n%s", args, commandHelp["migrate"])
}

// printMigrations writes the migrations as a table: version, name and
// whether (and when) each is applied.
func printMigrations(stdout io.Writer, st []migrations.VersionStatus) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
	for _, s := range st {
		applied := "pending"
		if s.Applied {
			applied = "applied"
			if !s.AppliedAt.IsZero() {
				applied += " " + s.AppliedAt.UTC().Format(time.RFC3339)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", s.Version, s.Name, applied)
	}
	return tw.Flush()
}

// openDatabase opens the configured database: PostgreSQL when DATABASE_URL
// is set, else the embedded SQLite file.
func openDatabase(ctx context.Context, cfg Config) (*gormstore.DB, error) {
	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		dbURL = "sqlite:" + cfg.SQLitePath
	}
	db, err := gormstore.Open(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return db, nil
}

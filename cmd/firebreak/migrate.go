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

	switch {
	case args[0] == "up" && len(args) == 1:
		if err := migrations.Up(ctx, db.SQL(), db.Dialect()); err != nil {
			return err
		}
	case args[0] == "down" && len(args) == 1:
		if err := migrations.Down(ctx, db.SQL(), db.Dialect()); err != nil {
			return err
		}
	case args[0] == "down" && len(args) == 2 && args[1] == "all":
		if err := migrations.DownTo(ctx, db.SQL(), db.Dialect(), 0); err != nil {
			return err
		}
	case args[0] == "status" && len(args) == 1:
	default:
		return fmt.Errorf("unknown migrate arguments %q\n%s", args, commandHelp["migrate"])
	}
	st, err := migrations.Status(ctx, db.SQL(), db.Dialect())
	if err != nil {
		return err
	}
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

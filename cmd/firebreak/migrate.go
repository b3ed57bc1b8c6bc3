package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/migrations"
)

// migrateCommand runs "firebreak migrate up|down [all]|status".
func migrateCommand(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	// The arguments are checked before the database is looked at: a
	// mistyped command creates no SQLite file.
	move, err := migrateMove(args)
	if err != nil {
		return err
	}
	// Opening a SQLite file creates it: only up may, the others report
	// that there is none.
	if cfg.DatabaseURL == "" && move != "up" {
		if _, err := os.Stat(cfg.SQLitePath); errors.Is(err, fs.ErrNotExist) {
			if move == "status" {
				_, err := fmt.Fprintf(stdout, "no database: the SQLite file %s (SQLITE_PATH) does not exist; firebreak migrate up, or serve, creates it\n", cfg.SQLitePath)
				return err
			}
			return fmt.Errorf("SQLITE_PATH: the SQLite file %s does not exist: there is no schema to %s", cfg.SQLitePath, move)
		}
	}
	db, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	// A schema a newer release migrated is not this command's failure:
	// it applied what it has, and says what it found.
	var newer *migrations.NewerSchemaError
	if err := migrate(ctx, db, move); errors.As(err, &newer) {
		if _, err := fmt.Fprintf(stdout, "warning: %s\n", newer); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	st, err := migrations.Status(ctx, db.SQL(), db.Dialect())
	if err != nil {
		return err
	}
	return printMigrations(stdout, st)
}

// migrateMove returns the move migrate's arguments name: "up", "down",
// "down all" or "status"; anything else is an error carrying the usage.
func migrateMove(args []string) (string, error) {
	if len(args) == 0 {
		return "", fmt.Errorf("migrate needs up, down or status\n%s", commandHelp["migrate"])
	}
	switch move := strings.Join(args, " "); move {
	case "up", "down", "down all", "status":
		return move, nil
	}
	return "", fmt.Errorf("unknown migrate arguments %q\n%s", args, commandHelp["migrate"])
}

// migrate moves the schema as migrateMove's move says: up, down (one
// step), down all, or status (no move).
func migrate(ctx context.Context, db *gormstore.DB, move string) error {
	switch move {
	case "up":
		return migrations.Up(ctx, db.SQL(), db.Dialect())
	case "down":
		return migrations.Down(ctx, db.SQL(), db.Dialect())
	case "down all":
		return migrations.DownTo(ctx, db.SQL(), db.Dialect(), 0)
	case "status":
		return nil
	}
	return fmt.Errorf("unknown migrate move %q\n%s", move, commandHelp["migrate"])
}

// printMigrations writes the migrations as a table: version, name and
// whether (and when) each is applied; a version a newer release applied
// reads "applied (unknown to this release)".
func printMigrations(stdout io.Writer, st []migrations.VersionStatus) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
	for _, s := range st {
		applied, name := "pending", s.Name
		if s.Applied {
			applied = "applied"
			if s.Unknown {
				applied, name = "applied (unknown to this release)", "?"
			}
			if !s.AppliedAt.IsZero() {
				applied += " " + s.AppliedAt.UTC().Format(time.RFC3339)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", s.Version, name, applied)
	}
	return tw.Flush()
}

// openDatabase opens the configured database: PostgreSQL when DATABASE_URL
// is set, else the embedded SQLite file. A failure names the setting that
// chose the database, and for SQLITE_PATH the file, so the operator knows
// what to fix (DATABASE_URL is a secret: its text is never repeated).
func openDatabase(ctx context.Context, cfg Config) (*gormstore.DB, error) {
	if cfg.DatabaseURL != "" {
		db, err := gormstore.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL: open database: %w", err)
		}
		return db, nil
	}
	db, err := gormstore.Open(ctx, "sqlite:"+cfg.SQLitePath)
	if err != nil {
		return nil, fmt.Errorf("SQLITE_PATH: open the SQLite database %s: %w%s", cfg.SQLitePath, err, sqliteDirHint(cfg.SQLitePath, err))
	}
	return db, nil
}

// sqliteDirHint says what to check when the SQLite file could not be
// opened: SQLite creates the file, and its write-ahead log beside it, but
// not the directory, which must be writable (a release image's working
// directory is not).
func sqliteDirHint(path string, err error) string {
	if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
		return " (that is a directory: SQLITE_PATH names the database file, such as /data/firebreak.db)"
	}
	dir := filepath.Dir(path)
	if fi, serr := os.Stat(dir); serr != nil || !fi.IsDir() {
		return fmt.Sprintf(" (the directory %s does not exist: create it, or set SQLITE_PATH to a file in a writable directory such as a mounted volume)", dir)
	}
	if strings.Contains(err.Error(), "unable to open database file") {
		return fmt.Sprintf(" (the directory %s must be writable by this process, for the file and its -wal and -shm files beside it)", dir)
	}
	return ""
}

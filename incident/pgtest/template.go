package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreakhq/firebreak/migrations"
)

// MigratedDSN returns the URL of a database of the test's own, already
// migrated to the embedded schema, and drops it when the test ends. The
// schema is migrated once into a template database named after the
// migrations' content (tmpl_<hash>), shared by every package and run with
// the same migrations; each test's database is a clone of it (CREATE
// DATABASE ... TEMPLATE), which takes milliseconds instead of a migration
// run. Unreachable PostgreSQL skips the test, or fails it when CI is set,
// as DSN does.
func MigratedDSN(t testing.TB) string {
	t.Helper()
	base := BaseURL()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := open(t, ctx, base)
	defer admin.Close()

	tmpl, err := template(ctx, admin, base)
	if err != nil {
		t.Fatalf("pgtest: template database: %v", err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	if err := clone(ctx, admin, tmpl, name); err != nil {
		t.Fatalf("pgtest: clone %s: %v", tmpl, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return withDatabase(t, base, name)
}

// open connects to base, skipping or failing the test when it cannot.
func open(t testing.TB, ctx context.Context, base string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", base)
	if err == nil {
		err = db.PingContext(ctx)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL is required in CI but unreachable at %s: %v", redact(base), err)
		}
		t.Skipf("PostgreSQL unreachable at %s (set TEST_DATABASE_URL): %v", redact(base), err)
	}
	return db
}

var (
	templateMu   sync.Mutex
	templateName string
)

// template returns the name of the migrated template database, creating it
// on first use. A PostgreSQL advisory lock keeps test binaries running in
// parallel from building it twice; it is built under another name and
// renamed when complete, so a run that dies half way leaves no half
// migrated template behind.
func template(ctx context.Context, admin *sql.DB, base string) (string, error) {
	templateMu.Lock()
	defer templateMu.Unlock()
	if templateName != "" {
		return templateName, nil
	}
	hash, err := schemaHash()
	if err != nil {
		return "", err
	}
	name := "tmpl_" + hash
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	key := int64(binary.BigEndian.Uint64([]byte("fbpgtmpl")))
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer func() { _, _ = conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", key) }()
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		building := name + "_new"
		if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
			return "", err
		}
		if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
			return "", err
		}
		if err := migrate(ctx, base, building); err != nil {
			return "", fmt.Errorf("migrate: %w", err)
		}
		if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
			return "", err
		}
	}
	templateName = name
	return name, nil
}

func migrate(ctx context.Context, base, database string) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	u.Path = "/" + database
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return err
	}
	defer db.Close()
	return migrations.Up(ctx, db, migrations.Postgres)
}

// clone creates name from the template. PostgreSQL refuses while another
// session is connected to the template, which only happens for the moment
// it is being renamed; clone tries again then.
func clone(ctx context.Context, admin *sql.DB, tmpl, name string) error {
	for {
		_, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tmpl)
		if err == nil || !strings.Contains(err.Error(), "is being accessed by other users") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// schemaHash names the schema by the content of the embedded PostgreSQL
// migrations, so a changed migration gets a template of its own.
func schemaHash() (string, error) {
	fsys, err := migrations.FS(migrations.Postgres)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	err = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func withDatabase(t testing.TB, base, database string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", redact(base), err)
	}
	u.Path = "/" + database
	return u.String()
}

package jobs

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"
)

// A SQLite engine holds a lock file of its instance id next to the database
// file for its life, with flock(2): the kernel releases the lock when the
// process dies, however it dies, so a restart tells a killed previous life
// (lock free) from a running twin (lock held) at once, as PostgreSQL's
// advisory lock does. The file is never removed: removing it would let a
// process lock a file another had just unlinked, and two processes would
// each hold "the" lock.

// lockFileName names the lock file of instance id next to the database file
// at db: the id made safe for a file name (it may hold any character), and
// a hash of the whole id, so two ids made alike stay apart.
func lockFileName(db, id string) string {
	sum := sha256.Sum256([]byte(id))
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, id)
	if len(safe) > 40 {
		safe = safe[:40]
	}
	return fmt.Sprintf("%s.instance-%s-%x.lock", db, safe, sum[:4])
}

// errNoFileLocks is flock's error on a file system that takes no file
// locks: the engine then watches the heartbeat for a twin instead.
var errNoFileLocks = errors.New("file locks are not supported here")

// databaseFile returns the file of the SQLite database's main schema, as
// SQLite resolved it (absolute, symbolic links followed); empty for an
// in-memory or temporary database.
func (t *takeover) databaseFile(ctx context.Context) (string, error) {
	var file string
	if err := t.db.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
		return "", fmt.Errorf("jobs: find the sqlite database file: %w", err)
	}
	return file, nil
}

// lockFile takes the instance id's lock file next to the SQLite database,
// kept open until unlock. It returns ok false when the database has no file
// (in-memory) or the system has no flock(2): the caller falls back to
// watching the heartbeat. It returns ErrInstanceInUse when another process
// holds the lock (or another engine of this process: flock locks belong to
// an open file, not to a process).
func (t *takeover) lockFile(ctx context.Context) (ok bool, err error) {
	if t.file != nil {
		return true, nil
	}
	if !fileLocks {
		return false, nil
	}
	db, err := t.databaseFile(ctx)
	if err != nil || db == "" {
		return false, err
	}
	path := lockFileName(db, t.id)
	// os.OpenFile sets O_CLOEXEC: a child process never inherits the lock.
	// A symbolic link in the file's place is not followed (noFollow), as
	// SQLite follows none for its journals: whoever can write the directory
	// must not make this process truncate a file elsewhere.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|noFollow, 0o600)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
			return false, fmt.Errorf("jobs: open the instance lock file %s: it is a symbolic link, which is not followed; remove it: %w", path, err)
		}
		return false, fmt.Errorf("jobs: open the instance lock file %s (the SQLite database's directory must be writable by this process): %w", path, err)
	}
	lockFn := t.lockFn
	if lockFn == nil {
		lockFn = flock
	}
	locked, err := lockFn(f)
	if errors.Is(err, errNoFileLocks) {
		_ = f.Close()
		t.noLocks = fmt.Sprintf("the file system of %s takes no file locks (%v)", path, err)
		return false, nil
	}
	if err != nil || !locked {
		holder := readHolder(f)
		_ = f.Close()
		if err != nil {
			return false, fmt.Errorf("jobs: lock the instance lock file %s: %w", path, err)
		}
		return false, fmt.Errorf("%w: %q is held by another running process (%s; lock file %s); give each replica its own INSTANCE_ID",
			ErrInstanceInUse, t.id, holder, path)
	}
	// Who holds it, for the message a twin shows. The lock is what counts,
	// not these words, so a failed write is harmless.
	host, _ := os.Hostname()
	if err := f.Truncate(0); err == nil {
		_, _ = fmt.Fprintf(f, "pid %d on %s\n", os.Getpid(), host)
	}
	t.file = f
	return true, nil
}

// readHolder reads who holds a lock file, as its holder wrote it.
func readHolder(f *os.File) string {
	b := make([]byte, 128)
	n, _ := f.ReadAt(b, 0) // io.EOF after the line
	if s := strings.TrimSpace(string(b[:n])); s != "" {
		return s
	}
	return "holder unknown"
}

// unlockFile releases the instance id's lock file. Closing the file
// releases the lock.
func (t *takeover) unlockFile() {
	if t.file == nil {
		return
	}
	_ = t.file.Close()
	t.file = nil
}

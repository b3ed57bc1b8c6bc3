package jobs

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/migrations"
)

// slowBeats is a heartbeat interval no test waits out: a start that watched
// for a twin would watch for about as long.
const slowBeats = 10 * time.Minute

// migratedSQLite returns the path of a migrated SQLite database file.
func migratedSQLite(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jobs.db")
	require.NoError(t, migrations.Up(context.Background(), openSQLite(t, path), migrations.SQLite))
	return path
}

// newSQLiteEngine returns an engine on its own pool of the database at path,
// as a separate process would have.
func newSQLiteEngine(t *testing.T, path string, opts Options) *Engine {
	t.Helper()
	e, err := NewSQLite(openSQLite(t, path), opts)
	require.NoError(t, err)
	return e
}

// startUnwatched starts e with a context cancelled after a few seconds,
// far less than a watch for a twin beating every slowBeats would last: a
// start that watched ends with the context's error instead of its own
// answer. An engine that started keeps running.
func startUnwatched(t *testing.T, e *Engine) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	guard := time.AfterFunc(5*time.Second, cancel)
	err := e.Start(ctx)
	if !guard.Stop() {
		require.NotErrorIs(t, err, context.Canceled, "the start watched the heartbeat")
	}
	if err == nil {
		t.Cleanup(func() {
			stopCtx, done := context.WithTimeout(context.Background(), waitFor)
			defer done()
			_ = e.Stop(stopCtx)
			cancel()
		})
	} else {
		cancel()
	}
	return err
}

// TestRestartAfterACrashOnSQLiteWatchesNothing: a process killed mid-run
// leaves a recent heartbeat and a running job under its instance id, and
// its lock file unlocked by the kernel. Its restart finds the lock free and
// takes back the job at once, without watching the heartbeat for a twin.
func TestRestartAfterACrashOnSQLiteWatchesNothing(t *testing.T) {
	t.Parallel()
	path := migratedSQLite(t)
	opts := testOptions()
	opts.InstanceID = "replica-e"
	opts.HeartbeatInterval = slowBeats
	opts.JobTimeout = time.Hour
	e := newSQLiteEngine(t, path, opts)
	var rec recorder
	e.Handle("work", rec.handle)
	ctx := context.Background()
	_, err := e.Schedule(ctx, incident.Job{Kind: "work", Payload: []byte("interrupted"), Urgent: true})
	require.NoError(t, err)
	holdJobs(t, e, "replica-e")
	require.NoError(t, e.takeover.beat(ctx), "the killed life's last beat, a moment ago")

	require.NoError(t, startUnwatched(t, e))
	require.Eventually(t, func() bool { return rec.count("interrupted") == 1 }, waitFor, tick)
	require.NotNil(t, e.takeover.file, "the running engine holds its lock file")
}

// TestTwinOnSQLiteIsRefusedAtOnce: a second engine under a running one's
// instance id finds the lock file held and refuses to start at once,
// naming INSTANCE_ID and the holder, even when the first has not beaten for
// a while. Once the first stops cleanly the lock is free again.
func TestTwinOnSQLiteIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	path := migratedSQLite(t)
	opts := testOptions()
	opts.InstanceID = "replica/f: any characters"
	opts.HeartbeatInterval = slowBeats
	first := newSQLiteEngine(t, path, opts)
	require.NoError(t, startUnwatched(t, first))

	opts = withRegistry(opts)
	twin := newSQLiteEngine(t, path, opts)
	err := startUnwatched(t, twin)
	require.ErrorIs(t, err, ErrInstanceInUse)
	require.Contains(t, err.Error(), "INSTANCE_ID")
	require.Contains(t, err.Error(), fmt.Sprintf("pid %d", os.Getpid()), "the holder is named")
	require.Contains(t, err.Error(), ".instance-replica_f__any_characters-", "the lock file is named")
	require.Nil(t, twin.takeover.file)

	stop(t, first)
	require.NoError(t, startUnwatched(t, twin), "a clean stop releases the lock")
}

// TestInMemorySQLiteWatchesForATwin: an in-memory database has no file to
// put a lock next to, so its start still watches a recent heartbeat of its
// instance id: another beat is a twin, none a previous life.
func TestInMemorySQLiteWatchesForATwin(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	ctx := context.Background()
	require.NoError(t, migrations.Up(ctx, db, migrations.SQLite))

	opts := testOptions()
	opts.InstanceID = "replica-m"
	opts.HeartbeatInterval = slowBeats
	restarted, err := NewSQLite(db, opts)
	require.NoError(t, err)
	require.NoError(t, restarted.takeover.beat(ctx), "the killed life's last beat, a moment ago")
	watchCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, restarted.takeover.checkTwin(watchCtx), context.DeadlineExceeded, "it watches the last beat")
	require.Nil(t, restarted.takeover.file)
	require.NoError(t, restarted.takeover.stopped(ctx))

	opts = withRegistry(opts)
	opts.HeartbeatInterval = 50 * time.Millisecond
	first, err := NewSQLite(db, opts)
	require.NoError(t, err)
	start(t, first)
	opts = withRegistry(opts)
	twin, err := NewSQLite(db, opts)
	require.NoError(t, err)
	err = twin.Start(ctx)
	require.ErrorIs(t, err, ErrInstanceInUse)
	require.Contains(t, err.Error(), "beat", "seen by its heartbeat")
}

// TestLockFileOfAKilledHolderIsFree: the lock is the kernel's to release.
// A process (this test binary, run again) starts an engine and is killed
// with SIGKILL in the middle of a job: while it runs, an engine under its
// instance id is refused; once it is dead, the same engine starts without
// watching and runs the interrupted job.
func TestLockFileOfAKilledHolderIsFree(t *testing.T) {
	t.Parallel()
	path := migratedSQLite(t)
	opts := testOptions()
	opts.InstanceID = "replica-k"
	opts.HeartbeatInterval = slowBeats
	opts.JobTimeout = time.Hour
	e := newSQLiteEngine(t, path, opts)
	var rec recorder
	e.Handle("work", rec.handle)
	_, err := e.Schedule(context.Background(), incident.Job{Kind: "work", Payload: []byte("interrupted"), Urgent: true})
	require.NoError(t, err)

	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHolderProcess$")
	cmd.Env = append(os.Environ(), lockHolderEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var waitErr error
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	})
	running := make(chan struct{})
	go func() {
		defer close(exited)
		lines := bufio.NewScanner(out)
		for lines.Scan() {
			if lines.Text() == "running" {
				close(running)
				break
			}
		}
		for lines.Scan() {
		}
		waitErr = cmd.Wait()
	}()
	select {
	case <-running:
	case <-time.After(waitFor):
		t.Fatalf("the holder process never ran its job:\n%s", stderr.String())
	}

	err = startUnwatched(t, e)
	require.ErrorIs(t, err, ErrInstanceInUse, "the holder runs")
	require.Contains(t, err.Error(), fmt.Sprintf("pid %d", cmd.Process.Pid))

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	<-exited
	var exit *exec.ExitError
	require.ErrorAs(t, waitErr, &exit)
	require.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal(), "killed, not stopped")
	seen, _, ok, err := e.takeover.lastBeat(context.Background())
	require.NoError(t, err)
	require.True(t, ok && seen > 0, "the killed holder left its heartbeat")

	require.NoError(t, startUnwatched(t, e), "the lock died with its holder")
	require.Eventually(t, func() bool { return rec.count("interrupted") == 1 }, waitFor, tick, "the interrupted job runs again")
}

// lockHolderEnv names the database TestLockHolderProcess runs an engine on.
const lockHolderEnv = "JOBS_TEST_LOCK_HOLDER_DB"

// TestLockHolderProcess is the process TestLockFileOfAKilledHolderIsFree
// kills: it runs an engine as replica-k, writes "running" once a job has
// started, and holds the job until it is killed. Run on its own, it does
// nothing.
func TestLockHolderProcess(t *testing.T) {
	path := os.Getenv(lockHolderEnv)
	if path == "" {
		return
	}
	opts := testOptions()
	opts.InstanceID = "replica-k"
	opts.HeartbeatInterval = slowBeats
	opts.JobTimeout = time.Hour
	e := newSQLiteEngine(t, path, opts)
	e.Handle("work", func(ctx context.Context, _ []byte) error {
		fmt.Println("running")
		<-ctx.Done()
		return ctx.Err()
	})
	require.NoError(t, e.Start(context.Background()))
	time.Sleep(time.Minute)
	t.Fatal("the holder was not killed")
}

// TestLockFileNames: an instance id may hold any character; its lock file
// stays next to the database, with a name safe on any file system, and
// ids that read alike once made safe get files of their own.
func TestLockFileNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "firebreak.db")
	names := map[string]string{}
	for _, id := range []string{"web-1-8080", "web 1", "web_1", "web/1", "../../etc/passwd", "ünï:code*?", "", strings.Repeat("x", 300)} {
		name := lockFileName(db, id)
		require.Equal(t, dir, filepath.Dir(name), "id %q", id)
		base := filepath.Base(name)
		require.True(t, strings.HasPrefix(base, "firebreak.db.instance-") && strings.HasSuffix(base, ".lock"), base)
		require.Less(t, len(base), 100, base)
		for _, r := range strings.TrimPrefix(base, "firebreak.db.instance-") {
			require.True(t, strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", r), "%q in %q", r, base)
		}
		require.NotContains(t, names, name, "ids %q and %q", id, names[name])
		names[name] = id
	}
	require.Equal(t, lockFileName(db, "web-1-8080"), lockFileName(db, "web-1-8080"), "a restart finds its file")
}

// TestUnopenableLockFileIsNamed: a start that cannot open its lock file
// (a read-only directory; here a directory in its place, since tests may
// run as root) fails and names the file and what to fix.
func TestUnopenableLockFileIsNamed(t *testing.T) {
	t.Parallel()
	path := migratedSQLite(t)
	opts := testOptions()
	opts.InstanceID = "replica-r"
	e := newSQLiteEngine(t, path, opts)
	file, err := e.takeover.databaseFile(context.Background())
	require.NoError(t, err)
	lock := lockFileName(file, "replica-r")
	require.NoError(t, os.Mkdir(lock, 0o700))

	err = startUnwatched(t, e)
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrInstanceInUse), "it is no twin: %v", err)
	require.Contains(t, err.Error(), lock)
	require.Contains(t, err.Error(), "directory must be writable")
	require.False(t, e.Running())
}

// withRegistry returns opts with a registry of their own, for another
// engine in this process.
func withRegistry(opts Options) Options {
	opts.Registerer = testOptions().Registerer
	return opts
}

// TestLockFileThatIsASymlinkIsRefused: a symbolic link in the lock file's
// place (planted in a shared directory such as /tmp) is not followed, as
// SQLite follows none for its journals: the start fails naming the file,
// and the file the link points at is left as it was, not truncated and
// written over with the holder's line.
func TestLockFileThatIsASymlinkIsRefused(t *testing.T) {
	if !fileLocks {
		t.Skip("no flock(2) on this system")
	}
	t.Parallel()
	path := migratedSQLite(t)
	opts := testOptions()
	opts.InstanceID = "replica-s"
	e := newSQLiteEngine(t, path, opts)
	file, err := e.takeover.databaseFile(context.Background())
	require.NoError(t, err)
	lock := lockFileName(file, "replica-s")
	target := filepath.Join(t.TempDir(), "precious")
	require.NoError(t, os.WriteFile(target, []byte("keep me\n"), 0o600))
	require.NoError(t, os.Symlink(target, lock))

	err = startUnwatched(t, e)
	require.Error(t, err)
	require.False(t, errors.Is(err, ErrInstanceInUse), "it is no twin: %v", err)
	require.Contains(t, err.Error(), lock)
	require.Contains(t, err.Error(), "symbolic link")
	require.False(t, e.Running())
	got, err := os.ReadFile(target)
	require.NoError(t, err)
	require.Equal(t, "keep me\n", string(got), "the link's target is untouched")
}

// TestFileSystemWithoutLocksWatchesTheHeartbeat: on a file system that
// takes no file locks (flock answers EOPNOTSUPP or ENOLCK, as some network
// and FUSE file systems do) the start does not fail: it watches the last
// heartbeat for a twin, as for a database without a file, and says why.
func TestFileSystemWithoutLocksWatchesTheHeartbeat(t *testing.T) {
	t.Parallel()
	path := migratedSQLite(t)
	opts := testOptions()
	opts.InstanceID = "replica-n"
	opts.HeartbeatInterval = slowBeats
	e := newSQLiteEngine(t, path, opts)
	e.takeover.lockFn = func(*os.File) (bool, error) {
		return false, fmt.Errorf("%w: operation not supported", errNoFileLocks)
	}
	ctx := context.Background()
	require.NoError(t, e.takeover.beat(ctx), "a previous life's last beat, a moment ago")
	watchCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, e.takeover.checkTwin(watchCtx), context.DeadlineExceeded, "it watches the last beat")
	require.Nil(t, e.takeover.file)
	require.Contains(t, e.takeover.noLocks, "takes no file locks")
}

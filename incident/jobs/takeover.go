package jobs

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Defaults of the takeover of work held by a dead instance.
const (
	DefaultHeartbeatInterval = 2 * time.Second
	DefaultDeadAfter         = 10 * time.Second
	// instanceRetention is how long the row of an instance that stopped
	// beating is kept: long enough to recognise its jobs as orphans.
	instanceRetention = 24 * time.Hour
)

// defaultInstanceID names this process when Options.InstanceID is empty:
// the host name, which a restarted container keeps, so that a restart finds
// its own interrupted jobs at once.
func defaultInstanceID() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return fmt.Sprintf("pid-%d", os.Getpid())
}

// takeover hands jobs left running by a dead instance to a live one. Every
// engine records a heartbeat in job_instances; a job River shows as running
// on an instance whose heartbeat is older than deadAfter (or missing) is made
// available again, and so is, when an engine starts, every job running under
// its own instance id, since no run of this process can hold it yet. A live
// instance takes its own jobs from runs stuck past JobTimeout
// (Engine.rescueStuck); River's rescuer, which compares two hosts' clocks,
// never acts.
//
// An instance is judged dead by an engine that has itself been beating for
// deadAfter: then the other had deadAfter, with the database answering, to
// beat and did not. An engine cut off from the database on its own has
// stopped its jobs by then (fence). A database that every instance lost for longer than
// deadAfter (a failover, a network cut) leaves every last beat stale; an
// engine that judged on its first beat after it came back would take the
// jobs the others are still running, and run them a second time.
type takeover struct {
	db        *sql.DB
	postgres  bool
	id        string
	queues    []string
	interval  time.Duration
	deadAfter time.Duration
	// now is this process's clock, which times only how long its own
	// beats have gone on (judging): heartbeats are the database's time
	// (dbNow).
	now func() time.Time
	// lock is, on PostgreSQL, the session that holds this instance id's
	// advisory lock for the engine's life. PostgreSQL ends a killed
	// process's session with its connection, so a restart finds the lock
	// free at once, while a running twin still holds it.
	lock *sql.Conn
	// file is, on SQLite, the open lock file of this instance id next to
	// the database (lockFile), which the kernel unlocks when the process
	// dies.
	file *os.File
	// noLocks says why this instance id could not be locked on SQLite,
	// when the file system takes no file locks: the start then watches
	// the heartbeat for a twin, as without a database file.
	noLocks string
	// lockFn takes a file lock (flock); tests stand in a file system that
	// takes none.
	lockFn func(*os.File) (bool, error)
	// beatingSince is when this engine's beats last resumed: its first
	// beat, or its first after a failed one; zero after a failed beat.
	beatingSince time.Time
	// recorded is when the last recorded beat was sent, on this process's
	// monotonic clock (not now, which tests skew): the database stamped
	// it no earlier, so the others count DeadAfter from no earlier (fence).
	recorded time.Time
}

// rebind turns ? placeholders into $n for PostgreSQL.
func (t *takeover) rebind(q string) string {
	if !t.postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// dbNow is the database's clock in Unix milliseconds, as SQL. Heartbeats
// are written and compared in it: replicas on several hosts share the
// database but not a clock, and a host whose clock is ahead (or jumps, as
// after an NTP step or a restored virtual machine) would otherwise read the
// others' fresh beats as stale and take their running jobs, or have its
// own read so.
func (t *takeover) dbNow() string {
	if t.postgres {
		return "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS bigint)"
	}
	return "CAST(unixepoch('subsec') * 1000 AS INTEGER)"
}

// beat records that this instance is alive, and forgets instances silent
// for a day.
func (t *takeover) beat(ctx context.Context) error {
	sent := time.Now()
	_, err := t.db.ExecContext(ctx, t.rebind(
		"INSERT INTO job_instances (id, seen_at_ms, started_at_ms) VALUES (?, "+t.dbNow()+", "+t.dbNow()+") "+
			"ON CONFLICT (id) DO UPDATE SET seen_at_ms = excluded.seen_at_ms"), t.id)
	if err != nil {
		t.beatingSince = time.Time{}
		return fmt.Errorf("jobs: heartbeat: %w", err)
	}
	t.recorded = sent
	if t.beatingSince.IsZero() {
		t.beatingSince = t.now()
	}
	_, err = t.db.ExecContext(ctx, t.rebind("DELETE FROM job_instances WHERE seen_at_ms < "+t.dbNow()+" - ?"), instanceRetention.Milliseconds())
	if err != nil {
		return fmt.Errorf("jobs: forget old instances: %w", err)
	}
	return nil
}

// judging reports whether this engine has beaten for deadAfter without a
// failure, and so may take a silent instance for a dead one.
func (t *takeover) judging() bool {
	return !t.beatingSince.IsZero() && t.now().Sub(t.beatingSince) >= t.deadAfter
}

// ErrInstanceInUse is Start's answer when another running process beats
// under the same instance id: both would take back each other's jobs as
// their own interrupted work, and run them twice.
var ErrInstanceInUse = errors.New("jobs: another running process uses this instance id")

// twinWatch is the longest a starting engine watches a recent heartbeat of
// its own instance id for another beat: longer than a beat's interval.
func (t *takeover) twinWatch() time.Duration { return 2*t.interval + time.Second }

// twinDue is how long to watch for a twin whose last beat is age old:
// until a live one would have beaten again, with a second to spare, within
// twinWatch.
func (t *takeover) twinDue(age time.Duration) time.Duration {
	due := t.interval + time.Second - age
	return min(max(due, t.interval/2), t.twinWatch())
}

// checkTwin is called before an engine's first heartbeat. A heartbeat of
// its instance id within deadAfter is either its previous life's, cut
// short by a crash, or another running process's with the same id. A lock
// that the previous life held and lost with its process tells them apart at
// once: on SQLite the instance id's lock file next to the database (held,
// ErrInstanceInUse; free, a previous life), on PostgreSQL its advisory lock
// (free, the beat was a dead session's). When the lock cannot tell (an
// in-memory SQLite database, or on PostgreSQL a lock held by a twin or by a
// lost host's session PostgreSQL has not closed yet) it watches the row
// until a live twin would have beaten again (twinDue): another beat means a
// twin, ErrInstanceInUse; none, a previous life, and the start goes on
// (taking back its jobs).
func (t *takeover) checkTwin(ctx context.Context) error {
	var locked bool
	var err error
	if t.postgres {
		locked, err = t.tryLock(ctx)
	} else {
		locked, err = t.lockFile(ctx)
	}
	if err != nil {
		return err
	}
	seen, age, ok, err := t.lastBeat(ctx)
	if err != nil || !ok || age > t.deadAfter || locked {
		return err
	}
	deadline := time.Now().Add(t.twinDue(age))
	tick := time.NewTicker(max(t.interval/4, 10*time.Millisecond))
	defer tick.Stop()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		now, age, ok, err := t.lastBeat(ctx)
		if err != nil {
			return err
		}
		if ok && now != seen {
			return fmt.Errorf("%w: %q beat %s ago; give each replica its own INSTANCE_ID", ErrInstanceInUse, t.id,
				age.Round(time.Millisecond))
		}
	}
	return nil
}

// lockKey names the instance id's advisory lock, as a 64-bit hash.
const lockKey = "SELECT pg_try_advisory_lock(hashtextextended('firebreak.jobs.instance:' || $1, 0))"

// tryLock takes the instance id's advisory lock on a session of its own,
// kept until unlock; false when another session holds it.
func (t *takeover) tryLock(ctx context.Context) (bool, error) {
	if t.lock != nil {
		return true, nil
	}
	conn, err := t.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("jobs: lock the instance id: %w", err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, lockKey, t.id).Scan(&ok); err != nil || !ok {
		_ = conn.Close()
		if err != nil {
			return false, fmt.Errorf("jobs: lock the instance id: %w", err)
		}
		return false, nil
	}
	t.lock = conn
	return true, nil
}

// relock takes the instance id's advisory lock, on PostgreSQL, if this
// engine does not hold it: a start that found it held by a session that
// did not beat (a lost host's, which PostgreSQL ends later) went on without
// it, and the session holding it may have ended since (the server
// restarted or failed over, the connection dropped), which releases it. A
// twin started meanwhile would find it free.
func (t *takeover) relock(ctx context.Context) error {
	if !t.postgres {
		return nil
	}
	if t.lock != nil {
		if err := t.lock.PingContext(ctx); err == nil {
			return nil
		}
		// The session, and the lock with it, is gone.
		t.dropLock()
	}
	_, err := t.tryLock(ctx)
	return err
}

// dropLock discards the session of the instance id's advisory lock: the
// pool closes it rather than reuse it, which ends the lock if it still
// holds it.
func (t *takeover) dropLock() {
	_ = t.lock.Raw(func(any) error { return driver.ErrBadConn })
	_ = t.lock.Close()
	t.lock = nil
}

// unlock releases the instance id's lock: its lock file, or its advisory
// lock and the session holding it.
func (t *takeover) unlock() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t.unlockContext(ctx)
}

// unlockContext is unlock within ctx: a database that does not answer in
// time has the session discarded, which ends the lock with it.
func (t *takeover) unlockContext(ctx context.Context) {
	t.unlockFile()
	if t.lock == nil {
		return
	}
	// Closing a database/sql Conn hands the session back to the pool,
	// lock and all: the lock is released first, and a session that cannot
	// release it is discarded, which ends it.
	_, err := t.lock.ExecContext(ctx, "SELECT pg_advisory_unlock(hashtextextended('firebreak.jobs.instance:' || $1, 0))", t.id)
	if err != nil {
		t.dropLock()
		return
	}
	_ = t.lock.Close()
	t.lock = nil
}

// lastBeat reads this instance id's last heartbeat (the database's time,
// in milliseconds) and its age; ok is false when it has none.
func (t *takeover) lastBeat(ctx context.Context) (seen int64, age time.Duration, ok bool, err error) {
	var ageMs int64
	err = t.db.QueryRowContext(ctx, t.rebind("SELECT seen_at_ms, "+t.dbNow()+" - seen_at_ms FROM job_instances WHERE id = ?"), t.id).
		Scan(&seen, &ageMs)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("jobs: read the instance's heartbeat: %w", err)
	}
	return seen, time.Duration(ageMs) * time.Millisecond, true, nil
}

// stopped records that this instance stopped cleanly: its next start need
// not watch for a twin, and nobody waits on its heartbeat.
func (t *takeover) stopped(ctx context.Context) error {
	_, err := t.db.ExecContext(ctx, t.rebind("UPDATE job_instances SET seen_at_ms = 0 WHERE id = ?"), t.id)
	if err != nil {
		return fmt.Errorf("jobs: record the stop: %w", err)
	}
	return nil
}

// orphan is a running job and the instance that last fetched it.
type orphan struct {
	id      int64
	attempt int
	owner   string
}

// reclaim makes available again the running jobs of dead instances, and
// those of this instance when own is set (at start). It returns how many.
// An instance that beat within deadAfter is alive; one that beat before is
// dead only once this engine has been beating for deadAfter (judging); one
// without a beat (it stopped, or was silent for a day) is dead.
func (t *takeover) reclaim(ctx context.Context, own bool) (int, error) {
	running, err := t.running(ctx)
	if err != nil || len(running) == 0 {
		return 0, err
	}
	alive, silent, err := t.instances(ctx)
	if err != nil {
		return 0, err
	}
	judging := t.judging()
	n := 0
	for _, j := range running {
		switch {
		case j.owner == t.id && !own:
			continue
		case j.owner != t.id && alive[j.owner]:
			continue
		case j.owner != t.id && silent[j.owner] && !judging:
			continue
		}
		ok, err := t.release(ctx, j)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

func (t *takeover) running(ctx context.Context) ([]orphan, error) {
	var q string
	args := []any{}
	if t.postgres {
		q = "SELECT id, attempt, coalesce(attempted_by[array_length(attempted_by, 1)], '') FROM river_job " +
			"WHERE state = 'running' AND queue = ANY($1)"
		args = append(args, t.queues)
	} else {
		q = "SELECT id, attempt, coalesce(json_extract(attempted_by, '$[#-1]'), '') FROM river_job " +
			"WHERE state = 'running' AND queue IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(t.queues)), ", ") + ")"
		for _, name := range t.queues {
			args = append(args, name)
		}
	}
	rows, err := t.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("jobs: list running jobs: %w", err)
	}
	defer rows.Close()
	var out []orphan
	for rows.Next() {
		var o orphan
		if err := rows.Scan(&o.id, &o.attempt, &o.owner); err != nil {
			return nil, fmt.Errorf("jobs: list running jobs: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: list running jobs: %w", err)
	}
	return out, nil
}

// lost returns the jobs River shows running under this instance that have
// been running for longer than age, by the database's clock.
func (t *takeover) lost(ctx context.Context, age time.Duration) ([]orphan, error) {
	var q string
	var args []any
	if t.postgres {
		q = "SELECT id, attempt, attempted_by[array_length(attempted_by, 1)] FROM river_job " +
			"WHERE state = 'running' AND queue = ANY($1) AND attempted_by[array_length(attempted_by, 1)] = $2 " +
			"AND attempted_at < now() - $3 * interval '1 millisecond'"
		args = []any{t.queues, t.id, age.Milliseconds()}
	} else {
		q = "SELECT id, attempt, json_extract(attempted_by, '$[#-1]') FROM river_job " +
			"WHERE state = 'running' AND queue IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(t.queues)), ", ") + ") " +
			"AND json_extract(attempted_by, '$[#-1]') = ? AND julianday(attempted_at) < julianday('now') - ? / 86400000.0"
		for _, name := range t.queues {
			args = append(args, name)
		}
		args = append(args, t.id, age.Milliseconds())
	}
	rows, err := t.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("jobs: list this instance's long-running jobs: %w", err)
	}
	defer rows.Close()
	var out []orphan
	for rows.Next() {
		var o orphan
		if err := rows.Scan(&o.id, &o.attempt, &o.owner); err != nil {
			return nil, fmt.Errorf("jobs: list this instance's long-running jobs: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: list this instance's long-running jobs: %w", err)
	}
	return out, nil
}

// instances returns the instances whose heartbeat is recent (alive), and
// those that beat before but not since (silent); an instance that stopped
// cleanly is neither.
func (t *takeover) instances(ctx context.Context) (alive, silent map[string]bool, err error) {
	rows, err := t.db.QueryContext(ctx, t.rebind("SELECT id, seen_at_ms >= "+t.dbNow()+" - ? FROM job_instances WHERE seen_at_ms > 0"),
		t.deadAfter.Milliseconds())
	if err != nil {
		return nil, nil, fmt.Errorf("jobs: read heartbeats: %w", err)
	}
	defer rows.Close()
	alive, silent = map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var id string
		var recent bool
		if err := rows.Scan(&id, &recent); err != nil {
			return nil, nil, fmt.Errorf("jobs: read heartbeats: %w", err)
		}
		if recent {
			alive[id] = true
		} else {
			silent[id] = true
		}
	}
	return alive, silent, rows.Err()
}

// release makes one running job available, unless it moved on meanwhile
// (finished, or fetched again). The interrupted run is not the job's
// failure, so a job interrupted on its last attempt gets one more.
func (t *takeover) release(ctx context.Context, j orphan) (bool, error) {
	now := "now()"
	if !t.postgres {
		now = "datetime('now', 'subsec')"
	}
	res, err := t.db.ExecContext(ctx, t.rebind("UPDATE river_job SET state = 'available', scheduled_at = "+now+", "+
		"max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END "+
		"WHERE id = ? AND state = 'running' AND attempt = ?"), j.id, j.attempt)
	if err != nil {
		return false, fmt.Errorf("jobs: release job %d: %w", j.id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

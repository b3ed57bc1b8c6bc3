package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// guardedDriver is River's driver with the results of this engine's runs
// recorded only while the job is still the run's.
//
// River records a run's result with JobSetStateIfRunningMany, whose only
// guard is state = 'running': it does not check that the running job is
// still this run's attempt. A run whose job was taken over (its engine cut
// off from the database for DeadAfter; or the result delivered late by a
// connection that hung, after the takeover) would write its result over the
// new holder's running attempt: a late "completed" ends the job under the
// new run, a late error makes it retryable while the new run goes on, and
// the new run's own result then finds it no longer running. River's batch
// completer also keeps a result it could not write and retries it until the
// database answers again, however long after.
type guardedDriver struct {
	riverdriver.Driver[*sql.Tx]
	guard *guard
}

// GetExecutor is the executor River's completer records results through.
func (d guardedDriver) GetExecutor() riverdriver.Executor {
	return guardedExecutor{Executor: d.Driver.GetExecutor(), driver: d.Driver, guard: d.guard}
}

type guardedExecutor struct {
	riverdriver.Executor
	driver riverdriver.Driver[*sql.Tx]
	guard  *guard
}

// guard records the results of this engine's runs (fence.runs) in a
// transaction that first locks their jobs and keeps only those still
// running the run's attempt under this instance (the last of attempted_by):
// a job that moved on (taken over by another replica, or rescued) keeps its
// new holder's state. The result of a run stopped by the fence
// (ErrHeartbeatLost), or cancelled by the engine's stop past its deadline
// (which River records as an interruption), is recorded as an interrupted
// run, available again at once; unless the handler completed the job
// anyway. An interruption is not the job's failure, so it is not charged
// against the job's maximum: a run stopped before its handler started
// gives its attempt back, as it did nothing; one stopped after keeps it, so
// that the rerun, the next attempt, knows an earlier one may have acted (a
// handler's "attempt > 1" check looks for what it did), and the job's
// maximum grows by one instead. River's own shutdown path gives the
// attempt back whether or not the handler started: the rerun of a
// cancelled announcement would take itself for the first and post again.
type guard struct {
	db       *sql.DB
	driver   riverdriver.Driver[*sql.Tx]
	postgres bool
	id       string
	// schema holds River's tables on PostgreSQL (Options.Schema), and
	// table is river_job in it.
	schema string
	table  string
	fence  *fence
	log    *slog.Logger
	// now is this host's clock, River's (Options.clock, time.Now).
	now func() time.Time
}

// JobSetStateIfRunningMany records runs' results, guarded.
func (x guardedExecutor) JobSetStateIfRunningMany(ctx context.Context, params *riverdriver.JobSetStateIfRunningManyParams) ([]*rivertype.JobRow, error) {
	runs := x.guard.fence.lookup(params.ID)
	if len(runs) == 0 {
		return x.Executor.JobSetStateIfRunningMany(ctx, params)
	}
	tx, err := x.guard.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("jobs: record results: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	holders, err := x.guard.holders(ctx, tx, params.ID)
	if err != nil {
		return nil, err
	}
	kept, moved, interrupted, extended, stale := x.guard.filter(params, runs, holders)
	if err := x.guard.extend(ctx, tx, extended); err != nil {
		return nil, err
	}
	if err := x.guard.onDatabaseClock(ctx, tx, kept); err != nil {
		return nil, err
	}
	var rows []*rivertype.JobRow
	if len(kept.ID) > 0 {
		rows, err = x.driver.UnwrapExecutor(tx).JobSetStateIfRunningMany(ctx, kept)
		if err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("jobs: record results: %w", err)
	}
	x.guard.fence.settle(runs)
	if len(stale) > 0 {
		x.guard.log.WarnContext(ctx, "late results of abandoned runs (handlers that ignored JobTimeout) were not recorded", "job_ids", stale)
	}
	if len(moved) > 0 {
		x.guard.log.WarnContext(ctx, "results of runs whose jobs moved on (taken over by another instance) were not recorded", "job_ids", moved)
	}
	if len(interrupted) > 0 {
		x.guard.log.InfoContext(ctx, "interrupted jobs (cut off from the database, or stopped by a shutdown) are available again", "job_ids", interrupted)
	}
	return rows, nil
}

// holder is the attempt of a running job and the instance running it.
type holder struct {
	attempt     int
	maxAttempts int
	owner       string
}

// holders locks the running jobs among ids and returns who runs them.
// SQLite takes its write lock with the first write of a transaction, so the
// read is an update that changes nothing: a plain read would let another
// connection commit between it and River's update.
func (g *guard) holders(ctx context.Context, tx *sql.Tx, ids []int64) (map[int64]holder, error) {
	var q string
	var args []any
	if g.postgres {
		q = "SELECT id, attempt, max_attempts, coalesce(attempted_by[array_length(attempted_by, 1)], '') FROM " + g.table +
			" WHERE id = ANY($1) AND state = 'running' FOR UPDATE"
		args = []any{ids}
	} else {
		q = "UPDATE river_job SET state = state WHERE id IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") +
			") AND state = 'running' RETURNING id, attempt, max_attempts, coalesce(json_extract(attempted_by, '$[#-1]'), '')"
		for _, id := range ids {
			args = append(args, id)
		}
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("jobs: record results: lock the jobs: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]holder, len(ids))
	for rows.Next() {
		var id int64
		var h holder
		if err := rows.Scan(&id, &h.attempt, &h.maxAttempts, &h.owner); err != nil {
			return nil, fmt.Errorf("jobs: record results: lock the jobs: %w", err)
		}
		out[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: record results: lock the jobs: %w", err)
	}
	return out, nil
}

// extend gives the jobs ids one more attempt, in the transaction that
// records their interrupted runs.
func (g *guard) extend(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var q string
	var args []any
	if g.postgres {
		q = "UPDATE " + g.table + " SET max_attempts = max_attempts + 1 WHERE id = ANY($1)"
		args = []any{ids}
	} else {
		q = "UPDATE river_job SET max_attempts = max_attempts + 1 WHERE id IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + ")"
		for _, id := range ids {
			args = append(args, id)
		}
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("jobs: record results: extend interrupted jobs: %w", err)
	}
	return nil
}

// givesAttemptBack reports whether River records result i of the run r as
// an interruption, which gives the attempt back: the run was cancelled by
// the engine's stop (River's shutdown path), not postponed by its handler
// (a snooze, which gives it back too and is counted apart).
func givesAttemptBack(params *riverdriver.JobSetStateIfRunningManyParams, i int, r runView) bool {
	return !r.snoozed && params.Attempt[i] != nil && *params.Attempt[i] < r.attempt
}

// filter keeps the results River may record: those of jobs that are not
// this engine's runs (River's own failures before a run), and those of
// runs whose jobs are still theirs, a stopped run's as interrupted. It
// returns the ids of the results dropped, of those made interrupted, and of
// the interrupted jobs whose handler had started, which keep the attempt
// and get one more (extend).
func (g *guard) filter(params *riverdriver.JobSetStateIfRunningManyParams, runs map[int64]runView, holders map[int64]holder) (kept *riverdriver.JobSetStateIfRunningManyParams, moved, interrupted, extended, stale []int64) {
	kept = &riverdriver.JobSetStateIfRunningManyParams{Now: params.Now, Schema: params.Schema}
	now := g.now()
	for i, id := range params.ID {
		r, ours := runs[id]
		if ours {
			if h, ok := holders[id]; !ok || h.attempt != r.attempt || h.owner != g.id {
				if r.abandoned {
					// The late result of a run whose job was taken
					// from it (rescueStuck), which may have run again.
					stale = append(stale, id)
				} else {
					moved = append(moved, id)
				}
				continue
			}
		}
		if ours && params.State[i] != rivertype.JobStateCompleted && (r.stopped || r.started && givesAttemptBack(params, i, r)) {
			attempt := r.attempt
			if r.started {
				extended = append(extended, id)
			} else {
				attempt = max(r.attempt-1, 0)
			}
			kept.ID = append(kept.ID, id)
			kept.Attempt = append(kept.Attempt, &attempt)
			kept.ErrData = append(kept.ErrData, nil)
			kept.FinalizedAt = append(kept.FinalizedAt, nil)
			kept.MetadataDoMerge = append(kept.MetadataDoMerge, false)
			kept.MetadataUpdates = append(kept.MetadataUpdates, nil)
			kept.ScheduledAt = append(kept.ScheduledAt, &now)
			kept.State = append(kept.State, rivertype.JobStateAvailable)
			interrupted = append(interrupted, id)
			continue
		}
		doMerge, updates := params.MetadataDoMerge[i], params.MetadataUpdates[i]
		if ours && r.deferral > 0 {
			// A job put back for a replica that has its kind's handler:
			// counted as a deferral, not as one of River's snoozes, which
			// the handler would take for earlier attempts.
			doMerge, updates = true, fmt.Appendf(nil, `{%q:%d}`, deferralsKey, r.deferral)
		}
		kept.ID = append(kept.ID, id)
		kept.Attempt = append(kept.Attempt, params.Attempt[i])
		kept.ErrData = append(kept.ErrData, params.ErrData[i])
		kept.FinalizedAt = append(kept.FinalizedAt, params.FinalizedAt[i])
		kept.MetadataDoMerge = append(kept.MetadataDoMerge, doMerge)
		kept.MetadataUpdates = append(kept.MetadataUpdates, updates)
		kept.ScheduledAt = append(kept.ScheduledAt, params.ScheduledAt[i])
		kept.State = append(kept.State, params.State[i])
	}
	return kept, moved, interrupted, extended, stale
}

// onDatabaseClock moves the times River gave results on this host's clock
// (when a retry or a snoozed job is due, when an interrupted one is
// available again) to the database's, which decides when the job is
// fetched again: a host whose clock is behind had its snoozed timers due at
// once by the database's, fetched again and again until its own clock
// caught up, each time a snooze (and past MaxSnoozes an attempt) spent,
// and its retries came without their backoff. A result due later is made
// available rather than scheduled or retryable, as urgentTimers does for
// inserts: River's leader makes those available by its own clock, late by
// as much as that clock is behind, while its fetch goes by the database's.
func (g *guard) onDatabaseClock(ctx context.Context, tx *sql.Tx, kept *riverdriver.JobSetStateIfRunningManyParams) error {
	if !slices.ContainsFunc(kept.ScheduledAt, func(at *time.Time) bool { return at != nil }) {
		return nil
	}
	dbNow, err := g.dbNow(ctx, tx)
	if err != nil {
		return err
	}
	shift := dbNow.Sub(g.now())
	for i, at := range kept.ScheduledAt {
		if at == nil {
			continue
		}
		due := at.Add(shift)
		kept.ScheduledAt[i] = &due
		if s := kept.State[i]; s == rivertype.JobStateScheduled || s == rivertype.JobStateRetryable {
			kept.State[i] = rivertype.JobStateAvailable
		}
	}
	return nil
}

// abandon takes the job id from this engine's run at attempt, whose handler
// has gone on past JobTimeout (why says how long): the run is charged as a
// failed attempt, with why as its error, and the job is available again at
// once, or discarded on its last attempt, as River's rescuer did with a
// job stuck so long. It reports false when the job is no longer the run's
// (it moved on, or finished meanwhile).
func (g *guard) abandon(ctx context.Context, id int64, attempt int, why string) (state rivertype.JobState, ok bool, err error) {
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		return "", false, fmt.Errorf("jobs: abandon a stuck run: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	holders, err := g.holders(ctx, tx, []int64{id})
	if err != nil {
		return "", false, err
	}
	h, held := holders[id]
	if !held || h.attempt != attempt || h.owner != g.id {
		return "", false, nil
	}
	now, err := g.dbNow(ctx, tx)
	if err != nil {
		return "", false, err
	}
	errData, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: attempt, Error: why})
	if err != nil {
		return "", false, fmt.Errorf("jobs: abandon a stuck run: %w", err)
	}
	params := &riverdriver.JobSetStateIfRunningManyParams{
		ID:              []int64{id},
		Attempt:         []*int{nil},
		ErrData:         [][]byte{errData},
		FinalizedAt:     []*time.Time{nil},
		MetadataDoMerge: []bool{false},
		MetadataUpdates: [][]byte{nil},
		ScheduledAt:     []*time.Time{&now},
		State:           []rivertype.JobState{rivertype.JobStateAvailable},
		Schema:          g.schema,
	}
	if attempt >= h.maxAttempts {
		params.FinalizedAt[0], params.ScheduledAt[0] = &now, nil
		params.State[0] = rivertype.JobStateDiscarded
	}
	if _, err := g.driver.UnwrapExecutor(tx).JobSetStateIfRunningMany(ctx, params); err != nil {
		return "", false, fmt.Errorf("jobs: abandon a stuck run: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return "", false, fmt.Errorf("jobs: abandon a stuck run: %w", err)
	}
	return params.State[0], true, nil
}

// dbNow reads the database's clock in tx. SQLite's is this host's.
func (g *guard) dbNow(ctx context.Context, tx *sql.Tx) (time.Time, error) {
	if !g.postgres {
		return time.Now(), nil
	}
	var now time.Time
	if err := tx.QueryRowContext(ctx, "SELECT clock_timestamp()").Scan(&now); err != nil {
		return time.Time{}, fmt.Errorf("jobs: read the database's clock: %w", err)
	}
	return now, nil
}

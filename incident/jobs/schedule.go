package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/firebreakhq/firebreak/incident"
)

// Schedule stores the job. When job.Key is set and a job with the same Kind
// and Key is still pending, scheduled, available, running or retryable, it
// stores nothing and reports false. It returns an EINVALID error for an
// empty kind or a kind without a registered handler, which is almost always
// a typo that would otherwise surface only an hour later, when the job is
// cancelled.
func (e *Engine) Schedule(ctx context.Context, job incident.Job) (bool, error) {
	args, opts, err := e.insertArgs(job)
	if err != nil {
		return false, err
	}
	if e.inserts == nil {
		res, err := e.client.Insert(ctx, args, opts)
		return e.inserted(ctx, job, res, err)
	}
	// River's own pool commits without waiting for the disk; a job someone
	// was told is scheduled must not be lost with a crash of the database.
	tx, err := e.inserts.BeginTx(ctx, nil)
	if err != nil {
		return e.inserted(ctx, job, nil, err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := e.client.InsertTx(ctx, tx, args, opts)
	if err == nil {
		err = tx.Commit()
	}
	return e.inserted(ctx, job, res, err)
}

// ScheduleManyTx stores the jobs as Schedule does, inside tx and in one
// statement: those whose Kind and Key are already scheduled are skipped,
// and the rest exist once tx commits and never if it rolls back. Jobs are
// checked (as Schedule checks them) before anything is stored. tx must
// belong to the database the engine runs on (for PostgreSQL, a connection
// of the pool given to NewPostgres or of its Options.BackgroundPool; for
// SQLite, the *sql.DB given to NewSQLite), and the jobs must not share a Kind and Key.
func (e *Engine) ScheduleManyTx(ctx context.Context, tx *sql.Tx, jobs []incident.Job) error {
	if tx == nil {
		return errors.New("jobs: ScheduleManyTx needs a transaction")
	}
	if len(jobs) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, 0, len(jobs))
	for _, job := range jobs {
		args, opts, err := e.insertArgs(job)
		if err != nil {
			return err
		}
		params = append(params, river.InsertManyParams{Args: args, InsertOpts: opts})
	}
	res, err := e.client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return fmt.Errorf("jobs: schedule %d jobs: %w", len(jobs), err)
	}
	skipped := 0
	for _, r := range res {
		if r.UniqueSkippedAsDuplicate {
			skipped++
		}
	}
	e.log.DebugContext(ctx, "jobs scheduled", "jobs", len(res)-skipped, "already_scheduled", skipped)
	return nil
}

// insertArgs validates a job and maps it to River's arguments and options.
func (e *Engine) insertArgs(job incident.Job) (taskArgs, *river.InsertOpts, error) {
	if job.Kind == "" {
		return taskArgs{}, nil, incident.Errorf(incident.EINVALID, "A job needs a kind.")
	}
	if _, ok := e.handler(job.Kind); !ok {
		return taskArgs{}, nil, incident.Errorf(incident.EINVALID, "No handler is registered for job kind %q.", job.Kind)
	}
	if job.MaxAttempts < 0 {
		return taskArgs{}, nil, incident.Errorf(incident.EINVALID, "A job's maximum attempts cannot be negative.")
	}
	args := taskArgs{JobKind: job.Kind, Key: job.Key, Payload: job.Payload}
	queue := e.opts.Queue
	if job.Urgent {
		queue = e.opts.UrgentQueue
	}
	opts := &river.InsertOpts{
		MaxAttempts: job.MaxAttempts,
		Queue:       queue,
		ScheduledAt: job.RunAt,
	}
	if limit := e.retryCap(job); limit > 0 {
		// Someone is waiting on this job: retried at most limit apart,
		// with the attempts that keep the span its maximum asked for.
		attempts := cmp.Or(job.MaxAttempts, e.opts.DefaultMaxAttempts)
		opts.MaxAttempts = cappedAttempts(attempts, limit)
		opts.Metadata = fmt.Appendf(nil, `{%q:%d}`, retryCapKey, limit.Milliseconds())
	}
	if job.Key != "" {
		opts.UniqueOpts = river.UniqueOpts{
			ByArgs: true,
			// Completed jobs count, so a redelivery arriving after the
			// first delivery was processed is still absorbed (River keeps
			// completed jobs for a day). Cancelled and discarded jobs are
			// left out so that a failed job's key can be scheduled again.
			ByState: []rivertype.JobState{
				rivertype.JobStateAvailable,
				rivertype.JobStateCompleted,
				rivertype.JobStatePending,
				rivertype.JobStateRetryable,
				rivertype.JobStateRunning,
				rivertype.JobStateScheduled,
			},
		}
	}
	return args, opts, nil
}

// retryCap is the longest wait between two attempts of job, or zero for
// the engine's usual backoff: urgent jobs and the kinds of
// Options.RetryCapKinds are capped at Options.RetryCap.
func (e *Engine) retryCap(job incident.Job) time.Duration {
	if e.opts.RetryCap <= 0 || !job.Urgent && !slices.Contains(e.opts.RetryCapKinds, job.Kind) {
		return 0
	}
	return e.opts.RetryCap
}

func (e *Engine) inserted(ctx context.Context, job incident.Job, res *rivertype.JobInsertResult, err error) (bool, error) {
	if err != nil {
		return false, fmt.Errorf("jobs: schedule %s: %w", job.Kind, err)
	}
	if res.UniqueSkippedAsDuplicate {
		e.log.DebugContext(ctx, "job already scheduled", "kind", job.Kind, "job_id", res.Job.ID)
		return false, nil
	}
	e.log.DebugContext(ctx, "job scheduled", "kind", job.Kind, "job_id", res.Job.ID, "queue", res.Job.Queue, "run_at", res.Job.ScheduledAt)
	return true, nil
}

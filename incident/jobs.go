package incident

import (
	"context"
	"time"
)

// Job is a unit of durable work: a timer or an outbound call. It survives a
// restart and runs once across replicas.
type Job struct {
	// Kind selects the handler.
	Kind string
	// Payload is the handler's input, usually JSON.
	Payload []byte
	// Key deduplicates: while a job with the same Kind and Key is pending,
	// running, retrying or completed (the engine keeps completed jobs for a
	// day), scheduling another one does nothing. A failed job's key is free
	// again. Empty means no deduplication.
	Key string
	// RunAt delays the job; zero means now.
	RunAt time.Time
	// MaxAttempts bounds retries; zero means the engine's default.
	MaxAttempts int
	// Urgent puts the job on the urgent queue, whose workers are reserved
	// for work a person is waiting on right now: pages, re-pages, nags,
	// acknowledgements. No amount of other work (channel setup, syncs,
	// exports) delays an urgent job. Keep urgent jobs short: one outbound
	// call, no sleeping.
	Urgent bool
}

// Scheduler stores jobs for later execution. A Tx is a Scheduler whose jobs
// commit with the transaction's rows.
type Scheduler interface {
	// Schedule stores the job. It reports false, with no error, when a job
	// with the same Kind and Key is already scheduled.
	Schedule(ctx context.Context, job Job) (scheduled bool, err error)
}

// JobHandler runs one job. A returned error retries the job with backoff; an
// error that has a RetryAfter() time.Duration method retries after that
// delay instead; an error wrapping ErrJobCancel stops retrying.
type JobHandler func(ctx context.Context, payload []byte) error

// ErrJobCancel, wrapped in a handler's error, means retrying cannot help.
var ErrJobCancel = Errorf(EINVALID, "the job cannot succeed and will not be retried")

type jobAttemptKey struct{}

type jobAttempt struct {
	id           int64
	attempt, max int
}

// WithJobAttempt tells a handler which attempt it is running; the job engine
// sets it.
func WithJobAttempt(ctx context.Context, attempt, max int) context.Context {
	return context.WithValue(ctx, jobAttemptKey{}, jobAttempt{attempt: attempt, max: max})
}

// WithJobRun tells a handler which job (its engine id) and attempt it is
// running; the job engine sets it.
func WithJobRun(ctx context.Context, id int64, attempt, max int) context.Context {
	return context.WithValue(ctx, jobAttemptKey{}, jobAttempt{id: id, attempt: attempt, max: max})
}

// JobID returns the engine's id of the job being run, or 0 outside a job.
// It is the same on every attempt, so an outbound write can carry a key that
// lets a later attempt recognise what an earlier one did.
func JobID(ctx context.Context) int64 {
	a, _ := ctx.Value(jobAttemptKey{}).(jobAttempt)
	return a.id
}

// JobAttempt returns the attempt being run (1 for the first) and the
// maximum, or zeros outside a job. A handler uses it to act once when its
// last attempt fails, such as telling a person what did not happen.
func JobAttempt(ctx context.Context) (attempt, max int) {
	a, _ := ctx.Value(jobAttemptKey{}).(jobAttempt)
	return a.attempt, a.max
}

// retryLater is an error that postpones a job without counting a failure.
type retryLater struct {
	err  *Error
	wait time.Duration
}

func (r *retryLater) Error() string             { return r.err.Error() }
func (r *retryLater) Unwrap() error             { return r.err }
func (r *retryLater) RetryAfter() time.Duration { return r.wait }

// notDue is a timer's postponement when it runs before its time by this
// process's clock.
type notDue struct {
	retryLater
	due time.Time
}

// Due is when the timer is due by this process's clock.
func (n *notDue) Due() time.Time { return n.due }

// NotDue is a timer's answer when the job engine runs it before due by this
// process's clock (the engine starts timers by the database's, which may be
// ahead): the same job runs again once due, without counting an attempt.
// Scheduling the timer again would not do: its key is this job's own, and
// the engine keeps it while the job runs. what names the timer, such as
// "INC-7's update reminder".
func NotDue(what string, due, now time.Time) error {
	err := Errorf(EUNAVAILABLE, "%s is due at %s; this process's clock says %s", what,
		due.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	return &notDue{retryLater: retryLater{err: err, wait: due.Sub(now)}, due: due}
}

// RetryLater returns an EUNAVAILABLE error that asks the job engine to run
// the job again after d, without counting the attempt as failed: for work
// that waits on another job, such as a sync waiting for the channel.
func RetryLater(d time.Duration, format string, args ...any) error {
	return &retryLater{err: Errorf(EUNAVAILABLE, format, args...), wait: d}
}

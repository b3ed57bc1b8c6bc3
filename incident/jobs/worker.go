package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/riverqueue/river"
	"github.com/tidwall/gjson"

	"github.com/firebreakhq/firebreak/incident"
)

// taskKind is the one River job kind every incident.Job is stored under.
const taskKind = "firebreak_task"

// Outcomes of one run of a job, used as a metric label.
const (
	outcomeCancelled = "cancelled"
	outcomeCompleted = "completed"
	outcomeDiscarded = "discarded"
	outcomeRetried   = "retried"
	outcomeSnoozed   = "snoozed"
	// outcomeCutOff is a run stopped, or not started, because its engine's
	// heartbeats were not recorded (ErrHeartbeatLost).
	outcomeCutOff = "cut_off"
	// outcomeInterrupted is a run cancelled by the engine's stop, once
	// the stop's deadline had passed.
	outcomeInterrupted = "interrupted"
	// outcomeAbandoned is a run whose handler went on past JobTimeout
	// and a grace: its job was taken from it, and its result dropped.
	outcomeAbandoned = "abandoned"
)

// A job of a kind this engine has no handler for (scheduled by a newer
// version, during a rolling deploy) is put back for defaultUnknownKindWait
// so that a replica that has the handler takes it, up to
// defaultUnknownKindDeferrals times (an hour of waits); then it is
// cancelled.
const (
	defaultUnknownKindWait      = 30 * time.Second
	defaultUnknownKindDeferrals = 120
)

// defaultStuckGrace is how long past JobTimeout a handler that ignores its
// cancelled context may hold its job before it is run again.
const defaultStuckGrace = time.Minute

// unknownKindLabel replaces an unregistered kind in metric labels, so a
// stray job cannot create unbounded label values.
const unknownKindLabel = "unknown"

// taskArgs are the River arguments of an incident.Job. JobKind and Key carry
// the unique tag: with UniqueOpts.ByArgs only they form the dedupe key, and
// the payload is free to differ.
type taskArgs struct {
	JobKind string `json:"kind" river:"unique"`
	Key     string `json:"key,omitempty" river:"unique"`
	Payload []byte `json:"payload,omitempty"`
}

// Kind implements river.JobArgs.
func (taskArgs) Kind() string { return taskKind }

// retryAfter is the method an error offers to say when a retry may succeed,
// as a rate-limited HTTP call does with Retry-After.
type retryAfter interface {
	RetryAfter() time.Duration
}

// dispatcher is the single River worker; it routes each job to the handler
// registered for its domain kind.
type dispatcher struct {
	river.WorkerDefaults[taskArgs]
	engine *Engine
}

// Work implements river.Worker.
func (d *dispatcher) Work(ctx context.Context, job *river.Job[taskArgs]) error {
	e := d.engine
	kind := job.Args.JobKind
	log := e.log.With("kind", kind, "job_id", job.ID, "attempt", job.Attempt, "queue", job.Queue)

	// The run is registered until its result is recorded: cut off from
	// the database, its context ends with ErrHeartbeatLost, and its result
	// is recorded only if the job is still its own (guardedExecutor).
	ctx, r := e.fence.begin(ctx, job.ID, job.Attempt)
	// River keeps one result per job id waiting to be written: the result
	// of a run is handed over only once another run's of the same job is
	// recorded, so neither replaces the other.
	defer e.fence.hand(job.ID, r)
	h, ok := e.handler(kind)
	if !ok {
		return d.unknownKind(ctx, log, job, r)
	}
	if job.Queue == e.opts.Queue && e.starts != nil {
		// Waits at most Workers turns, a fetch cooldown.
		_ = e.starts.Wait(ctx)
	}
	if cause := context.Cause(ctx); ctx.Err() != nil && !errors.Is(cause, ErrHeartbeatLost) {
		// The engine stopped before the handler's turn came: the run did
		// nothing, so it gives its attempt back, as River records a run
		// interrupted by a stop.
		log.InfoContext(ctx, "job not started: the engine is stopping; it runs again here or on another replica", "error", cause)
		return ctx.Err()
	}
	if !e.fence.start(r) {
		// Another replica may take the job over any moment: start no
		// outbound work for it. The run did nothing, so it gives its
		// attempt back (guard.filter).
		cause := context.Cause(ctx)
		log.WarnContext(ctx, "job not started: this instance is cut off from the database", "error", cause)
		e.metrics.observe(kind, outcomeCutOff, 0)
		return cause
	}
	log.DebugContext(ctx, "job started", "payload_bytes", len(job.Args.Payload))
	start := time.Now()
	// The engine gives a postponed (snoozed) job its attempt back, but the
	// postponed run may have acted before it was postponed (a post landed,
	// then a later call was rate limited): its rerun is told it is the
	// next attempt, and the maximum grows as much, so the last attempt is
	// still the last.
	snoozes := snoozesOf(job.Metadata)
	err := runHandler(incident.WithJobRun(ctx, job.ID, job.Attempt+snoozes, job.MaxAttempts+snoozes), h, job.Args.Payload)
	elapsed := time.Since(start)

	if e.fence.returnedRun(r) {
		// Its job was taken from it (rescueStuck) and may run again here
		// meanwhile. The rerun's result is recorded first: River keys its
		// running jobs, and the results it has to write, by job id, so
		// this run's return would end the rerun's entry, and its result
		// replace the rerun's. The guard then drops this one, the job
		// being no longer its run's.
		e.fence.awaitRerun(job.ID, r)
		log.WarnContext(ctx, "the handler of a job taken from it past JobTimeout returned; its result is dropped", "error", err, "duration", elapsed)
		e.metrics.observe(kind, outcomeAbandoned, elapsed)
		outcome, riverErr := d.classify(job, err)
		if outcome == outcomeSnoozed {
			e.fence.snooze(r)
		}
		return riverErr
	}
	if cause := context.Cause(ctx); err != nil && errors.Is(cause, ErrHeartbeatLost) {
		log.WarnContext(ctx, "job stopped: this instance is cut off from the database; it runs again here or on another replica", "error", err, "duration", elapsed)
		e.metrics.observe(kind, outcomeCutOff, elapsed)
		return err
	}
	if cause := context.Cause(ctx); err != nil && e.cancelling.Load() && errors.Is(ctx.Err(), context.Canceled) &&
		(errors.Is(err, context.Canceled) || errors.Is(err, cause)) {
		// Stop cancelled the run past its deadline (SHUTDOWN_TIMEOUT). It
		// is no failure of the job: the job is available again at once,
		// and since the handler may have acted, its rerun is the next
		// attempt, with one more allowed (guard.filter).
		log.InfoContext(ctx, "job stopped by the shutdown; it runs again here or on another replica as its next attempt", "error", err, "duration", elapsed)
		e.metrics.observe(kind, outcomeInterrupted, elapsed)
		return err
	}
	outcome, riverErr := d.classify(job, err)
	e.metrics.observe(kind, outcome, elapsed)
	if outcome == outcomeSnoozed {
		e.fence.snooze(r)
	}
	switch outcome {
	case outcomeCompleted:
		log.InfoContext(ctx, "job completed", "duration", elapsed)
	case outcomeSnoozed:
		log.InfoContext(ctx, "job postponed by its handler", "error", err, "snooze", snoozeOf(riverErr))
	case outcomeRetried:
		log.WarnContext(ctx, "job failed; will retry", "error", err, "max_attempts", job.MaxAttempts)
	case outcomeDiscarded:
		log.ErrorContext(ctx, "job failed on its last attempt; discarding", "error", err, "max_attempts", job.MaxAttempts)
	case outcomeCancelled:
		log.ErrorContext(ctx, "job cancelled by its handler", "error", err)
	}
	return riverErr
}

// unknownKind answers a job of a kind this engine has no handler for:
// most likely scheduled by a newer version during a rolling deploy, which a
// replica of that version can run. The job is put back for a while, its
// attempt given back and the deferral not counted as a snooze
// (guard.filter), so the replica that runs it sees its first attempt. After
// unknownKindDeferrals deferrals (an hour of waits, whichever replicas
// made them) no replica has taken it: it is cancelled.
func (d *dispatcher) unknownKind(ctx context.Context, log *slog.Logger, job *river.Job[taskArgs], r *run) error {
	e := d.engine
	n := deferralsOf(job.Metadata)
	if n >= e.unknownKindDeferrals {
		log.ErrorContext(ctx, "no replica has a handler for this job kind: cancelling the job", "deferrals", n,
			"waited", time.Duration(n)*e.unknownKindWait)
		e.metrics.observe(unknownKindLabel, outcomeCancelled, 0)
		return river.JobCancel(fmt.Errorf("jobs: no handler for kind %q after %d deferrals", job.Args.JobKind, n))
	}
	e.fence.deferRun(r, n+1)
	log.WarnContext(ctx, "no handler for job kind on this replica (an older version, during a rolling deploy?): leaving it to one that has it",
		"wait", e.unknownKindWait, "deferrals", n+1, "max_deferrals", e.unknownKindDeferrals)
	e.metrics.observe(unknownKindLabel, outcomeSnoozed, 0)
	return river.JobSnooze(e.unknownKindWait)
}

// deferralsKey is the job metadata key counting how often replicas
// without a handler for the job's kind put it back.
const deferralsKey = "firebreak_unknown_kind_deferrals"

func deferralsOf(metadata []byte) int {
	if len(metadata) == 0 {
		return 0
	}
	return int(gjson.GetBytes(metadata, deferralsKey).Int())
}

// classify maps a handler's result to an outcome and to the error River
// needs to act on it.
func (d *dispatcher) classify(job *river.Job[taskArgs], err error) (string, error) {
	if err == nil {
		return outcomeCompleted, nil
	}
	if errors.Is(err, incident.ErrJobCancel) {
		return outcomeCancelled, river.JobCancel(err)
	}
	wait, limited := time.Duration(0), false
	var ra retryAfter
	if errors.As(err, &ra) {
		wait, limited = ra.RetryAfter(), true
	} else if d.engine.opts.RetryAfter != nil {
		wait, limited = d.engine.opts.RetryAfter(err)
	}
	if limited {
		snoozes := gjson.GetBytes(job.Metadata, "snoozes").Int()
		// A non-positive delay gives no guidance, and past MaxSnoozes the
		// job must start consuming attempts so it cannot live forever.
		if wait > 0 && snoozes < int64(d.engine.opts.MaxSnoozes) {
			return outcomeSnoozed, river.JobSnooze(min(wait, d.engine.opts.MaxSnooze))
		}
	}
	if job.Attempt >= job.MaxAttempts {
		return outcomeDiscarded, err
	}
	return outcomeRetried, err
}

func snoozeOf(err error) time.Duration {
	var s *river.JobSnoozeError
	if errors.As(err, &s) {
		return s.Duration
	}
	return 0
}

// runHandler turns a panic into an error so that it is counted, logged with
// the job's attributes, and retried like any other failure.
func runHandler(ctx context.Context, h func(context.Context, []byte) error, payload []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("jobs: handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return h(ctx, payload)
}

// snoozesOf is how often the engine has postponed a job, from its row's
// metadata ("snoozes", which River counts up at each snooze).
func snoozesOf(metadata []byte) int {
	var m struct {
		Snoozes int `json:"snoozes"`
	}
	if len(metadata) == 0 || json.Unmarshal(metadata, &m) != nil || m.Snoozes < 0 {
		return 0
	}
	return m.Snoozes
}

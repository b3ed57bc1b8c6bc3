package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// ErrHeartbeatLost is the cause (context.Cause) of a job's context that its
// engine cancelled because the engine's heartbeats had not been recorded for
// its fence bound: another replica takes the job over once they have not
// been for DeadAfter, so the run stops before then, and an outbound call made
// with the context stops with it. A handler may tell it from other
// cancellations with errors.Is(context.Cause(ctx), ErrHeartbeatLost).
var ErrHeartbeatLost = errors.New("jobs: this instance's heartbeats have not been recorded for too long, so another may take its jobs over")

// fenceBound is how long an engine runs its jobs without a recorded
// heartbeat: DeadAfter less a margin of a quarter of it, or of one
// heartbeat interval if that is longer, for the cancelled handlers to
// return before another replica can take their jobs. ok is false when
// DeadAfter is too short for its interval to leave such a margin (shorter
// than about two intervals, when every late beat would stop the jobs): the
// bound is then two intervals, which another replica may not wait for.
func fenceBound(interval, deadAfter time.Duration) (bound time.Duration, ok bool) {
	bound = deadAfter - max(deadAfter/4, interval)
	if bound < interval {
		return 2 * interval, false
	}
	return bound, true
}

// fence stops the jobs of an engine cut off from the database on its own (a
// network partition, hung connections) before the other replicas take them
// over. It is measured on this process's monotonic clock from the time the
// last recorded heartbeat was sent, which is no later than the time the
// database stamped on it (seen_at_ms): another replica takes the jobs over
// no sooner than DeadAfter after that stamp, while this one stops them
// after bound.
//
// Every run of a job is registered from its start until its result has
// been recorded (guardedExecutor): the runs of a cut-off engine have their
// contexts cancelled with ErrHeartbeatLost, no new run starts its handler
// until a heartbeat is recorded again, and the result of a stopped run is
// recorded only if the job is still the run's, and then as an interrupted
// run unless its handler completed the job anyway.
type fence struct {
	bound time.Duration
	log   *slog.Logger

	mu sync.Mutex
	// last is when the last recorded heartbeat was sent; zero before the
	// engine's first.
	last time.Time
	// cut says that no heartbeat has been recorded for bound.
	cut   bool
	timer *time.Timer
	runs  map[int64]*run
	// handed is, per job, the run whose result Work has handed to River
	// and that is not recorded (or dropped) yet. River keeps the results
	// it has to write keyed by job id, so a second result of the same job
	// would replace the first in its batch: a run of a job waits to hand
	// its result until the one handed before is settled (hand).
	handed map[int64]*run
}

// run is one run of a job on this engine, from its start until its result
// is recorded.
type run struct {
	attempt int
	cancel  context.CancelCauseFunc
	// stopped says the engine was cut off during the run: its context was
	// cancelled with ErrHeartbeatLost (guarded by fence.mu).
	stopped bool
	// started says the run's handler was started: it may have acted on
	// the outside world (guarded by fence.mu).
	started bool
	// snoozed says the run's result postpones the job (a RetryAfter
	// error): River gives its attempt back, and the rerun counts the
	// snooze instead (guarded by fence.mu).
	snoozed bool
	// startedAt is when the handler was started, on this process's
	// monotonic clock (guarded by fence.mu).
	startedAt time.Time
	// abandoned says the run's handler went on past JobTimeout and a
	// grace, and its job was taken from it: it runs again, here or
	// elsewhere, and this run's result is never recorded (guarded by
	// fence.mu).
	abandoned bool
	// deferral, when positive, says the run put back a job of a kind
	// this engine has no handler for, for the deferral-th time (guarded
	// by fence.mu).
	deferral int
	// returned says the run's handler has returned (or was never
	// started and Work is returning): however long its result then takes
	// to be recorded, the run is not stuck (guarded by fence.mu).
	returned bool
	// settled is closed once the run's result was recorded or dropped,
	// or the engine stopped or restarted.
	settled chan struct{}
	// closed says settled is closed (guarded by fence.mu).
	closed bool
}

func newFence(bound time.Duration, log *slog.Logger) *fence {
	return &fence{bound: bound, log: log, runs: map[int64]*run{}, handed: map[int64]*run{}}
}

// reset forgets the runs and beats of a previous run of the engine.
func (f *fence) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopTimer()
	f.last, f.cut = time.Time{}, false
	f.releaseAll()
	f.runs = map[int64]*run{}
	f.handed = map[int64]*run{}
}

// halt stops watching the heartbeats, as the engine stops: nothing is
// recorded any more, so no run waits for another's result.
func (f *fence) halt() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopTimer()
	f.releaseAll()
}

// releaseAll settles every run; fence.mu is held.
func (f *fence) releaseAll() {
	for _, r := range f.runs {
		r.release()
	}
	for _, r := range f.handed {
		r.release()
	}
}

// release closes settled once; fence.mu is held.
func (r *run) release() {
	if !r.closed {
		r.closed = true
		close(r.settled)
	}
}

func (f *fence) stopTimer() {
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
}

// beaten records that the heartbeat sent at sent was recorded, and watches
// for the next.
func (f *fence) beaten(sent time.Time) {
	if sent.IsZero() {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if sent.After(f.last) {
		f.last = sent
	}
	left := f.bound - time.Since(f.last)
	if left <= 0 {
		// Recorded, but sent too long ago: the others may already count
		// from it.
		f.cutOff()
		return
	}
	if f.cut {
		f.cut = false
		f.log.Info("job heartbeats are recorded again; jobs start again")
	}
	if f.timer == nil {
		f.timer = time.AfterFunc(left, f.check)
	} else {
		f.timer.Reset(left)
	}
}

// check cuts the engine off once no heartbeat has been recorded for bound.
func (f *fence) check() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.timer == nil || f.last.IsZero() || time.Since(f.last) < f.bound {
		return // stopped, or a beat was recorded meanwhile and reset the timer
	}
	f.cutOff()
}

// cutOff stops every registered run; fence.mu is held.
func (f *fence) cutOff() {
	if !f.cut {
		f.cut = true
		f.log.Warn("job heartbeats not recorded: stopping this instance's jobs before another replica takes them over",
			"since", time.Since(f.last).Round(time.Millisecond), "bound", f.bound, "jobs", len(f.runs))
	}
	for _, r := range f.runs {
		if !r.stopped {
			r.stopped = true
			r.cancel(ErrHeartbeatLost)
		}
	}
}

// begin registers a run of job id at attempt and returns it and its
// context, which is cancelled with ErrHeartbeatLost if the engine is cut
// off, at once if it already is.
func (f *fence) begin(ctx context.Context, id int64, attempt int) (context.Context, *run) {
	runCtx, cancel := context.WithCancelCause(ctx)
	r := &run{attempt: attempt, cancel: cancel, settled: make(chan struct{})}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs[id] = r
	if f.cut || (!f.last.IsZero() && time.Since(f.last) >= f.bound) {
		f.cutOff()
	}
	return runCtx, r
}

// start marks the run as started, unless the engine has stopped it
// already: it reports whether the handler may run.
func (f *fence) start(r *run) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.stopped {
		return false
	}
	r.started = true
	r.startedAt = time.Now()
	return true
}

// stuckRun is a run whose handler has gone on for too long.
type stuckRun struct {
	id  int64
	run *run
	// attempt is the run's attempt.
	attempt int
	// ran is how long the handler has run.
	ran time.Duration
}

// stuck returns the runs whose handlers started more than limit ago and
// have not returned, unless they were abandoned already. A run whose
// handler has returned is not stuck, however long its result takes to be
// recorded (a slow database).
func (f *fence) stuck(limit time.Duration) []stuckRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []stuckRun
	for id, r := range f.runs {
		if r.started && !r.returned && !r.abandoned && time.Since(r.startedAt) > limit {
			out = append(out, stuckRun{id: id, run: r, attempt: r.attempt, ran: time.Since(r.startedAt)})
		}
	}
	return out
}

// abandon records that the run's job is being taken from it, unless its
// handler has returned meanwhile (then it reports false, and the run's
// result is recorded as usual).
func (f *fence) abandon(r *run) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.returned || r.abandoned {
		return false
	}
	r.abandoned = true
	return true
}

// unabandon undoes abandon, when the job could not be taken from the run.
func (f *fence) unabandon(r *run) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.abandoned = false
}

// returnedRun records that the run's handler returned, and reports whether
// its job was taken from it before.
func (f *fence) returnedRun(r *run) (abandoned bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.returned = true
	return r.abandoned
}

// awaitRerun waits while a newer run of job id, registered here since the
// run r's job was taken from it, runs or has its result to be recorded:
// River keys its running jobs by id too, and the return of r would end
// the rerun's entry.
func (f *fence) awaitRerun(id int64, r *run) {
	for {
		f.mu.Lock()
		n := f.runs[id]
		if n == nil || n == r || n.closed {
			f.mu.Unlock()
			return
		}
		ch := n.settled
		f.mu.Unlock()
		<-ch
	}
}

// hand records that the run of job id hands its result to River, once the
// result another run of the job handed before is settled: River would keep
// only one of two results of a job in one batch.
func (f *fence) hand(id int64, r *run) {
	for {
		f.mu.Lock()
		h := f.handed[id]
		if h == nil || h == r || h.closed {
			r.returned = true
			if !r.closed {
				f.handed[id] = r
			}
			f.mu.Unlock()
			return
		}
		ch := h.settled
		f.mu.Unlock()
		<-ch
	}
}

// holds reports whether a run of job id at attempt is registered.
func (f *fence) holds(id int64, attempt int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.runs[id]
	return ok && r.attempt == attempt
}

// deferRun records that the run puts back its job, of a kind this engine
// has no handler for, for the nth time.
func (f *fence) deferRun(r *run, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.deferral = n
}

// snooze records that the run's result postpones its job.
func (f *fence) snooze(r *run) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.snoozed = true
}

// runView is a registered run as lookup found it.
type runView struct {
	run       *run
	attempt   int
	stopped   bool
	started   bool
	snoozed   bool
	abandoned bool
	deferral  int
}

// lookup returns the runs whose results for the jobs ids River records:
// the run that handed its result (hand), else the registered one.
func (f *fence) lookup(ids []int64) map[int64]runView {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out map[int64]runView
	for _, id := range ids {
		r, ok := f.handed[id]
		if !ok {
			r, ok = f.runs[id]
		}
		if ok {
			if out == nil {
				out = make(map[int64]runView, len(ids))
			}
			out[id] = runView{run: r, attempt: r.attempt, stopped: r.stopped, started: r.started, snoozed: r.snoozed,
				abandoned: r.abandoned, deferral: r.deferral}
		}
	}
	return out
}

// settle forgets the runs whose results were recorded (or dropped), and
// lets the next run of each job hand its own; a newer run of the job
// registered since stays registered.
func (f *fence) settle(runs map[int64]runView) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, v := range runs {
		if f.handed[id] == v.run {
			delete(f.handed, id)
		}
		if f.runs[id] == v.run {
			delete(f.runs, id)
		}
		if v.run.returned {
			v.run.release()
		}
	}
}

// pending counts the runs whose results have not been recorded yet.
func (f *fence) pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.runs)
}

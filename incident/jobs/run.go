package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// Handle registers the handler for a job kind. It must be called before
// Start, since a job fetched before its handler exists would be put back
// for another replica (and cancelled after an hour of that).
// It panics on an empty kind, a nil handler, a duplicate kind, or a call after
// Start: all are wiring bugs, best found at boot.
func (e *Engine) Handle(kind string, h incident.JobHandler) {
	if kind == "" || h == nil {
		panic("jobs: Handle needs a kind and a handler")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		panic(fmt.Sprintf("jobs: Handle(%q) called after Start", kind))
	}
	if _, dup := e.handlers[kind]; dup {
		panic(fmt.Sprintf("jobs: duplicate handler for kind %q", kind))
	}
	e.handlers[kind] = h
}

func (e *Engine) handler(kind string) (incident.JobHandler, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	h, ok := e.handlers[kind]
	return h, ok
}

// Running reports whether the engine is working jobs: Start succeeded and
// the engine has not stopped since.
func (e *Engine) Running() bool {
	e.mu.RLock()
	stopped := e.stopped
	e.mu.RUnlock()
	if stopped == nil {
		return false
	}
	select {
	case <-stopped:
		return false
	default:
		return true
	}
}

// Start begins fetching and running jobs in the background. ctx bounds the
// start only (cancelling it abandons a start in progress): once started, the
// engine runs until Stop, so the signal that ends a process does not cancel
// the jobs its shutdown lets finish. The handlers' contexts carry ctx's
// values. Starting a running engine is an error.
func (e *Engine) Start(ctx context.Context) (err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped != nil {
		select {
		case <-e.stopped:
		default:
			return errors.New("jobs: engine already started")
		}
	}
	defer func() {
		if err != nil {
			e.fence.halt()
			e.takeover.unlock()
		}
	}()
	// Nothing of this process runs yet, so jobs still marked running under
	// its instance id were interrupted by its previous life: take them back
	// at once instead of waiting for the heartbeat to go stale; unless
	// another running process beats under the same id.
	if err := e.takeover.checkTwin(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	if why := e.takeover.noLocks; why != "" {
		e.log.WarnContext(ctx, "jobs: the instance id is not locked, so a restart after a crash watches the last heartbeat for a few seconds before it takes back its jobs", "reason", why)
	}
	if err := e.takeover.beat(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	e.fence.reset()
	e.cancelling.Store(false)
	e.fence.beaten(e.takeover.recorded)
	if n, err := e.takeover.reclaim(ctx, true); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	} else if n > 0 {
		e.log.WarnContext(ctx, "took back jobs interrupted by a crash", "jobs", n, "instance", e.opts.InstanceID)
	}
	// River stops abruptly, cancelling the running handlers, when the
	// context it started with ends: only Stop ends this one.
	runCtx := context.WithoutCancel(ctx)
	if err := e.client.Start(runCtx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	e.started = true
	e.stopped = e.client.Stopped()
	beatCtx, cancel := context.WithCancel(runCtx)
	e.stopBeat, e.beatDone = cancel, make(chan struct{})
	go e.heartbeat(beatCtx, e.beatDone)
	e.log.InfoContext(ctx, "job engine started", "workers", e.opts.Workers, "urgent_workers", e.opts.UrgentWorkers,
		"instance", e.opts.InstanceID)
	return nil
}

// heartbeat records that the engine is alive and hands the running jobs of
// dead instances to the queue, every HeartbeatInterval, until ctx ends. A
// recorded beat holds off the fence, which stops this engine's jobs when
// none has been recorded for its bound.
func (e *Engine) heartbeat(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(e.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		callCtx, cancel := context.WithTimeout(ctx, e.opts.HeartbeatInterval)
		err := e.takeover.beat(callCtx)
		// Also a beat whose clean-up failed after it was recorded.
		e.fence.beaten(e.takeover.recorded)
		if err == nil {
			// A start that found the lock held by a session that did
			// not beat went on without it: take it once it is free.
			err = e.takeover.relock(callCtx)
		}
		if err == nil {
			var n int
			if n, err = e.takeover.reclaim(callCtx, false); n > 0 {
				e.log.WarnContext(ctx, "took over jobs of a dead instance", "jobs", n)
			}
		}
		if err == nil {
			err = e.rescueStuck(callCtx)
		}
		cancel()
		if err != nil && ctx.Err() == nil {
			e.repeating.WarnContext(ctx, "job heartbeat failed", "error", err)
		}
	}
}

// rescueStuck does for this engine's own jobs what River's rescuer did,
// without comparing two hosts' clocks: it takes the job from a run whose
// handler has gone on past JobTimeout and a grace, timed on this process's
// clock from the handler's start (the job is charged a failed attempt and
// runs again, or is discarded on its last attempt), and makes available
// again a job River shows running here that no run of this engine holds,
// once it has been running that long by the database's clock. The jobs of
// dead replicas are taken over by reclaim.
func (e *Engine) rescueStuck(ctx context.Context) error {
	limit := e.opts.JobTimeout + e.stuckGrace
	for _, s := range e.fence.stuck(limit) {
		// Marked first, so that a handler returning meanwhile has its
		// result judged by the guard after the job was taken, or not.
		if !e.fence.abandon(s.run) {
			continue // its handler returned meanwhile
		}
		why := fmt.Sprintf("jobs: the handler ran for %s, past JobTimeout (%s) and a grace of %s, ignoring its cancelled context: the job was taken from it",
			s.ran.Round(time.Millisecond), e.opts.JobTimeout, e.stuckGrace)
		state, ok, err := e.guard.abandon(ctx, s.id, s.attempt, why)
		if err != nil {
			e.fence.unabandon(s.run)
			return err
		}
		if ok {
			e.log.ErrorContext(ctx, "job handler stuck past JobTimeout, ignoring its cancelled context: the job was taken from it", "job_id", s.id,
				"attempt", s.attempt, "ran", s.ran.Round(time.Millisecond), "job_timeout", e.opts.JobTimeout, "state", string(state))
		}
	}
	lost, err := e.takeover.lost(ctx, limit)
	if err != nil {
		return err
	}
	for _, j := range lost {
		if e.fence.holds(j.id, j.attempt) {
			continue // timed on this process's clock, above
		}
		if ok, err := e.takeover.release(ctx, j); err != nil {
			return err
		} else if ok {
			e.log.WarnContext(ctx, "job shown running on this instance, which does not run it: made available again", "job_id", j.id, "attempt", j.attempt)
		}
	}
	return nil
}

// endHeartbeat stops the heartbeat loop of the current run, if any.
func (e *Engine) endHeartbeat() {
	e.mu.Lock()
	stop, done := e.stopBeat, e.beatDone
	e.stopBeat, e.beatDone = nil, nil
	e.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	e.fence.halt()
}

// Stop stops fetching jobs and waits for running handlers to finish. If ctx
// ends first, it cancels the handlers' contexts (their jobs will be retried),
// waits at most Options.StopGrace for them to return, and returns ctx's
// error. Recording the stop and releasing the instance id take at most
// StopGrace too: past ctx, Stop returns within about twice StopGrace
// whatever the database does.
func (e *Engine) Stop(ctx context.Context) error {
	// What the logs left out while repeating is counted before the end.
	defer flushRepeats(context.WithoutCancel(ctx), e.riverLog)
	defer flushRepeats(context.WithoutCancel(ctx), e.repeating)
	// The heartbeat goes on while running jobs finish, so that no other
	// instance takes them over meanwhile; the instance id's lock is held
	// until the engine has stopped.
	err := e.client.Stop(ctx)
	if err == nil {
		// Nothing runs any more: the next start of this instance id need
		// not wait to tell its previous life from a twin. A database that
		// does not answer in time leaves the heartbeat to go stale instead.
		e.endHeartbeat()
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.opts.StopGrace)
		defer cancel()
		if serr := e.takeover.stopped(closeCtx); serr != nil {
			e.log.WarnContext(ctx, "job engine stopped, but its stop could not be recorded", "err", serr)
		}
		e.takeover.unlockContext(closeCtx)
		e.log.InfoContext(ctx, "job engine stopped")
		return nil
	}
	defer func() {
		e.endHeartbeat()
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.opts.StopGrace)
		defer cancel()
		e.takeover.unlockContext(closeCtx)
	}()
	if ctx.Err() == nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	e.log.WarnContext(ctx, "job engine stop timed out; cancelling running jobs", "grace", e.opts.StopGrace)
	e.cancelling.Store(true)
	hardCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.opts.StopGrace)
	defer cancel()
	if hardErr := e.client.StopAndCancel(hardCtx); hardErr != nil {
		return fmt.Errorf("jobs: stop: %w", errors.Join(err, hardErr))
	}
	return fmt.Errorf("jobs: stop: %w", err)
}

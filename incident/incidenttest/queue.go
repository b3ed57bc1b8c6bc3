package incidenttest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/firebreakhq/firebreak/incident"
)

// Queue is the in-memory job queue of the tests: an incident.Scheduler that
// keeps jobs until the test runs them, with the job engine's rules. A job
// with a Key is not scheduled twice while it waits; a job runs up to its
// MaxAttempts (3 when zero), stops retrying on incident.ErrJobCancel, goes
// back in the queue without spending an attempt when its error has a
// RetryAfter() time.Duration method; and the key of a job that failed for
// good is freed, so that it can be scheduled again. As the engine does, it
// runs a job with its id and attempt on the context (incident.WithJobRun),
// the id the same on every attempt, so a handler's outbound writes carry
// the keys by which a retry finds what an earlier attempt did.
type Queue struct {
	mu       sync.Mutex
	handlers map[string]incident.JobHandler
	jobs     []incident.Job
	keys     map[string]bool
	snoozes  int
	lastID   int64
	// ids are the ids of the keyed jobs run, by Kind and Key, so a job
	// postponed and run again keeps its id, as in the engine.
	ids map[string]int64
}

// maxSnoozes bounds how often a job may postpone itself, so that a handler
// that always asks to be retried later cannot loop a test forever.
const maxSnoozes = 200

// NewQueue returns an empty queue.
func NewQueue() *Queue {
	return &Queue{handlers: map[string]incident.JobHandler{}, keys: map[string]bool{}, ids: map[string]int64{}}
}

// Handle registers the handler of a job kind, replacing any before it.
func (q *Queue) Handle(kind string, h incident.JobHandler) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.handlers[kind] = h
}

// ResetHandlers forgets every handler, for a test that registers another
// service's jobs on the same queue.
func (q *Queue) ResetHandlers() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.handlers = map[string]incident.JobHandler{}
}

// Handler returns the handler of a job kind, or nil.
func (q *Queue) Handler(kind string) incident.JobHandler {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.handlers[kind]
}

// Schedule keeps the job. It reports false when a job of the same Kind and
// Key waits already.
func (q *Queue) Schedule(_ context.Context, job incident.Job) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if job.Key != "" {
		k := job.Kind + "/" + job.Key
		if q.keys[k] {
			return false, nil
		}
		q.keys[k] = true
	}
	q.jobs = append(q.jobs, job)
	return true, nil
}

// Jobs returns the waiting jobs, in the order they were scheduled.
func (q *Queue) Jobs() []incident.Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.jobs)
}

// Pending counts the waiting jobs of a kind; no kind counts them all.
func (q *Queue) Pending(kinds ...string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, j := range q.jobs {
		if len(kinds) == 0 || slices.Contains(kinds, j.Kind) {
			n++
		}
	}
	return n
}

// MoveToFront moves the first waiting job of kind before every other and
// returns it; false when none waits.
func (q *Queue) MoveToFront(kind string) (incident.Job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	job, ok := q.take(kind)
	if ok {
		q.jobs = append([]incident.Job{job}, q.jobs...)
	}
	return job, ok
}

// Take removes the first waiting job of kind and returns it, for a test
// that runs it by hand (Handler), as a worker of the engine would; its key
// stays taken, as a running job's does. False when none waits.
func (q *Queue) Take(kind string) (incident.Job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.take(kind)
}

func (q *Queue) take(kind string) (incident.Job, bool) {
	i := slices.IndexFunc(q.jobs, func(j incident.Job) bool { return j.Kind == kind })
	if i < 0 {
		return incident.Job{}, false
	}
	job := q.jobs[i]
	q.jobs = slices.Delete(q.jobs, i, i+1)
	return job, true
}

// RunAll runs every waiting job, and those they schedule, until none is
// left, and returns the errors of the jobs that failed for good. A job
// without a handler fails the test.
func (q *Queue) RunAll(t testing.TB) []error {
	t.Helper()
	return q.run(t, time.Time{}, nil)
}

// RunDue runs the jobs due at now (RunAt not after it), earliest first, and
// those they schedule that are due, and returns the errors of the jobs that
// failed for good. A postponed job comes back due at now plus its wait.
func (q *Queue) RunDue(t testing.TB, now time.Time) []error {
	t.Helper()
	return q.run(t, now, nil)
}

// Run runs the waiting jobs of the given kinds, and those of these kinds
// they schedule; other jobs keep waiting.
func (q *Queue) Run(t testing.TB, kinds ...string) []error {
	t.Helper()
	return q.run(t, time.Time{}, kinds)
}

func (q *Queue) next(now time.Time, kinds []string) (incident.Job, incident.JobHandler, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	next := -1
	for i, j := range q.jobs {
		if len(kinds) > 0 && !slices.Contains(kinds, j.Kind) {
			continue
		}
		if !now.IsZero() && j.RunAt.After(now) {
			continue
		}
		if next < 0 || j.RunAt.Before(q.jobs[next].RunAt) {
			next = i
		}
	}
	if next < 0 {
		return incident.Job{}, nil, false
	}
	job := q.jobs[next]
	q.jobs = slices.Delete(q.jobs, next, next+1)
	return job, q.handlers[job.Kind], true
}

func (q *Queue) run(t testing.TB, now time.Time, kinds []string) []error {
	t.Helper()
	var failed []error
	var aside []incident.Job // timers run early, back in the queue at the end
	defer func() {
		q.mu.Lock()
		q.jobs = append(q.jobs, aside...)
		q.mu.Unlock()
	}()
	for {
		job, h, ok := q.next(now, kinds)
		if !ok {
			return failed
		}
		if h == nil {
			t.Fatalf("no handler for job kind %s", job.Kind)
		}
		attempts := job.MaxAttempts
		if attempts <= 0 {
			attempts = 3
		}
		id := q.id(job)
		snoozed := false
		var err error
		for attempt := 1; attempt <= attempts; attempt++ {
			if err = h(incident.WithJobRun(context.Background(), id, attempt, attempts), job.Payload); err == nil {
				break
			}
			// A postponement goes back in the queue, as the engine's
			// snooze does, without spending an attempt.
			// A timer run before its time (Run runs jobs whatever
			// their time) waits for it, as in the engine, instead of
			// running again at once.
			var nd interface{ Due() time.Time }
			if errors.As(err, &nd) && now.IsZero() {
				job.RunAt = nd.Due()
				aside = append(aside, job)
				err, snoozed = nil, true
				break
			}
			var ra interface{ RetryAfter() time.Duration }
			if errors.As(err, &ra) && q.snooze() {
				job.RunAt = time.Time{}
				if !now.IsZero() {
					job.RunAt = now.Add(ra.RetryAfter())
				}
				q.mu.Lock()
				q.jobs = append(q.jobs, job)
				q.mu.Unlock()
				err, snoozed = nil, true
				break
			}
			if errors.Is(err, incident.ErrJobCancel) {
				break
			}
		}
		if !snoozed {
			q.mu.Lock()
			delete(q.ids, job.Kind+"/"+job.Key) // a job scheduled again is a new job
			q.mu.Unlock()
		}
		if err != nil {
			failed = append(failed, err)
			q.mu.Lock()
			delete(q.keys, job.Kind+"/"+job.Key)
			q.mu.Unlock()
		}
	}
}

// id returns the id a job runs with: a keyed job postponed and run again
// keeps its id, as the engine keeps its row; any other run of a job gets a
// new one.
func (q *Queue) id(job incident.Job) int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := job.Kind + "/" + job.Key
	if id, ok := q.ids[k]; ok && job.Key != "" {
		return id
	}
	q.lastID++
	if job.Key != "" {
		q.ids[k] = q.lastID
	}
	return q.lastID
}

func (q *Queue) snooze() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.snoozes >= maxSnoozes {
		return false
	}
	q.snoozes++
	return true
}

package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/followthrough"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// blippingSched fails its first fail Schedule calls, as a database that
// stops answering for a moment, and records the jobs it stored.
type blippingSched struct {
	fail  int
	calls int
	jobs  []incident.Job
}

func (s *blippingSched) Schedule(_ context.Context, j incident.Job) (bool, error) {
	s.calls++
	if s.calls <= s.fail {
		return false, errors.New("connection reset by peer")
	}
	s.jobs = append(s.jobs, j)
	return true, nil
}

// The follow-through check keeps itself going: when the next slot cannot be
// scheduled, the job asks to run again soon instead of reporting success,
// and the run after the blip schedules the next slot, so reminders,
// overdue escalations, digests and drills go on without a restart.
func TestSweepChainOutlivesAFailedScheduleOfTheNextSlot(t *testing.T) {
	store := incidenttest.NewMemStore(incident.SystemClock)
	ft := followthrough.New(followthrough.Config{Store: store, Scheduler: incidenttest.NewQueue()})
	sched := &blippingSched{fail: 1}
	h := sweepFollowThrough(ft, sched, time.Minute, slog.New(slog.DiscardHandler))

	err := h(context.Background(), nil)
	require.Error(t, err, "the job is tried again when the next slot was not scheduled")
	var later interface{ RetryAfter() time.Duration }
	require.ErrorAs(t, err, &later, "tried again soon, without spending an attempt, however long the database is away")
	require.Positive(t, later.RetryAfter())
	require.LessOrEqual(t, later.RetryAfter(), time.Minute)
	require.Empty(t, sched.jobs)

	require.NoError(t, h(context.Background(), nil))
	require.Len(t, sched.jobs, 1, "the run after the blip schedules the next slot")
	require.Equal(t, jobSweep, sched.jobs[0].Kind)
	require.True(t, sched.jobs[0].RunAt.After(time.Now()))
}

// signalSched fails while down is set and reports each job it stores.
type signalSched struct {
	mu     sync.Mutex
	down   bool
	stored chan incident.Job
}

func (s *signalSched) Schedule(_ context.Context, j incident.Job) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return false, errors.New("connection refused")
	}
	select {
	case s.stored <- j:
	default: // the test has what it needs
	}
	return true, nil
}

// The periodic jobs are scheduled again on every replica every interval:
// a follow-through chain that ended (the database down at start, or down
// longer than a slot's retries) starts again without a restart.
func TestMaintenanceIsScheduledAgainAfterTheDatabaseWasDown(t *testing.T) {
	t.Parallel()
	sched := &signalSched{down: true, stored: make(chan incident.Job, 16)}
	policy := incident.DefaultPolicy()
	log := slog.New(slog.DiscardHandler)
	require.False(t, scheduleMaintenance(context.Background(), sched, policy, incident.SystemClock, true, log), "the start's scheduling fails")

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go keepMaintenance(ctx, sched, policy, incident.SystemClock, true, 20*time.Millisecond, log)
	sched.mu.Lock()
	sched.down = false // the database is back
	sched.mu.Unlock()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case j := <-sched.stored:
			if j.Kind == jobSweep {
				return // the follow-through check is scheduled again
			}
		case <-deadline:
			t.Fatal("the follow-through check was never scheduled again")
		}
	}
}

package jobs

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestStoppedRunIsRetriedAsTheNextAttempt: a run makes its outbound call,
// then its database write hangs and the fence stops it (ErrHeartbeatLost).
// The effect may have landed, so the rerun is the next attempt: a
// handler's "attempt > 1: look for what an earlier attempt did" check
// holds. The stopped run is not the job's failure, so it is not charged
// against MaxAttempts: the job's maximum grows by one with it, and a job
// allowed two attempts still gets two after the interruption.
func TestStoppedRunIsRetriedAsTheNextAttempt(t *testing.T) {
	t.Parallel()
	for _, c := range cutOffSetups {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := c.open(t)
			ctx := context.Background()
			vendor := newSideEffect(t)
			e := s.newEngine(t, cutOffOptions("replica-alone"))
			type seen struct{ attempt, max int }
			var mu sync.Mutex
			var runs []seen
			called := make(chan struct{}, 1)
			e.Handle("notify", func(ctx context.Context, _ []byte) error {
				attempt, maxAttempts := incident.JobAttempt(ctx)
				mu.Lock()
				runs = append(runs, seen{attempt, maxAttempts})
				n := len(runs)
				mu.Unlock()
				switch n {
				case 1:
					if err := vendor.call(ctx); err != nil { // the effect lands
						return err
					}
					called <- struct{}{}
					<-ctx.Done() // then recording it waits on a hung database
					return context.Cause(ctx)
				case 2:
					return errors.New("the provider answered 502")
				default:
					return nil
				}
			})
			start(t, e)
			_, err := e.Schedule(ctx, incident.Job{Kind: "notify", Urgent: true, MaxAttempts: 2})
			require.NoError(t, err)
			select {
			case <-called:
			case <-time.After(waitFor):
				t.Fatal("the job never made its call")
			}
			_, err = s.db.ExecContext(ctx, "ALTER TABLE job_instances RENAME TO job_instances_away")
			require.NoError(t, err)
			bound, _ := fenceBound(e.opts.HeartbeatInterval, e.opts.DeadAfter)
			time.Sleep(bound + 3*e.opts.HeartbeatInterval)
			_, err = s.db.ExecContext(ctx, "ALTER TABLE job_instances_away RENAME TO job_instances")
			require.NoError(t, err)

			require.Eventually(t, func() bool { return s.job(t).State == "completed" }, waitFor, tick,
				"the failure after the interruption is retried: the interruption took no attempt of the two")
			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, []seen{{1, 2}, {2, 3}, {3, 3}}, runs,
				"the rerun after the stopped run is attempt 2, and the maximum counts the stopped run")
			require.Equal(t, jobRow{State: "completed", Attempt: 3, Holder: "replica-alone", Errors: 1}, s.job(t))
		})
	}
}

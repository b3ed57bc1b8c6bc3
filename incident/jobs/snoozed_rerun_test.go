package jobs

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestSnoozedRunIsRetriedAsTheNextAttempt: a run posts, then a later call
// of the same run is rate limited and the job is postponed (RetryLater, a
// snooze). The engine gives a snoozed job its attempt back, but the post
// may have landed, so the rerun is told it is the next attempt: a
// handler's "attempt > 1: look for what an earlier attempt did" check
// holds. The snooze is no failure: the maximum grows with it, so the
// last attempt is still the last.
func TestSnoozedRunIsRetriedAsTheNextAttempt(t *testing.T) {
	t.Parallel()
	for _, c := range cutOffSetups {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := c.open(t)
			ctx := context.Background()
			e := s.newEngine(t, cutOffOptions("replica-alone"))
			type seen struct{ attempt, max int }
			var mu sync.Mutex
			var runs []seen
			e.Handle("notify", func(ctx context.Context, _ []byte) error {
				attempt, maxAttempts := incident.JobAttempt(ctx)
				mu.Lock()
				runs = append(runs, seen{attempt, maxAttempts})
				n := len(runs)
				mu.Unlock()
				if n == 1 {
					return incident.RetryLater(10*time.Millisecond, "Slack asked to wait")
				}
				return nil
			})
			start(t, e)
			_, err := e.Schedule(ctx, incident.Job{Kind: "notify", Urgent: true, MaxAttempts: 2})
			require.NoError(t, err)
			require.Eventually(t, func() bool { return s.job(t).State == "completed" }, waitFor, tick)
			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, []seen{{1, 2}, {2, 3}}, runs, "the rerun after the snooze is attempt 2, and the maximum counts the snooze")
		})
	}
}

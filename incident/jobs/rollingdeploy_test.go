package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestRollingDeployLeavesANewKindToTheNewVersion: during a rolling deploy
// the new version schedules a job of a kind the old version has no handler
// for, and an old replica fetches it first. The old replica puts it back
// for a while instead of cancelling it for good, so a replica of the new
// version runs it, as its first attempt.
func TestRollingDeployLeavesANewKindToTheNewVersion(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		oldOpts := testOptions()
		oldOpts.InstanceID = "old-version"
		old := h.newEngine(t, oldOpts)
		old.unknownKindWait = 200 * time.Millisecond
		old.Handle("setup", func(context.Context, []byte) error { return nil })
		start(t, old)

		newOpts := testOptions()
		newOpts.InstanceID = "new-version"
		nv := h.newEngine(t, newOpts)
		nv.Handle("setup", func(context.Context, []byte) error { return nil })
		attempts := make(chan [2]int, 1)
		nv.Handle("status_page_post", func(ctx context.Context, _ []byte) error {
			a, m := incident.JobAttempt(ctx)
			attempts <- [2]int{a, m}
			return nil
		})
		_, err := nv.Schedule(context.Background(), incident.Job{Kind: "status_page_post", Key: "sp:1", Urgent: true})
		require.NoError(t, err)
		deferred := old.metrics.total.WithLabelValues(unknownKindLabel, outcomeSnoozed)
		require.Eventually(t, func() bool { return testutil.ToFloat64(deferred) >= 3 }, waitFor, tick,
			"the old replica fetches the job and puts it back, again and again")
		require.Zero(t, h.states(t)["cancelled"], "a job of a kind the old replica does not know was cancelled for good")

		start(t, nv)
		select {
		case got := <-attempts:
			require.Equal(t, 1, got[0], "the old replica's deferrals are not attempts: no earlier run acted")
			require.Equal(t, cappedAttempts(DefaultMaxAttempts, DefaultRetryCap), got[1])
		case <-time.After(waitFor):
			t.Fatal("the new version never ran the job")
		}
		require.Eventually(t, func() bool { return h.states(t)["completed"] == 1 }, waitFor, tick)
	})
}

// TestEngineUnknownKindIsCancelledAfterItsWindow: a kind no replica ever
// takes (a rollback, a removed handler) is not put back forever: after its
// window (an hour of waits by default) it is cancelled, with an error log.
func TestEngineUnknownKindIsCancelledAfterItsWindow(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	ctx := context.Background()

	newer := h.newEngine(t, testOptions())
	newer.Handle("ghost", func(context.Context, []byte) error { return nil })
	ok, err := newer.Schedule(ctx, incident.Job{Kind: "ghost"})
	require.NoError(t, err)
	require.True(t, ok)

	older := h.newEngine(t, testOptions())
	older.unknownKindWait = 50 * time.Millisecond
	older.unknownKindDeferrals = 3
	older.Handle("known", func(context.Context, []byte) error { return nil })
	start(t, older)
	require.Eventually(t, func() bool { return h.states(t)["cancelled"] == 1 }, waitFor, tick)
	require.Equal(t, 3.0, testutil.ToFloat64(older.metrics.total.WithLabelValues(unknownKindLabel, outcomeSnoozed)), "put back three times first")
	require.Equal(t, 1.0, testutil.ToFloat64(older.metrics.total.WithLabelValues(unknownKindLabel, outcomeCancelled)))
}

func TestUnknownKindWindowIsAnHour(t *testing.T) {
	t.Parallel()
	require.GreaterOrEqual(t, time.Duration(defaultUnknownKindDeferrals)*defaultUnknownKindWait, time.Hour)
}

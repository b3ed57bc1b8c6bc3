package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// setupAttempts is the war-room setup job's MaxAttempts
// (incident.setupAttempts).
const setupAttempts = 8

// schedule is when each attempt of a job runs, from its first, on a
// backoff capped at limit, with jitter r.
func schedule(attempts int, limit time.Duration, r float64) []time.Duration {
	at := []time.Duration{0}
	for attempt := 1; attempt < attempts; attempt++ {
		at = append(at, at[attempt-1]+retryDelay(attempt, limit, r))
	}
	return at
}

// TestSetupRetriesAfterAShortSlackOutage: the war-room setup has 8
// attempts, whose first six used to be spent within about 31 s of the
// declare, the seventh 21.6 minutes later and the eighth 40 minutes after
// that. A Slack blip of a minute (conversations.create answering 500, or
// the outbound breaker open for its 30 s after five 500s) left the
// incident with no channel for twenty minutes. Capped, the setup is tried
// at least once a minute, for the hour its attempts spanned.
func TestSetupRetriesAfterAShortSlackOutage(t *testing.T) {
	t.Parallel()
	attempts := cappedAttempts(setupAttempts, DefaultRetryCap)
	uncapped := schedule(setupAttempts, 0, 0.5)
	for _, r := range []float64{0, 0.5, 0.999} {
		at := schedule(attempts, DefaultRetryCap, r)
		for i := 1; i < len(at); i++ {
			require.LessOrEqual(t, at[i]-at[i-1], DefaultRetryCap*11/10, "attempt %d waits at most the cap", i+1)
		}
		// Slack answers again one minute after the declare.
		outage := time.Minute
		next := 0
		for next < len(at) && at[next] < outage {
			next++
		}
		require.Less(t, next, len(at), "an attempt comes after the outage")
		require.LessOrEqual(t, at[next]-outage, DefaultRetryCap*11/10, "the war room is tried again within a minute of Slack's return")
		require.GreaterOrEqual(t, at[len(at)-1], uncapped[len(uncapped)-1]*9/10,
			"the setup keeps trying for as long as its 8 attempts did (jitter %v)", r)
	}
}

// TestCappedAttempts: the attempts given to a capped job keep the span its
// maximum asked for; a job whose retries are all fast keeps its maximum,
// and no job is tried every minute for more than about four hours.
func TestCappedAttempts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		attempts, want int
	}{
		{0, 0}, {1, 1}, {2, 2}, {6, 6},
		{setupAttempts, 68},       // 31 s + 1296 s + 2401 s: 62 more a minute apart
		{DefaultMaxAttempts, 246}, // 31 s + about four hours a minute apart
		{25, 246},                 // River's default: bounded at four hours
	} {
		require.Equal(t, tt.want, cappedAttempts(tt.attempts, DefaultRetryCap), "%d attempts", tt.attempts)
	}
	require.Equal(t, setupAttempts, cappedAttempts(setupAttempts, 0), "no cap, no more attempts")
	at := schedule(cappedAttempts(25, DefaultRetryCap), DefaultRetryCap, 0.5)
	require.InDelta(t, float64(maxCappedSpan), float64(at[len(at)-1]), float64(time.Minute))
}

// TestCappedJobsAreScheduledWithTheirCap: the setup job and urgent jobs are
// stored with their cap and the attempts that keep their span, and their
// retries wait at most the cap; other jobs keep the usual backoff.
func TestCappedJobsAreScheduledWithTheirCap(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		e := h.newEngine(t, testOptions())
		noop := func(context.Context, []byte) error { return nil }
		for _, kind := range []string{incident.JobSetup, "page", "sync"} {
			e.Handle(kind, noop)
		}
		ctx := context.Background()
		for _, job := range []incident.Job{
			{Kind: incident.JobSetup, MaxAttempts: setupAttempts},
			{Kind: "page", Urgent: true},
			{Kind: "sync"},
		} {
			_, err := e.Schedule(ctx, job)
			require.NoError(t, err)
		}
		q := "SELECT max_attempts, json(metadata) FROM river_job ORDER BY id" // River keeps SQLite's JSONB
		if h.postgres {
			q = "SELECT max_attempts, metadata FROM river_job ORDER BY id"
		}
		rows, err := h.db.QueryContext(ctx, q)
		require.NoError(t, err)
		defer func() { _ = rows.Close() }()
		var got []rivertype.JobRow
		for rows.Next() {
			var row rivertype.JobRow
			require.NoError(t, rows.Scan(&row.MaxAttempts, &row.Metadata))
			got = append(got, row)
		}
		require.NoError(t, rows.Err())
		require.Len(t, got, 3)

		setup, page, sync := got[0], got[1], got[2]
		require.Equal(t, 68, setup.MaxAttempts, "the setup keeps its hour, a minute apart")
		require.Equal(t, cappedAttempts(DefaultMaxAttempts, DefaultRetryCap), page.MaxAttempts)
		require.Equal(t, DefaultMaxAttempts, sync.MaxAttempts)

		for _, row := range []rivertype.JobRow{setup, page} {
			row.Attempt = 6 // past the fast retries
			wait := time.Until(retryPolicy{}.NextRetry(&row))
			require.LessOrEqual(t, wait, DefaultRetryCap*11/10)
			require.Greater(t, wait, DefaultRetryCap/2)
		}
		sync.Attempt = 6
		require.Greater(t, time.Until(retryPolicy{}.NextRetry(&sync)), 15*time.Minute, "background work backs off as before")
	})
}

// TestRetryCapOptions: the cap is at least a second, a negative cap caps
// nothing, and an empty kind list caps urgent jobs only.
func TestRetryCapOptions(t *testing.T) {
	t.Parallel()
	e := &Engine{opts: Options{RetryCap: time.Millisecond}.withDefaults(), handlers: map[string]incident.JobHandler{}}
	require.Equal(t, time.Second, e.retryCap(incident.Job{Kind: "page", Urgent: true}))
	require.Equal(t, time.Second, e.retryCap(incident.Job{Kind: incident.JobSetup}))
	require.Zero(t, e.retryCap(incident.Job{Kind: "sync"}))

	e.opts = Options{RetryCap: -1}.withDefaults()
	require.Zero(t, e.retryCap(incident.Job{Kind: "page", Urgent: true}))

	e.opts = Options{RetryCapKinds: []string{}}.withDefaults()
	require.Equal(t, DefaultRetryCap, e.retryCap(incident.Job{Kind: "page", Urgent: true}))
	require.Zero(t, e.retryCap(incident.Job{Kind: incident.JobSetup}))
}

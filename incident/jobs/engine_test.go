package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/migrations"
)

// waitFor bounds every wait on the background engine; polls are short so a
// passing suite stays fast.
const (
	waitFor = 15 * time.Second
	// leaderWait bounds a wait for a new leader when the last one may have
	// stopped without resigning: River's leader TTL (15 s), its next
	// attempt to be elected (every 5 s) and the scheduler's first run.
	leaderWait = 35 * time.Second
	tick       = 20 * time.Millisecond
)

// harness is one migrated database. Each engine it builds gets its own
// connection pool, the way a separate process would.
type harness struct {
	newEngine func(t *testing.T, opts Options) *Engine
	states    func(t *testing.T) map[string]int
	// db reads the database directly.
	db       *sql.DB
	postgres bool
}

func sqliteHarness(t *testing.T) *harness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jobs.db")
	db := openSQLite(t, path)
	require.NoError(t, migrations.Up(context.Background(), db, migrations.SQLite))
	return &harness{
		newEngine: func(t *testing.T, opts Options) *Engine {
			t.Helper()
			e, err := NewSQLite(openSQLite(t, path), opts)
			require.NoError(t, err)
			return e
		},
		states: func(t *testing.T) map[string]int {
			t.Helper()
			return countStates(t, func(ctx context.Context, q string) (rowScanner, error) { return db.QueryContext(ctx, q) })
		},
		db: db,
	}
}

func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	// WAL and a busy timeout let the test's own pool read while an engine's
	// pool writes; each pool still has the one connection River requires.
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func postgresHarness(t *testing.T) *harness {
	t.Helper()
	dsn := pgtest.DSN(t)
	pool := openPool(t, dsn)
	require.NoError(t, migrations.Up(context.Background(), stdlib.OpenDBFromPool(pool), migrations.Postgres))
	return &harness{
		newEngine: func(t *testing.T, opts Options) *Engine {
			t.Helper()
			e, err := NewPostgres(openPool(t, dsn), opts)
			require.NoError(t, err)
			return e
		},
		states: func(t *testing.T) map[string]int {
			t.Helper()
			return countStates(t, func(ctx context.Context, q string) (rowScanner, error) {
				rows, err := pool.Query(ctx, q)
				return pgxRows{rows}, err
			})
		},
		db:       stdlib.OpenDBFromPool(pool),
		postgres: true,
	}
}

func openPool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// rowScanner is what countStates needs from *sql.Rows and pgx.Rows.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

type pgxRows struct {
	rows interface {
		Next() bool
		Scan(dest ...any) error
		Err() error
		Close()
	}
}

func (r pgxRows) Next() bool             { return r.rows.Next() }
func (r pgxRows) Scan(dest ...any) error { return r.rows.Scan(dest...) }
func (r pgxRows) Err() error             { return r.rows.Err() }
func (r pgxRows) Close() error           { r.rows.Close(); return nil }

func countStates(t *testing.T, query func(ctx context.Context, q string) (rowScanner, error)) map[string]int {
	t.Helper()
	rows, err := query(context.Background(), "SELECT CAST(state AS TEXT), count(*) FROM river_job GROUP BY state")
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		require.NoError(t, rows.Scan(&state, &n))
		out[state] = n
	}
	require.NoError(t, rows.Err())
	return out
}

var harnesses = []struct {
	name string
	open func(t *testing.T) *harness
}{
	{"sqlite", sqliteHarness},
	{"postgres", postgresHarness},
}

// eachHarness runs fn on a fresh database of each kind, in parallel
// subtests named after the database.
func eachHarness(t *testing.T, fn func(t *testing.T, h *harness)) {
	t.Helper()
	for _, hc := range harnesses {
		t.Run(hc.name, func(t *testing.T) {
			t.Parallel()
			fn(t, hc.open(t))
		})
	}
}

// testOptions keeps polling fast. JOBS_TEST_LOG=1 shows the logs.
func testOptions() Options {
	w := io.Discard
	if os.Getenv("JOBS_TEST_LOG") != "" {
		w = os.Stderr
	}
	return Options{
		FetchPollInterval: 50 * time.Millisecond,
		Logger:            slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer:        prometheus.NewRegistry(),
	}
}

func start(t *testing.T, e *Engine) {
	t.Helper()
	require.NoError(t, e.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = e.Stop(ctx)
	})
}

func stop(t *testing.T, e *Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, e.Stop(ctx))
}

// recorder counts runs per payload. fn, when set, decides each run's result
// from the run number (1 for the first).
type recorder struct {
	fn func(ctx context.Context, run int) error

	mu   sync.Mutex
	runs map[string]int
}

func (r *recorder) handle(ctx context.Context, payload []byte) error {
	r.mu.Lock()
	if r.runs == nil {
		r.runs = map[string]int{}
	}
	r.runs[string(payload)]++
	n := r.runs[string(payload)]
	r.mu.Unlock()
	if r.fn == nil {
		return nil
	}
	return r.fn(ctx, n)
}

func (r *recorder) count(payload string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs[payload]
}

func (r *recorder) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.runs {
		n += c
	}
	return n
}

type retryAfterError struct{ d time.Duration }

func (e retryAfterError) Error() string             { return "rate limited" }
func (e retryAfterError) RetryAfter() time.Duration { return e.d }

func TestEngineRestartRunsScheduledJobOnce(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()

		var recA, recB recorder
		a := h.newEngine(t, testOptions())
		a.Handle("timer", recA.handle)
		require.False(t, a.Running())
		start(t, a)
		require.True(t, a.Running())
		ok, err := a.Schedule(ctx, incident.Job{Kind: "timer", Payload: []byte("t1"), RunAt: time.Now().Add(time.Second)})
		require.NoError(t, err)
		require.True(t, ok)
		stop(t, a)
		require.False(t, a.Running())
		require.Zero(t, recA.total(), "engine A ran the job before its time")

		b := h.newEngine(t, testOptions())
		b.Handle("timer", recB.handle)
		start(t, b)
		// A scheduled job is made available by the leader's scheduler. When
		// A's election committed just as A stopped, A never learnt it led
		// and so never resigned: B can lead only once that leadership
		// expires (River's leader TTL, 15 s) and B next tries (every 5 s).
		require.Eventually(t, func() bool { return h.states(t)["completed"] == 1 }, leaderWait, tick)
		stop(t, b)

		require.Equal(t, 1, recB.count("t1"))
		require.Zero(t, recA.total())
		require.Equal(t, map[string]int{"completed": 1}, h.states(t))
	})
}

func TestEngineTwoClientsOnOnePostgresRunEachJobOnce(t *testing.T) {
	t.Parallel()
	h := postgresHarness(t)
	ctx := context.Background()
	const n = 50

	var rec recorder
	engines := make([]*Engine, 2)
	for i := range engines {
		opts := testOptions()
		opts.Workers = 4
		engines[i] = h.newEngine(t, opts)
		engines[i].Handle("notify", rec.handle)
		start(t, engines[i])
	}
	for i := range n {
		ok, err := engines[i%2].Schedule(ctx, incident.Job{Kind: "notify", Payload: fmt.Appendf(nil, "job-%d", i)})
		require.NoError(t, err)
		require.True(t, ok)
	}

	require.Eventually(t, func() bool { return h.states(t)["completed"] == n }, waitFor, tick)
	for _, e := range engines {
		stop(t, e)
	}
	require.Equal(t, n, rec.total())
	for i := range n {
		require.Equal(t, 1, rec.count(fmt.Sprintf("job-%d", i)), "job-%d", i)
	}
}

func TestEngineScheduleDeduplicatesByKindAndKey(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		var rec recorder
		e := h.newEngine(t, testOptions())
		e.Handle("remind", rec.handle)
		e.Handle("escalate", rec.handle)

		steps := []struct {
			job  incident.Job
			want bool
		}{
			{incident.Job{Kind: "remind", Key: "inc-1", Payload: []byte("first")}, true},
			{incident.Job{Kind: "remind", Key: "inc-1", Payload: []byte("duplicate")}, false},
			{incident.Job{Kind: "remind", Key: "inc-2", Payload: []byte("other key")}, true},
			{incident.Job{Kind: "escalate", Key: "inc-1", Payload: []byte("other kind")}, true},
			{incident.Job{Kind: "remind", Payload: []byte("no key")}, true},
			{incident.Job{Kind: "remind", Payload: []byte("no key")}, true},
		}
		for i, s := range steps {
			got, err := e.Schedule(ctx, s.job)
			require.NoError(t, err)
			require.Equal(t, s.want, got, "step %d", i)
		}

		start(t, e)
		require.Eventually(t, func() bool { return h.states(t)["completed"] == 5 }, waitFor, tick)
		require.Equal(t, 1, rec.count("first"))
		require.Zero(t, rec.count("duplicate"))
		require.Equal(t, 2, rec.count("no key"))

		// A completed job still holds its key, so a late redelivery
		// is absorbed rather than processed twice.
		got, err := e.Schedule(ctx, incident.Job{Kind: "remind", Key: "inc-1", Payload: []byte("again")})
		require.NoError(t, err)
		require.False(t, got)
		require.Never(t, func() bool { return rec.count("again") > 0 }, 300*time.Millisecond, tick)
	})
}

func TestEngineHandlerResults(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name        string
		opts        func(*Options)
		maxAttempts int
		fn          func(ctx context.Context, run int) error
		wantState   string
		wantRuns    int
		wantOutcome map[string]float64
	}{
		{
			name:        "error retries with backoff then succeeds",
			maxAttempts: 3,
			fn: func(_ context.Context, run int) error {
				if run == 1 {
					return boom
				}
				return nil
			},
			wantState:   "completed",
			wantRuns:    2,
			wantOutcome: map[string]float64{outcomeRetried: 1, outcomeCompleted: 1},
		},
		{
			name:        "error on the last attempt discards",
			maxAttempts: 1,
			fn:          func(context.Context, int) error { return boom },
			wantState:   "discarded",
			wantRuns:    1,
			wantOutcome: map[string]float64{outcomeDiscarded: 1},
		},
		{
			name:        "RetryAfter snoozes without consuming attempts",
			maxAttempts: 1,
			fn: func(_ context.Context, run int) error {
				if run <= 2 {
					return fmt.Errorf("call provider: %w", retryAfterError{100 * time.Millisecond})
				}
				return nil
			},
			wantState:   "completed",
			wantRuns:    3,
			wantOutcome: map[string]float64{outcomeSnoozed: 2, outcomeCompleted: 1},
		},
		{
			name:        "RetryAfter past MaxSnoozes consumes attempts",
			opts:        func(o *Options) { o.MaxSnoozes = 2 },
			maxAttempts: 1,
			fn: func(context.Context, int) error {
				return retryAfterError{50 * time.Millisecond}
			},
			wantState:   "discarded",
			wantRuns:    3,
			wantOutcome: map[string]float64{outcomeSnoozed: 2, outcomeDiscarded: 1},
		},
		{
			name:        "zero RetryAfter is an ordinary failure",
			maxAttempts: 1,
			fn:          func(context.Context, int) error { return retryAfterError{0} },
			wantState:   "discarded",
			wantRuns:    1,
			wantOutcome: map[string]float64{outcomeDiscarded: 1},
		},
		{
			name:        "ErrJobCancel cancels",
			maxAttempts: 5,
			fn: func(context.Context, int) error {
				return fmt.Errorf("channel archived: %w", incident.ErrJobCancel)
			},
			wantState:   "cancelled",
			wantRuns:    1,
			wantOutcome: map[string]float64{outcomeCancelled: 1},
		},
		{
			name:        "panic retries like an error",
			maxAttempts: 2,
			fn: func(_ context.Context, run int) error {
				if run == 1 {
					panic("nil map")
				}
				return nil
			},
			wantState:   "completed",
			wantRuns:    2,
			wantOutcome: map[string]float64{outcomeRetried: 1, outcomeCompleted: 1},
		},
		{
			name:        "JobTimeout cancels the handler's context",
			opts:        func(o *Options) { o.JobTimeout = 100 * time.Millisecond },
			maxAttempts: 1,
			fn: func(ctx context.Context, _ int) error {
				<-ctx.Done()
				if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return fmt.Errorf("want deadline exceeded, got %w", ctx.Err())
				}
				return ctx.Err()
			},
			wantState:   "discarded",
			wantRuns:    1,
			wantOutcome: map[string]float64{outcomeDiscarded: 1},
		},
	}
	for _, hc := range harnesses {
		for _, tt := range tests {
			t.Run(hc.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				h := hc.open(t)
				opts := testOptions()
				if tt.opts != nil {
					tt.opts(&opts)
				}
				rec := &recorder{fn: tt.fn}
				e := h.newEngine(t, opts)
				e.Handle("call", rec.handle)
				start(t, e)

				ok, err := e.Schedule(context.Background(), incident.Job{Kind: "call", Payload: []byte("p"), MaxAttempts: tt.maxAttempts})
				require.NoError(t, err)
				require.True(t, ok)

				require.Eventually(t, func() bool { return h.states(t)[tt.wantState] == 1 }, waitFor, tick)
				stop(t, e)
				require.Equal(t, tt.wantRuns, rec.count("p"))
				for outcome, want := range tt.wantOutcome {
					require.Equal(t, want, testutil.ToFloat64(e.metrics.total.WithLabelValues("call", outcome)), outcome)
				}
			})
		}
	}
}

func TestEngineQueueDepth(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		opts := testOptions()
		reg := prometheus.NewRegistry()
		opts.Registerer = reg
		e := h.newEngine(t, opts)
		e.Handle("x", func(context.Context, []byte) error { return nil })

		otherOpts := testOptions()
		otherOpts.Queue = "other"
		other := h.newEngine(t, otherOpts)
		other.Handle("x", func(context.Context, []byte) error { return nil })

		for _, job := range []incident.Job{
			{Kind: "x", Payload: []byte("now-1")},
			{Kind: "x", Payload: []byte("now-2")},
			{Kind: "x", Payload: []byte("later"), RunAt: time.Now().Add(time.Hour)},
		} {
			_, err := e.Schedule(ctx, job)
			require.NoError(t, err)
		}
		_, err := other.Schedule(ctx, incident.Job{Kind: "x"})
		require.NoError(t, err)

		depth, err := e.QueueDepth(ctx)
		require.NoError(t, err)
		require.Equal(t, 3, depth)
		depth, err = other.QueueDepth(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, depth)
		n, err := testutil.GatherAndCount(reg, "firebreak_job_queue_depth")
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, 3.0, gaugeValue(t, reg, "firebreak_job_queue_depth"))

		start(t, e)
		require.Eventually(t, func() bool {
			d, err := e.QueueDepth(ctx)
			return err == nil && d == 1 // only the job an hour out is left
		}, waitFor, tick)
	})
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			require.Len(t, f.GetMetric(), 1)
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not gathered", name)
	return 0
}

func TestEngineStopWaitsForRunningJob(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	started := make(chan struct{})
	release := make(chan struct{})
	var handlerErr error
	e := h.newEngine(t, testOptions())
	e.Handle("slow", func(ctx context.Context, _ []byte) error {
		close(started)
		<-release
		handlerErr = ctx.Err()
		return nil
	})
	start(t, e)
	_, err := e.Schedule(context.Background(), incident.Job{Kind: "slow"})
	require.NoError(t, err)
	<-started

	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		stopped <- e.Stop(ctx)
	}()
	require.Never(t, func() bool { return len(stopped) > 0 }, 300*time.Millisecond, tick, "Stop returned while a job was running")
	close(release)
	require.NoError(t, <-stopped)
	require.NoError(t, handlerErr, "the handler's context was cancelled by a graceful stop")
	require.False(t, e.Running())
	require.Equal(t, map[string]int{"completed": 1}, h.states(t))
}

func TestEngineStopCancelsRunningJobWhenContextEnds(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	started := make(chan struct{})
	e := h.newEngine(t, testOptions())
	e.Handle("stubborn", func(ctx context.Context, _ []byte) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	start(t, e)
	_, err := e.Schedule(context.Background(), incident.Job{Kind: "stubborn"})
	require.NoError(t, err)
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = e.Stop(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.False(t, e.Running())

	// The interrupted job waits for a retry instead of being lost.
	depth, err := e.QueueDepth(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, depth)
}

func TestEngineHandlePanicsOnWiringBugs(t *testing.T) {
	t.Parallel()
	ok := func(context.Context, []byte) error { return nil }
	tests := []struct {
		name string
		call func(t *testing.T, e *Engine)
	}{
		{"empty kind", func(_ *testing.T, e *Engine) { e.Handle("", ok) }},
		{"nil handler", func(_ *testing.T, e *Engine) { e.Handle("a", nil) }},
		{"duplicate kind", func(_ *testing.T, e *Engine) { e.Handle("a", ok); e.Handle("a", ok) }},
		{"after start", func(t *testing.T, e *Engine) {
			require.NoError(t, e.Start(context.Background()))
			defer func() { _ = e.Stop(context.Background()) }()
			e.Handle("a", ok)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := sqliteHarness(t).newEngine(t, testOptions())
			require.Panics(t, func() { tt.call(t, e) })
		})
	}
}

func TestEngineScheduleRejectsInvalidJobs(t *testing.T) {
	t.Parallel()
	e := sqliteHarness(t).newEngine(t, testOptions())
	e.Handle("known", func(context.Context, []byte) error { return nil })
	tests := []struct {
		name string
		job  incident.Job
	}{
		{"empty kind", incident.Job{}},
		{"kind without handler", incident.Job{Kind: "typo"}},
		{"negative max attempts", incident.Job{Kind: "known", MaxAttempts: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, err := e.Schedule(context.Background(), tt.job)
			require.False(t, ok)
			require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
		})
	}
}

func TestNewSQLiteRequiresOneConnection(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "x.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	_, err = NewSQLite(db, testOptions())
	require.ErrorContains(t, err, "SetMaxOpenConns(1)")
}

func TestNewRejectsDuplicateMetrics(t *testing.T) {
	t.Parallel()
	h := sqliteHarness(t)
	opts := testOptions()
	_ = h.newEngine(t, opts)
	db := openSQLite(t, filepath.Join(t.TempDir(), "y.db"))
	_, err := NewSQLite(db, opts)
	require.ErrorContains(t, err, "register metrics")
}

// TestUrgentJobsHaveReservedWorkers: with every ordinary worker busy, an
// urgent job still runs at once on its own queue.
func TestUrgentJobsHaveReservedWorkers(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		opts := testOptions()
		opts.Workers = 2
		opts.UrgentWorkers = 1
		e := h.newEngine(t, opts)
		release := make(chan struct{})
		busy := make(chan struct{}, 10)
		e.Handle("slow", func(ctx context.Context, _ []byte) error {
			busy <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		})
		paged := make(chan struct{}, 1)
		e.Handle("page", func(context.Context, []byte) error {
			paged <- struct{}{}
			return nil
		})
		start(t, e)
		defer close(release)
		for i := range 5 {
			_, err := e.Schedule(ctx, incident.Job{Kind: "slow", Payload: fmt.Appendf(nil, "slow-%d", i)})
			require.NoError(t, err)
		}
		for range opts.Workers {
			select {
			case <-busy:
			case <-time.After(waitFor):
				t.Fatal("ordinary workers never got busy")
			}
		}
		_, err := e.Schedule(ctx, incident.Job{Kind: "page", Urgent: true})
		require.NoError(t, err)
		select {
		case <-paged:
		case <-time.After(waitFor):
			t.Fatal("the urgent job waited behind ordinary work")
		}
	})
}

// TestUrgentTimersRunOnTime schedules urgent jobs due a little later (update
// nags, response checks): each runs at its time, not before, and within a
// second of it, although River promotes scheduled jobs only every 5
// seconds and the engine's general poll is a second.
func TestUrgentTimersRunOnTime(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		opts := testOptions()
		opts.FetchPollInterval = time.Second
		e := h.newEngine(t, opts)
		var (
			mu  sync.Mutex
			ran = map[string]time.Time{}
		)
		e.Handle("nag", func(_ context.Context, payload []byte) error {
			mu.Lock()
			ran[string(payload)] = time.Now()
			mu.Unlock()
			return nil
		})
		start(t, e)
		t.Cleanup(func() { stop(t, e) })

		due := map[string]time.Time{}
		for i, in := range []time.Duration{1500 * time.Millisecond, 3 * time.Second, 4500 * time.Millisecond, 6 * time.Second} {
			name := fmt.Sprintf("t%d", i)
			due[name] = time.Now().Add(in)
			ok, err := e.Schedule(ctx, incident.Job{Kind: "nag", Key: name, Payload: []byte(name), RunAt: due[name], Urgent: true})
			require.NoError(t, err)
			require.True(t, ok)
		}
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(ran) == len(due)
		}, waitFor, tick)
		mu.Lock()
		defer mu.Unlock()
		for name, at := range ran {
			late := at.Sub(due[name])
			require.GreaterOrEqual(t, late, -50*time.Millisecond, "%s ran before its time", name)
			require.Less(t, late, time.Second, "%s ran %s after its time", name, late)
		}
	})
}

// TestJobStartsAreSpaced schedules ordinary and urgent jobs at once: the
// ordinary ones start StartSpacing apart, however many workers are free,
// while the urgent ones are never held back behind them.
func TestJobStartsAreSpaced(t *testing.T) {
	t.Parallel()
	eachHarness(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		opts := testOptions()
		opts.Workers = 4
		opts.StartSpacing = 500 * time.Millisecond
		e := h.newEngine(t, opts)
		var (
			mu      sync.Mutex
			started = map[string][]time.Time{}
		)
		record := func(kind string) incident.JobHandler {
			return func(context.Context, []byte) error {
				mu.Lock()
				started[kind] = append(started[kind], time.Now())
				mu.Unlock()
				return nil
			}
		}
		e.Handle("setup", record("setup"))
		e.Handle("page", record("page"))
		for i := range 4 {
			_, err := e.Schedule(ctx, incident.Job{Kind: "setup", Payload: fmt.Appendf(nil, "setup-%d", i)})
			require.NoError(t, err)
			_, err = e.Schedule(ctx, incident.Job{Kind: "page", Urgent: true, Payload: fmt.Appendf(nil, "page-%d", i)})
			require.NoError(t, err)
		}
		start(t, e)
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(started["setup"]) == 4 && len(started["page"]) == 4
		}, waitFor, tick)

		mu.Lock()
		defer mu.Unlock()
		setups := started["setup"]
		slices.SortFunc(setups, time.Time.Compare)
		// A handler notes its start a little after its turn comes, by
		// as much as a busy machine delays a goroutine: so each gap is
		// held to half the spacing, and the whole run to the sum of
		// the spacings less 100 ms.
		for i := 1; i < len(setups); i++ {
			require.GreaterOrEqual(t, setups[i].Sub(setups[i-1]), opts.StartSpacing/2,
				"ordinary jobs %d and %d started too close together", i-1, i)
		}
		require.GreaterOrEqual(t, setups[len(setups)-1].Sub(setups[0]), time.Duration(len(setups)-1)*opts.StartSpacing-100*time.Millisecond,
			"the ordinary jobs started faster than one per spacing")
		for _, at := range started["page"] {
			require.True(t, at.Before(setups[len(setups)-1]), "an urgent job waited for the ordinary jobs' turns")
		}
	})
}

// TestStartSpacingDefaultsToTheFetchCooldown: a batch of fetched jobs is
// spread over River's fetch cooldown (100 ms), one worker's share each.
func TestStartSpacingDefaultsToTheFetchCooldown(t *testing.T) {
	h := sqliteHarness(t)
	opts := testOptions()
	opts.FetchPollInterval = time.Second
	opts.Workers = 10
	e := h.newEngine(t, opts)
	require.NotNil(t, e.starts)
	require.Equal(t, rate.Every(10*time.Millisecond), e.starts.Limit())

	opts = testOptions()
	opts.FetchPollInterval = 40 * time.Millisecond
	opts.Workers = 4
	e = h.newEngine(t, opts)
	require.Equal(t, rate.Every(10*time.Millisecond), e.starts.Limit(), "a shorter poll is the cooldown")

	opts = testOptions()
	opts.StartSpacing = -1
	require.Nil(t, h.newEngine(t, opts).starts, "negative spacing starts jobs at once")
}

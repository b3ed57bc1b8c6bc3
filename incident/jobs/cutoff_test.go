package jobs

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/migrations"
)

// cutOffSetup is one migrated database with two ways in: engines of
// newEngine reach it directly, the engine of cutEngine through a way that
// hang cuts off for it alone, and restore brings back.
type cutOffSetup struct {
	postgres  bool
	db        *sql.DB // direct, for the test's own reads
	newEngine func(t *testing.T, opts Options) *Engine
	cutEngine func(t *testing.T, opts Options) *Engine
	hang      func(t *testing.T)
	restore   func(t *testing.T)
}

// sqliteCutOff cuts an engine off by holding the one connection of its
// pool: every query of the engine waits, as on a connection that hangs,
// while the other engines' connections to the file work.
func sqliteCutOff(t *testing.T) *cutOffSetup {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jobs.db")
	db := openSQLite(t, path)
	require.NoError(t, migrations.Up(context.Background(), db, migrations.SQLite))
	s := &cutOffSetup{db: db}
	var cutDB *sql.DB
	var held *sql.Conn
	s.newEngine = func(t *testing.T, opts Options) *Engine {
		e, err := NewSQLite(openSQLite(t, path), opts)
		require.NoError(t, err)
		return e
	}
	s.cutEngine = func(t *testing.T, opts Options) *Engine {
		cutDB = openSQLite(t, path)
		e, err := NewSQLite(cutDB, opts)
		require.NoError(t, err)
		return e
	}
	s.hang = func(t *testing.T) {
		conn, err := cutDB.Conn(context.Background())
		require.NoError(t, err)
		held = conn
	}
	s.restore = func(*testing.T) {
		if held != nil {
			_ = held.Close()
			held = nil
		}
	}
	return s
}

// postgresCutOff puts a proxy in front of PostgreSQL for the cut-off
// engine's pool; hung, it holds every byte both ways, on open connections
// and new ones, and delivers them late when restored.
func postgresCutOff(t *testing.T) *cutOffSetup {
	t.Helper()
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := newCutProxy(t, u.Host)
	db := stdlib.OpenDBFromPool(openPool(t, dsn))
	require.NoError(t, migrations.Up(context.Background(), db, migrations.Postgres))
	return &cutOffSetup{
		postgres: true,
		db:       db,
		newEngine: func(t *testing.T, opts Options) *Engine {
			e, err := NewPostgres(openPool(t, dsn), opts)
			require.NoError(t, err)
			return e
		},
		cutEngine: func(t *testing.T, opts Options) *Engine {
			e, err := NewPostgres(openPool(t, proxy.through(t, dsn)), opts)
			require.NoError(t, err)
			return e
		},
		hang:    func(*testing.T) { proxy.setHung(true) },
		restore: func(*testing.T) { proxy.setHung(false) },
	}
}

var cutOffSetups = []struct {
	name string
	open func(t *testing.T) *cutOffSetup
}{
	{"sqlite", sqliteCutOff},
	{"postgres", postgresCutOff},
}

// jobRow is the one job of a test as River keeps it.
type jobRow struct {
	State   string
	Attempt int
	Holder  string // the last instance that fetched it
	Errors  int
}

func (s *cutOffSetup) job(t *testing.T) jobRow {
	t.Helper()
	q := "SELECT CAST(state AS TEXT), attempt, coalesce(json_extract(attempted_by, '$[#-1]'), ''), coalesce(json_array_length(errors), 0) FROM river_job"
	if s.postgres {
		q = "SELECT state::text, attempt, coalesce(attempted_by[array_length(attempted_by, 1)], ''), coalesce(array_length(errors, 1), 0) FROM river_job"
	}
	var r jobRow
	require.NoError(t, s.db.QueryRowContext(context.Background(), q).Scan(&r.State, &r.Attempt, &r.Holder, &r.Errors))
	return r
}

// beatAge is how long ago (the database's clock) the instance id last beat.
func (s *cutOffSetup) beatAge(t *testing.T, id string) time.Duration {
	t.Helper()
	now := "CAST(unixepoch('subsec') * 1000 AS INTEGER)"
	q := "SELECT " + now + " - seen_at_ms FROM job_instances WHERE id = ?"
	if s.postgres {
		q = "SELECT CAST(extract(epoch FROM clock_timestamp()) * 1000 AS bigint) - seen_at_ms FROM job_instances WHERE id = $1"
	}
	var ms int64
	require.NoError(t, s.db.QueryRowContext(context.Background(), q, id).Scan(&ms))
	return time.Duration(ms) * time.Millisecond
}

// sideEffect is a vendor's API (a chat post, a page) that counts the calls
// it received.
type sideEffect struct {
	srv   *httptest.Server
	calls atomic.Int32
}

func newSideEffect(t *testing.T) *sideEffect {
	t.Helper()
	s := &sideEffect{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.calls.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// call makes the outbound call with the job's context, as the handlers do.
func (s *sideEffect) call(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.srv.URL, nil)
	if err != nil {
		return err
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func cutOffOptions(id string) Options {
	opts := testOptions()
	opts.InstanceID = id
	opts.HeartbeatInterval = 100 * time.Millisecond
	opts.DeadAfter = 1500 * time.Millisecond
	opts.JobTimeout = time.Hour // no run is taken for stuck
	opts.UrgentWorkers = 1
	return opts
}

// TestCutOffReplicaStopsItsJobBeforeTakeover: a replica cut off from the
// database on its own (its connections hang) while it runs a job. Another
// replica takes the job over once the cut-off one has been silent for
// DeadAfter; by then the cut-off replica has cancelled the job's context
// (ErrHeartbeatLost), so its outbound call, made after a slow step, is
// never sent: the side effect happens once, by the taker. When the
// connections come back, the cut-off replica's late result of its stopped
// run (held by River's completer meanwhile, and on PostgreSQL the bytes
// held by the network too) is not recorded over the taker's running
// attempt, and the job ends as the taker ends it.
func TestCutOffReplicaStopsItsJobBeforeTakeover(t *testing.T) {
	t.Parallel()
	for _, c := range cutOffSetups {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := c.open(t)
			ctx := context.Background()
			vendor := newSideEffect(t)

			cutOpts := cutOffOptions("replica-cut")
			cut := s.cutEngine(t, cutOpts)
			var cutRuns atomic.Int32
			cutRunning, cutGoOn := make(chan struct{}), make(chan struct{})
			var stoppedAt time.Time
			var stopCause error
			stopped := make(chan struct{})
			var stopOnce sync.Once
			cut.Handle("notify", func(ctx context.Context, _ []byte) error {
				if cutRuns.Add(1) == 1 {
					close(cutRunning)
				}
				select {
				case <-cutGoOn: // the slow step ends
				case <-ctx.Done():
					stopOnce.Do(func() {
						stoppedAt, stopCause = time.Now(), context.Cause(ctx)
						close(stopped)
					})
				}
				return vendor.call(ctx)
			})

			taker := s.newEngine(t, cutOffOptions("replica-taker"))
			var takerRuns atomic.Int32
			taken, takerGoOn := make(chan time.Time, 1), make(chan struct{})
			taker.Handle("notify", func(ctx context.Context, _ []byte) error {
				if takerRuns.Add(1) == 1 {
					taken <- time.Now()
				}
				select {
				case <-takerGoOn:
				case <-ctx.Done():
					return ctx.Err()
				}
				return vendor.call(ctx)
			})

			start(t, cut)
			_, err := cut.Schedule(ctx, incident.Job{Kind: "notify", Urgent: true, Payload: []byte("post")})
			require.NoError(t, err)
			select {
			case <-cutRunning:
			case <-time.After(waitFor):
				t.Fatal("the job never started on the replica to be cut off")
			}
			start(t, taker)
			t.Cleanup(func() { // before the engines stop
				s.restore(t)
				for _, ch := range []chan struct{}{cutGoOn, takerGoOn} {
					select {
					case <-ch:
					default:
						close(ch)
					}
				}
			})

			cutAt := time.Now()
			s.hang(t)
			var takenAt time.Time
			select {
			case takenAt = <-taken:
			case <-time.After(waitFor):
				t.Fatal("the other replica never took the job over")
			}
			select {
			case <-stopped:
			default:
				t.Fatal("the cut-off replica still ran the job when the other took it over")
			}
			require.ErrorIs(t, stopCause, ErrHeartbeatLost)
			require.True(t, stoppedAt.Before(takenAt), "stopped at %s, taken over at %s", stoppedAt.Sub(cutAt), takenAt.Sub(cutAt))
			require.Less(t, stoppedAt.Sub(cutAt), cutOpts.DeadAfter, "stopped within DeadAfter of the cut")
			t.Logf("cut off at 0; job stopped at %s, taken over at %s", stoppedAt.Sub(cutAt).Round(time.Millisecond),
				takenAt.Sub(cutAt).Round(time.Millisecond))

			// Whatever the cut-off replica's slow step would have done next,
			// it is over now.
			close(cutGoOn)
			s.restore(t)
			require.Eventually(t, func() bool {
				return s.beatAge(t, "replica-cut") < time.Second && cut.fence.pending() == 0
			}, waitFor, tick, "the cut-off replica beats again and has recorded, or dropped, its run's result")
			require.Equal(t, jobRow{State: "running", Attempt: 2, Holder: "replica-taker"}, s.job(t),
				"the cut-off replica's late result is not recorded over the taker's run")

			close(takerGoOn)
			require.Eventually(t, func() bool { return s.job(t).State == "completed" }, waitFor, tick)
			require.Equal(t, jobRow{State: "completed", Attempt: 2, Holder: "replica-taker"}, s.job(t), "the job ends as the taker ended it")
			require.Equal(t, int32(1), vendor.calls.Load(), "the side effect happens once")
			require.Equal(t, int32(1), cutRuns.Load())
			require.Equal(t, int32(1), takerRuns.Load())
		})
	}
}

// TestCutOffReplicaStartsNoNewWork: an engine whose heartbeats are not
// recorded (here the table they go to is gone for a while, while River's
// own queries still work) starts no handler for a job it fetches once it
// is past its fence bound, since another replica may take the job over any
// moment: the job goes back to the queue with its attempt given back, and
// runs, once, when the heartbeats are recorded again.
func TestCutOffReplicaStartsNoNewWork(t *testing.T) {
	t.Parallel()
	for _, c := range cutOffSetups {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := c.open(t)
			ctx := context.Background()
			vendor := newSideEffect(t)
			e := s.newEngine(t, cutOffOptions("replica-alone"))
			var runs atomic.Int32
			e.Handle("notify", func(ctx context.Context, _ []byte) error {
				runs.Add(1)
				return vendor.call(ctx)
			})
			start(t, e)

			var once sync.Once
			bringBack := func() {
				once.Do(func() {
					_, err := s.db.ExecContext(ctx, "ALTER TABLE job_instances_away RENAME TO job_instances")
					require.NoError(t, err)
				})
			}
			_, err := s.db.ExecContext(ctx, "ALTER TABLE job_instances RENAME TO job_instances_away")
			require.NoError(t, err)
			t.Cleanup(bringBack)
			bound, _ := fenceBound(e.opts.HeartbeatInterval, e.opts.DeadAfter)
			time.Sleep(bound + 2*e.opts.HeartbeatInterval)

			_, err = e.Schedule(ctx, incident.Job{Kind: "notify", Urgent: true, Payload: []byte("post")})
			require.NoError(t, err)
			// Long enough for the engine to fetch the job many times.
			time.Sleep(time.Second)
			require.Zero(t, runs.Load(), "no handler starts while the heartbeats are not recorded")
			require.Zero(t, vendor.calls.Load())

			bringBack()
			require.Eventually(t, func() bool { return s.job(t).State == "completed" }, waitFor, tick)
			require.Equal(t, int32(1), runs.Load())
			require.Equal(t, int32(1), vendor.calls.Load())
			require.Equal(t, 1, s.job(t).Attempt, "the runs not started gave their attempts back")
		})
	}
}

// TestFenceBound: with the defaults a replica stops its jobs 7.5 s after
// its last recorded beat, 2.5 s before another may take them over; a
// DeadAfter that leaves no margin over the interval is reported.
func TestFenceBound(t *testing.T) {
	t.Parallel()
	bound, ok := fenceBound(DefaultHeartbeatInterval, DefaultDeadAfter)
	require.True(t, ok)
	require.Equal(t, 7500*time.Millisecond, bound)
	bound, ok = fenceBound(400*time.Millisecond, 1200*time.Millisecond)
	require.True(t, ok)
	require.Equal(t, 800*time.Millisecond, bound, "a margin of one interval, when longer than a quarter")
	_, ok = fenceBound(time.Second, 1500*time.Millisecond)
	require.False(t, ok)
}

// Package jobs runs incident.Job values durably on River, on PostgreSQL or on
// SQLite.
//
// Every job is stored as one River job kind (taskKind) whose arguments carry
// the domain kind, payload and key; a single River worker dispatches to the
// handler registered for the domain kind. River's generics and error types
// stay inside this package: the rest of the bot sees incident.Scheduler and
// incident.JobHandler only.
//
// The River tables are not created here. Production runs the project's
// migration set; tests use rivermigrate.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"golang.org/x/time/rate"

	"github.com/firebreakhq/firebreak/incident"
)

// Defaults applied by the constructors to zero Options fields.
//
// DefaultMaxAttempts is lower than River's 25: with its attempt^4-second
// backoff, 10 attempts span about four hours, while 25 would retry a
// stale incident reminder for weeks.
//
// DefaultUrgentWorkers is high because an urgent job mostly waits on one
// outbound call: at 100 ms a Slack call, 4 workers posted about 20 nags a
// second, so 1,000 nags due within 20 seconds were posted up to 30 seconds
// late; 32 post them within a second (BenchmarkNagLateness).
const (
	DefaultWorkers           = 10
	DefaultUrgentWorkers     = 32
	DefaultFetchPollInterval = time.Second
	DefaultMaxAttempts       = 10
	DefaultJobTimeout        = time.Minute
	DefaultMaxSnoozes        = 100
	DefaultMaxSnooze         = time.Hour
)

// DefaultRetryCapKinds are the kinds whose retries Options.RetryCap caps
// by default besides the urgent queue's: the war-room setup, which the
// declarer waits on but which makes too many calls for the urgent queue.
var DefaultRetryCapKinds = []string{incident.JobSetup}

// urgentPollInterval is the longest the urgent queue waits between polls
// for due jobs: how late, at most, an idle engine starts an urgent timer.
const urgentPollInterval = 250 * time.Millisecond

// riverRescueAfter is River's RescueStuckJobsAfter: so long that its
// rescuer, which compares the leader's clock with the database's, never
// takes a job; the engine rescues stuck jobs itself.
const riverRescueAfter = 365 * 24 * time.Hour

// DefaultStopGrace bounds how long Stop waits, once its context has ended,
// for the handlers it cancelled to return and for the engine to record its
// stop; a handler that ignores its context, or a database that does not
// answer, must not hang the shutdown of the whole process.
const DefaultStopGrace = 5 * time.Second

// Options configures an Engine. The zero value of every field selects a
// default.
type Options struct {
	// Queue is the River queue this engine inserts into and works. Engines
	// sharing a database and a queue share the work. Defaults to River's
	// "default" queue.
	Queue string
	// Workers is the number of jobs of Queue run at once by this engine.
	// Defaults to DefaultWorkers.
	Workers int
	// UrgentQueue is the River queue of jobs scheduled with Job.Urgent:
	// pages, nags and acknowledgements. It has its own workers, so no amount
	// of other work delays them. Defaults to "urgent", or to Queue+"_urgent"
	// when Queue is set.
	UrgentQueue string
	// UrgentWorkers is the number of urgent jobs run at once by this engine,
	// reserved for them. Defaults to DefaultUrgentWorkers.
	UrgentWorkers int
	// Logger receives the engine's and River's logs. Defaults to slog.Default().
	Logger *slog.Logger
	// Registerer receives the engine's metrics. Nil registers nothing.
	Registerer prometheus.Registerer
	// FetchPollInterval is how often the engine polls for jobs when no
	// notification arrives (SQLite never notifies). Defaults to
	// DefaultFetchPollInterval; River accepts down to a millisecond.
	FetchPollInterval time.Duration
	// DefaultMaxAttempts bounds the attempts of a job whose MaxAttempts is
	// zero. Defaults to DefaultMaxAttempts.
	DefaultMaxAttempts int
	// JobTimeout cancels a handler's context after this long. A handler
	// that goes on a minute past it has its job taken from it: the job is
	// charged a failed attempt and runs again. Defaults to
	// DefaultJobTimeout.
	JobTimeout time.Duration
	// RetryCap is the longest wait between two attempts of an urgent job
	// or of a kind in RetryCapKinds: work a person is waiting on, which
	// must be tried again soon after a short outage of a provider rather
	// than twenty minutes later. Such a job is given the attempts that keep
	// it trying for as long as its MaxAttempts would on the usual backoff
	// (at most about four hours), and its handler sees their count. It is
	// fixed when the job is scheduled. Defaults to DefaultRetryCap; at
	// least a second; negative caps nothing.
	RetryCap time.Duration
	// RetryCapKinds lists the kinds, besides every urgent job, whose
	// retries RetryCap caps: work a person waits on that is too long for
	// the urgent queue. Nil selects DefaultRetryCapKinds; an empty list
	// caps urgent jobs only.
	RetryCapKinds []string
	// MaxSnoozes is how many times a job may be postponed by a RetryAfter
	// error before further RetryAfter errors count as ordinary failures. A
	// snooze does not consume an attempt, so without this bound a dependency
	// that always answers "retry later" would keep a job alive forever.
	// Defaults to DefaultMaxSnoozes.
	MaxSnoozes int
	// MaxSnooze caps the delay taken from a RetryAfter error, so a bogus
	// Retry-After cannot park a job for days. Defaults to DefaultMaxSnooze.
	MaxSnooze time.Duration
	// RetryAfter recognises rate-limit errors that carry no RetryAfter()
	// method, such as an SDK's own error type. Nil recognises only the
	// method.
	RetryAfter func(error) (time.Duration, bool)
	// Schema is the PostgreSQL schema holding River's tables. Empty uses the
	// connection's search_path. Ignored for SQLite.
	Schema string
	// StopGrace is how long Stop goes on once its context has ended: the
	// running handlers are cancelled and have that long to return and have
	// their retries recorded, and the engine to release its instance id.
	// Defaults to DefaultStopGrace.
	StopGrace time.Duration
	// LogRepeatEvery is how often, at most, one of River's messages is
	// logged again while it repeats (as its failed fetches do, every poll,
	// while the database is down), with how many were left out; the first
	// is always logged. The engine's heartbeat failures are limited alike.
	// Defaults to DefaultLogRepeatEvery.
	LogRepeatEvery time.Duration
	// InstanceID names this engine among the replicas sharing the database;
	// it must be unique among running replicas and should survive a restart
	// (a restarted engine takes back its own interrupted jobs at once).
	// Defaults to the host name; a second engine in the same process gets a
	// numbered suffix.
	InstanceID string
	// HeartbeatInterval is how often the engine records that it is alive
	// and looks for jobs held by dead instances. Defaults to
	// DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
	// DeadAfter is how long an instance may stay silent before its running
	// jobs are handed to a live one, which must itself have been beating
	// for as long (so a database lost by every instance for a while makes
	// none of them dead). An engine whose own heartbeats have not been
	// recorded for DeadAfter less a margin (a quarter of it, or one
	// HeartbeatInterval if longer) stops its running jobs first: their
	// contexts end with ErrHeartbeatLost. It should be at least twice
	// HeartbeatInterval. Defaults to DefaultDeadAfter.
	DeadAfter time.Duration
	// StartSpacing is the least time between the starts of two jobs of
	// Queue (urgent jobs are never held back). River hands a queue's jobs
	// over in batches, one fetch every fetch cooldown (100 ms), and a batch
	// started at once takes every core for a moment: the acknowledgements
	// arriving then wait. Spread over the cooldown instead, the batch
	// takes no longer to start than River takes to fetch the next. Zero
	// selects the fetch cooldown divided by Workers; negative starts jobs
	// as soon as they are fetched.
	StartSpacing time.Duration
	// BackgroundPool, on PostgreSQL, is a pool of the same database whose
	// connections commit without waiting for the disk
	// (gormstore.DB.BackgroundPool). River's own writes (fetching,
	// completing, retrying and snoozing jobs, the leader's maintenance),
	// its listener and the heartbeats then run on it, while Schedule still
	// commits the jobs it inserts durably, on the pool given to
	// NewPostgres. A crash of the database server may lose the latest of
	// River's own writes: a job whose completion is lost runs again, as
	// after any crash mid-job. Nil runs everything on the pool. Ignored
	// for SQLite.
	BackgroundPool *pgxpool.Pool

	// clock, in tests, is this host's clock for River and for the times
	// the engine gives River (a host whose clock is off the database's).
	// Nil is time.Now.
	clock func() time.Time
}

// instances numbers the engines of this process, so that two of them never
// share a default InstanceID.
var instances struct {
	sync.Mutex
	n int
}

func nextInstanceID() string {
	instances.Lock()
	defer instances.Unlock()
	instances.n++
	if instances.n == 1 {
		return defaultInstanceID()
	}
	return fmt.Sprintf("%s-%d", defaultInstanceID(), instances.n)
}

func (o Options) withDefaults() Options {
	if o.UrgentQueue == "" {
		o.UrgentQueue = "urgent"
		if o.Queue != "" && o.Queue != river.QueueDefault {
			o.UrgentQueue = o.Queue + "_urgent"
		}
	}
	if o.Queue == "" {
		o.Queue = river.QueueDefault
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.UrgentWorkers <= 0 {
		o.UrgentWorkers = DefaultUrgentWorkers
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.FetchPollInterval <= 0 {
		o.FetchPollInterval = DefaultFetchPollInterval
	}
	if o.DefaultMaxAttempts <= 0 {
		o.DefaultMaxAttempts = DefaultMaxAttempts
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = DefaultJobTimeout
	}
	if o.RetryCap == 0 {
		o.RetryCap = DefaultRetryCap
	} else if o.RetryCap > 0 {
		o.RetryCap = max(o.RetryCap, time.Second)
	}
	if o.RetryCapKinds == nil {
		o.RetryCapKinds = DefaultRetryCapKinds
	}
	if o.MaxSnoozes <= 0 {
		o.MaxSnoozes = DefaultMaxSnoozes
	}
	if o.MaxSnooze <= 0 {
		o.MaxSnooze = DefaultMaxSnooze
	}
	if o.LogRepeatEvery <= 0 {
		o.LogRepeatEvery = DefaultLogRepeatEvery
	}
	if o.StopGrace <= 0 {
		o.StopGrace = DefaultStopGrace
	}
	if o.InstanceID == "" {
		o.InstanceID = nextInstanceID()
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.DeadAfter <= 0 {
		o.DeadAfter = DefaultDeadAfter
	}
	return o
}

// Engine stores and runs jobs. It implements incident.Scheduler. Register
// handlers with Handle, then call Start; Schedule works before Start too.
type Engine struct {
	// client runs on database/sql for both databases, so a job can be
	// inserted in the same *sql.Tx as the rows gorm writes (ScheduleManyTx).
	client *river.Client[*sql.Tx]
	// inserts, when set, is the database Schedule inserts through, in a
	// transaction of its own: the durable pool, when River's own writes
	// run on a background one (Options.BackgroundPool).
	inserts  *sql.DB
	takeover *takeover
	// fence stops this engine's runs when its heartbeats go unrecorded,
	// before another replica takes their jobs over.
	fence *fence
	// guard records the results of this engine's runs, and takes a job
	// from a run stuck past JobTimeout.
	guard *guard
	// stopBeat ends the heartbeat loop of the current run; beatDone is
	// closed when it has returned.
	stopBeat context.CancelFunc
	beatDone chan struct{}
	depth    func(ctx context.Context) (int, error)
	log      *slog.Logger
	// repeating logs what repeats while the database is down (a failed
	// heartbeat), once a LogRepeatEvery; riverLog is River's, limited the
	// same way.
	repeating *slog.Logger
	riverLog  *slog.Logger
	metrics   *metrics
	opts      Options
	// starts spaces the starts of Queue's jobs (Options.StartSpacing);
	// nil starts them as soon as River hands them over.
	starts *rate.Limiter
	// cancelling says that Stop's context ended and it cancelled the
	// running handlers.
	cancelling atomic.Bool
	// unknownKindWait is how long a job of a kind this engine has no
	// handler for is put back for, at most unknownKindDeferrals times
	// (defaultUnknownKindWait, defaultUnknownKindDeferrals).
	unknownKindWait      time.Duration
	unknownKindDeferrals int
	// stuckGrace is how long past JobTimeout a run may go on before its
	// job is taken from it (defaultStuckGrace).
	stuckGrace time.Duration

	mu       sync.RWMutex
	handlers map[string]incident.JobHandler
	started  bool
	stopped  <-chan struct{} // closed when the current run of the client ends
}

var _ incident.Scheduler = (*Engine)(nil)

// NewPostgres returns an Engine on a PostgreSQL pool. River's tables must
// already exist in opts.Schema, or in the pool's search_path when Schema is
// empty.
//
// The engine talks to the database through database/sql on top of the pool,
// or of Options.BackgroundPool when set (River's riverdatabasesql driver),
// and listens for new jobs on a connection of that pool. A Store opened on
// the same database (gormstore.DB) can therefore hand its *sql.Tx to
// ScheduleManyTx: the rows and the jobs of one step commit together.
func NewPostgres(pool *pgxpool.Pool, opts Options) (*Engine, error) {
	if pool == nil {
		return nil, errors.New("jobs: nil postgres pool")
	}
	opts = opts.withDefaults()
	table := "river_job"
	if opts.Schema != "" {
		table = pgx.Identifier{opts.Schema, "river_job"}.Sanitize()
	}
	query := "SELECT count(*) FROM " + table + " WHERE queue = ANY($1) AND state::text = ANY($2)"
	states := waitingStates()
	queues := []string{opts.Queue, opts.UrgentQueue}
	depth := func(ctx context.Context) (int, error) {
		var n int
		err := pool.QueryRow(ctx, query, queues, states).Scan(&n)
		return n, err
	}
	work := pool
	if opts.BackgroundPool != nil {
		work = opts.BackgroundPool
	}
	db := stdlib.OpenDBFromPool(work)
	e, err := newEngine(riverdatabasesql.NewWithPgxListener(db, work), opts, depth, db, true)
	if err != nil {
		return nil, err
	}
	if work != pool {
		e.inserts = stdlib.OpenDBFromPool(pool)
	}
	return e, nil
}

// NewSQLite returns an Engine on a SQLite database opened with the "sqlite"
// driver of modernc.org/sqlite. The pool must be limited to one open
// connection (db.SetMaxOpenConns(1)): River runs concurrent maintenance
// queries that would otherwise fail with SQLITE_BUSY. River's tables must
// already exist.
//
// From Start to Stop the engine of a database file holds a lock file of its
// instance id next to it ("<file>.instance-<id>-<hash>.lock", flock(2)),
// which the kernel releases when the process dies: a restart after a crash
// takes back its jobs at once, and a second process under the same id is
// refused at once. Start fails, naming the file, when it cannot be created.
// An in-memory database has no such lock: its start watches a recent
// heartbeat of its instance id for a twin instead.
func NewSQLite(db *sql.DB, opts Options) (*Engine, error) {
	if db == nil {
		return nil, errors.New("jobs: nil sqlite database")
	}
	if n := db.Stats().MaxOpenConnections; n != 1 {
		return nil, fmt.Errorf("jobs: sqlite database allows %d open connections, want 1 (call SetMaxOpenConns(1))", n)
	}
	opts = opts.withDefaults()
	opts.Schema = ""
	query := "SELECT count(*) FROM river_job WHERE queue IN (?, ?) AND state IN (?, ?, ?)"
	args := []any{opts.Queue, opts.UrgentQueue}
	for _, s := range waitingStates() {
		args = append(args, s)
	}
	depth := func(ctx context.Context) (int, error) {
		var n int
		err := db.QueryRowContext(ctx, query, args...).Scan(&n)
		return n, err
	}
	return newEngine(riversqlite.New(db), opts, depth, db, false)
}

// waitingStates are the states of a job that has yet to run (again).
func waitingStates() []string {
	return []string{
		string(rivertype.JobStateAvailable),
		string(rivertype.JobStateRetryable),
		string(rivertype.JobStateScheduled),
	}
}

func newEngine(driver riverdriver.Driver[*sql.Tx], opts Options, depth func(context.Context) (int, error), db *sql.DB, postgres bool) (*Engine, error) {
	log := opts.Logger.With("component", "jobs")
	bound, ok := fenceBound(opts.HeartbeatInterval, opts.DeadAfter)
	if !ok {
		log.Warn("DeadAfter leaves no margin over HeartbeatInterval: a replica cut off from the database may still run the jobs another has taken over; make DeadAfter at least twice HeartbeatInterval",
			"dead_after", opts.DeadAfter, "heartbeat_interval", opts.HeartbeatInterval)
	}
	e := &Engine{
		takeover: &takeover{db: db, postgres: postgres, id: opts.InstanceID, queues: []string{opts.Queue, opts.UrgentQueue},
			interval: opts.HeartbeatInterval, deadAfter: opts.DeadAfter, now: time.Now},
		fence:     newFence(bound, log),
		repeating: repeatsLimited(log, opts.LogRepeatEvery),
		riverLog:  repeatsLimited(opts.Logger, opts.LogRepeatEvery),
		depth:     depth,
		log:       log,
		opts:      opts,
		handlers:  make(map[string]incident.JobHandler),

		unknownKindWait:      defaultUnknownKindWait,
		unknownKindDeferrals: defaultUnknownKindDeferrals,
		stuckGrace:           defaultStuckGrace,
	}
	table := "river_job"
	if postgres && opts.Schema != "" {
		table = pgx.Identifier{opts.Schema, "river_job"}.Sanitize()
	}
	hostNow := opts.clock
	if hostNow == nil {
		hostNow = time.Now
	}
	e.guard = &guard{db: db, driver: driver, postgres: postgres, id: opts.InstanceID, schema: opts.Schema, table: table, fence: e.fence, log: log, now: hostNow}
	driver = guardedDriver{Driver: driver, guard: e.guard}
	m, err := newMetrics(opts.Registerer, opts.Queue, e.scrapeDepth)
	if err != nil {
		return nil, err
	}
	e.metrics = m

	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &dispatcher{engine: e}); err != nil {
		return nil, fmt.Errorf("jobs: register worker: %w", err)
	}
	// River rejects a poll interval shorter than the fetch cooldown, whose
	// default (100ms) is longer than the intervals tests use.
	cooldown := min(opts.FetchPollInterval, river.FetchCooldownDefault)
	if spacing := opts.StartSpacing; spacing >= 0 {
		if spacing == 0 {
			spacing = cooldown / time.Duration(opts.Workers)
		}
		e.starts = rate.NewLimiter(rate.Every(spacing), 1)
	}
	client, err := river.NewClient(driver, &river.Config{
		ID:                opts.InstanceID,
		FetchCooldown:     cooldown,
		FetchPollInterval: opts.FetchPollInterval,
		JobTimeout:        opts.JobTimeout,
		// A replica that dies mid-job leaves the job running; the
		// heartbeat takeover hands it to a live replica within DeadAfter,
		// and a live replica takes its own jobs from runs stuck past
		// JobTimeout (rescueStuck). River's rescuer compares the
		// database's attempted_at with the leader's own clock: a leader
		// whose clock is ahead would take live jobs for stuck ones and
		// run them twice. It is left a year, so it never acts.
		RescueStuckJobsAfter: max(riverRescueAfter, opts.JobTimeout+time.Hour),
		Logger:               e.riverLog,
		MaxAttempts:          opts.DefaultMaxAttempts,
		RetryPolicy:          retryPolicy{now: opts.clock},
		Queues: map[string]river.QueueConfig{
			opts.Queue: {MaxWorkers: opts.Workers},
			// Timers fire when a poll finds them due (dueByTheDatabase),
			// so this queue polls more often.
			opts.UrgentQueue: {MaxWorkers: opts.UrgentWorkers, FetchPollInterval: min(opts.FetchPollInterval, urgentPollInterval)},
		},
		Schema:  opts.Schema,
		Test:    river.TestConfig{Time: riverClock(opts.clock)},
		Workers: workers,
		Hooks:   []rivertype.Hook{river.HookInsertBeginFunc(dueByTheDatabase)},
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: new river client: %w", err)
	}
	e.client = client
	return e, nil
}

// riverClock is River's time generator on clock, or River's own for nil.
func riverClock(clock func() time.Time) rivertype.TimeGenerator {
	if clock == nil {
		return nil
	}
	return hostClock(clock)
}

// hostClock is a River time generator on a given clock, with the database's
// clock wherever River lets the database choose (NowOrNil).
type hostClock func() time.Time

func (c hostClock) Now() time.Time       { return c() }
func (c hostClock) NowOrNil() *time.Time { return nil }

// dueByTheDatabase returns an insert hook that stores a job due later (an
// update nag, a response-time check, a comms deadline, a digest) as
// available with its due time, rather than scheduled. River's leader moves
// scheduled jobs to available only every 5 seconds, and by its own clock:
// a timer would fire up to 5 seconds late, and as late again as the
// leader's clock is behind the database's. An available job is fetched once
// its scheduled_at has passed by the database's clock, within one fetch
// poll of its due time. River does the same for its own short snoozes and
// retries, and the engine for the longer ones (guard.onDatabaseClock).
// Uniqueness is unchanged: both states count for a keyed job (insertArgs).
func dueByTheDatabase(_ context.Context, params *rivertype.JobInsertParams) error {
	if params.State == rivertype.JobStateScheduled {
		params.State = rivertype.JobStateAvailable
	}
	return nil
}

package gormstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/migrations"
)

// JobInserter stores jobs inside a transaction of the store's database.
// *jobs.Engine is one.
type JobInserter interface {
	// ScheduleManyTx stores the jobs in tx, skipping those whose Kind and
	// Key are already scheduled.
	ScheduleManyTx(ctx context.Context, tx *sql.Tx, jobs []incident.Job) error
}

// pendingJobs collects the jobs scheduled on an Atomic's transaction (and
// on its nested ones), so they are stored in one statement when the
// transaction's function returns, before it commits.
type pendingJobs struct {
	jobs []incident.Job
	keys map[string]bool // Kind and Key of the keyed jobs collected
}

func (p *pendingJobs) add(job incident.Job) {
	if job.Key != "" {
		// One statement cannot store two jobs with the same key; the
		// first one scheduled wins, as it would have one by one.
		k := job.Kind + "\x00" + job.Key
		if p.keys[k] {
			return
		}
		if p.keys == nil {
			p.keys = map[string]bool{}
		}
		p.keys[k] = true
	}
	p.jobs = append(p.jobs, job)
}

// truncate forgets the jobs collected after the first n, as a nested
// transaction rolled back to its savepoint forgets its rows.
func (p *pendingJobs) truncate(n int) {
	for _, job := range p.jobs[n:] {
		if job.Key != "" {
			delete(p.keys, job.Kind+"\x00"+job.Key)
		}
	}
	p.jobs = p.jobs[:n]
}

// txStore is the Store of one Atomic's transaction.
type txStore struct{ *Store }

var (
	_ incident.Tx              = txStore{}
	_ incident.TimelineBatcher = txStore{}
)

// Schedule implements incident.Scheduler: the job is inserted in the
// transaction, with the others scheduled on it, when the Atomic's function
// returns; it exists only if the transaction commits. It reports true: a
// job whose Kind and Key are already scheduled is skipped when stored.
func (t txStore) Schedule(ctx context.Context, job incident.Job) (bool, error) {
	if t.jobs == nil {
		return false, errors.New("gormstore: the store has no job engine (gormstore.WithJobs)")
	}
	t.pending.add(job)
	return true, nil
}

// Atomic implements incident.Store. On the Tx of an Atomic it opens a
// savepoint, so a failed inner function undoes only its own writes (and
// forgets the jobs it scheduled). The jobs scheduled on the transaction are
// inserted in one statement at its end, before it commits.
func (s *Store) Atomic(ctx context.Context, fn func(tx incident.Tx) error) error {
	const op = "atomic"
	var fnErr error
	var committing bool
	err := s.admitted(ctx, func() error { return s.atomic(ctx, fn, &fnErr, &committing) })
	if err == nil && s.sqlTx == nil {
		s.shared.wrote()
	}
	if fnErr != nil {
		return fnErr
	}
	if err != nil && committing && s.commitUnanswered(err) {
		// It may have been written: reads cached before it are stale.
		s.shared.wrote()
		return errors.Join(incident.ErrMaybeSaved, storeError(op, incident.Errorf(incident.EUNAVAILABLE,
			"The database did not confirm the change, so it may have been saved; look before you try again."), err))
	}
	if err != nil {
		return storeError(op, incident.Errorf(incident.EUNAVAILABLE, "The change could not be saved; try again."), err)
	}
	return nil
}

// commitUnanswered reports whether err, met while committing, leaves the
// commit's outcome unknown: PostgreSQL's own refusal (a *pgconn.PgError)
// means it was not taken, and so does a COMMIT never sent (the context
// ended first: database/sql then answers the context's own error or
// ErrTxDone and rolls back, and pgx says it sent nothing, SafeToRetry),
// while a broken connection or a deadline passing after COMMIT was sent
// may come after PostgreSQL took it. SQLite commits in the process: its
// error is its answer.
func (s *Store) commitUnanswered(err error) bool {
	var pgErr *pgconn.PgError
	switch {
	case s.dialect != migrations.Postgres, errors.As(err, &pgErr), pgconn.SafeToRetry(err),
		err == context.Canceled, err == context.DeadlineExceeded, errors.Is(err, sql.ErrTxDone): //nolint:errorlint // database/sql's own answer is the bare error
		return false
	}
	return true
}

// atomic runs fn in a transaction, or a savepoint of the one in progress,
// and stores the jobs fn scheduled at the end of the outermost. fn's own
// error is set in fnErr; committing is set when everything but the
// outermost transaction's commit succeeded with ctx still live, so the
// commit was sent.
func (s *Store) atomic(ctx context.Context, fn func(tx incident.Tx) error, fnErr *error, committing *bool) error {
	return s.session(ctx).Transaction(func(tx *gorm.DB) error {
		sqlTx, pending := s.sqlTx, s.pending
		outer := sqlTx == nil
		if outer {
			var ok bool
			if sqlTx, ok = tx.Statement.ConnPool.(*sql.Tx); !ok {
				return fmt.Errorf("transaction runs on %T, not *sql.Tx", tx.Statement.ConnPool)
			}
			pending = &pendingJobs{}
		}
		mark := len(pending.jobs)
		*fnErr = fn(txStore{newStore(&handle{db: tx, dialect: s.dialect, clock: s.clock, jobs: s.jobs, sqlTx: sqlTx, pending: pending, shared: s.shared})})
		if *fnErr != nil {
			pending.truncate(mark)
			return *fnErr
		}
		if !outer {
			return nil
		}
		if len(pending.jobs) > 0 {
			if err := s.jobs.ScheduleManyTx(ctx, sqlTx, pending.jobs); err != nil {
				*fnErr = storeError("schedule jobs", incident.Errorf(incident.EUNAVAILABLE, "The jobs of the change could not be stored."), err)
				return *fnErr
			}
		}
		// A context already done is not committed: database/sql rolls
		// back instead of sending COMMIT.
		*committing = ctx.Err() == nil
		return nil
	})
}

package gormstore_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

type pingArgs struct{ N int }

func (pingArgs) Kind() string { return "ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	store incident.Store
	done  *atomic.Int64
}

func (w *pingWorker) Work(ctx context.Context, job *river.Job[pingArgs]) error {
	// A job that touches the store while River holds its own work on the
	// same single connection must not deadlock.
	if _, err := w.store.RecordDelivery(ctx, incident.Delivery{Source: "job", ID: strconv.Itoa(job.Args.N)}); err != nil {
		return err
	}
	w.done.Add(1)
	return nil
}

// TestRiverOnSQLiteDB runs River on the DB that Open returns (single
// connection, IMMEDIATE transactions, foreign keys on) and the schema our
// migrations create, while the Store uses the same connection.
func TestRiverOnSQLiteDB(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db := openDB(t, "sqlite")
	store := gormstore.New(db, incidenttest.NewClock(time.Time{}))

	var done atomic.Int64
	workers := river.NewWorkers()
	river.AddWorker(workers, &pingWorker{store: store, done: &done})
	client, err := river.NewClient(riversqlite.New(db.SQL()), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:           workers,
		FetchCooldown:     20 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		TestOnly:          true,
	})
	require.NoError(t, err)
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(stopCtx)
	})

	const jobs = 5
	for i := range jobs {
		_, err := client.Insert(ctx, pingArgs{N: i}, nil)
		require.NoError(t, err)
		_, err = store.CreateIncident(ctx, incidenttest.NewIncident())
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return done.Load() == jobs }, 20*time.Second, 20*time.Millisecond)
	list, err := store.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, list, jobs)
}

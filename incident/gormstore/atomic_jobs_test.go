package gormstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/jobs"
	"github.com/firebreakhq/firebreak/migrations"
)

// TestAtomicJobs checks that a job scheduled on an Atomic's Tx is inserted
// in the store's own transaction, through the pool the store uses: it runs
// once the transaction commits, and never exists when it rolls back. An
// urgent job runs on its own queue.
func TestAtomicJobs(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			db := openDB(t, dialect)
			opts := jobs.Options{FetchPollInterval: 50 * time.Millisecond}
			var (
				engine *jobs.Engine
				err    error
			)
			if db.Dialect() == migrations.Postgres {
				engine, err = jobs.NewPostgres(db.Pool(), opts)
			} else {
				engine, err = jobs.NewSQLite(db.SQL(), opts)
			}
			require.NoError(t, err)
			store := gormstore.New(db, testClock(), gormstore.WithJobs(engine))

			var (
				mu  sync.Mutex
				ran = map[string]int{}
			)
			done := make(chan string, 10)
			engine.Handle("probe", func(_ context.Context, payload []byte) error {
				mu.Lock()
				ran[string(payload)]++
				mu.Unlock()
				done <- string(payload)
				return nil
			})
			require.NoError(t, engine.Start(ctx))
			t.Cleanup(func() { _ = engine.Stop(context.Background()) })

			boom := errors.New("boom")
			err = store.Atomic(ctx, func(tx incident.Tx) error {
				if _, err := tx.CreateIncident(ctx, &incident.Incident{Title: "rolled back", Severity: incident.P1}); err != nil {
					return err
				}
				if _, err := tx.Schedule(ctx, incident.Job{Kind: "probe", Key: "k-rolled-back", Payload: []byte("rolled-back")}); err != nil {
					return err
				}
				return boom
			})
			require.ErrorIs(t, err, boom)

			var inc *incident.Incident
			err = store.Atomic(ctx, func(tx incident.Tx) error {
				if inc, err = tx.CreateIncident(ctx, &incident.Incident{Title: "kept", Severity: incident.P1}); err != nil {
					return err
				}
				if _, err := tx.Schedule(ctx, incident.Job{Kind: "probe", Key: "k-kept", Payload: []byte("kept")}); err != nil {
					return err
				}
				_, err := tx.Schedule(ctx, incident.Job{Kind: "probe", Key: "k-urgent", Payload: []byte("urgent"), Urgent: true})
				return err
			})
			require.NoError(t, err)

			seen := map[string]bool{}
			for len(seen) < 2 {
				select {
				case p := <-done:
					seen[p] = true
				case <-ctx.Done():
					t.Fatalf("jobs of the committed transaction did not run; ran %v", seen)
				}
			}
			require.Equal(t, map[string]bool{"kept": true, "urgent": true}, seen)

			// The rolled-back job does not exist: its key is free.
			fresh, err := engine.Schedule(ctx, incident.Job{Kind: "probe", Key: "k-rolled-back", Payload: []byte("rescheduled")})
			require.NoError(t, err)
			require.True(t, fresh, "a job of a rolled-back transaction must not exist")
			select {
			case p := <-done:
				require.Equal(t, "rescheduled", p)
			case <-ctx.Done():
				t.Fatal("rescheduled job did not run")
			}
			mu.Lock()
			require.Zero(t, ran["rolled-back"])
			mu.Unlock()

			all, err := store.ListIncidents(ctx, incident.IncidentFilter{})
			require.NoError(t, err)
			require.Len(t, all, 1)
			require.Equal(t, inc.ID, all[0].ID)

			// The jobs of one transaction are stored together: two with one
			// key store the first, and a nested transaction that fails
			// takes its jobs with it.
			err = store.Atomic(ctx, func(tx incident.Tx) error {
				for _, p := range []string{"first", "second"} {
					if _, err := tx.Schedule(ctx, incident.Job{Kind: "probe", Key: "k-same", Payload: []byte(p)}); err != nil {
						return err
					}
				}
				nested := tx.Atomic(ctx, func(tx incident.Tx) error {
					if _, err := tx.Schedule(ctx, incident.Job{Kind: "probe", Key: "k-nested", Payload: []byte("nested")}); err != nil {
						return err
					}
					return boom
				})
				if !errors.Is(nested, boom) {
					return fmt.Errorf("nested transaction: %w", nested)
				}
				_, err := tx.Schedule(ctx, incident.Job{Kind: "probe", Key: "k-after", Payload: []byte("after")})
				return err
			})
			require.NoError(t, err)
			seen = map[string]bool{}
			for len(seen) < 2 {
				select {
				case p := <-done:
					seen[p] = true
				case <-ctx.Done():
					t.Fatalf("jobs of the committed transaction did not run; ran %v", seen)
				}
			}
			require.Equal(t, map[string]bool{"first": true, "after": true}, seen)
			fresh, err = engine.Schedule(ctx, incident.Job{Kind: "probe", Key: "k-nested", Payload: []byte("nested again")})
			require.NoError(t, err)
			require.True(t, fresh, "a job of a failed nested transaction must not exist")
			select {
			case p := <-done:
				require.Equal(t, "nested again", p)
			case <-ctx.Done():
				t.Fatal("rescheduled job did not run")
			}
			mu.Lock()
			require.Zero(t, ran["second"]+ran["nested"])
			mu.Unlock()
		})
	}
}

// TestAtomicWithoutJobEngine: scheduling on a Tx of a store without a job
// engine fails and takes the transaction's rows with it.
func TestAtomicWithoutJobEngine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := gormstore.New(openDB(t, "sqlite"), testClock())
	err := store.Atomic(ctx, func(tx incident.Tx) error {
		if _, err := tx.CreateIncident(ctx, &incident.Incident{Title: "t", Severity: incident.P2}); err != nil {
			return err
		}
		_, err := tx.Schedule(ctx, incident.Job{Kind: "probe"})
		return err
	})
	require.Error(t, err)
	all, err := store.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Empty(t, all)
}

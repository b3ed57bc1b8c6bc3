package gormstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/followthrough"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// countingScheduler takes jobs without running them.
type countingScheduler struct{ n atomic.Int64 }

func (c *countingScheduler) Schedule(context.Context, incident.Job) (bool, error) {
	c.n.Add(1)
	return true, nil
}

// BenchmarkSweepFollowThrough measures one follow-through check over 200
// closed incidents with 25 open action items each (5,000), half of them
// due or overdue at the check, and 200 reviews in draft, on SQLite and
// PostgreSQL.
//
//	go test ./incident/gormstore -run '^$' -bench SweepFollowThrough -benchtime 10x
func BenchmarkSweepFollowThrough(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchSweep(b, "sqlite:"+filepath.Join(b.TempDir(), "firebreak.db")) })
	b.Run("postgres", func(b *testing.B) { benchSweep(b, pgtest.DSN(b)) })
}

// openBenchDB opens and migrates the database at url for one benchmark.
func openBenchDB(b *testing.B, url string) *gormstore.DB {
	b.Helper()
	ctx := context.Background()
	db, err := gormstore.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	return db
}

func benchSweep(b *testing.B, url string) {
	ctx := context.Background()
	db := openBenchDB(b, url)
	start := time.Date(2026, 8, 3, 8, 0, 0, 0, time.UTC)
	clock := incidenttest.NewClock(start)
	store := gormstore.New(db, clock)
	for i := range 200 {
		inc, err := store.CreateIncident(ctx, &incident.Incident{Title: fmt.Sprintf("incident %d", i), Severity: incident.P2,
			Status: incident.StatusClosed, DeclaredBy: "U0ALICE", Commander: "U0ALICE", DeclaredAt: start})
		if err != nil {
			b.Fatal(err)
		}
		if err := store.SaveReview(ctx, &incident.Review{IncidentID: inc.ID, State: incident.ReviewDraft,
			DueOn: time.Date(2026, 8, 10, 0, 0, 0, 0, time.UTC), Owner: "U0ALICE"}); err != nil {
			b.Fatal(err)
		}
		for j := range 25 {
			due := time.Date(2026, 8, 1+j, 0, 0, 0, 0, time.UTC)
			if err := store.AddActionItem(ctx, &incident.ActionItem{IncidentID: inc.ID, Text: fmt.Sprintf("item %d", j),
				Owner: "U0BOB", DueOn: &due, CreatedBy: "U0ALICE"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	sched := &countingScheduler{}
	policy := incident.DefaultPolicy()
	policy.FollowUps.DigestChannel = "#followups"
	svc := followthrough.New(followthrough.Config{Store: store, Scheduler: sched, Policy: policy, Clock: clock,
		Core: incident.NewService(incident.ServiceConfig{Store: store, Scheduler: sched, Policy: policy, Clock: clock})})
	clock.Set(time.Date(2026, 8, 12, 9, 30, 0, 0, time.UTC))
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Sweep(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(sched.n.Load())/float64(b.N), "notices/op")
}

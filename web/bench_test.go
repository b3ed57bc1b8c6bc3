package web_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/metrics"
	"github.com/firebreakhq/firebreak/web"
)

// seed adds n resolved incidents over the last 90 days, each with a few
// timeline events, an update and a follow-up.
func seed(b *testing.B, f *fixture, n int) {
	b.Helper()
	ctx := context.Background()
	for i := range n {
		declared := t0.Add(-time.Duration(i) * 90 * 24 * time.Hour / time.Duration(n))
		inc, err := f.store.CreateIncident(ctx, incidenttest.NewIncident(func(inc *incident.Incident) {
			inc.Title = fmt.Sprintf("incident %d", i)
			inc.Severity = incident.Severity(i%4 + 1)
			inc.Service = []string{"checkout", "payroll"}[i%2]
			inc.DeclaredAt = declared
			ack, res := declared.Add(time.Duration(i%30+1)*time.Minute), declared.Add(time.Duration(i%300+10)*time.Minute)
			inc.AcknowledgedAt, inc.ResolvedAt, inc.Status = &ack, &res, incident.StatusResolved
		}))
		require.NoError(b, err)
		for k := range 3 {
			require.NoError(b, f.store.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventNote,
				Actor: "U0ALICE", At: declared.Add(time.Duration(k) * time.Minute), Text: "note"}))
		}
		require.NoError(b, f.store.AddActionItem(ctx, &incident.ActionItem{IncidentID: inc.ID, Text: "follow up", CreatedAt: declared}))
	}
}

func benchPage(b *testing.B, path string, n int) {
	f := setup(b)
	seed(b, f, n)
	br := f.browser()
	br.signIn(f.alice)
	b.ResetTimer()
	for b.Loop() {
		resp, _ := br.get(path)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
}

// BenchmarkIncidentList is the list page over 1,000 incidents (it shows
// the newest 200).
func BenchmarkIncidentList(b *testing.B) { benchPage(b, "/incidents?drills=include", 1000) }

// BenchmarkMetricsPage is the metrics page for 90 days of 1,000 incidents.
func BenchmarkMetricsPage(b *testing.B) { benchPage(b, "/reports/metrics?period=90d", 1000) }

// BenchmarkMetricsCSV is the CSV download for the same.
func BenchmarkMetricsCSV(b *testing.B) { benchPage(b, "/reports/metrics.csv?period=90d", 1000) }

// BenchmarkMetricsPageYear is the metrics page for a year of 2,000
// incidents, each with its timeline, status updates, a follow-up and, for
// some, a rollback, on every store; it reports the store calls per page.
func BenchmarkMetricsPageYear(b *testing.B) {
	for _, dialect := range reportStores {
		b.Run(dialect, func(b *testing.B) {
			clock := incidenttest.NewClock(t0)
			st := openStore(b, dialect, clock)
			seedReports(b, st, clock, 2000, 364*24*time.Hour, 1)
			counting := newCallCounter(st)
			f := setup(b, func(cfg *web.Config) {
				cfg.Reader, cfg.Metrics = counting, metrics.NewService(counting, cfg.Policy, cfg.Clock)
			})
			br := f.browser()
			br.signIn(f.alice)
			counting.reset()
			b.ResetTimer()
			for b.Loop() {
				resp, body := br.get("/reports/metrics?period=365d")
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%d: %s", resp.StatusCode, body)
				}
			}
			calls, _ := counting.total()
			b.ReportMetric(float64(calls)/float64(b.N), "store-calls/op")
		})
	}
}

package bot

import (
	"context"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	reports "github.com/firebreakhq/firebreak/incident/metrics"
)

func TestMetricsText(t *testing.T) {
	st := func(mean, p90 time.Duration) reports.Stat {
		return reports.Stat{Count: 2, Mean: mean, P50: mean, P90: p90, P95: p90, Max: p90}
	}
	r := reports.Report{
		Overall: reports.Group{Key: "all", Incidents: 3, MTTA: st(5*time.Minute, 9*time.Minute), MTTM: st(40*time.Minute, time.Hour),
			MTTR: st(90*time.Minute, 3*time.Hour), MTBF: st(50*time.Hour, 70*time.Hour)},
		BySeverity: []reports.Group{
			{Key: "P1", Incidents: 1, MTTA: st(3*time.Minute, 3*time.Minute), MTTR: st(time.Hour, time.Hour)},
			{Key: "P2", Incidents: 2, MTTA: st(6*time.Minute, 7*time.Minute)},
			{Key: "P3"}, {Key: "P4"},
		},
		ByService: []reports.Group{{Key: "checkout", Incidents: 3}},
		Rollback:  reports.Compliance{Applicable: 2, Met: 1},
		Updates:   reports.Compliance{Applicable: 3, Met: 3},
		OpenItems: 2, OverdueItems: 1, ActionItems: 4,
	}
	h := &metricsHandlers{webURL: "https://fb.example.com/"}
	want := "*Incident metrics, last 30d* (all services; drills left out)\n" +
		"3 incidents · MTTA 5m00s (p90 9m00s) · MTTM 40m00s · MTTR 1h30m (p90 3h00m) · MTBF 2d2h\n" +
		"*By severity*\n" +
		"• P1: 1 · MTTA 3m00s · MTTM — · MTTR 1h00m · MTBF —\n" +
		"• P2: 2 · MTTA 6m00s · MTTM — · MTTR — · MTBF —\n" +
		"*By service*\n" +
		"• checkout: 3 · MTTA — · MTTR — · MTBF —\n" +
		"Resolved by a rollback: 50% (1 of 2) · Update cadence kept: 100% (3 of 3) · P1s on the status page within 10 min: n/a\n" +
		"Follow-ups: 2 open, 1 overdue, of 4\n" +
		"Charts and CSV: <https://fb.example.com/reports/metrics?period=30d|metrics page>"
	require.Equal(t, want, h.metricsText(r, "30d"))

	r.Service = "checkout"
	h.webURL = ""
	got := h.metricsText(r, "7d")
	require.Contains(t, got, "last 7d* (service checkout;")
	require.NotContains(t, got, "By service", "one service needs no breakdown by service")
	require.NotContains(t, got, "Charts and CSV", "no link without the web view")
}

// seeOnlyPublic is an IncidentService by which user sees only the public
// incidents.
type seeOnlyPublic struct{ IncidentService }

func (seeOnlyPublic) Policy() incident.Policy { return incident.DefaultPolicy() }

func (seeOnlyPublic) CanSee(_ context.Context, _ string, inc *incident.Incident) (bool, error) {
	return !inc.Private, nil
}

// readsRecorded is a MetricsService that records whose records are read.
type readsRecorded struct {
	incs []*incident.Incident
	read []int64
}

func (r *readsRecorded) Incidents(context.Context, reports.Query) ([]*incident.Incident, error) {
	return r.incs, nil
}

func (r *readsRecorded) FactsOf(_ context.Context, incs []*incident.Incident) ([]reports.Facts, error) {
	out := make([]reports.Facts, len(incs))
	for i, inc := range incs {
		r.read = append(r.read, inc.ID)
		out[i] = reports.Facts{Incident: inc}
	}
	return out, nil
}

func (r *readsRecorded) Compute(facts []reports.Facts, q reports.Query) reports.Report {
	return reports.Report{Overall: reports.Group{Key: "all", Incidents: len(facts)}}
}

// TestMetricsCommandReadsOnlyWhatTheAskerMaySee: the records of a private
// incident the asker may not see are never read, not only left out of the
// numbers, as on the web view's metrics page.
func TestMetricsCommandReadsOnlyWhatTheAskerMaySee(t *testing.T) {
	t.Parallel()
	svc := &readsRecorded{incs: []*incident.Incident{{ID: 1}, {ID: 2, Private: true}, {ID: 3}}}
	m := &metricsHandlers{kit: &kit{incidents: seeOnlyPublic{}, clock: incident.SystemClock}, metrics: svc}
	reply, err := m.metricsCommand(context.Background(), Invocation{Sub: "metrics", Args: "30d", Cmd: slack.SlashCommand{UserID: "U0OUTSIDER"}})
	require.NoError(t, err)
	require.Equal(t, []int64{1, 3}, svc.read, "the private incident's records are not read")
	require.Contains(t, reply.Text, "2 incidents")
}

package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/web"
)

func TestIncidentCollector(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := incidenttest.NewClock(t0)
	store := incidenttest.NewMemStore(clock)
	add := func(sev incident.Severity, drill bool, ack, res time.Duration) {
		_, err := store.CreateIncident(ctx, incidenttest.NewIncident(func(i *incident.Incident) {
			i.Severity, i.Drill, i.DeclaredAt = sev, drill, t0.Add(-24*time.Hour)
			if ack > 0 {
				a := i.DeclaredAt.Add(ack)
				i.AcknowledgedAt = &a
			}
			if res > 0 {
				r := i.DeclaredAt.Add(res)
				i.ResolvedAt, i.Status = &r, incident.StatusResolved
			}
		}))
		require.NoError(t, err)
	}
	add(incident.P1, false, 4*time.Minute, 45*time.Minute)
	add(incident.P1, false, 20*time.Minute, 0) // open
	add(incident.P1, true, time.Minute, time.Minute)
	add(incident.P2, false, 0, 3*time.Hour)

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(web.NewIncidentCollector(store.ListIncidents, clock, nil))
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems, "metric names and help follow Prometheus conventions")

	counts := map[string]float64{}
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			sev := m.GetLabel()[0].GetValue()
			counts[mf.GetName()+"/"+sev] = float64(m.GetHistogram().GetSampleCount())
			if mf.GetName() == "firebreak_incident_time_to_acknowledge_seconds" && sev == "P1" {
				require.InDelta(t, 240+1200, m.GetHistogram().GetSampleSum(), 1e-9)
				for _, b := range m.GetHistogram().GetBucket() {
					switch b.GetUpperBound() {
					case 300:
						require.Equal(t, uint64(1), b.GetCumulativeCount(), "4m is within 5m")
					case 1800:
						require.Equal(t, uint64(2), b.GetCumulativeCount())
					}
				}
			}
		}
	}
	require.Equal(t, 2.0, counts["firebreak_incident_time_to_acknowledge_seconds/P1"], "the drill is left out")
	require.Equal(t, 1.0, counts["firebreak_incident_time_to_resolve_seconds/P1"], "the open one has no resolve time")
	require.Equal(t, 0.0, counts["firebreak_incident_time_to_acknowledge_seconds/P2"])
	require.Equal(t, 1.0, counts["firebreak_incident_time_to_resolve_seconds/P2"])
}

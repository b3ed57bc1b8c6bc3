package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/metrics"
)

// t0 is a Monday, so weeks start on it.
var t0 = time.Date(2026, time.March, 2, 0, 0, 0, 0, time.UTC)

func h(hours float64) time.Duration { return time.Duration(hours * float64(time.Hour)) }
func m(minutes float64) time.Duration {
	return time.Duration(minutes * float64(time.Minute))
}
func ptr(t time.Time) *time.Time { return &t }

// fixedFacts is the data set the expectations below were worked out from
// by hand:
//
//	INC-1 P1 api   declared t0,        ack +5m,  mitigated +20m, resolved +60m, rollback ok at +18m
//	INC-2 P1 web   declared t0+48h,    ack +15m, (no mitigated), resolved +120m
//	INC-3 P2 api   declared t0+168h,   ack +30m, mitigated +60m, resolved +180m
//	INC-4 P3 none  declared t0+169h,   no ack,   (no mitigated), resolved +30m (inside INC-3's outage)
//	INC-5 P2 api   declared t0+336h,   ack +10m, still open
func fixedFacts() []metrics.Facts {
	mk := func(id int64, sev incident.Severity, service string, declared time.Time, ack, mit, res time.Duration) *incident.Incident {
		inc := &incident.Incident{ID: id, Number: id, Title: "x", Severity: sev, Service: service, DeclaredAt: declared}
		if ack > 0 {
			inc.AcknowledgedAt = ptr(declared.Add(ack))
		}
		if mit > 0 {
			inc.MitigatedAt = ptr(declared.Add(mit))
		}
		if res > 0 {
			inc.ResolvedAt = ptr(declared.Add(res))
			inc.Status = incident.StatusResolved
		} else {
			inc.Status = incident.StatusInvestigating
		}
		return inc
	}
	upd := func(inc *incident.Incident, mins ...float64) []incident.StatusUpdate {
		var out []incident.StatusUpdate
		for _, mm := range mins {
			out = append(out, incident.StatusUpdate{IncidentID: inc.ID, PostedAt: inc.DeclaredAt.Add(m(mm))})
		}
		return out
	}
	ev := func(inc *incident.Incident, kind incident.EventKind, mins float64) incident.TimelineEvent {
		return incident.TimelineEvent{IncidentID: inc.ID, Kind: kind, At: inc.DeclaredAt.Add(m(mins))}
	}
	due := func(day int) *time.Time { return ptr(time.Date(2026, time.March, day, 0, 0, 0, 0, time.UTC)) }

	i1 := mk(1, incident.P1, "api", t0, m(5), m(20), m(60))
	i2 := mk(2, incident.P1, "web", t0.Add(h(48)), m(15), 0, m(120))
	i3 := mk(3, incident.P2, "api", t0.Add(h(168)), m(30), m(60), m(180))
	i4 := mk(4, incident.P3, "", t0.Add(h(169)), 0, 0, m(30))
	i5 := mk(5, incident.P2, "api", t0.Add(h(336)), m(10), 0, 0)
	return []metrics.Facts{
		// Deliberately out of order: Compute sorts.
		{Incident: i5, Updates: upd(i5, 10), Timeline: []incident.TimelineEvent{ev(i5, incident.EventNag, 25)},
			ActionItems: []incident.ActionItem{{Text: "due today", DueOn: due(30)}}},
		{Incident: i1, Updates: upd(i1, 8, 16),
			Timeline:    []incident.TimelineEvent{ev(i1, incident.EventStatusPage, 7), ev(i1, incident.EventStatusPage, 30)},
			Rollbacks:   []incident.Rollback{{Status: incident.RollbackSucceeded, UpdatedAt: t0.Add(m(18))}},
			ActionItems: []incident.ActionItem{{Text: "done", Done: true, DueOn: due(3)}, {Text: "late", DueOn: due(3)}}},
		{Incident: i2, Updates: upd(i2, 12),
			Timeline:    []incident.TimelineEvent{ev(i2, incident.EventStatusPage, 11)},
			Rollbacks:   []incident.Rollback{{Status: incident.RollbackSucceeded, UpdatedAt: i2.DeclaredAt.Add(h(3))}},
			ActionItems: []incident.ActionItem{{Text: "no due date"}}},
		{Incident: i3, Updates: upd(i3, 15, 30, 45, 60),
			Timeline:  []incident.TimelineEvent{ev(i3, incident.EventNag, 5), ev(i3, incident.EventNag, 6)},
			Rollbacks: []incident.Rollback{{Status: incident.RollbackFailed, UpdatedAt: i3.DeclaredAt.Add(m(20))}}},
		{Incident: i4},
	}
}

func TestComputeFixedDataSet(t *testing.T) {
	t.Parallel()
	to := t0.Add(28 * 24 * time.Hour)
	r := metrics.Compute(fixedFacts(), metrics.Options{From: t0, To: to, Policy: incident.DefaultPolicy()})

	stat := func(count int, mean, p50, p90, p95, maxD time.Duration) metrics.Stat {
		return metrics.Stat{Count: count, Mean: mean, P50: p50, P90: p90, P95: p95, Max: maxD}
	}
	tests := []struct {
		name string
		got  metrics.Group
		want metrics.Group
	}{
		{"all", r.Overall, metrics.Group{Key: "all", Incidents: 5,
			MTTA: stat(4, m(15), m(10), m(30), m(30), m(30)),
			MTTM: stat(4, m(57.5), m(30), m(120), m(120), m(120)),
			MTTR: stat(4, m(97.5), m(60), m(180), m(180), m(180)),
			MTBF: stat(3, h(110), h(118), h(165), h(165), h(165))}},
		{"P1", r.BySeverity[0], metrics.Group{Key: "P1", Incidents: 2,
			MTTA: stat(2, m(10), m(5), m(15), m(15), m(15)),
			MTTM: stat(2, m(70), m(20), m(120), m(120), m(120)),
			MTTR: stat(2, m(90), m(60), m(120), m(120), m(120)),
			MTBF: stat(1, h(47), h(47), h(47), h(47), h(47))}},
		{"P2", r.BySeverity[1], metrics.Group{Key: "P2", Incidents: 2,
			MTTA: stat(2, m(20), m(10), m(30), m(30), m(30)),
			MTTM: stat(1, m(60), m(60), m(60), m(60), m(60)),
			MTTR: stat(1, m(180), m(180), m(180), m(180), m(180)),
			MTBF: stat(1, h(165), h(165), h(165), h(165), h(165))}},
		{"P3", r.BySeverity[2], metrics.Group{Key: "P3", Incidents: 1,
			MTTM: stat(1, m(30), m(30), m(30), m(30), m(30)),
			MTTR: stat(1, m(30), m(30), m(30), m(30), m(30))}},
		{"P4", r.BySeverity[3], metrics.Group{Key: "P4"}},
		{"no service", r.ByService[0], metrics.Group{Key: metrics.NoService, Incidents: 1,
			MTTM: stat(1, m(30), m(30), m(30), m(30), m(30)),
			MTTR: stat(1, m(30), m(30), m(30), m(30), m(30))}},
		{"api", r.ByService[1], metrics.Group{Key: "api", Incidents: 3,
			MTTA: stat(3, m(15), m(10), m(30), m(30), m(30)),
			MTTM: stat(2, m(40), m(20), m(60), m(60), m(60)),
			MTTR: stat(2, m(120), m(60), m(180), m(180), m(180)),
			MTBF: stat(2, h(166), h(165), h(167), h(167), h(167))}},
		{"web", r.ByService[2], metrics.Group{Key: "web", Incidents: 1,
			MTTA: stat(1, m(15), m(15), m(15), m(15), m(15)),
			MTTM: stat(1, m(120), m(120), m(120), m(120), m(120)),
			MTTR: stat(1, m(120), m(120), m(120), m(120), m(120))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.got)
		})
	}
	require.Len(t, r.BySeverity, 4)
	require.Len(t, r.ByService, 3)

	require.Len(t, r.Weekly, 4)
	wantWeeks := []struct {
		start time.Time
		total int
		sev   map[incident.Severity]int
	}{
		{t0, 2, map[incident.Severity]int{incident.P1: 2}},
		{t0.AddDate(0, 0, 7), 2, map[incident.Severity]int{incident.P2: 1, incident.P3: 1}},
		{t0.AddDate(0, 0, 14), 1, map[incident.Severity]int{incident.P2: 1}},
		{t0.AddDate(0, 0, 21), 0, map[incident.Severity]int{}},
	}
	for i, w := range wantWeeks {
		require.True(t, w.start.Equal(r.Weekly[i].Start), "week %d starts %s", i, r.Weekly[i].Start)
		require.Equal(t, w.total, r.Weekly[i].Total, "week %d", i)
		require.Equal(t, w.sev, r.Weekly[i].BySeverity, "week %d", i)
	}

	require.Equal(t, metrics.Compliance{Applicable: 4, Met: 1}, r.Rollback, "INC-1's rollback succeeded before it resolved; INC-2's came after; INC-3's failed")
	require.InDelta(t, 0.25, r.Rollback.Share(), 1e-9)
	require.Equal(t, metrics.Compliance{Applicable: 4, Met: 2}, r.Updates, "INC-1 and INC-3 kept the cadence; INC-2 waited 12m on a 10m cadence; INC-5 is silent since +10m")
	require.Equal(t, 3, r.Nags)
	require.Equal(t, metrics.Compliance{Applicable: 2, Met: 1}, r.StatusPage, "INC-1 posted at +7m, INC-2 at +11m")
	require.Equal(t, 4, r.ActionItems)
	require.Equal(t, 3, r.OpenItems)
	require.Equal(t, 1, r.OverdueItems, "due on the report's last day is not overdue yet")
}

func TestComputeEmpty(t *testing.T) {
	t.Parallel()
	r := metrics.Compute(nil, metrics.Options{From: t0, To: t0.AddDate(0, 0, 7)})
	require.Equal(t, metrics.Group{Key: "all"}, r.Overall)
	require.Len(t, r.BySeverity, 4)
	require.Empty(t, r.ByService)
	require.Len(t, r.Weekly, 1)
	require.Equal(t, -1.0, r.Rollback.Share())
	require.Equal(t, -1.0, r.StatusPage.Share())
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"median of ten", ten, 50, 5},
		{"p90 of ten", ten, 90, 9},
		{"p95 of ten", ten, 95, 10},
		{"p100", ten, 100, 10},
		{"p0 is the minimum", ten, 0, 1},
		{"one value", []time.Duration{7}, 95, 7},
		{"median of four rounds down a rank", []time.Duration{1, 2, 3, 4}, 50, 2},
		{"p51 of four", []time.Duration{1, 2, 3, 4}, 51, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, metrics.Percentile(tc.sorted, tc.p))
		})
	}
}

func TestBetweenFailures(t *testing.T) {
	t.Parallel()
	inc := func(startH, endH float64) metrics.Facts {
		i := &incident.Incident{DeclaredAt: t0.Add(h(startH))}
		if endH >= 0 {
			i.ResolvedAt = ptr(t0.Add(h(endH)))
		}
		return metrics.Facts{Incident: i}
	}
	now := t0.Add(h(100))
	tests := []struct {
		name  string
		facts []metrics.Facts
		want  []time.Duration
	}{
		{"none", nil, nil},
		{"one incident has no gap", []metrics.Facts{inc(0, 1)}, nil},
		{"two apart", []metrics.Facts{inc(0, 1), inc(5, 6)}, []time.Duration{h(4)}},
		{"given out of order", []metrics.Facts{inc(5, 6), inc(0, 1)}, []time.Duration{h(4)}},
		{"overlapping merge", []metrics.Facts{inc(0, 3), inc(2, 4), inc(10, 11)}, []time.Duration{h(6)}},
		{"nested merge", []metrics.Facts{inc(0, 10), inc(2, 3), inc(12, 13)}, []time.Duration{h(2)}},
		{"touching merge", []metrics.Facts{inc(0, 2), inc(2, 3), inc(5, 6)}, []time.Duration{h(2)}},
		{"open incident lasts until now", []metrics.Facts{inc(0, -1), inc(50, 51)}, nil},
		{"open after a gap", []metrics.Facts{inc(0, 1), inc(50, -1)}, []time.Duration{h(49)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, metrics.BetweenFailures(tc.facts, now))
		})
	}
}

func TestSummarise(t *testing.T) {
	t.Parallel()
	require.Equal(t, metrics.Stat{}, metrics.Summarise(nil))
	got := metrics.Summarise([]time.Duration{m(30), m(10), m(20)})
	require.Equal(t, metrics.Stat{Count: 3, Mean: m(20), P50: m(20), P90: m(30), P95: m(30), Max: m(30)}, got)
}

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"", 30 * 24 * time.Hour, false},
		{"30d", 30 * 24 * time.Hour, false},
		{"2w", 14 * 24 * time.Hour, false},
		{"12h", 12 * time.Hour, false},
		{"0d", 0, true},
		{"-3d", 0, true},
		{"3m", 0, true},
		{"d", 0, true},
		{"400d", 0, true},
		{"365d", 365 * 24 * time.Hour, false},
		// Would wrap round to a small positive period if multiplied first.
		{"106751991167301d", 0, true},
		{"9223372036854775807h", 0, true},
		{"15250284452471w", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := metrics.ParsePeriod(tc.in)
			if tc.err {
				incidenttest.RequireCode(t, err, incident.EINVALID)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestServiceReadsTheStoreAndLeavesDrillsOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := incident.ClockFunc(func() time.Time { return t0.Add(h(24 * 7)) })
	store := incidenttest.NewMemStore(clock)
	create := func(sev incident.Severity, service string, drill bool, declared time.Time, res time.Duration) *incident.Incident {
		inc, err := store.CreateIncident(ctx, incidenttest.NewIncident(func(i *incident.Incident) {
			i.Severity, i.Service, i.Drill, i.DeclaredAt = sev, service, drill, declared
			i.Status = incident.StatusResolved
			i.ResolvedAt = ptr(declared.Add(res))
		}))
		require.NoError(t, err)
		return inc
	}
	real1 := create(incident.P1, "api", false, t0.Add(h(1)), m(30))
	create(incident.P1, "api", true, t0.Add(h(2)), m(90))
	create(incident.P2, "web", false, t0.Add(h(3)), m(60))
	create(incident.P2, "web", false, t0.Add(-h(1)), m(60)) // before the period
	require.NoError(t, store.AddActionItem(ctx, &incident.ActionItem{IncidentID: real1.ID, Text: "add an alert", CreatedAt: t0}))

	svc := metrics.NewService(store, incident.DefaultPolicy(), clock)
	q := metrics.Query{From: t0, To: t0.AddDate(0, 0, 7)}
	r, err := svc.Report(ctx, q)
	require.NoError(t, err)
	require.Equal(t, 2, r.Overall.Incidents, "the drill and the earlier incident are left out")
	require.Equal(t, m(45), r.Overall.MTTR.Mean)
	require.Equal(t, 1, r.OpenItems)

	q.IncludeDrills = true
	r, err = svc.Report(ctx, q)
	require.NoError(t, err)
	require.Equal(t, 3, r.Overall.Incidents)
	require.Equal(t, m(60), r.Overall.MTTR.Mean)
	require.True(t, r.IncludeDrills)

	q.Service = "web"
	r, err = svc.Report(ctx, q)
	require.NoError(t, err)
	require.Equal(t, 1, r.Overall.Incidents)
	require.Equal(t, "web", r.Service)

	_, err = svc.Report(ctx, metrics.Query{From: t0, To: t0})
	incidenttest.RequireCode(t, err, incident.EINVALID)
}

// BenchmarkCompute measures the maths alone on 10,000 incidents.
func BenchmarkCompute(b *testing.B) {
	var facts []metrics.Facts
	for i := range 10000 {
		declared := t0.Add(time.Duration(i) * 13 * time.Minute)
		ack, res := declared.Add(time.Duration(i%30+1)*time.Minute), declared.Add(time.Duration(i%300+10)*time.Minute)
		facts = append(facts, metrics.Facts{
			Incident: &incident.Incident{ID: int64(i + 1), Severity: incident.Severity(i%4 + 1), Service: []string{"a", "b", "c"}[i%3],
				DeclaredAt: declared, AcknowledgedAt: &ack, ResolvedAt: &res},
			Updates: []incident.StatusUpdate{{PostedAt: declared.Add(5 * time.Minute)}},
		})
	}
	opt := metrics.Options{From: t0, To: t0.Add(10000 * 13 * time.Minute), Policy: incident.DefaultPolicy()}
	for b.Loop() {
		metrics.Compute(facts, opt)
	}
}

// perIncident is a store that reads an incident's records one call at a
// time: it hides the store's ReportReader.
type perIncident struct{ metrics.Source }

// countingReader counts the calls that read records across incidents.
type countingReader struct {
	*incidenttest.MemStore
	batches, single int
}

func (c *countingReader) ListIncidentRecords(ctx context.Context, ids []int64) (map[int64]incident.IncidentRecord, error) {
	c.batches++
	return c.MemStore.ListIncidentRecords(ctx, ids)
}

func (c *countingReader) ListTimeline(ctx context.Context, id int64) ([]incident.TimelineEvent, error) {
	c.single++
	return c.MemStore.ListTimeline(ctx, id)
}

// TestFactsReadAtOnce: on a store that reads the records of many incidents
// at once, the facts of a period are read in one call however many
// incidents it holds, and are the facts read incident by incident.
func TestFactsReadAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := incident.ClockFunc(func() time.Time { return t0.Add(h(24 * 7)) })
	mem := incidenttest.NewMemStore(clock)
	for i := range 12 {
		inc, err := mem.CreateIncident(ctx, incidenttest.NewIncident(func(inc *incident.Incident) {
			inc.DeclaredAt = t0.Add(h(float64(i + 1)))
		}))
		require.NoError(t, err)
		require.NoError(t, mem.AddActionItem(ctx, &incident.ActionItem{IncidentID: inc.ID, Text: fmt.Sprintf("item %d", i), CreatedAt: t0}))
		require.NoError(t, mem.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventNote, Text: "note", At: t0.Add(h(float64(i + 1)))}))
	}
	q := metrics.Query{From: t0, To: t0.AddDate(0, 0, 7)}
	store := &countingReader{MemStore: mem}
	atOnce, err := metrics.NewService(store, incident.DefaultPolicy(), clock).Facts(ctx, q)
	require.NoError(t, err)
	require.Equal(t, 1, store.batches)
	require.Zero(t, store.single, "no incident read on its own")
	oneByOne, err := metrics.NewService(perIncident{mem}, incident.DefaultPolicy(), clock).Facts(ctx, q)
	require.NoError(t, err)
	require.Len(t, atOnce, 12)
	require.Equal(t, emptyAsNil(oneByOne), emptyAsNil(atOnce))
}

// emptyAsNil makes a record read as empty and one read as none alike.
func emptyAsNil(facts []metrics.Facts) []metrics.Facts {
	for i := range facts {
		f := &facts[i]
		if len(f.Timeline) == 0 {
			f.Timeline = nil
		}
		if len(f.Updates) == 0 {
			f.Updates = nil
		}
		if len(f.ActionItems) == 0 {
			f.ActionItems = nil
		}
		if len(f.Rollbacks) == 0 {
			f.Rollbacks = nil
		}
	}
	return facts
}

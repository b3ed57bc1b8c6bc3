package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/metrics"
)

// metricsQuery is the metrics page's form.
type metricsQuery struct {
	Period        string
	Service       string
	IncludeDrills bool
}

// reports is the metrics page and its CSV download.
type reports struct{ *site }

func (s *reports) parseMetricsQuery(v url.Values) (metricsQuery, metrics.Query, error) {
	q := metricsQuery{Period: v.Get("period"), Service: v.Get("service"), IncludeDrills: v.Get("drills") == "include"}
	if q.Period == "" {
		q.Period = "30d"
	}
	d, err := metrics.ParsePeriod(q.Period)
	if err != nil {
		return q, metrics.Query{}, err
	}
	to := s.cfg.Clock.Now()
	return q, metrics.Query{From: to.Add(-d), To: to, Service: q.Service, IncludeDrills: q.IncludeDrills}, nil
}

// report builds the report the viewer may see: the incidents they may not
// see (private ones they are not a member of; for a guest, those whose
// channels they are not in) are left out of the numbers too. Who sees what
// is asked once for the lot, as for the list, before anything else of the
// incidents is read; then the records of those kept are read at once. So
// the store is read twice however many incidents the period holds.
// partial says Slack could not say which channels the viewer is in, so the
// private incidents they are not named in were left out (as the list
// leaves them out).
func (s *reports) report(ctx context.Context, userID string, q metrics.Query) (rep metrics.Report, partial bool, err error) {
	if err := q.Validate(); err != nil {
		return metrics.Report{}, false, err
	}
	// The incidents metrics.Service.Facts reads for q.
	incs, err := s.cfg.Reader.ListIncidents(ctx, incident.IncidentFilter{
		Service: q.Service, DeclaredFrom: q.From, DeclaredBefore: q.To, ExcludeDrills: !q.IncludeDrills,
	})
	if err != nil {
		return metrics.Report{}, false, fmt.Errorf("metrics: %w", err)
	}
	seen, partial, err := s.visible(ctx, userID, incs)
	if err != nil {
		return metrics.Report{}, false, err
	}
	ids := make([]int64, len(seen))
	for i, inc := range seen {
		ids[i] = inc.ID
	}
	records, err := s.cfg.Reader.ListIncidentRecords(ctx, ids)
	if err != nil {
		return metrics.Report{}, false, fmt.Errorf("metrics: %w", err)
	}
	return s.cfg.Metrics.Compute(metrics.FromRecords(seen, records), q), partial, nil
}

func (s *reports) serveMetrics(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fq, q, err := s.parseMetricsQuery(r.URL.Query())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	rep, partial, err := s.report(ctx, viewerFrom(ctx).UserID, q)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "metrics", map[string]any{
		"Title": "Metrics", "Report": rep, "Query": fq, "Services": s.serviceKeys(), "MembershipUnknown": partial,
		"Periods":     []string{"7d", "30d", "90d", "180d", "365d"},
		"WeeklyChart": weeklyChart(rep.Weekly),
		"MTTRChart":   durationChart("Mean time to resolve by severity", rep.BySeverity, func(g metrics.Group) metrics.Stat { return g.MTTR }),
		"MTTAChart":   durationChart("Mean time to acknowledge by severity", rep.BySeverity, func(g metrics.Group) metrics.Stat { return g.MTTA }),
		"CSVURL":      "/reports/metrics.csv?" + r.URL.Query().Encode(),
	})
}

func (s *reports) serveMetricsCSV(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_, q, err := s.parseMetricsQuery(r.URL.Query())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	rep, partial, err := s.report(ctx, viewerFrom(ctx).UserID, q)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	out := ReportCSV(rep)
	if partial {
		out = append(out, membershipUnknownCSV...)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="firebreak-metrics-%s.csv"`, rep.To.UTC().Format("2006-01-02")))
	_, _ = w.Write(out)
}

// membershipUnknownCSV is the row that ends the CSV of a report from which
// Slack's failure to say which channels the viewer is in left out the
// private incidents they are not named in.
const membershipUnknownCSV = "visibility,private_incidents,membership_unknown,1\n"

// ReportCSV writes a report in long form, one number per row: section,
// key, measure, value. Durations are in seconds. A spreadsheet pivots it
// any way a review wants.
func ReportCSV(rep metrics.Report) []byte {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"section", "key", "measure", "value"})
	row := func(section, key, measure string, value string) {
		_ = cw.Write([]string{section, csvSafe(key), measure, value})
	}
	secs := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 0, 64) }
	group := func(section string, g metrics.Group) {
		row(section, g.Key, "incidents", strconv.Itoa(g.Incidents))
		for _, m := range []struct {
			name string
			st   metrics.Stat
		}{{"mtta", g.MTTA}, {"mttm", g.MTTM}, {"mttr", g.MTTR}, {"mtbf", g.MTBF}} {
			row(section, g.Key, m.name+"_count", strconv.Itoa(m.st.Count))
			if m.st.Count == 0 {
				continue
			}
			row(section, g.Key, m.name+"_mean_seconds", secs(m.st.Mean))
			row(section, g.Key, m.name+"_p50_seconds", secs(m.st.P50))
			row(section, g.Key, m.name+"_p90_seconds", secs(m.st.P90))
			row(section, g.Key, m.name+"_p95_seconds", secs(m.st.P95))
			row(section, g.Key, m.name+"_max_seconds", secs(m.st.Max))
		}
	}
	row("period", "from", "date", rep.From.UTC().Format(time.RFC3339))
	row("period", "to", "date", rep.To.UTC().Format(time.RFC3339))
	group("overall", rep.Overall)
	for _, g := range rep.BySeverity {
		group("severity", g)
	}
	for _, g := range rep.ByService {
		group("service", g)
	}
	for _, wk := range rep.Weekly {
		row("week", wk.Start.Format("2006-01-02"), "incidents", strconv.Itoa(wk.Total))
		for sev := incident.P1; sev <= incident.P4; sev++ {
			row("week", wk.Start.Format("2006-01-02"), "incidents_"+strings.ToLower(sev.String()), strconv.Itoa(wk.BySeverity[sev]))
		}
	}
	comp := func(key string, c metrics.Compliance) {
		row("compliance", key, "applicable", strconv.Itoa(c.Applicable))
		row("compliance", key, "met", strconv.Itoa(c.Met))
	}
	comp("resolved_by_rollback", rep.Rollback)
	comp("update_cadence", rep.Updates)
	comp("status_page_10m", rep.StatusPage)
	row("compliance", "nags", "count", strconv.Itoa(rep.Nags))
	row("follow_ups", "all", "count", strconv.Itoa(rep.ActionItems))
	row("follow_ups", "open", "count", strconv.Itoa(rep.OpenItems))
	row("follow_ups", "overdue", "count", strconv.Itoa(rep.OverdueItems))
	cw.Flush()
	return buf.Bytes()
}

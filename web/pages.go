package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/metrics"
)

// listLimit bounds the incident list; narrower filters find older ones.
const listLimit = 200

// listQuery is the incident list's filters, as the form sends them.
type listQuery struct {
	Status        string
	Severity      string
	Service       string
	From, To      string
	IncludeDrills bool
}

// parseListQuery reads the filters into a store filter. The dates are
// whole days in the policy's zone; To is inclusive.
func (s *Server) parseListQuery(v url.Values) (listQuery, incident.IncidentFilter, error) {
	q := listQuery{Status: v.Get("status"), Severity: v.Get("severity"), Service: v.Get("service"),
		From: v.Get("from"), To: v.Get("to"), IncludeDrills: v.Get("drills") == "include"}
	f := incident.IncidentFilter{ExcludeDrills: !q.IncludeDrills, Service: q.Service}
	switch q.Status {
	case "":
	case "open":
		f.OpenOnly = true
	default:
		st := incident.Status(q.Status)
		if !st.Valid() {
			return q, f, incident.Errorf(incident.EINVALID, "Unknown status %q.", q.Status)
		}
		f.Statuses = []incident.Status{st}
	}
	if q.Severity != "" {
		sev, ok := parseSeverity(q.Severity)
		if !ok {
			return q, f, incident.Errorf(incident.EINVALID, "Unknown severity %q: use P1, P2, P3 or P4.", q.Severity)
		}
		f.Severity = sev
	}
	loc := s.cfg.Policy.Location
	if q.From != "" {
		t, err := time.ParseInLocation("2006-01-02", q.From, loc)
		if err != nil {
			return q, f, incident.Errorf(incident.EINVALID, "The start date %q is not a date like 2026-03-01.", q.From)
		}
		f.DeclaredFrom = t
	}
	if q.To != "" {
		t, err := time.ParseInLocation("2006-01-02", q.To, loc)
		if err != nil {
			return q, f, incident.Errorf(incident.EINVALID, "The end date %q is not a date like 2026-03-31.", q.To)
		}
		f.DeclaredBefore = t.AddDate(0, 0, 1)
	}
	return q, f, nil
}

func parseSeverity(text string) (incident.Severity, bool) {
	for sev := incident.P1; sev <= incident.P4; sev++ {
		if strings.EqualFold(text, sev.String()) {
			return sev, true
		}
	}
	return 0, false
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := viewerFrom(ctx)
	q, f, err := s.parseListQuery(r.URL.Query())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	all, err := s.cfg.Reader.ListIncidents(ctx, f)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	incs, err := s.visible(ctx, v.UserID, all)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	// Newest first reads best in a list that spans months.
	sort.SliceStable(incs, func(i, j int) bool { return incs[i].DeclaredAt.After(incs[j].DeclaredAt) })
	more := len(incs) > listLimit
	if more {
		incs = incs[:listLimit]
	}
	var ids []string
	for _, inc := range incs {
		ids = append(ids, inc.Commander)
	}
	s.render(w, r, http.StatusOK, "list", map[string]any{
		"Title": "Incidents", "Incidents": incs, "Query": q, "More": more, "Limit": listLimit,
		"Statuses":   []string{"open", "declared", "investigating", "mitigated", "resolved", "closed"},
		"Severities": []string{"P1", "P2", "P3", "P4"}, "Services": s.serviceKeys(),
		"Names": s.names.names(ctx, ids...),
	})
}

func (s *Server) serviceKeys() []string { return s.cfg.Policy.ServiceKeys() }

// timelineRow is a timeline event as the incident page shows it.
type timelineRow struct {
	incident.TimelineEvent
	ActorName string
}

func (s *Server) serveIncident(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := viewerFrom(ctx)
	inc, err := s.incidentFor(ctx, v.UserID, chi.URLParam(r, "number"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	rd := s.cfg.Reader
	timeline, err := rd.ListTimeline(ctx, inc.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	updates, err := rd.ListStatusUpdates(ctx, inc.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	items, err := rd.ListActionItems(ctx, inc.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	pages, err := rd.ListPages(ctx, inc.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	rollbacks, err := rd.ListRollbacks(ctx, inc.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	end := s.cfg.Clock.Now()
	if inc.ResolvedAt != nil {
		end = *inc.ResolvedAt
	}
	var changes []incident.ChangeEvent
	if inc.Service != "" {
		window := s.cfg.Policy.ChangeWindow
		if window <= 0 {
			window = time.Hour
		}
		if changes, err = rd.ListChangeEvents(ctx, inc.Service, inc.DeclaredAt.Add(-window), end); err != nil {
			s.pageError(w, r, err)
			return
		}
	}
	var exports []incident.ExportRef
	for _, target := range s.cfg.ExportTargets {
		ref, err := rd.GetExport(ctx, inc.ID, target)
		switch {
		case incident.ErrorCode(err) == incident.ENOTFOUND:
		case err != nil:
			s.pageError(w, r, err)
			return
		default:
			exports = append(exports, *ref)
		}
	}

	people := []string{inc.DeclaredBy, inc.Commander}
	for _, u := range inc.Roles {
		people = append(people, u)
	}
	for _, ev := range timeline {
		people = append(people, ev.Actor)
		people = append(people, mentionedUsers(ev.Text)...)
	}
	for _, u := range updates {
		people = append(people, u.Author)
		people = append(people, mentionedUsers(u.Text)...)
	}
	for _, a := range items {
		people = append(people, a.Owner)
	}
	names := s.names.names(ctx, people...)
	rows := make([]timelineRow, 0, len(timeline))
	for _, ev := range timeline {
		ev.Text = plainSlack(ev.Text, names)
		rows = append(rows, timelineRow{TimelineEvent: ev, ActorName: names[ev.Actor]})
	}
	for i := range updates {
		updates[i].Text = plainSlack(updates[i].Text, names)
	}
	roles := make([][2]string, 0, len(inc.Roles))
	for _, role := range s.cfg.Policy.Roles {
		if u := inc.Roles[role]; u != "" {
			roles = append(roles, [2]string{role, names[u]})
		}
	}

	var postmortem template.HTML
	var postmortemErr string
	if s.cfg.Postmortem != nil {
		md, err := s.cfg.Postmortem(ctx, inc.ID)
		if err != nil {
			s.cfg.Logger.WarnContext(ctx, "postmortem draft unavailable", "incident", inc.Key(), "err", err)
			postmortemErr = incident.ErrorMessage(err)
		} else if postmortem, err = renderMarkdown(md); err != nil {
			postmortemErr = "The draft could not be rendered."
		}
	}
	today := s.cfg.Clock.Now()
	s.render(w, r, http.StatusOK, "incident", map[string]any{
		"Title": inc.Key() + " " + inc.Title, "Incident": inc, "Timeline": rows, "Updates": updates,
		"Items": items, "Pages": pages, "Rollbacks": rollbacks, "Changes": changes, "Exports": exports,
		"Names": names, "Roles": roles, "Postmortem": postmortem, "PostmortemError": postmortemErr,
		"Today": today, "Label": s.cfg.Policy.Severity(inc.Severity).Label,
	})
}

// markdown renders postmortem drafts. Raw HTML in the Markdown is dropped
// and dangerous link schemes are neutralised (goldmark's defaults), since
// the draft quotes what people typed.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

func renderMarkdown(md string) (template.HTML, error) {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(md), &buf); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil //nolint:gosec // goldmark escapes text and omits raw HTML
}

func (s *Server) servePostmortemMarkdown(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	inc, err := s.incidentFor(ctx, viewerFrom(ctx).UserID, chi.URLParam(r, "number"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if s.cfg.Postmortem == nil {
		s.pageError(w, r, incident.Errorf(incident.ENOTFOUND, "Postmortems are not set up."))
		return
	}
	md, err := s.cfg.Postmortem(ctx, inc.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-postmortem.md"`, strings.ToLower(inc.Key())))
	_, _ = w.Write([]byte(md))
}

func (s *Server) serveTimelineCSV(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	inc, err := s.incidentFor(ctx, viewerFrom(ctx).UserID, chi.URLParam(r, "number"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	events, err := s.cfg.Reader.ListTimeline(ctx, inc.ID)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"at", "kind", "actor", "key", "text"})
	for _, ev := range events {
		_ = cw.Write([]string{ev.At.UTC().Format(time.RFC3339), string(ev.Kind), ev.Actor, strconv.FormatBool(ev.Key), csvSafe(ev.Text)})
	}
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-timeline.csv"`, strings.ToLower(inc.Key())))
	_, _ = w.Write(buf.Bytes())
}

// csvSafe stops a cell from being read as a formula by a spreadsheet
// (CSV injection): text people typed may start with = + - or @.
func csvSafe(text string) string {
	if text != "" && strings.ContainsRune("=+-@\t\r", rune(text[0])) {
		return "'" + text
	}
	return text
}

// metricsQuery is the metrics page's form.
type metricsQuery struct {
	Period        string
	Service       string
	IncludeDrills bool
}

func (s *Server) parseMetricsQuery(v url.Values) (metricsQuery, metrics.Query, error) {
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

// report builds the report the viewer may see: private incidents they are
// not a member of are left out of the numbers too.
func (s *Server) report(ctx context.Context, userID string, q metrics.Query) (metrics.Report, error) {
	facts, err := s.cfg.Metrics.Facts(ctx, q)
	if err != nil {
		return metrics.Report{}, err
	}
	kept := facts[:0]
	for _, f := range facts {
		ok, err := s.canSee(ctx, userID, f.Incident)
		if err != nil {
			return metrics.Report{}, err
		}
		if ok {
			kept = append(kept, f)
		}
	}
	return s.cfg.Metrics.Compute(kept, q), nil
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fq, q, err := s.parseMetricsQuery(r.URL.Query())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	rep, err := s.report(ctx, viewerFrom(ctx).UserID, q)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "metrics", map[string]any{
		"Title": "Metrics", "Report": rep, "Query": fq, "Services": s.serviceKeys(),
		"Periods":     []string{"7d", "30d", "90d", "180d", "365d"},
		"WeeklyChart": weeklyChart(rep.Weekly),
		"MTTRChart":   durationChart("Mean time to resolve by severity", rep.BySeverity, func(g metrics.Group) metrics.Stat { return g.MTTR }),
		"MTTAChart":   durationChart("Mean time to acknowledge by severity", rep.BySeverity, func(g metrics.Group) metrics.Stat { return g.MTTA }),
		"CSVURL":      "/reports/metrics.csv?" + r.URL.Query().Encode(),
	})
}

func (s *Server) serveMetricsCSV(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	_, q, err := s.parseMetricsQuery(r.URL.Query())
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	rep, err := s.report(ctx, viewerFrom(ctx).UserID, q)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="firebreak-metrics-%s.csv"`, rep.To.UTC().Format("2006-01-02")))
	_, _ = w.Write(ReportCSV(rep))
}

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

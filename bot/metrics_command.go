package bot

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
	reports "github.com/firebreakhq/firebreak/incident/metrics"
)

// MetricsService computes the numbers across incidents.
type MetricsService interface {
	Facts(ctx context.Context, q reports.Query) ([]reports.Facts, error)
	Compute(facts []reports.Facts, q reports.Query) reports.Report
}

const (
	metricsUsage   = "metrics [30d] [service]"
	metricsSummary = "MTTA, MTTM, MTTR and MTBF over a period (default 30 days), by severity, for one service or all; drills left out."
)

var periodArg = regexp.MustCompile(`^[0-9]+[dwh]$`)

// metricsCommand answers with the same numbers as the web view's metrics
// page. Private incidents count only when the asker is in their channel,
// as on the web.
func (h *Handler) metricsCommand(ctx context.Context, inv Invocation) (Reply, error) {
	if h.cfg.Metrics == nil || h.cfg.Incidents == nil {
		return ephemeral("Metrics are not set up."), nil
	}
	period, service := "", ""
	for _, arg := range strings.Fields(inv.Args) {
		switch {
		case periodArg.MatchString(strings.ToLower(arg)) && period == "":
			period = strings.ToLower(arg)
		case service == "":
			service = arg
		default:
			return Reply{}, incident.Errorf(incident.EINVALID, "Give at most a period and a service.")
		}
	}
	d, err := reports.ParsePeriod(period)
	if err != nil {
		return Reply{}, err
	}
	if period == "" {
		period = "30d"
	}
	if service != "" && h.cfg.Incidents != nil {
		if _, ok := h.cfg.Incidents.Policy().Services[service]; !ok {
			return Reply{}, incident.Errorf(incident.EINVALID, "Unknown service %q.", service)
		}
	}
	now := h.cfg.Clock.Now()
	q := reports.Query{From: now.Add(-d), To: now, Service: service}
	facts, err := h.cfg.Metrics.Facts(ctx, q)
	if err != nil {
		return Reply{}, err
	}
	kept := facts[:0]
	for _, f := range facts {
		ok, err := h.cfg.Incidents.CanSee(ctx, inv.Cmd.UserID, f.Incident)
		if err != nil {
			return Reply{}, incident.Errorf(incident.EUNAVAILABLE, "Slack cannot say who is in the private incidents' channels right now; try again in a minute.")
		}
		if ok {
			kept = append(kept, f)
		}
	}
	r := h.cfg.Metrics.Compute(kept, q)
	return Reply{ResponseType: slack.ResponseTypeEphemeral, Text: h.metricsText(r, period)}, nil
}

func dur(st reports.Stat) string {
	if st.Count == 0 {
		return "—"
	}
	return incident.Since(time.Time{}, time.Time{}.Add(st.Mean))
}

func durP90(st reports.Stat) string {
	if st.Count == 0 {
		return "—"
	}
	return fmt.Sprintf("%s (p90 %s)", dur(st), incident.Since(time.Time{}, time.Time{}.Add(st.P90)))
}

func share(c reports.Compliance) string {
	if c.Applicable == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%% (%d of %d)", c.Share()*100, c.Met, c.Applicable)
}

func (h *Handler) metricsText(r reports.Report, period string) string {
	var b strings.Builder
	scope := "all services"
	if r.Service != "" {
		scope = "service " + r.Service
	}
	fmt.Fprintf(&b, "*Incident metrics, last %s* (%s; drills left out)\n", period, scope)
	o := r.Overall
	fmt.Fprintf(&b, "%d incidents · MTTA %s · MTTM %s · MTTR %s · MTBF %s\n", o.Incidents, durP90(o.MTTA), dur(o.MTTM), durP90(o.MTTR), dur(o.MTBF))
	b.WriteString("*By severity*\n")
	for _, g := range r.BySeverity {
		if g.Incidents == 0 {
			continue
		}
		fmt.Fprintf(&b, "• %s: %d · MTTA %s · MTTM %s · MTTR %s · MTBF %s\n", g.Key, g.Incidents, dur(g.MTTA), dur(g.MTTM), dur(g.MTTR), dur(g.MTBF))
	}
	if r.Service == "" && len(r.ByService) > 0 {
		b.WriteString("*By service*\n")
		for _, g := range r.ByService {
			fmt.Fprintf(&b, "• %s: %d · MTTA %s · MTTR %s · MTBF %s\n", g.Key, g.Incidents, dur(g.MTTA), dur(g.MTTR), dur(g.MTBF))
		}
	}
	fmt.Fprintf(&b, "Resolved by a rollback: %s · Update cadence kept: %s · P1s on the status page within 10 min: %s\n",
		share(r.Rollback), share(r.Updates), share(r.StatusPage))
	fmt.Fprintf(&b, "Follow-ups: %d open, %d overdue, of %d", r.OpenItems, r.OverdueItems, r.ActionItems)
	if h.cfg.WebURL != "" {
		q := url.Values{"period": {period}}
		if r.Service != "" {
			q.Set("service", r.Service)
		}
		fmt.Fprintf(&b, "\nCharts and CSV: <%s/reports/metrics?%s|metrics page>", strings.TrimRight(h.cfg.WebURL, "/"), q.Encode())
	}
	return b.String()
}

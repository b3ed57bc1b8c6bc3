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

// MetricsService computes the numbers across incidents: the incidents of
// a period first, then what is recorded about those kept.
type MetricsService interface {
	Incidents(ctx context.Context, q reports.Query) ([]*incident.Incident, error)
	FactsOf(ctx context.Context, incs []*incident.Incident) ([]reports.Facts, error)
	Compute(facts []reports.Facts, q reports.Query) reports.Report
}

const (
	metricsUsage   = "metrics [30d] [service]"
	metricsSummary = "MTTA, MTTM, MTTR and MTBF over a period (default 30 days), by severity, for one service or all; drills left out."
)

// metricsHandlers answer the metrics command.
type metricsHandlers struct {
	kit     *kit
	metrics MetricsService
	// webURL is the web view's address, linked from the reply; empty
	// leaves the link out.
	webURL string
}

func (m *metricsHandlers) table() table {
	return table{commands: []command{{name: "metrics", usage: metricsUsage, summary: metricsSummary, run: m.metricsCommand}}}
}

var periodArg = regexp.MustCompile(`^[0-9]+[dwh]$`)

// metricsCommand answers with the same numbers as the web view's metrics
// page. Private incidents count only when the asker is in their channel,
// as on the web.
func (m *metricsHandlers) metricsCommand(ctx context.Context, inv Invocation) (Reply, error) {
	if m.metrics == nil || m.kit.incidents == nil {
		return ephemeral("Metrics are not set up."), nil
	}
	period, service, err := parseMetricsArgs(inv.Args)
	if err != nil {
		return Reply{}, err
	}
	d, err := reports.ParsePeriod(period)
	if err != nil {
		return Reply{}, err
	}
	if period == "" {
		period = "30d"
	}
	if service != "" {
		if _, ok := m.kit.policy().Services[service]; !ok {
			return Reply{}, incident.Errorf(incident.EINVALID, "Unknown service %q.", service)
		}
	}
	now := m.kit.clock.Now()
	q := reports.Query{From: now.Add(-d), To: now, Service: service}
	incs, err := m.metrics.Incidents(ctx, q)
	if err != nil {
		return Reply{}, err
	}
	kept, err := m.visible(ctx, inv.Cmd.UserID, incs)
	if err != nil {
		return Reply{}, err
	}
	facts, err := m.metrics.FactsOf(ctx, kept)
	if err != nil {
		return Reply{}, err
	}
	r := m.metrics.Compute(facts, q)
	return Reply{ResponseType: slack.ResponseTypeEphemeral, Text: m.metricsText(r, period)}, nil
}

// parseMetricsArgs reads "[30d] [service]", in either order.
func parseMetricsArgs(args string) (period, service string, err error) {
	for _, arg := range strings.Fields(args) {
		switch {
		case periodArg.MatchString(strings.ToLower(arg)) && period == "":
			period = strings.ToLower(arg)
		case service == "":
			service = arg
		default:
			return "", "", incident.Errorf(incident.EINVALID, "Give at most a period and a service.")
		}
	}
	return period, service, nil
}

// visible keeps the incidents user may see, before anything else of them
// is read.
func (m *metricsHandlers) visible(ctx context.Context, user string, incs []*incident.Incident) ([]*incident.Incident, error) {
	kept := incs[:0]
	for _, inc := range incs {
		ok, err := m.kit.incidents.CanSee(ctx, user, inc)
		if err != nil {
			return nil, incident.Errorf(incident.EUNAVAILABLE, "Slack cannot say who is in the private incidents' channels right now; try again in a minute.")
		}
		if ok {
			kept = append(kept, inc)
		}
	}
	return kept, nil
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

func (m *metricsHandlers) metricsText(r reports.Report, period string) string {
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
	if m.webURL != "" {
		q := url.Values{"period": {period}}
		if r.Service != "" {
			q.Set("service", r.Service)
		}
		fmt.Fprintf(&b, "\nCharts and CSV: <%s/reports/metrics?%s|metrics page>", strings.TrimRight(m.webURL, "/"), q.Encode())
	}
	return b.String()
}

package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/firebreakhq/firebreak/incident"
)

// incidentMetrics are the incident series: what the incidents are doing,
// as opposed to how the program is doing. Drills are left out. Time to
// acknowledge and to resolve are histograms the web package reads from the
// database (firebreak_incident_time_to_*_seconds).
type incidentMetrics struct {
	declared *prometheus.CounterVec
	pages    *prometheus.CounterVec
	nags     *prometheus.CounterVec
}

func newIncidentMetrics(reg prometheus.Registerer, store incident.Store, log *slog.Logger) *incidentMetrics {
	m := &incidentMetrics{
		declared: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_incidents_declared_total",
			Help: "Incidents declared, by severity at declaration.",
		}, []string{"severity"}),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_pages_total",
			Help: "Pages created at the paging provider, by incident severity.",
		}, []string{"severity"}),
		nags: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_nags_sent_total",
			Help: "Missed-update reminders posted, by incident severity and escalation level (1: the channel, 2: also a DM to the IC, 3+: the commander group).",
		}, []string{"severity", "level"}),
	}
	for _, sev := range []incident.Severity{incident.P1, incident.P2, incident.P3, incident.P4} {
		// Every severity's series exists from the start, so rate() sees the first one.
		m.declared.WithLabelValues(sev.String())
		m.pages.WithLabelValues(sev.String())
	}
	reg.MustRegister(m.declared, m.pages, m.nags, &openIncidents{store: store, log: log})
	return m
}

// hook counts declarations: the service runs it after each committed change.
func (m *incidentMetrics) hook(_ context.Context, c incident.Change) error {
	if c.Kind == incident.EventDeclared && c.Incident != nil && !c.Incident.Drill {
		m.declared.WithLabelValues(c.Incident.Severity.String()).Inc()
	}
	return nil
}

// Paged implements paging.Observer.
func (m *incidentMetrics) Paged(inc *incident.Incident, _ string) {
	if !inc.Drill {
		m.pages.WithLabelValues(inc.Severity.String()).Inc()
	}
}

// NagSent implements incident.Observer.
func (m *incidentMetrics) NagSent(inc *incident.Incident, level int) {
	if inc.Drill {
		return
	}
	l := "3+"
	if level < 3 {
		l = string(rune('0' + level))
	}
	m.nags.WithLabelValues(inc.Severity.String(), l).Inc()
}

// openIncidents reports the open incidents by severity from the database
// at scrape time, so every replica reports the same, true number.
type openIncidents struct {
	store incident.Store
	log   *slog.Logger
}

var openIncidentsDesc = prometheus.NewDesc("firebreak_incidents_open",
	"Open incidents (declared, investigating or mitigated), by severity; drills left out.", []string{"severity"}, nil)

func (o *openIncidents) Describe(ch chan<- *prometheus.Desc) { ch <- openIncidentsDesc }

// openCounter is a store that counts the open incidents in the database
// (gormstore does); another store's are listed and counted here.
type openCounter interface {
	CountOpenIncidents(ctx context.Context) (map[incident.Severity]int, error)
}

func (o *openIncidents) count(ctx context.Context) (map[incident.Severity]int, error) {
	if c, ok := o.store.(openCounter); ok {
		return c.CountOpenIncidents(ctx)
	}
	open, err := o.store.ListIncidents(ctx, incident.IncidentFilter{OpenOnly: true, ExcludeDrills: true})
	if err != nil {
		return nil, err
	}
	counts := map[incident.Severity]int{}
	for _, inc := range open {
		counts[inc.Severity]++
	}
	return counts, nil
}

func (o *openIncidents) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := o.count(ctx)
	if err != nil {
		o.log.WarnContext(ctx, "metrics: could not count open incidents", "err", err)
		ch <- prometheus.NewInvalidMetric(openIncidentsDesc, err)
		return
	}
	for _, sev := range []incident.Severity{incident.P1, incident.P2, incident.P3, incident.P4} {
		ch <- prometheus.MustNewConstMetric(openIncidentsDesc, prometheus.GaugeValue, float64(counts[sev]), sev.String())
	}
}

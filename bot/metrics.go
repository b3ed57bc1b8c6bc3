package bot

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests *prometheus.CounterVec
	events   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_slack_requests_total",
			Help: "Inbound Slack requests by kind (command, interaction, event) and outcome.",
		}, []string{"kind", "outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_slack_events_total",
			Help: "Events API events by type and outcome (processed, duplicate, ignored, failed).",
		}, []string{"type", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.events)
	}
	return m
}

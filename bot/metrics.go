package bot

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests *prometheus.CounterVec
	events   *prometheus.CounterVec
	// socketDisconnects counts Slack's requests to reconnect, by reason.
	socketDisconnects *prometheus.CounterVec
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
		socketDisconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_slack_socket_disconnects_total",
			Help: "Socket Mode connections Slack closed, by reason (refresh_requested, warning, link_disabled, too_many_websockets, other).",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.events, m.socketDisconnects)
	}
	return m
}

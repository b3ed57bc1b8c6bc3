package outbound

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics records outbound calls for every provider. Create one with
// NewMetrics and pass it to each Client with WithMetrics. A nil *Metrics
// records nothing.
type Metrics struct {
	requests *prometheus.CounterVec
	retries  *prometheus.CounterVec
	duration *prometheus.HistogramVec
	breakers *breakerCollector
}

// NewMetrics creates the outbound metrics and registers them with reg; a nil
// reg leaves them unregistered. It panics if they are already registered,
// like prometheus.MustRegister, since that is a wiring bug.
//
// The series are:
//   - firebreak_outbound_requests_total{provider,operation,outcome}: one per
//     attempt that reached the network, plus one breaker_open per request
//     refused by an open breaker;
//   - firebreak_outbound_retries_total{provider,operation}: attempts after
//     the first;
//   - firebreak_outbound_request_duration_seconds{provider}: latency of each
//     attempt up to its response headers;
//   - firebreak_outbound_breaker_state{provider}: 0 closed, 1 half-open,
//     2 open, read at scrape time.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "firebreak",
			Subsystem: "outbound",
			Name:      "requests_total",
			Help:      "Outbound HTTP attempts by provider, operation and outcome (ok, client_error, server_error, rate_limited, timeout, error, canceled, breaker_open).",
		}, []string{"provider", "operation", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "firebreak",
			Subsystem: "outbound",
			Name:      "retries_total",
			Help:      "Outbound HTTP attempts after the first, by provider and operation.",
		}, []string{"provider", "operation"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "firebreak",
			Subsystem: "outbound",
			Name:      "request_duration_seconds",
			Help:      "Latency of each outbound HTTP attempt up to its response headers, by provider.",
			Buckets:   []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"provider"}),
		breakers: &breakerCollector{
			desc: prometheus.NewDesc("firebreak_outbound_breaker_state",
				"Circuit breaker state by provider: 0 closed, 1 half-open, 2 open.",
				[]string{"provider"}, nil),
			clients: map[string]*Client{},
		},
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.retries, m.duration, m.breakers)
	}
	return m
}

func (m *Metrics) request(provider, op, outcome string) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(provider, op, outcome).Inc()
}

func (m *Metrics) observe(provider, op, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(provider, op, outcome).Inc()
	m.duration.WithLabelValues(provider).Observe(d.Seconds())
}

func (m *Metrics) retry(provider, op string) {
	if m == nil {
		return
	}
	m.retries.WithLabelValues(provider, op).Inc()
}

func (m *Metrics) track(c *Client) {
	m.breakers.mu.Lock()
	defer m.breakers.mu.Unlock()
	m.breakers.clients[c.p.Provider] = c
}

// breakerCollector reads each breaker's state at scrape time, so the gauge
// shows half-open as soon as the open timeout passes rather than at the next
// request.
type breakerCollector struct {
	desc    *prometheus.Desc
	mu      sync.Mutex
	clients map[string]*Client
}

// Describe implements prometheus.Collector.
func (b *breakerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- b.desc }

// Collect implements prometheus.Collector.
func (b *breakerCollector) Collect(ch chan<- prometheus.Metric) {
	b.mu.Lock()
	clients := make([]*Client, 0, len(b.clients))
	for _, c := range b.clients {
		clients = append(clients, c)
	}
	b.mu.Unlock()
	for _, c := range clients {
		ch <- prometheus.MustNewConstMetric(b.desc, prometheus.GaugeValue, float64(c.State()), c.p.Provider)
	}
}

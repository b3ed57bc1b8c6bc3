package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics holds the engine's collectors. They always exist so the worker
// need not check; they are exported only when a Registerer is given.
type metrics struct {
	duration *prometheus.HistogramVec
	total    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, queue string, depth func() float64) (*metrics, error) {
	labels := prometheus.Labels{"queue": queue}
	m := &metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        "firebreak_job_duration_seconds",
			Help:        "Time spent in a job handler, by job kind and outcome.",
			ConstLabels: labels,
			Buckets:     []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"kind", "outcome"}),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "firebreak_jobs_total",
			Help:        "Job runs, by job kind and outcome (completed, retried, snoozed, cancelled, discarded, cut_off, interrupted, abandoned).",
			ConstLabels: labels,
		}, []string{"kind", "outcome"}),
	}
	if reg == nil {
		return m, nil
	}
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "firebreak_job_queue_depth",
		Help:        "Jobs waiting to run (available, scheduled or retryable); -1 when the database cannot be read.",
		ConstLabels: labels,
	}, depth)
	for _, c := range []prometheus.Collector{m.duration, m.total, gauge} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("jobs: register metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observe(kind, outcome string, d time.Duration) {
	m.total.WithLabelValues(kind, outcome).Inc()
	m.duration.WithLabelValues(kind, outcome).Observe(d.Seconds())
}

// QueueDepth reports how many jobs of the engine's queue wait to run:
// available, scheduled, or retryable.
func (e *Engine) QueueDepth(ctx context.Context) (int, error) {
	n, err := e.depth(ctx)
	if err != nil {
		return 0, fmt.Errorf("jobs: queue depth: %w", err)
	}
	return n, nil
}

// scrapeDepth feeds the queue depth gauge; a failed query reports -1 so the
// gap is visible on a dashboard instead of a plausible zero.
func (e *Engine) scrapeDepth() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := e.QueueDepth(ctx)
	if err != nil {
		e.log.Warn("queue depth scrape failed", "error", err)
		return -1
	}
	return float64(n)
}

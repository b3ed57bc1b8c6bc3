package web

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/firebreakhq/firebreak/incident"
)

// ResponseBuckets are the histogram buckets for time to acknowledge and to
// resolve, in seconds: from a minute to a week, around the practice's
// targets (15 minutes, an hour, a business day).
var ResponseBuckets = []float64{60, 300, 600, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600}

// IncidentCollector exports time to acknowledge and time to resolve as
// Prometheus histograms by severity, drills left out. It reads them from
// the store at scrape time rather than counting in memory, so every replica
// reports the same numbers and a restart loses nothing; the read is cached
// for a short while so frequent scrapes cost one query.
type IncidentCollector struct {
	list  func(ctx context.Context, f incident.IncidentFilter) ([]*incident.Incident, error)
	clock incident.Clock
	ttl   time.Duration
	log   *slog.Logger

	tta, ttr *prometheus.Desc

	mu   sync.Mutex
	at   time.Time
	incs []*incident.Incident
}

// NewIncidentCollector returns a collector reading incidents with list.
func NewIncidentCollector(list func(ctx context.Context, f incident.IncidentFilter) ([]*incident.Incident, error), clock incident.Clock, log *slog.Logger) *IncidentCollector {
	if clock == nil {
		clock = incident.SystemClock
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &IncidentCollector{
		list: list, clock: clock, ttl: 30 * time.Second, log: log,
		tta: prometheus.NewDesc("firebreak_incident_time_to_acknowledge_seconds",
			"Time from declaring an incident to its first acknowledgement, by severity; drills are left out.", []string{"severity"}, nil),
		ttr: prometheus.NewDesc("firebreak_incident_time_to_resolve_seconds",
			"Time from declaring an incident to resolving it, by severity; drills are left out.", []string{"severity"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *IncidentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.tta
	ch <- c.ttr
}

func (c *IncidentCollector) incidents() []*incident.Incident {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	if c.incs != nil && now.Sub(c.at) < c.ttl {
		return c.incs
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	incs, err := c.list(ctx, incident.IncidentFilter{ExcludeDrills: true})
	if err != nil {
		// The last good read stands; readiness reports the store.
		c.log.Warn("could not read incidents for the response-time histograms", "err", err)
		return c.incs
	}
	c.incs, c.at = incs, now
	return incs
}

// Collect implements prometheus.Collector.
func (c *IncidentCollector) Collect(ch chan<- prometheus.Metric) {
	incs := c.incidents()
	for sev := incident.P1; sev <= incident.P4; sev++ {
		var tta, ttr []float64
		for _, inc := range incs {
			if inc.Severity != sev {
				continue
			}
			if inc.AcknowledgedAt != nil {
				tta = append(tta, max(inc.AcknowledgedAt.Sub(inc.DeclaredAt).Seconds(), 0))
			}
			if inc.ResolvedAt != nil {
				ttr = append(ttr, max(inc.ResolvedAt.Sub(inc.DeclaredAt).Seconds(), 0))
			}
		}
		ch <- histogram(c.tta, tta, sev.String())
		ch <- histogram(c.ttr, ttr, sev.String())
	}
}

func histogram(desc *prometheus.Desc, values []float64, label string) prometheus.Metric {
	sort.Float64s(values)
	buckets := make(map[float64]uint64, len(ResponseBuckets))
	var sum float64
	for _, v := range values {
		sum += v
	}
	i := 0
	for _, b := range ResponseBuckets {
		for i < len(values) && values[i] <= b {
			i++
		}
		buckets[b] = uint64(i)
	}
	return prometheus.MustNewConstHistogram(desc, uint64(len(values)), sum, buckets, label)
}

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/firebreakhq/firebreak/bot"
)

// routes is the whole HTTP surface of the program, in one table.
func routes(slackHandler *bot.Handler, slackHTTP bool, ready *readiness, reg *prometheus.Registry, webhooks []webhookRoute) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(requestMetrics(reg))

	r.Get("/healthz", serveHealthz)
	r.Get("/readyz", ready.serve)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if slackHTTP {
		slackHandler.Routes(r) // POST /slack/commands, /slack/interactions, /slack/events
	}
	for _, wh := range webhooks {
		r.Method(http.MethodPost, wh.path, wh.handler)
	}
	return r
}

// webhookRoute is an inbound webhook endpoint of an integration.
type webhookRoute struct {
	path    string
	handler http.Handler
}

func serveHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}

// requestMetrics records latency by route pattern (never by raw path, which
// would explode the label set) and status code.
func requestMetrics(reg prometheus.Registerer) func(http.Handler) http.Handler {
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "firebreak_http_request_duration_seconds",
		Help:    "Inbound HTTP request latency by route and status code.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "code"})
	reg.MustRegister(latency)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			route := chi.RouteContext(r.Context()).RoutePattern()
			if route == "" {
				route = "unmatched"
			}
			latency.WithLabelValues(route, http.StatusText(ww.Status())).Observe(time.Since(start).Seconds())
		})
	}
}

// check is one dependency of /readyz.
type check struct {
	name string
	// critical checks make /readyz answer 503 when they fail; the others are
	// reported but a restart would not fix them (a provider being down).
	critical bool
	fn       func(ctx context.Context) (state string, err error)
}

// readiness runs the checks for /readyz.
type readiness struct {
	mu     sync.Mutex
	checks []check
}

func (rd *readiness) add(c check) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.checks = append(rd.checks, c)
}

type checkResult struct {
	OK       bool   `json:"ok"`
	State    string `json:"state,omitempty"`
	Error    string `json:"error,omitempty"`
	Critical bool   `json:"critical"`
}

func (rd *readiness) serve(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	rd.mu.Lock()
	checks := append([]check(nil), rd.checks...)
	rd.mu.Unlock()

	results := make(map[string]checkResult, len(checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range checks {
		wg.Go(func() {
			state, err := c.fn(ctx)
			res := checkResult{OK: err == nil, State: state, Critical: c.critical}
			if err != nil {
				res.Error = err.Error()
			}
			mu.Lock()
			results[c.name] = res
			mu.Unlock()
		})
	}
	wg.Wait()

	ready := true
	for _, res := range results {
		if res.Critical && !res.OK {
			ready = false
		}
	}
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Ready  bool                   `json:"ready"`
		Checks map[string]checkResult `json:"checks"`
	}{ready, results})
}

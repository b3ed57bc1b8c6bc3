package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/webhook"
	"github.com/firebreakhq/firebreak/web"
)

// routes is the public HTTP surface, in one table: Slack (in HTTP mode),
// the webhooks and /healthz for load balancers. Operational detail lives on
// the admin listener only.
func routes(slackHandler *bot.Handler, slackHTTP bool, metrics func(http.Handler) http.Handler, webhooks []webhookRoute, webServer *web.Server) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(metrics)
	r.Use(foreground)

	r.Get("/healthz", serveHealthz)
	if slackHTTP {
		slackHandler.Routes(r) // POST /slack/commands, /slack/interactions, /slack/events
	}
	for _, wh := range webhooks {
		h := withDeadline(wh.handler, webhookDeadline)
		if alertWebhooks[wh.path] {
			h = withConnDeadline(withDeadline(wh.handler, alertWebhookDeadline), alertWebhookDeadline)
		}
		for _, m := range webhook.AcceptedMethods(wh.handler) {
			r.Method(m, wh.path, h)
		}
	}
	if webServer != nil {
		webServer.Routes(r) // the web view, /auth/, /api/v1
	}
	return r
}

// adminRoutes is the admin listener's surface: metrics, readiness with its
// per-dependency detail, liveness, and the profiler when enabled. It is for
// the cluster's probes and Prometheus, never for the internet.
func adminRoutes(ready *readiness, reg *prometheus.Registry, metrics func(http.Handler) http.Handler, withPprof bool) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(metrics)

	r.Get("/healthz", serveHealthz)
	r.Get("/readyz", ready.serve)
	r.Get("/serving", ready.serveServing)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if withPprof {
		r.HandleFunc("/debug/pprof/", pprof.Index)
		r.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		r.HandleFunc("/debug/pprof/profile", pprof.Profile)
		r.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		r.HandleFunc("/debug/pprof/trace", pprof.Trace)
		r.Handle("/debug/pprof/{profile}", http.HandlerFunc(pprof.Index))
	}
	return r
}

// foreground marks every public request as work someone waits for, which
// the store serves before background jobs (incident.Foreground).
func foreground(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(incident.Foreground(r.Context())))
	})
}

// webhookDeadline bounds the handling of one inbound webhook delivery, its
// database writes included. A database that hangs would otherwise hold the
// delivery until the sender gives up, and a sender that times out may count
// it as a failure of the endpoint (PagerDuty, the tightest, expects an answer
// within 5 seconds and disables a subscription after three drops); a 5xx in
// time is delivered again.
const webhookDeadline = 3 * time.Second

// alertWebhookDeadline bounds the handling of a delivery of Alertmanager or
// Grafana (alertWebhooks), which carries a group's every alert: thousands
// in a storm, stored in a few transactions of some hundreds each, a second
// or so per thousand on PostgreSQL. Their senders wait longer than
// PagerDuty: Alertmanager until the group's next flush (group_interval, 5
// minutes by default), Grafana 30 seconds. A delivery cut short keeps what
// it stored, and the sender's retry goes on from there.
const alertWebhookDeadline = 25 * time.Second

// alertWebhooks are the routes that take alert groups (alertWebhookDeadline).
var alertWebhooks = map[string]bool{"/webhooks/alertmanager": true, "/webhooks/grafana": true}

// answerGrace is the time past its deadline a request has to be answered.
const answerGrace = 2 * time.Second

// withConnDeadline lets a request read its body and be answered within d
// (and answerGrace), past the server's read and write timeouts, which
// suit every other request: an alert storm's delivery is megabytes, and
// handled in longer than a Slack request may take.
func withConnDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// Not every ResponseWriter (a test's recorder) has a connection.
		_ = rc.SetReadDeadline(time.Now().Add(d))
		_ = rc.SetWriteDeadline(time.Now().Add(d + answerGrace))
		next.ServeHTTP(w, r)
	})
}

// withDeadline bounds each request's work to d: the handler's context ends
// then, and its store calls with it.
func withDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
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
		Help:    "Inbound HTTP request latency by route pattern and numeric status code, on both listeners.",
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
			latency.WithLabelValues(route, strconv.Itoa(ww.Status())).Observe(time.Since(start).Seconds())
		})
	}
}

// degradedError marks a failing dependency that must not take the replica
// out of service: a restart would not fix it, and the replica still serves
// what does not need it (PagerDuty and GitHub webhooks while Slack is
// unreachable, for one).
type degradedError struct{ err error }

func (e *degradedError) Error() string { return e.err.Error() }
func (e *degradedError) Unwrap() error { return e.err }

// degraded wraps err as degraded; nil stays nil.
func degraded(err error) error {
	if err == nil {
		return nil
	}
	return &degradedError{err}
}

// check is one dependency of /readyz.
type check struct {
	name string
	// critical checks make /readyz answer 503 when they fail, unless the
	// failure is degraded; the others are reported but a restart would not
	// fix them (a provider being down).
	critical bool
	fn       func(ctx context.Context) (state string, err error)
}

// readiness runs the checks for /readyz, and answers /serving.
type readiness struct {
	mu     sync.Mutex
	checks []check
	// draining is set when the shutdown begins.
	draining atomic.Bool
	// working reports whether this process's job engine runs.
	working func() bool
}

// drain makes /serving answer 503 from now on: the process is shutting
// down, finishing what it has and taking nothing new.
func (rd *readiness) drain() { rd.draining.Store(true) }

// serveServing answers /serving, the readiness probe: whether this process
// takes requests, 200, or not, 503: it is shutting down, or its job engine
// is not running. It checks nothing shared with the other replicas (the
// database, Slack): a shared dependency failing would take every replica
// out of service at once, and the requests would then get a load
// balancer's error instead of the bot's own answer (that the database is
// not answering; a 5xx a webhook's sender retries). /readyz reports those
// (ADR 0057).
func (rd *readiness) serveServing(w http.ResponseWriter, _ *http.Request) {
	status, state := http.StatusOK, "serving"
	switch {
	case rd.draining.Load():
		status, state = http.StatusServiceUnavailable, "draining"
	case rd.working != nil && !rd.working():
		status, state = http.StatusServiceUnavailable, "job engine stopped"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Serving bool   `json:"serving"`
		Status  string `json:"status"`
	}{status == http.StatusOK, state})
}

func (rd *readiness) add(c check) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.checks = append(rd.checks, c)
}

type checkResult struct {
	OK bool `json:"ok"`
	// Degraded reports a failure that leaves the replica in service.
	Degraded bool   `json:"degraded,omitempty"`
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
				var d *degradedError
				res.Degraded = errors.As(err, &d)
			}
			mu.Lock()
			results[c.name] = res
			mu.Unlock()
		})
	}
	wg.Wait()

	ready, summary := true, "ok"
	for _, res := range results {
		switch {
		case res.OK:
		case res.Critical && !res.Degraded:
			ready = false
		default:
			summary = "degraded"
		}
	}
	status := http.StatusOK
	if !ready {
		status, summary = http.StatusServiceUnavailable, "unavailable"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Ready  bool                   `json:"ready"`
		Status string                 `json:"status"`
		Checks map[string]checkResult `json:"checks"`
	}{ready, summary, results})
}

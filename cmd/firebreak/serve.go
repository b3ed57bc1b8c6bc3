package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/pgxpoolprometheus"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/alerts"
	"github.com/firebreakhq/firebreak/incident/capture"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/comms"
	"github.com/firebreakhq/firebreak/incident/followthrough"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/jobs"
	"github.com/firebreakhq/firebreak/incident/metrics"
	"github.com/firebreakhq/firebreak/incident/paging"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/integrations/outbound"
	"github.com/firebreakhq/firebreak/integrations/webhook"
	"github.com/firebreakhq/firebreak/migrations"
	"github.com/firebreakhq/firebreak/templates"
	"github.com/firebreakhq/firebreak/web"
)

// Job kinds owned by the program itself.
const (
	jobPurgeDeliveries = "maintenance.purge_deliveries"
	jobPurgeSessions   = "maintenance.purge_sessions"
)

// deliveryRetention is how long delivery records are kept: far longer than
// any provider redelivers (Slack retries for minutes, PagerDuty for hours).
const deliveryRetention = 72 * time.Hour

// replayRetention is how long the signatures of accepted Slack requests are
// kept: a signature is valid for 5 minutes, and each replica reads the
// others' every second.
const replayRetention = 10 * time.Minute

// serve runs the bot until ctx ends, then shuts down gracefully: the HTTP
// server finishes in-flight requests and running jobs finish or are handed
// back to the queue.
func serve(ctx context.Context, cfg Config, stderr io.Writer) error {
	log := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	policy, tmpl, err := preflight(cfg)
	if err != nil {
		return err
	}
	for _, w := range policy.Warnings() {
		log.Warn("policy: " + w)
	}
	// What the domain tells people to type names the configured command.
	policy.Command = cfg.Slack.Command
	clock := cfg.Clock
	if clock == nil {
		clock = incident.SystemClock
	}

	build := currentBuild()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	build.register(reg)

	// The admin listener opens before the database: /healthz answers
	// while the schema is migrated (which may wait for other sessions'
	// locks), so the probes do not kill a replica that is waiting, and
	// /serving says why it takes no requests yet.
	admin, err := startAdmin(cfg, reg, log)
	if err != nil {
		return err
	}
	defer admin.close()
	st, err := openStorageSaying(ctx, cfg, clock, log, reg, admin.starting)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			// SIGTERM while the database is opened, such as while
			// waiting for it: a normal shutdown, as at any later point.
			log.Info("stopped during start")
			return nil
		}
		return err
	}
	defer closeDatabase(st.db, log)
	admin.starting("starting")

	// Outbound calls: one resilient client per provider, honouring the
	// rate limits every replica received.
	outMetrics := outbound.NewMetrics(reg)
	breakers := outbound.NewRegistry()
	sharedLimits, stopSharing := shareRateLimits(ctx, st.db, log)
	defer stopSharing()
	newOut := func(p outbound.Policy) *outbound.Client {
		return outbound.New(p, outbound.WithLogger(log), outbound.WithMetrics(outMetrics), outbound.WithRegistry(breakers), sharedLimits)
	}
	slackOut := newOut(outbound.Policy{Provider: "slack", Operation: outbound.SlackOperation, Retryable: slackRetryable,
		RateKey: outbound.SlackRateKey})
	slackAPI := slack.New(cfg.Slack.BotToken.Reveal(),
		slack.OptionAPIURL(cfg.Slack.APIURL),
		slack.OptionHTTPClient(slackOut.HTTPClient()),
		slack.OptionAppLevelToken(cfg.Slack.AppToken.Reveal()),
	)
	prov, err := buildProviders(cfg, policy, clock, log, newOut)
	if err != nil {
		return err
	}

	d := buildDomain(st, prov, slackAPI, policy, tmpl, clock, log, reg)
	webhooks := webhookRoutes(cfg, d.core, d.alerts, d.followThrough, d.paging, d.changes, prov.github, st.store, clock, log, webhook.NewIgnored(reg))
	handler := buildSlackHandler(cfg, d, slackAPI, st, clock, log, reg)
	st.engine.Handle(jobPurgeDeliveries, purgeDeliveries(st.store, st.engine, clock, log))
	st.engine.Handle(jobSweep, sweepFollowThrough(d.followThrough, st.engine, policy.FollowUps.CheckEvery, log))

	// Time to acknowledge and to resolve, by severity, from the store.
	reg.MustRegister(web.NewIncidentCollector(st.store.ListIncidents, clock, log))
	webServer, err := buildWeb(cfg, d, slackAPI, st, policy, clock, log)
	if err != nil {
		return err
	}

	slackAuth := newAuthState()
	ready := readinessChecks(st, slackAuth, breakers)
	if cfg.Slack.Mode == "socket" {
		// Reported, not critical: a restart does not turn Socket Mode back on.
		ready.add(check{name: "slack_socket_mode", fn: handler.SocketModeState})
	}

	// Start: jobs, then listeners. The engine runs until shutdown stops
	// it: the signal ends its start only, so the running jobs get
	// SHUTDOWN_TIMEOUT to finish.
	if err := st.engine.Start(ctx); err != nil {
		return fmt.Errorf("start job engine: %w", err)
	}
	scheduleMaintenance(ctx, st.engine, policy, clock, webServer != nil, log)
	go keepMaintenance(ctx, st.engine, policy, clock, webServer != nil, maintenanceEvery, log)

	metrics := requestMetrics(reg)
	public := routes(handler, cfg.Slack.Mode == "http", metrics, webhooks, webServer)
	admin.handOver(adminRoutes(ready, reg, metrics, cfg.AdminPprof))
	return listenAndServe(ctx, cfg, public, admin, ready, st, slackAPI, slackAuth, handler, d.slack, log, build)
}

// listenAndServe opens the public listener, serves it and the admin
// listener until ctx ends or a server fails, then shuts down gracefully.
func listenAndServe(ctx context.Context, cfg Config, public http.Handler, admin *adminServer, ready *readiness, st storage,
	slackAPI *slack.Client, slackAuth *authState, handler *bot.Handler, chat *bot.Chat, log *slog.Logger, build buildInfo) error {
	stopJobs := func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		_ = st.engine.Stop(stopCtx)
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		stopJobs()
		return fmt.Errorf("HTTP_ADDR: listen on %s: %w", cfg.HTTPAddr, err)
	}
	srv := newHTTPServer(public, 15*time.Second, log)
	adminSrv := admin.srv
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	wg.Go(func() {
		select {
		case err := <-admin.errc:
			errc <- err
		case <-runCtx.Done():
		}
	})
	wg.Go(func() { slackAuth.watch(runCtx, slackAPI, log, handler.SetWorkspace) })
	// The bot learns its own workspace before it takes Slack's requests, so
	// that a command or click from another organisation is refused from
	// the first one on; requests that arrive meanwhile wait on the
	// listener. Until Slack answers, the bot cannot tell its organisation's
	// people from another's, so it acts for nobody (ADR 0058).
	if !slackAuth.waitFirstTry(ctx, firstAuthWait) {
		log.WarnContext(ctx, "Slack's auth.test has not answered yet: every command, click and form is refused until it does, "+
			"and people are told the bot cannot reach Slack yet",
			"waited", firstAuthWait)
	}
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http server: %w", err)
		}
	})
	wg.Go(func() { handler.ShareReplayChecks(runCtx) })
	wg.Go(func() { slackAuth.afterFirstPass(runCtx, chat.WatchGuests) })
	if cfg.Slack.Mode == "socket" {
		wg.Go(func() {
			if err := handler.RunSocketMode(runCtx, slackAPI); err != nil {
				errc <- socketModeError(err)
			}
		})
	}
	log.InfoContext(ctx, "firebreak started", "version", build.Version, "commit", build.Commit, "addr", ln.Addr().String(),
		"admin_addr", admin.addr, "pprof", cfg.AdminPprof, "slack_mode", cfg.Slack.Mode, "database", st.db.Dialect().String())

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		// Both tokens wrong: the one that stopped the bot is not the only
		// one to fix.
		if refused := slackAuth.refusal(); refused != nil {
			runErr = errors.Join(runErr, refused)
		}
		log.ErrorContext(ctx, "shutting down after a fatal error", "err", runErr)
	}
	ready.drain()
	shutdown(cfg.ShutdownTimeout, srv, adminSrv, st.engine, cancel, log)
	wg.Wait()
	log.Info("stopped")
	return runErr
}

// adminServer is the admin listener, opened before the database: until
// handOver gives it the admin routes, it answers /healthz (the process is
// alive), /serving and /readyz 503 with what the start is doing, and
// /metrics.
type adminServer struct {
	srv     *http.Server
	addr    string
	handler atomic.Pointer[http.Handler]
	phase   atomic.Pointer[string]
	log     *slog.Logger
	// errc receives the error of a server that stopped by itself.
	errc chan error
}

// startAdmin listens on ADMIN_ADDR and serves the start's routes.
func startAdmin(cfg Config, reg *prometheus.Registry, log *slog.Logger) (*adminServer, error) {
	ln, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		return nil, fmt.Errorf("ADMIN_ADDR: listen on %s: %w", cfg.AdminAddr, err)
	}
	a := &adminServer{addr: ln.Addr().String(), log: log, errc: make(chan error, 1)}
	a.starting("opening the database")
	var starting http.Handler = startingRoutes(a, reg)
	a.handler.Store(&starting)
	// A CPU profile or trace takes as long as asked (30s by default).
	a.srv = newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*a.handler.Load()).ServeHTTP(w, r)
	}), 2*time.Minute, log)
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.errc <- fmt.Errorf("admin server: %w", err)
		}
	}()
	return a, nil
}

// starting records what the start is doing, which /serving tells.
func (a *adminServer) starting(phase string) {
	a.phase.Store(&phase)
	a.log.Info("starting: " + phase)
}

// handOver makes the admin listener serve h from now on.
func (a *adminServer) handOver(h http.Handler) { a.handler.Store(&h) }

// close stops the admin listener at once, if shutdown has not already.
func (a *adminServer) close() { _ = a.srv.Close() }

// startingRoutes is the admin listener before the bot takes requests: the
// process is alive (liveness), not serving (readiness), and says why.
func startingRoutes(a *adminServer, reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", serveHealthz)
	notYet := func(w http.ResponseWriter, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(body)
	}
	mux.HandleFunc("GET /serving", func(w http.ResponseWriter, _ *http.Request) {
		notYet(w, struct {
			Serving bool   `json:"serving"`
			Status  string `json:"status"`
		}{false, *a.phase.Load()})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		notYet(w, struct {
			Ready  bool                   `json:"ready"`
			Status string                 `json:"status"`
			Checks map[string]checkResult `json:"checks"`
		}{false, "unavailable", map[string]checkResult{"start": {State: *a.phase.Load(), Error: "the bot is starting", Critical: true}}})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}

// storage is the database, migrated, and the job engine on the same database.
type storage struct {
	db     *gormstore.DB
	engine *jobs.Engine
	store  *gormstore.Store
}

// openStorage opens and migrates the database before anything else starts,
// and puts the durable jobs on the same database as the store, so a step's
// rows and jobs commit in one transaction. On PostgreSQL the job engine's own
// writes go through the store's background pool (ADR 0025).
//
// A database a newer release migrated is used as it is, with a warning: an
// older replica keeps serving during a rolling deploy or after a rollback.
func openStorage(ctx context.Context, cfg Config, clock incident.Clock, log *slog.Logger, reg prometheus.Registerer) (storage, error) {
	return openStorageSaying(ctx, cfg, clock, log, reg, func(string) {})
}

// openStorageSaying is openStorage, telling phase what it is doing.
func openStorageSaying(ctx context.Context, cfg Config, clock incident.Clock, log *slog.Logger, reg prometheus.Registerer, phase func(string)) (storage, error) {
	db, err := openDatabaseWaiting(ctx, cfg, log, phase)
	if err != nil {
		return storage{}, err
	}
	phase("migrating the database")
	var newer *migrations.NewerSchemaError
	switch err := migrations.Up(ctx, db.SQL(), db.Dialect(), migrations.WithLogger(log)); {
	case errors.As(err, &newer):
		log.WarnContext(ctx, "the database was migrated by a newer release of firebreak: "+newer.Error(),
			"database_version", newer.Database, "release_version", newer.Release, "unknown_versions", newer.Unknown)
	case err != nil:
		_ = db.Close()
		return storage{}, fmt.Errorf("migrate database: %w", err)
	}
	phase("starting the job engine")
	// The pool's figures (connections in use, waits for one and their
	// time) tell an operator whether the database is the bottleneck. On
	// PostgreSQL database/sql borrows from pgx's pool without a limit of
	// its own, so the waits for a connection are pgx's: pgxpool_*.
	if err := reg.Register(collectors.NewDBStatsCollector(db.SQL(), "firebreak")); err != nil {
		_ = db.Close()
		return storage{}, fmt.Errorf("database metrics: %w", err)
	}
	// The background pool (jobs' writes and River's own) is labelled
	// db_name="firebreak_background".
	for name, pool := range map[string]*pgxpool.Pool{"firebreak": db.Pool(), "firebreak_background": db.BackgroundPool()} {
		if pool == nil {
			continue
		}
		if err := reg.Register(pgxpoolprometheus.NewCollector(pool, map[string]string{"db_name": name})); err != nil {
			_ = db.Close()
			return storage{}, fmt.Errorf("database pool metrics: %w", err)
		}
	}
	jobOpts := jobs.Options{Workers: cfg.JobWorkers, UrgentWorkers: cfg.UrgentWorkers, InstanceID: instanceID(cfg), Logger: log, Registerer: reg, RetryAfter: outbound.AsRetryAfter,
		StopGrace: closeGrace / 3}
	var engine *jobs.Engine
	if db.Dialect() == migrations.Postgres {
		jobOpts.BackgroundPool = db.BackgroundPool()
		engine, err = jobs.NewPostgres(db.Pool(), jobOpts)
	} else {
		jobOpts.FetchPollInterval = 200 * time.Millisecond
		engine, err = jobs.NewSQLite(db.SQL(), jobOpts)
	}
	if err != nil {
		_ = db.Close()
		return storage{}, fmt.Errorf("job engine: %w", err)
	}
	return storage{db: db, engine: engine, store: gormstore.New(db, clock, gormstore.WithJobs(engine))}, nil
}

// domain is the incident core and its features, wired to each other, the
// store, the job engine, Slack and the providers.
type domain struct {
	core          *incident.Service
	paging        *paging.Service
	changes       *changes.Service
	comms         *comms.Service
	capture       *capture.Service
	postmortems   *postmortem.Service
	followThrough *followthrough.Service
	alerts        *alerts.Service
	reports       *metrics.Service
	// slack is the Slack side of the chat, which keeps the workspace's
	// guests in memory (WatchGuests).
	slack *bot.Chat
}

// buildDomain wires the core and each feature, registers their jobs, and
// adds the features to the core's lifecycle in the order they act.
func buildDomain(st storage, prov providers, slackAPI *slack.Client, policy incident.Policy, tmpl *templates.Set,
	clock incident.Clock, log *slog.Logger, reg prometheus.Registerer) domain {
	store, engine := st.store, st.engine
	// Everything posted about a drill says DRILL, the postmortem's lines too.
	slackChat := bot.NewChat(slackAPI, policy, bot.WithChatLogger(log), bot.WithChatClock(clock), bot.WithPeopleStore(store))
	chat := incident.MarkDrills(slackChat.Roles(), store)
	incMetrics := newIncidentMetrics(reg, store, log)
	svc := incident.NewService(incident.ServiceConfig{
		Store: store, Scheduler: engine, Policy: policy, Clock: clock, Logger: log, Chat: chat,
		Hooks: []incident.Hook{incMetrics.hook}, Observer: incMetrics,
		Render: bot.TimelineText,
	})
	svc.RegisterJobs(engine)
	// Paging: the declare's page, acknowledgements, escalations, on-call.
	pg := paging.New(paging.Config{Store: store, Core: svc, Chat: chat, Pager: prov.pagerOrNil(), Scheduler: engine, Observer: incMetrics,
		Policy: policy, Clock: clock, Logger: log, Render: bot.TimelineText})
	pg.RegisterJobs(engine)
	svc.Use(pg.Feature())
	// "What changed?" (listed at declare, too) and guarded rollbacks.
	chg := changes.New(changes.Config{Store: store, Core: svc, Chat: chat, Scheduler: engine, Sources: prov.sources,
		Rollbackers: prov.rollbackers, Policy: policy, Clock: clock, Logger: log, Render: bot.TimelineText})
	chg.RegisterJobs(engine)
	svc.Use(chg.Feature())
	// The status page and customer e-mail clock, from the declare on.
	cm := comms.New(comms.Config{Store: store, Core: svc, Chat: chat, Scheduler: engine, StatusPages: prov.statusPages,
		Templates: tmpl, Policy: policy, Clock: clock, Logger: log, Render: bot.TimelineText})
	cm.RegisterJobs(engine)
	svc.Use(cm.Feature())
	// The channel's messages, pins, notes and follow-ups on the timeline.
	capt := capture.New(capture.Config{Store: store, Chat: chat, Notifier: svc, Policy: policy, Clock: clock})
	pm := postmortem.New(postmortem.Config{Split: bot.MarkdownParts, Store: store, Core: svc, Backfill: capt, Chat: chat, Scheduler: engine, Exporters: prov.exporters,
		Renderer: tmpl, Policy: policy, Clock: clock, Logger: log})
	pm.RegisterJobs(engine)
	// Closing an incident schedules its review, then drafts its postmortem.
	ft := followthrough.New(followthrough.Config{Store: store, Core: svc, Chat: chat, Scheduler: engine, Policy: policy, Clock: clock,
		Logger: log, Render: bot.TimelineText})
	ft.RegisterJobs(engine)
	svc.Use(ft.Feature())
	svc.Use(pm.Feature())
	// Monitoring alerts: proposed, declared or added to the timeline.
	alrt := alerts.New(alerts.Config{Store: store, Core: svc, Chat: chat, Scheduler: engine, Policy: policy, Clock: clock,
		Logger: log, Render: bot.TimelineText})
	alrt.RegisterJobs(engine)
	return domain{core: svc, paging: pg, changes: chg, comms: cm, capture: capt, postmortems: pm, followThrough: ft,
		alerts: alrt, reports: metrics.NewService(store, policy, clock), slack: slackChat}
}

// buildSlackHandler is the Slack transport over the domain's features.
func buildSlackHandler(cfg Config, d domain, slackAPI *slack.Client, st storage, clock incident.Clock, log *slog.Logger, reg prometheus.Registerer) *bot.Handler {
	handler := bot.New(bot.Config{
		Command:       cfg.Slack.Command,
		SigningSecret: cfg.Slack.SigningSecret.Reveal(),
		Slack:         slackAPI,
		Incidents:     d.core,
		Updates:       d.core,
		StatusPage:    d.comms.Publisher(),
		Comms:         d.comms,
		Paging:        d.paging,
		Changes:       d.changes,
		Rollbacks:     d.changes.Rollbacks(),
		Capture:       d.capture,
		FollowThrough: d.followThrough,
		Alerts:        d.alerts,
		Postmortems:   d.postmortems,
		Metrics:       d.reports,
		WebURL:        webURL(cfg),
		Scheduler:     st.engine,
		Replays:       st.store,
		People:        d.slack,
		Clock:         clock,
		Logger:        log,
		Registerer:    reg,
		MetadataKey:   metadataKey(cfg.Slack),
	})
	handler.RegisterJobs(st.engine)
	return handler
}

// buildWeb is the web view and API, or nil when sign-in is not configured.
func buildWeb(cfg Config, d domain, slackAPI *slack.Client, st storage, policy incident.Policy, clock incident.Clock, log *slog.Logger) (*web.Server, error) {
	if !cfg.Web.Enabled() {
		return nil, nil
	}
	pm := d.postmortems
	webServer, err := web.New(web.Config{
		Reader: st.store, Incidents: d.core, Access: st.store, Metrics: d.reports, Policy: policy,
		Slack: slackAPI, SlackAPIURL: cfg.Slack.APIURL, AuthorizeURL: cfg.Web.AuthorizeURL,
		ClientID: cfg.Web.ClientID, ClientSecret: cfg.Web.ClientSecret.Reveal(), TeamID: cfg.Web.TeamID,
		PublicURL: cfg.PublicURL, Admins: cfg.Web.Admins, SessionTTL: cfg.Web.SessionTTL,
		Postmortem: func(ctx context.Context, id int64) (string, error) {
			_, doc, err := pm.Draft(ctx, id)
			return doc.Markdown, err
		},
		ExportTargets: pm.Targets(), Clock: clock, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	st.engine.Handle(jobPurgeSessions, purgeSessions(st.store, st.engine, clock, log))
	return webServer, nil
}

// readinessChecks: the database, Slack's authentication and the job engine
// are critical; an open circuit breaker is reported as degraded only, so
// webhooks keep landing while one provider is down.
func readinessChecks(st storage, slackAuth *authState, breakers *outbound.Registry) *readiness {
	ready := &readiness{working: st.engine.Running}
	ready.add(check{name: "database", critical: true, fn: func(ctx context.Context) (string, error) {
		return st.db.Dialect().String(), st.store.Ping(ctx)
	}})
	ready.add(check{name: "slack_auth", critical: true, fn: slackAuth.check})
	ready.add(check{name: "jobs", critical: true, fn: func(ctx context.Context) (string, error) {
		if !st.engine.Running() {
			return "stopped", errors.New("the job engine is not running")
		}
		depth, err := st.engine.QueueDepth(ctx)
		return fmt.Sprintf("running, %d queued", depth), err
	}})
	ready.add(check{name: "breakers", fn: func(context.Context) (string, error) {
		var parts []string
		for _, b := range breakers.Breakers() {
			parts = append(parts, b.Provider+"="+b.State.String())
		}
		if open := breakers.Open(); len(open) > 0 {
			return strings.Join(parts, " "), degraded(fmt.Errorf("circuit open for %s", strings.Join(open, ", ")))
		}
		return strings.Join(parts, " "), nil
	}})
	return ready
}

// scheduleMaintenance starts the periodic jobs; each keeps itself going.
func scheduleMaintenance(ctx context.Context, engine incident.Scheduler, policy incident.Policy, clock incident.Clock, web bool, log *slog.Logger) bool {
	ok := true
	if _, err := engine.Schedule(ctx, sweepJob(time.Now(), policy.FollowUps.CheckEvery)); err != nil {
		ok = false
		log.WarnContext(ctx, "could not schedule the follow-through check", "err", err)
	}
	if _, err := engine.Schedule(ctx, purgeJob(clock.Now())); err != nil {
		ok = false
		log.WarnContext(ctx, "could not schedule the delivery purge", "err", err)
	}
	if web {
		if _, err := engine.Schedule(ctx, purgeSessionsJob(clock.Now())); err != nil {
			ok = false
			log.WarnContext(ctx, "could not schedule the session purge", "err", err)
		}
	}
	return ok
}

// maintenanceEvery is how often each replica makes sure the periodic jobs
// are scheduled.
const maintenanceEvery = 10 * time.Minute

// keepMaintenance schedules the periodic jobs again every interval until
// ctx ends. Each chain keeps itself going (a slot schedules the next), but a
// chain can still end: the database down at start, or down longer than a
// slot's retries. Their keys (the slot, the day) make the repeats no-ops
// while the chains are alive; when one has ended, this starts it again
// within an interval, on any replica, without a restart.
func keepMaintenance(ctx context.Context, sched incident.Scheduler, policy incident.Policy, clock incident.Clock, web bool, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			scheduleMaintenance(ctx, sched, policy, clock, web, log)
		}
	}
}

func newHTTPServer(h http.Handler, writeTimeout time.Duration, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// closeGrace is how long past SHUTDOWN_TIMEOUT the program may take, at
// most, whatever the database does: to cancel the jobs still running and
// let them record their retries, release its instance id, and close the
// database pools (a third each). The Helm chart's grace period leaves 5
// seconds past SHUTDOWN_TIMEOUT before the kill.
const closeGrace = 1500 * time.Millisecond

// shutdown stops taking requests, lets in-flight ones finish, then lets
// running jobs finish, all within timeout; past it, the requests'
// connections are closed and the jobs still running are cancelled (each is
// retried). The admin listener stays up until the work is done, so probes
// and scrapes see the drain.
func shutdown(timeout time.Duration, srv, adminSrv *http.Server, engine *jobs.Engine, cancel context.CancelFunc, log *slog.Logger) {
	shutdownCtx, stop := context.WithTimeout(context.Background(), timeout)
	defer stop()
	log.InfoContext(shutdownCtx, "shutting down", "timeout", timeout)
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.WarnContext(shutdownCtx, "http shutdown: closing the connections of requests still in flight", "err", err)
		_ = srv.Close()
	}
	cancel()
	if err := engine.Stop(shutdownCtx); err != nil {
		log.WarnContext(shutdownCtx, "job engine shutdown", "err", err)
	}
	if err := adminSrv.Shutdown(shutdownCtx); err != nil {
		_ = adminSrv.Close()
	}
}

// closeDatabase closes the database pools, waiting at most a third of
// closeGrace for statements still in use (a database that does not answer
// holds them): the process is ending, and they end with it.
func closeDatabase(db *gormstore.DB, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), closeGrace/3)
	defer cancel()
	if err := db.Shutdown(ctx); err != nil {
		log.Warn("database not closed cleanly", "err", err)
	}
}

// slackRetryable says which Slack methods may be sent again after a 5xx or
// timeout: those whose repetition cannot duplicate anything visible.
// Posting and creating are left to the durable job, which checks first.
// A request that names no Web API method is a post to a response_url: Slack
// may have shown it before failing, and nothing can look for it afterwards,
// so it is never sent again (a 429, or a connection refused before it was
// sent, still is: nothing was shown then).
func slackRetryable(req *http.Request) bool {
	switch outbound.SlackOperation(req) {
	case "":
		return req.Method == http.MethodGet || req.Method == http.MethodHead
	case "chat.postMessage", "chat.postEphemeral", "conversations.create", "bookmarks.add", "views.open", "views.push",
		// Each change of topic posts a line; the job's retry reads the
		// topic before setting it again.
		"conversations.setTopic":
		return false
	}
	return true
}

// authState remembers the last auth.test result for /readyz, so a probe
// never waits on Slack.
type authState struct {
	mu    sync.Mutex
	ok    bool
	state string
	err   error
	// passed is closed when auth.test first passes, tried when its first
	// call ends, passed or not.
	passed     chan struct{}
	passedOnce sync.Once
	tried      chan struct{}
	triedOnce  sync.Once
}

func newAuthState() *authState {
	return &authState{passed: make(chan struct{}), tried: make(chan struct{})}
}

// firstAuthWait bounds how long the bot waits, at start, for its first
// auth.test before it takes Slack's requests: within Slack's 3 seconds, so
// that a request that waited for it can still be acknowledged.
const firstAuthWait = 2 * time.Second

// waitFirstTry waits, at most max, for the first auth.test call to end,
// and reports whether it did.
func (a *authState) waitFirstTry(ctx context.Context, max time.Duration) bool {
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-a.tried:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// afterFirstPass runs fn once auth.test has passed, unless ctx ends first:
// work that needs Slack waits for it rather than adding its failures to
// the circuit breaker while Slack is unreachable.
func (a *authState) afterFirstPass(ctx context.Context, fn func(context.Context)) {
	select {
	case <-a.passed:
		fn(ctx)
	case <-ctx.Done():
	}
}

// check fails readiness only when Slack refused the token: that needs an
// operator, and every replica with it is useless for Slack. Slack being
// unreachable or failing is degraded: the replica stays in service, so
// PagerDuty and GitHub webhooks keep landing and jobs retry.
func (a *authState) check(context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case !a.ok && a.err == nil:
		return "pending", errors.New("auth.test has not completed yet")
	case a.err == nil:
		return a.state, nil
	case slackAuthRefused(a.err):
		return a.state, a.err
	default:
		return a.state, degraded(a.err)
	}
}

// botTokenError names the setting to fix, and where its right value is,
// when Slack refuses the bot token; other errors are returned as they are.
func botTokenError(err error) error {
	if !slackAuthRefused(err) {
		return err
	}
	return fmt.Errorf("SLACK_BOT_TOKEN was refused by Slack (%w): it must be the app's Bot User OAuth Token (xoxb-...), "+
		"from OAuth & Permissions of the app installed from the manifest (install it to the workspace again if the token was revoked)", err)
}

// refusal returns the last auth.test's error when Slack refused the bot
// token, else nil.
func (a *authState) refusal() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if slackAuthRefused(a.err) {
		return a.err
	}
	return nil
}

// slackAuthRefused reports Slack answering that the token is not valid
// (wrong, revoked, expired, or its workspace or user deactivated), as
// opposed to Slack being unreachable or failing.
func slackAuthRefused(err error) bool {
	var resp slack.SlackErrorResponse
	if !errors.As(err, &resp) {
		return false
	}
	switch resp.Err {
	case "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
		"no_permission", "org_login_required", "team_access_not_granted", "ekm_access_denied", "not_allowed_token_type":
		return true
	}
	return false
}

// watch runs auth.test now and again periodically: every 15 seconds while
// it fails, every 5 minutes once it passes.
// Each pass tells learnt the bot's workspace and organisation.
func (a *authState) watch(ctx context.Context, api *slack.Client, log *slog.Logger, learnt func(team, enterprise string)) {
	for {
		callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := api.AuthTestContext(callCtx)
		cancel()
		err = botTokenError(err)
		a.mu.Lock()
		wasOK := a.ok
		a.ok, a.err = err == nil, err
		if err == nil {
			a.state = fmt.Sprintf("team %s, bot %s", resp.Team, resp.User)
			learnt(resp.TeamID, resp.EnterpriseID)
			a.passedOnce.Do(func() { close(a.passed) })
		} else {
			a.state = "failed"
		}
		a.mu.Unlock()
		a.triedOnce.Do(func() { close(a.tried) })
		switch {
		case err != nil && ctx.Err() == nil && slackAuthRefused(err):
			log.ErrorContext(ctx, "Slack auth.test failed: "+err.Error())
		case err != nil && ctx.Err() == nil:
			log.ErrorContext(ctx, "Slack auth.test failed", "err", err)
		case err == nil && !wasOK:
			log.InfoContext(ctx, "Slack auth.test passed", "team", resp.Team, "bot", resp.User)
		}
		wait := 5 * time.Minute
		if err != nil {
			wait = 15 * time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func purgeJob(now time.Time) incident.Job {
	next := now.Truncate(time.Hour).Add(time.Hour)
	return incident.Job{Kind: jobPurgeDeliveries, Key: next.Format(time.RFC3339), RunAt: next}
}

// purgeDeliveries deletes old delivery records and the batches of request
// signatures past their window, and schedules its next run, one per hour
// across all replicas.
func purgeDeliveries(store incident.Store, sched incident.Scheduler, clock incident.Clock, log *slog.Logger) incident.JobHandler {
	return func(ctx context.Context, _ []byte) error {
		now := clock.Now()
		n, err := store.PurgeDeliveries(ctx, now.Add(-deliveryRetention))
		if err != nil {
			return fmt.Errorf("purge deliveries: %w", err)
		}
		r, err := store.PurgeReplayBatches(ctx, now.Add(-replayRetention))
		if err != nil {
			return fmt.Errorf("purge replay records: %w", err)
		}
		log.InfoContext(ctx, "purged delivery records", "count", n, "replay_batches", r)
		if _, err := sched.Schedule(ctx, purgeJob(now)); err != nil {
			return fmt.Errorf("schedule next purge: %w", err)
		}
		return nil
	}
}

// metadataKey derives the key that seals forms' private_metadata from the
// Slack secrets every replica shares, so a form opened by one replica is
// accepted by another, and rotating a secret invalidates open forms.
func metadataKey(c SlackConfig) []byte {
	m := hmac.New(sha256.New, []byte("firebreak form metadata v1"))
	for _, s := range []Secret{c.BotToken, c.SigningSecret, c.AppToken} {
		m.Write([]byte(s.Reveal()))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

func purgeSessionsJob(now time.Time) incident.Job {
	next := now.Truncate(time.Hour).Add(time.Hour)
	return incident.Job{Kind: jobPurgeSessions, Key: next.Format(time.RFC3339), RunAt: next}
}

// purgeSessions deletes expired web sessions and schedules its next run,
// one per hour across all replicas.
func purgeSessions(store incident.AccessStore, sched incident.Scheduler, clock incident.Clock, log *slog.Logger) incident.JobHandler {
	return func(ctx context.Context, _ []byte) error {
		now := clock.Now()
		n, err := store.PurgeSessions(ctx, now)
		if err != nil {
			return fmt.Errorf("purge sessions: %w", err)
		}
		log.InfoContext(ctx, "purged expired web sessions", "count", n)
		if _, err := sched.Schedule(ctx, purgeSessionsJob(now)); err != nil {
			return fmt.Errorf("schedule next session purge: %w", err)
		}
		return nil
	}
}

// jobSweep checks follow-through: review and action-item reminders, overdue
// escalations, the weekly digest and scheduled drills.
const jobSweep = "followthrough.sweep"

// sweepJob is the check of the next slot of every; the slot is the key, so
// the replicas that all schedule it run it once. Slots follow the wall
// clock: they are timers, while what falls due is the domain's clock's say.
func sweepJob(now time.Time, every time.Duration) incident.Job {
	next := now.Truncate(every).Add(every)
	return incident.Job{Kind: jobSweep, Key: next.UTC().Format(time.RFC3339Nano), RunAt: next, MaxAttempts: 3}
}

// sweepFollowThrough schedules the next slot, then runs the check. The
// chain of slots is the only thing that keeps the check going (the first
// is scheduled at start), so a slot that could not schedule the next one
// does not report success: it runs again soon, without spending an
// attempt, and sweeps only once the next slot is stored. The slot's key
// makes scheduling it again harmless, and a retried check says nothing
// twice (ADR 0017).
func sweepFollowThrough(ft *followthrough.Service, sched incident.Scheduler, every time.Duration, log *slog.Logger) incident.JobHandler {
	return func(ctx context.Context, _ []byte) error {
		if _, err := sched.Schedule(ctx, sweepJob(time.Now(), every)); err != nil {
			log.ErrorContext(ctx, "could not schedule the next follow-through check; trying again", "err", err)
			return incident.RetryLater(max(min(every, time.Minute), time.Second), "The next follow-through check could not be scheduled: %v", err)
		}
		n, err := ft.Sweep(ctx)
		if err != nil {
			return fmt.Errorf("follow-through check: %w", err)
		}
		if n > 0 {
			log.InfoContext(ctx, "follow-through notices due", "count", n)
		}
		return nil
	}
}

// webURL is the web view's address when it is on, for links from Slack.
func webURL(cfg Config) string {
	if !cfg.Web.Enabled() {
		return ""
	}
	return cfg.PublicURL
}

// socketModeError names the setting to fix when Slack refuses the
// app-level token that opens Socket Mode connections.
func socketModeError(err error) error {
	code := bot.AppTokenRefusal(err)
	if code == "" {
		return err
	}
	return fmt.Errorf("socket mode: Slack refused SLACK_APP_TOKEN (%s): it must be the app's app-level token (xapp-...) with the connections:write scope, "+
		"generated under Basic Information → App-Level Tokens of the app created from the manifest", code)
}

// instanceID names this replica to the others sharing the database:
// INSTANCE_ID, else the host name and the port of HTTP_ADDR. A restart
// keeps both, so it takes back its own interrupted jobs at once; two
// processes on one host cannot listen on one port, so they never share it.
func instanceID(cfg Config) string {
	if cfg.InstanceID != "" {
		return cfg.InstanceID
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "firebreak"
	}
	if _, port, err := net.SplitHostPort(cfg.HTTPAddr); err == nil && port != "" {
		return host + "-" + port
	}
	return host
}

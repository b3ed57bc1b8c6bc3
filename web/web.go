// Package web is firebreak's web view and HTTP API: Sign in with Slack,
// server-rendered pages (the incident list, an incident, the metrics across
// incidents), and /api/v1 with hashed, scoped bearer tokens.
//
// Like bot, it is a transport: it decodes, asks the domain (incident,
// incident/metrics) through interfaces, and renders. Private incidents are
// shown only to their members (named in them, or in their Slack channel),
// on the pages and in the API; to anyone else, and while Slack cannot say,
// they are not found (ADR 0065).
//
// Server holds one route table (Routes); the handlers behind it are split
// by part over a shared site (config, templates, names, who may see what):
// signIn (auth.go), incidentPages (pages.go), reports (reports.go),
// tokenAdmin (tokens.go) and apiV1 (api.go).
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/slack-go/slack"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/metrics"
)

// DefaultAuthorizeURL is Slack's Sign in with Slack consent page.
const DefaultAuthorizeURL = "https://slack.com/openid/connect/authorize"

// DefaultSessionTTL is how long a sign-in lasts.
const DefaultSessionTTL = 12 * time.Hour

// DefaultRequestTimeout bounds a page or an API call, its database reads
// and Slack calls included: within the public listener's 15-second write
// timeout, so that a database or Slack that stops answering gets the person
// a 503 saying so rather than a connection that hangs, then drops.
const DefaultRequestTimeout = 10 * time.Second

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Reader is what the pages and the API read: the incident store's read
// methods, and the records of many incidents at once for the metrics.
type Reader interface {
	metrics.Source
	incident.ReportReader
	GetIncidentByNumber(ctx context.Context, number int64) (*incident.Incident, error)
	ListPages(ctx context.Context, incidentID int64) ([]incident.Page, error)
	ListChangeEvents(ctx context.Context, service string, from, to time.Time) ([]incident.ChangeEvent, error)
	GetExport(ctx context.Context, incidentID int64, target string) (*incident.ExportRef, error)
}

// Incidents is what the write API asks of the domain.
type Incidents interface {
	Declare(ctx context.Context, in incident.DeclareInput) (*incident.Incident, bool, error)
	// PostUpdate posts a status update, as /incident update does in
	// Slack: said in the incident's channel, and the update reminders
	// start again.
	PostUpdate(ctx context.Context, id int64, in incident.UpdateInput) (*incident.Incident, error)
	// CanSee is the permission model's answer to who sees an incident:
	// everybody a public one, only its members a private one (named in
	// it, or in its channel as the person's channels, read from Slack
	// and kept a minute, say). An error means Slack could not say.
	CanSee(ctx context.Context, user string, inc *incident.Incident) (bool, error)
	// Visible keeps the incidents user may see, reading their channels
	// from Slack once for the lot. When Slack cannot say which channels a
	// member of the workspace is in, it returns the incidents that need
	// no channel to decide with an *incident.ChannelsUnknown error.
	Visible(ctx context.Context, user string, incs []*incident.Incident) ([]*incident.Incident, error)
	// Edit makes several changes at once, all or none: a PATCH.
	Edit(ctx context.Context, id int64, e incident.Edit, actor string) (*incident.Incident, error)
}

// Config holds the web view's dependencies and settings.
type Config struct {
	Reader    Reader
	Incidents Incidents
	Access    incident.AccessStore
	Metrics   *metrics.Service
	Policy    incident.Policy

	// Slack is the bot's client: it reads channel members (for private
	// incidents), people's names and, unless TeamID is set, the workspace.
	Slack *slack.Client
	// SlackAPIURL is where openid.connect.token and userInfo are called
	// (slack.APIURL by default).
	SlackAPIURL string
	// AuthorizeURL is Slack's consent page (DefaultAuthorizeURL by default).
	AuthorizeURL string
	ClientID     string
	ClientSecret string
	// TeamID restricts sign-in to one workspace; empty means the workspace
	// the bot token belongs to (from auth.test).
	TeamID string
	// PublicURL is the address people use, such as https://firebreak.example.com;
	// the sign-in callback is PublicURL + /auth/callback. An https URL makes
	// cookies Secure and __Host- prefixed.
	PublicURL string
	// Admins are the Slack user ids that may create and revoke API tokens.
	Admins     []string
	SessionTTL time.Duration
	// RequestTimeout bounds each page and API call
	// (DefaultRequestTimeout by default); one whose database or Slack
	// calls outlast it answers 503.
	RequestTimeout time.Duration

	// Postmortem renders an incident's postmortem draft as Markdown; nil
	// leaves the draft off the incident page.
	Postmortem func(ctx context.Context, incidentID int64) (string, error)
	// ExportTargets are the postmortem export targets (confluence, github)
	// whose links the incident page shows.
	ExportTargets []string

	Clock  incident.Clock
	Logger *slog.Logger
}

// Server serves the web view and the API. Each part of the surface is its
// own type over the shared site: sign-in and sessions, the incident pages,
// the metrics reports, the token admin pages, and /api/v1.
type Server struct {
	static  http.Handler
	auth    *signIn
	pages   *incidentPages
	reports *reports
	tokens  *tokenAdmin
	api     *apiV1
}

// site is what every part of the web view shares: the configuration, the
// parsed page templates, people's names, and who may see what.
type site struct {
	cfg   Config
	tmpl  map[string]*template.Template
	names *nameCache
	// cursors seals the incident list's cursors.
	cursors *cursorSealer
}

// New checks the configuration and parses the templates, so a broken
// template fails at start.
func New(cfg Config) (*Server, error) {
	u, err := cfg.check()
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	sub, _ := fs.Sub(staticFS, "static")
	st := &site{cfg: cfg, tmpl: tmpl, names: newNameCache(cfg.Slack, cfg.Clock, nameTTL), cursors: newCursorSealer(cfg.ClientSecret)}
	rep := &reports{st}
	return &Server{
		static:  http.StripPrefix("/static/", http.FileServerFS(sub)),
		auth:    newSignIn(st, u.Scheme == "https"),
		pages:   &incidentPages{st},
		reports: rep,
		tokens:  &tokenAdmin{st},
		api:     &apiV1{site: st, reports: rep},
	}, nil
}

// check refuses a configuration the web view cannot run with, and returns
// the parsed public URL.
func (cfg Config) check() (*url.URL, error) {
	switch {
	case cfg.Reader == nil || cfg.Incidents == nil || cfg.Access == nil || cfg.Metrics == nil:
		return nil, errors.New("web: Reader, Incidents, Access and Metrics are required")
	case cfg.ClientID == "" || cfg.ClientSecret == "":
		return nil, errors.New("web: the Slack client id and secret are required for Sign in with Slack")
	case cfg.Slack == nil:
		return nil, errors.New("web: a Slack client is required")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("web: the public URL %q is not an http(s) URL", cfg.PublicURL)
	}
	if err := RootURL(cfg.PublicURL); err != nil {
		return nil, fmt.Errorf("web: the public URL (PUBLIC_URL) %q %w", cfg.PublicURL, err)
	}
	return u, nil
}

// RootURL refuses a public URL the web view cannot be reached at: its
// routes, redirects, links and cookies are at the root of the host, so an
// address with a path (https://tools.example.com/firebreak), a query or a
// fragment would send Sign in with Slack's callback where nothing answers.
// The error completes a sentence naming the URL.
func RootURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a URL: %w", err)
	}
	switch {
	case u.Path != "" && u.Path != "/":
		return fmt.Errorf("has a path (%s), but the web view is served at the root of its host: give the address without it, such as %s://%s, on a host (or subdomain) of its own", u.Path, u.Scheme, u.Host)
	case u.RawQuery != "" || u.ForceQuery || strings.Contains(raw, "#"): // an empty fragment too
		return fmt.Errorf("has a query or a fragment: give the address alone, such as %s://%s", u.Scheme, u.Host)
	case u.User != nil:
		// It would be in every link the bot gives, password and all.
		return fmt.Errorf("holds a user name or password: give the address alone, such as %s://%s", u.Scheme, u.Host)
	}
	return nil
}

// withDefaults fills in what was left unset.
func (cfg Config) withDefaults() Config {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.SlackAPIURL == "" {
		cfg.SlackAPIURL = slack.APIURL
	}
	if cfg.AuthorizeURL == "" {
		cfg.AuthorizeURL = DefaultAuthorizeURL
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Clock == nil {
		cfg.Clock = incident.SystemClock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Policy.Severities == nil {
		cfg.Policy = incident.DefaultPolicy()
	}
	if cfg.Policy.Location == nil {
		cfg.Policy.Location = time.UTC
	}
	return cfg
}

// Routes mounts the whole web and API surface on r. This is the one route
// table: every page and endpoint is listed here. Every page and read that
// answers GET answers HEAD too, as GET without the body (RFC 9110 §9.3.2);
// the sign-in steps, which act, answer GET only.
func (s *Server) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.bounded, securityHeaders, s.transportSecurity)
		r.Use(http.NewCrossOriginProtection().Handler)
		read(r, "/static/*", s.static.ServeHTTP)
		read(r, "/login", s.auth.serveLogin)
		r.Get("/auth/start", s.auth.serveAuthStart)
		r.Get("/auth/callback", s.auth.serveAuthCallback)

		r.Group(func(r chi.Router) {
			r.Use(s.auth.requireSession)
			read(r, "/", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/incidents", http.StatusFound) })
			r.Post("/logout", s.auth.serveLogout)
			read(r, "/incidents", s.pages.serveList)
			read(r, "/incidents/{number}", s.pages.serveIncident)
			read(r, "/incidents/{number}/postmortem.md", s.pages.servePostmortemMarkdown)
			read(r, "/incidents/{number}/timeline.csv", s.pages.serveTimelineCSV)
			read(r, "/reports/metrics", s.reports.serveMetrics)
			read(r, "/reports/metrics.csv", s.reports.serveMetricsCSV)
			r.Group(func(r chi.Router) {
				r.Use(s.auth.requireAdmin)
				read(r, "/admin/tokens", s.tokens.serveTokens)
				r.Post("/admin/tokens", s.tokens.serveCreateToken)
				r.Post("/admin/tokens/{id}/revoke", s.tokens.serveRevokeToken)
			})
		})
	})

	r.Route("/api/v1", func(r chi.Router) {
		r.Use(s.bounded, middleware.NoCache, s.transportSecurity, noSniff)
		// The API answers in JSON even for a path or method it lacks.
		r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
			apiError(w, http.StatusNotFound, "not_found", "There is no such API path; see /api/v1/openapi.json.")
		})
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			if allow := allowed(r); allow != "" {
				w.Header().Set("Allow", allow)
			}
			apiError(w, http.StatusMethodNotAllowed, "method_not_allowed", "The path does not take that method; see /api/v1/openapi.json.")
		})
		read(r, "/openapi.json", serveOpenAPI)
		r.Group(func(r chi.Router) {
			r.Use(s.api.requireToken(incident.ScopeRead))
			read(r, "/incidents", s.api.listIncidents)
			read(r, "/incidents/{number}", s.api.getIncident)
			read(r, "/incidents/{number}/timeline", s.api.timeline)
			read(r, "/incidents/{number}/follow-ups", s.api.followUps)
			read(r, "/metrics", s.api.metrics)
		})
		r.Group(func(r chi.Router) {
			r.Use(s.api.requireToken(incident.ScopeWrite))
			r.Post("/incidents", s.api.declare)
			r.Patch("/incidents/{number}", s.api.update)
			r.Post("/incidents/{number}/updates", s.api.postUpdate)
		})
	})
}

// read routes GET and HEAD of pattern to h; the server leaves out the body
// of a HEAD.
func read(r chi.Router, pattern string, h http.HandlerFunc) {
	r.Get(pattern, h)
	r.Head(pattern, h)
}

// allowed lists the methods the request's path answers, for a 405's Allow
// header (RFC 9110 §15.5.6), as chi's own 405 does.
func allowed(r *http.Request) string {
	rctx := chi.RouteContext(r.Context())
	if rctx == nil || rctx.Routes == nil {
		return ""
	}
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if rctx.Routes.Match(chi.NewRouteContext(), m, r.URL.EscapedPath()) {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}

// Handler returns the routes on their own router, for tests and for
// mounting elsewhere.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	s.Routes(r)
	return r
}

// bounded gives the request RequestTimeout to answer in: the store and
// Slack are asked on its context, so a dependency that stops answering
// fails the call (outOfTime) instead of holding it open.
func (s *Server) bounded(next http.Handler) http.Handler {
	timeout := s.pages.cfg.RequestTimeout
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// securityHeaders keeps pages out of frames, scripts to our own origin, and
// referrers from leaking incident URLs.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// hstsMaxAge is how long a browser keeps to https for the site once told:
// two years, as the HSTS preload list asks.
const hstsMaxAge = 2 * 365 * 24 * time.Hour

// transportSecurity tells browsers, when the public URL is https, to use
// https only from then on (RFC 6797), so no later visit sends a session
// cookie or a token over plain http. Subdomains are left to their own.
func (s *Server) transportSecurity(next http.Handler) http.Handler {
	if !s.auth.secure {
		return next
	}
	value := fmt.Sprintf("max-age=%d", int(hstsMaxAge/time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", value)
		next.ServeHTTP(w, r)
	})
}

// noSniff keeps browsers from reading an API answer, which echoes what the
// caller sent, as anything but its declared JSON.
func noSniff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// isAdmin reports whether the Slack user may manage API tokens.
func (s *signIn) isAdmin(userID string) bool {
	for _, a := range s.cfg.Admins {
		if a == userID {
			return true
		}
	}
	return false
}

// channelCheck stands for a private incident in a channel nobody is in.
// Asked about with every batch of incidents the list and the metrics read,
// it makes Visible read the viewer's channels whatever those incidents
// are, so whether Slack could say (which the list and the report tell)
// says nothing of whether private incidents were among them. It is never
// shown: nobody is named in it or in its channel.
var channelCheck = &incident.Incident{Private: true, ChannelID: "firebreak:no-channel", DeclaredBy: "firebreak:nobody"}

// visible keeps the incidents userID may see, in order. When Slack cannot
// say which channels a member of the workspace is in, it keeps the public
// incidents and the private ones they are named in, and partial says the
// others were left out; for a guest (or someone who may be one) it is
// EUNAVAILABLE, as a guest sees only what their channels show.
func (s *site) visible(ctx context.Context, userID string, incs []*incident.Incident) (kept []*incident.Incident, partial bool, err error) {
	out, err := s.cfg.Incidents.Visible(ctx, userID, append(slices.Clip(incs), channelCheck))
	var unknown *incident.ChannelsUnknown
	switch {
	case errors.As(err, &unknown):
		s.cfg.Logger.WarnContext(ctx, "could not tell which private incidents the person may see; they are left out", "user", userID, "err", err)
		partial = true
	case err != nil:
		s.cfg.Logger.WarnContext(ctx, "could not tell which incidents the person may see", "user", userID, "err", err)
		return nil, false, incident.Errorf(incident.EUNAVAILABLE, "Slack cannot say who is in the incidents' channels right now; try again in a minute.")
	}
	kept = slices.DeleteFunc(out, func(inc *incident.Incident) bool { return inc == channelCheck })
	return kept, partial, nil
}

// incidentFor loads an incident by its number, as ENOTFOUND when userID
// may not see it, so a private incident's existence does not leak. When
// Slack cannot say whether they are in a private incident's channel (and
// they are not named in it), the answer is that same ENOTFOUND, logged: a
// hidden incident must not answer otherwise than a missing one, and a
// member of its channel answered "not found" for a minute is the price.
// The incident's named people never need Slack to see it.
func (s *site) incidentFor(ctx context.Context, userID, number string) (*incident.Incident, error) {
	n, err := parseNumber(number)
	if err != nil {
		return nil, err
	}
	// A missing incident and a hidden one answer in the same words.
	notFound := incident.Errorf(incident.ENOTFOUND, "Incident INC-%d was not found.", n)
	inc, err := s.cfg.Reader.GetIncidentByNumber(ctx, n)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	ok, err := s.cfg.Incidents.CanSee(ctx, userID, inc)
	if err != nil {
		s.cfg.Logger.WarnContext(ctx, "could not tell whether the person may see the incident; answered as not found", "incident", inc.Key(), "user", userID, "err", err)
		return nil, notFound
	}
	if !ok {
		return nil, notFound
	}
	return inc, nil
}

func parseNumber(text string) (int64, error) {
	text = strings.TrimPrefix(strings.ToUpper(text), "INC-")
	var n int64
	if _, err := fmt.Sscanf(text, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != text {
		return 0, incident.Errorf(incident.ENOTFOUND, "There is no incident %q.", text)
	}
	return n, nil
}

// Package web is firebreak's web view and HTTP API: Sign in with Slack,
// server-rendered pages (the incident list, an incident, the metrics across
// incidents), and /api/v1 with hashed, scoped bearer tokens.
//
// Like bot, it is a transport: it decodes, asks the domain (incident,
// incident/metrics) through interfaces, and renders. Private incidents are
// shown only to members of their Slack channel, on the pages and in the API.
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

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Reader is what the pages and the API read: the incident store's read
// methods.
type Reader interface {
	metrics.Source
	GetIncidentByNumber(ctx context.Context, number int64) (*incident.Incident, error)
	ListPages(ctx context.Context, incidentID int64) ([]incident.Page, error)
	ListChangeEvents(ctx context.Context, service string, from, to time.Time) ([]incident.ChangeEvent, error)
	GetExport(ctx context.Context, incidentID int64, target string) (*incident.ExportRef, error)
}

// Incidents is what the write API asks of the domain.
type Incidents interface {
	Declare(ctx context.Context, in incident.DeclareInput) (*incident.Incident, bool, error)
	SetStatus(ctx context.Context, id int64, to incident.Status, actor, summary string) (*incident.Incident, error)
	SetSeverity(ctx context.Context, id int64, sev incident.Severity, actor string) (*incident.Incident, error)
	AssignRole(ctx context.Context, id int64, role, user, actor string) (*incident.Incident, error)
	// CanSee is the permission model's answer to who sees an incident:
	// everybody a public one, only its members a private one.
	CanSee(ctx context.Context, user string, inc *incident.Incident) (bool, error)
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

	// Postmortem renders an incident's postmortem draft as Markdown; nil
	// leaves the draft off the incident page.
	Postmortem func(ctx context.Context, incidentID int64) (string, error)
	// ExportTargets are the postmortem export targets (confluence, github)
	// whose links the incident page shows.
	ExportTargets []string

	Clock  incident.Clock
	Logger *slog.Logger
}

// Server serves the web view and the API.
type Server struct {
	cfg    Config
	tmpl   map[string]*template.Template
	names  *nameCache
	team   *teamCache
	secure bool
	cookie string
	httpc  *http.Client
	static http.Handler
}

// New checks the configuration and parses the templates, so a broken
// template fails at start.
func New(cfg Config) (*Server, error) {
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
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	sub, _ := fs.Sub(staticFS, "static")
	s := &Server{
		cfg:    cfg,
		tmpl:   tmpl,
		names:  newNameCache(cfg.Slack, cfg.Clock, 10*time.Minute),
		team:   &teamCache{api: cfg.Slack, fixed: cfg.TeamID},
		secure: u.Scheme == "https",
		cookie: "firebreak_session",
		httpc:  &http.Client{Timeout: 10 * time.Second},
		static: http.StripPrefix("/static/", http.FileServerFS(sub)),
	}
	if s.secure {
		// __Host- cookies are Secure, host-only and Path=/ by rule, so a
		// sibling subdomain cannot plant or overwrite them.
		s.cookie = "__Host-firebreak_session"
	}
	return s, nil
}

// Routes mounts the whole web and API surface on r. This is the one route
// table: every page and endpoint is listed here.
func (s *Server) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(securityHeaders)
		r.Use(http.NewCrossOriginProtection().Handler)
		r.Method(http.MethodGet, "/static/*", s.static)
		r.Get("/login", s.serveLogin)
		r.Get("/auth/start", s.serveAuthStart)
		r.Get("/auth/callback", s.serveAuthCallback)

		r.Group(func(r chi.Router) {
			r.Use(s.requireSession)
			r.Get("/", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/incidents", http.StatusFound) })
			r.Post("/logout", s.serveLogout)
			r.Get("/incidents", s.serveList)
			r.Get("/incidents/{number}", s.serveIncident)
			r.Get("/incidents/{number}/postmortem.md", s.servePostmortemMarkdown)
			r.Get("/incidents/{number}/timeline.csv", s.serveTimelineCSV)
			r.Get("/reports/metrics", s.serveMetrics)
			r.Get("/reports/metrics.csv", s.serveMetricsCSV)
			r.Group(func(r chi.Router) {
				r.Use(s.requireAdmin)
				r.Get("/admin/tokens", s.serveTokens)
				r.Post("/admin/tokens", s.serveCreateToken)
				r.Post("/admin/tokens/{id}/revoke", s.serveRevokeToken)
			})
		})
	})

	r.Route("/api/v1", func(r chi.Router) {
		r.Use(middleware.NoCache)
		r.Get("/openapi.json", serveOpenAPI)
		r.Group(func(r chi.Router) {
			r.Use(s.requireToken(incident.ScopeRead))
			r.Get("/incidents", s.apiListIncidents)
			r.Get("/incidents/{number}", s.apiGetIncident)
			r.Get("/incidents/{number}/timeline", s.apiTimeline)
			r.Get("/incidents/{number}/follow-ups", s.apiFollowUps)
			r.Get("/metrics", s.apiMetrics)
		})
		r.Group(func(r chi.Router) {
			r.Use(s.requireToken(incident.ScopeWrite))
			r.Post("/incidents", s.apiDeclare)
			r.Patch("/incidents/{number}", s.apiUpdate)
		})
	})
}

// Handler returns the routes on their own router, for tests and for
// mounting elsewhere.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	s.Routes(r)
	return r
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

// isAdmin reports whether the Slack user may manage API tokens.
func (s *Server) isAdmin(userID string) bool {
	for _, a := range s.cfg.Admins {
		if a == userID {
			return true
		}
	}
	return false
}

// canSee asks the permission model whether a person may see an incident.
// Unknown membership (Slack unreachable) is never taken as membership.
func (s *Server) canSee(ctx context.Context, userID string, inc *incident.Incident) (bool, error) {
	ok, err := s.cfg.Incidents.CanSee(ctx, userID, inc)
	if err != nil {
		s.cfg.Logger.WarnContext(ctx, "could not tell who may see a private incident", "incident", inc.Key(), "err", err)
		return false, incident.Errorf(incident.EUNAVAILABLE, "Slack cannot say who is in the incident's channel right now; try again in a minute.")
	}
	return ok, nil
}

// visible keeps the incidents userID may see, in order.
func (s *Server) visible(ctx context.Context, userID string, incs []*incident.Incident) ([]*incident.Incident, error) {
	out := make([]*incident.Incident, 0, len(incs))
	for _, inc := range incs {
		ok, err := s.canSee(ctx, userID, inc)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, inc)
		}
	}
	return out, nil
}

// incidentFor loads an incident by its number, as ENOTFOUND when userID
// may not see it, so a private incident's existence does not leak.
func (s *Server) incidentFor(ctx context.Context, userID, number string) (*incident.Incident, error) {
	n, err := parseNumber(number)
	if err != nil {
		return nil, err
	}
	inc, err := s.cfg.Reader.GetIncidentByNumber(ctx, n)
	if err != nil {
		return nil, err
	}
	ok, err := s.canSee(ctx, userID, inc)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, incident.Errorf(incident.ENOTFOUND, "Incident INC-%d was not found.", n)
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

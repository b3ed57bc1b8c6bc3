package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/alerting"
)

// Secret is a credential. It prints as [redacted] so it can never reach a log
// line or an error message by accident.
type Secret string

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString implements fmt.GoStringer, so %#v redacts too.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Reveal returns the credential itself, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

// Config is every setting of the program, read once from the environment.
type Config struct {
	// HTTPAddr is the public listener: the Slack endpoints (in HTTP mode),
	// webhooks and /healthz.
	HTTPAddr string
	// AdminAddr is the operational listener, never to be exposed to the
	// internet: /metrics, /readyz, /healthz and, when AdminPprof is set,
	// /debug/pprof/.
	AdminAddr  string
	AdminPprof bool
	// DatabaseURL selects the store: empty for the embedded SQLite file at
	// SQLitePath, postgres://... for PostgreSQL.
	DatabaseURL string
	SQLitePath  string
	PolicyFile  string
	// TemplatesDir overrides the embedded message templates.
	TemplatesDir string
	LogLevel     slog.Level
	// LogFormat is json, text or auto (text on a terminal, JSON otherwise).
	LogFormat       string
	ShutdownTimeout time.Duration
	JobWorkers      int
	// UrgentWorkers run only urgent jobs (pages, nags, acknowledgements).
	UrgentWorkers int
	// InstanceID names this replica to the others sharing the database.
	InstanceID string
	PublicURL  string

	Slack      SlackConfig
	PagerDuty  PagerDutyConfig
	GitHub     GitHubConfig
	LD         LaunchDarklyConfig
	Unleash    UnleashConfig
	Confluence ConfluenceConfig
	StatusPage StatusPageConfig
	Instatus   InstatusConfig
	Web        WebConfig
	// ChangesWebhookSecret signs the generic change webhook.
	ChangesWebhookSecret Secret
	Alerts               AlertsConfig
	// Clock tells the domain the time; nil is the system clock. It is not
	// read from the environment.
	Clock incident.Clock
}

// AlertsConfig verifies the monitoring webhooks: a bearer token (comma-
// separated while rotating) and, for Grafana, an HMAC secret.
type AlertsConfig struct {
	AlertmanagerToken Secret
	GrafanaToken      Secret
	GrafanaHMACSecret Secret
	// GrafanaSignatureHeader and GrafanaTimestampHeader are the contact
	// point's HMAC Header and Timestamp Header; a signature needs the
	// timestamp, so a delivery cannot be sent again later.
	GrafanaSignatureHeader string
	GrafanaTimestampHeader string
	// PagerDutyTriggered takes PagerDuty incident.triggered events of
	// incidents the bot did not open as alerts.
	PagerDutyTriggered bool
}

// SlackConfig configures the Slack app.
type SlackConfig struct {
	BotToken      Secret
	AppToken      Secret
	SigningSecret Secret
	// Mode is "socket" or "http"; empty means socket when an app token is set.
	Mode    string
	APIURL  string
	Command string
}

// WebConfig configures the web view and the API. They are on when the Slack
// app's client id and secret are set (Sign in with Slack needs them).
type WebConfig struct {
	ClientID     string
	ClientSecret Secret
	// AuthorizeURL is Slack's Sign in with Slack consent page.
	AuthorizeURL string
	// TeamID restricts sign-in to one workspace; empty means the bot's.
	TeamID string
	// Admins are Slack user ids that may create and revoke API tokens.
	Admins     []string
	SessionTTL time.Duration
}

// Enabled reports whether the web view and the API are configured.
func (w WebConfig) Enabled() bool { return w.ClientID != "" }

// PagerDutyConfig configures paging.
type PagerDutyConfig struct {
	APIURL        string
	EventsURL     string
	Token         Secret
	WebhookSecret Secret
	FromEmail     string
}

// GitHubConfig configures the change source and exports.
type GitHubConfig struct {
	APIURL        string
	Token         Secret
	WebhookSecret Secret
	// PostmortemRepo (owner/name) receives exported postmortems.
	PostmortemRepo string
	// PostmortemMode is "pr" (a pull request adding the file) or "issue".
	PostmortemMode   string
	ActionItemIssues bool
}

// LaunchDarklyConfig configures the LaunchDarkly change source.
type LaunchDarklyConfig struct {
	APIURL        string
	Token         Secret
	WebhookSecret Secret
}

// UnleashConfig configures the Unleash change source.
type UnleashConfig struct {
	APIURL        string
	Token         Secret
	WebhookSecret Secret
}

// ConfluenceConfig configures postmortem export to Confluence Cloud.
type ConfluenceConfig struct {
	URL      string
	Email    string
	APIToken Secret
	SpaceID  string
	ParentID string
}

// StatusPageConfig configures Atlassian Statuspage.
type StatusPageConfig struct {
	APIURL string
	APIKey Secret
	PageID string
}

// InstatusConfig configures Instatus.
type InstatusConfig struct {
	APIURL string
	APIKey Secret
	PageID string
	// PageURL is the public status page, for incident links.
	PageURL string
}

// Defaults for the providers' public endpoints.
const (
	DefaultSlackAPIURL       = "https://slack.com/api/"
	DefaultPagerDutyAPIURL   = "https://api.pagerduty.com"
	DefaultPagerDutyEvents   = "https://events.pagerduty.com"
	DefaultGitHubAPIURL      = "https://api.github.com/"
	DefaultStatusPageURL     = "https://api.statuspage.io/v1"
	DefaultInstatusURL       = "https://api.instatus.com"
	DefaultLaunchDarklyURL   = "https://app.launchdarkly.com"
	DefaultHTTPAddr          = ":8080"
	DefaultAdminAddr         = ":9090"
	DefaultSlackAuthorizeURL = "https://slack.com/openid/connect/authorize"
	DefaultWebSessionTTL     = 12 * time.Hour
	DefaultSQLitePath        = "firebreak.db"
	DefaultShutdownTimeout   = 25 * time.Second
	DefaultJobWorkers        = 10
	DefaultUrgentWorkers     = 32
	DefaultSlackSlashCommand = "/incident"
)

// env reads the environment through getenv, collecting every problem so the
// program can report them all at once.
type env struct {
	getenv func(string) string
	errs   []error
}

func (e *env) str(name, def string) string {
	if v := strings.TrimSpace(e.getenv(name)); v != "" {
		return v
	}
	return def
}

// secret reads NAME, or the file named by NAME_FILE (trailing newline
// trimmed). Setting both is an error, since one would silently win.
func (e *env) secret(name string) Secret {
	v, file := e.getenv(name), e.getenv(name+"_FILE")
	if v != "" && file != "" {
		e.errs = append(e.errs, fmt.Errorf("%s and %s_FILE are both set; set only one", name, name))
		return Secret(strings.TrimSpace(v))
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s_FILE: cannot read %s: %v", name, file, errors.Unwrap(err)))
			return ""
		}
		return Secret(strings.TrimRight(string(b), "\r\n"))
	}
	return Secret(strings.TrimSpace(v))
}

// boolean accepts true/false, 1/0 and yes/no; anything else is an error
// rather than a silent false.
func (e *env) boolean(name string, def bool) bool {
	v := strings.TrimSpace(e.getenv(name))
	if v == "" {
		return def
	}
	b, ok := parseBool(v)
	if !ok {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not true or false (also accepted: 1/0, yes/no)", name, v))
		return def
	}
	return b
}

func parseBool(v string) (value, ok bool) {
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return false, false
}

func (e *env) duration(name string, def time.Duration) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a positive duration such as 30s or 2m", name, v))
		return def
	}
	return d
}

func (e *env) integer(name string, def, min, max int) int {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not a whole number from %d to %d", name, v, min, max))
		return def
	}
	return n
}

func (e *env) url(name, def string) string {
	v := e.str(name, def)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not an http(s) URL", name, v))
	}
	return v
}

// LoadConfig reads the configuration from getenv and validates it. The
// error lists every problem, each naming the variable to fix.
func LoadConfig(getenv func(string) string) (Config, error) {
	return loadConfig(getenv, true)
}

// loadConfig skips the Slack checks when slack is false, for subcommands
// such as migrate that never talk to Slack.
func loadConfig(getenv func(string) string, slack bool) (Config, error) {
	e := &env{getenv: getenv}
	c := Config{
		HTTPAddr:        e.str("HTTP_ADDR", DefaultHTTPAddr),
		AdminAddr:       e.str("ADMIN_ADDR", DefaultAdminAddr),
		AdminPprof:      e.boolean("ADMIN_PPROF", false),
		DatabaseURL:     e.secret("DATABASE_URL").Reveal(),
		SQLitePath:      e.str("SQLITE_PATH", DefaultSQLitePath),
		PolicyFile:      e.str("POLICY_FILE", ""),
		TemplatesDir:    e.str("TEMPLATES_DIR", ""),
		LogFormat:       strings.ToLower(e.str("LOG_FORMAT", "auto")),
		ShutdownTimeout: e.duration("SHUTDOWN_TIMEOUT", DefaultShutdownTimeout),
		JobWorkers:      e.integer("JOB_WORKERS", DefaultJobWorkers, 1, 1000),
		UrgentWorkers:   e.integer("JOB_URGENT_WORKERS", DefaultUrgentWorkers, 1, 1000),
		InstanceID:      e.str("INSTANCE_ID", ""),
		PublicURL:       e.url("PUBLIC_URL", ""),
		Slack: SlackConfig{
			BotToken:      e.secret("SLACK_BOT_TOKEN"),
			AppToken:      e.secret("SLACK_APP_TOKEN"),
			SigningSecret: e.secret("SLACK_SIGNING_SECRET"),
			Mode:          strings.ToLower(e.str("SLACK_MODE", "")),
			APIURL:        e.url("SLACK_API_URL", DefaultSlackAPIURL),
			Command:       e.str("SLACK_COMMAND", DefaultSlackSlashCommand),
		},
	}
	e.providers(&c)
	c.LogLevel = e.logLevel("LOG_LEVEL")
	e.errs = append(e.errs, c.validate(slack)...)
	if len(e.errs) > 0 {
		cerr := &ConfigError{Problems: e.errs}
		if slack && noSlackApp(getenv) {
			cerr.Hint = firstContactHint
		}
		return c, cerr
	}
	return c, nil
}

// providers reads the settings of the providers firebreak talks to besides
// Slack, and of Sign in with Slack, into c.
func (e *env) providers(c *Config) {
	c.PagerDuty = PagerDutyConfig{
		APIURL:        e.url("PAGERDUTY_API_URL", DefaultPagerDutyAPIURL),
		EventsURL:     e.url("PAGERDUTY_EVENTS_URL", DefaultPagerDutyEvents),
		Token:         e.secret("PAGERDUTY_TOKEN"),
		WebhookSecret: e.secret("PAGERDUTY_WEBHOOK_SECRET"),
		FromEmail:     e.str("PAGERDUTY_FROM_EMAIL", ""),
	}
	c.GitHub = GitHubConfig{
		APIURL:        e.url("GITHUB_API_URL", DefaultGitHubAPIURL),
		Token:         e.secret("GITHUB_TOKEN"),
		WebhookSecret: e.secret("GITHUB_WEBHOOK_SECRET"),

		PostmortemRepo:   e.str("GITHUB_POSTMORTEM_REPO", ""),
		PostmortemMode:   strings.ToLower(e.str("GITHUB_POSTMORTEM_MODE", "pr")),
		ActionItemIssues: e.boolean("GITHUB_ACTION_ITEM_ISSUES", false),
	}
	c.LD = LaunchDarklyConfig{
		APIURL:        e.url("LAUNCHDARKLY_API_URL", DefaultLaunchDarklyURL),
		Token:         e.secret("LAUNCHDARKLY_TOKEN"),
		WebhookSecret: e.secret("LAUNCHDARKLY_WEBHOOK_SECRET"),
	}
	c.Unleash = UnleashConfig{
		APIURL:        e.url("UNLEASH_API_URL", ""),
		Token:         e.secret("UNLEASH_TOKEN"),
		WebhookSecret: e.secret("UNLEASH_WEBHOOK_SECRET"),
	}
	c.Confluence = ConfluenceConfig{
		URL:      e.url("CONFLUENCE_URL", ""),
		Email:    e.str("CONFLUENCE_EMAIL", ""),
		APIToken: e.secret("CONFLUENCE_API_TOKEN"),
		SpaceID:  e.str("CONFLUENCE_SPACE_ID", ""),
		ParentID: e.str("CONFLUENCE_PARENT_ID", ""),
	}
	c.StatusPage = StatusPageConfig{
		APIURL: e.url("STATUSPAGE_API_URL", DefaultStatusPageURL),
		APIKey: e.secret("STATUSPAGE_API_KEY"),
		PageID: e.str("STATUSPAGE_PAGE_ID", ""),
	}
	c.Instatus = InstatusConfig{
		APIURL:  e.url("INSTATUS_API_URL", DefaultInstatusURL),
		APIKey:  e.secret("INSTATUS_API_KEY"),
		PageID:  e.str("INSTATUS_PAGE_ID", ""),
		PageURL: e.url("INSTATUS_PAGE_URL", ""),
	}
	c.Web = WebConfig{
		ClientID:     e.str("SLACK_CLIENT_ID", ""),
		ClientSecret: e.secret("SLACK_CLIENT_SECRET"),
		AuthorizeURL: e.url("SLACK_AUTHORIZE_URL", DefaultSlackAuthorizeURL),
		TeamID:       e.str("SLACK_TEAM_ID", ""),
		Admins:       splitList(e.str("WEB_ADMINS", "")),
		SessionTTL:   e.duration("WEB_SESSION_TTL", DefaultWebSessionTTL),
	}
	c.ChangesWebhookSecret = e.secret("CHANGES_WEBHOOK_SECRET")
	c.Alerts = AlertsConfig{
		AlertmanagerToken:      e.secret("ALERTMANAGER_WEBHOOK_TOKEN"),
		GrafanaToken:           e.secret("GRAFANA_WEBHOOK_TOKEN"),
		GrafanaHMACSecret:      e.secret("GRAFANA_WEBHOOK_SECRET"),
		GrafanaSignatureHeader: e.str("GRAFANA_WEBHOOK_SIGNATURE_HEADER", alerting.GrafanaSignatureHeader),
		GrafanaTimestampHeader: e.str("GRAFANA_WEBHOOK_TIMESTAMP_HEADER", alerting.GrafanaTimestampHeader),
		PagerDutyTriggered:     e.boolean("PAGERDUTY_ALERTS", true),
	}
}

// logLevel reads a log level: debug, info (the default), warn or error.
func (e *env) logLevel(name string) slog.Level {
	switch lvl := strings.ToLower(e.str(name, "info")); lvl {
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		e.errs = append(e.errs, fmt.Errorf("%s: %q is not debug, info, warn or error", name, lvl))
		return 0
	}
}

// firstContactHint is what a first run with no Slack settings at all
// prints: how to start, rather than only what is missing.
const firstContactHint = `no Slack app is configured. To start:
  - Socket Mode (no public URL needed): set SLACK_BOT_TOKEN (xoxb-...) and SLACK_APP_TOKEN (xapp-...),
    from a Slack app created with slack-manifest.yaml;
  - HTTP mode: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, with slack-manifest.http.yaml;
  - or see it work with no Slack app and no setup at all: firebreak demo
The README's "Create the Slack app" section walks through it; firebreak check validates a configuration.`

// noSlackApp reports that none of the Slack credentials is set, in either
// form: a first run rather than a misconfiguration.
func noSlackApp(getenv func(string) string) bool {
	for _, name := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"} {
		if getenv(name) != "" || getenv(name+"_FILE") != "" {
			return false
		}
	}
	return true
}

// ConfigError lists every configuration problem found.
type ConfigError struct {
	Problems []error
	// Hint, when set, explains how to start from nothing.
	Hint string
}

// Error implements error: one line per problem.
func (e *ConfigError) Error() string {
	var lines []string
	for _, p := range e.Problems {
		// The hint already says what the Slack settings should be.
		if e.Hint != "" && strings.HasPrefix(p.Error(), "SLACK_") {
			continue
		}
		lines = append(lines, "  - "+p.Error())
	}
	msg := "invalid configuration:\n" + strings.Join(lines, "\n")
	switch {
	case e.Hint == "":
		return msg
	case len(lines) == 0:
		return e.Hint
	}
	return e.Hint + "\n" + msg
}

// sameListener reports two host:port addresses that would collide.
func sameListener(a, b string) bool {
	ah, ap, err1 := net.SplitHostPort(a)
	bh, bp, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || ap != bp || ap == "0" {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ah == bh || wild(ah) || wild(bh)
}

// validate checks the settings together and fills the derived defaults
// (the Slack mode, trailing slashes on API URLs). With slack false the Slack
// credentials are not required.
func (c *Config) validate(slack bool) []error {
	var p problems
	c.validateSlack(&p, slack)
	c.validateServer(&p)
	c.validateProviders(&p)
	c.Web.validate(&p, c.PublicURL)
	return p
}

// problems collects configuration problems, each starting with the
// variable to fix.
type problems []error

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Errorf(format, args...)) }

// validateSlack picks the Slack mode (socket when an app token is set) and
// checks the credentials it needs.
func (c *Config) validateSlack(p *problems, slack bool) {
	if c.Slack.Mode == "" {
		c.Slack.Mode = "http"
		if c.Slack.AppToken != "" {
			c.Slack.Mode = "socket"
		}
	}
	switch {
	case !slack:
	case c.Slack.BotToken == "":
		p.add("SLACK_BOT_TOKEN: required; the bot user OAuth token (xoxb-...) from the Slack app's OAuth & Permissions page")
	case !strings.HasPrefix(c.Slack.BotToken.Reveal(), "xoxb-"):
		p.add("SLACK_BOT_TOKEN: must be a bot token starting with xoxb-")
	}
	switch c.Slack.Mode {
	case "socket":
		switch {
		case !slack:
		case c.Slack.AppToken == "":
			p.add("SLACK_APP_TOKEN: required in Socket Mode; an app-level token (xapp-...) with connections:write")
		case !strings.HasPrefix(c.Slack.AppToken.Reveal(), "xapp-"):
			p.add("SLACK_APP_TOKEN: must be an app-level token starting with xapp-")
		}
	case "http":
		if slack && c.Slack.SigningSecret == "" {
			p.add("SLACK_SIGNING_SECRET: required in HTTP mode; the signing secret from the Slack app's Basic Information page")
		}
	default:
		p.add("SLACK_MODE: %q is not socket or http", c.Slack.Mode)
	}
	if !strings.HasPrefix(c.Slack.Command, "/") || strings.ContainsAny(c.Slack.Command, " \t") {
		p.add("SLACK_COMMAND: %q must be a slash command such as /incident", c.Slack.Command)
	}
	c.Slack.APIURL = withTrailingSlash(c.Slack.APIURL)
	c.GitHub.APIURL = withTrailingSlash(c.GitHub.APIURL)
}

// withTrailingSlash ends a non-empty base URL with "/".
func withTrailingSlash(u string) string {
	if u != "" && !strings.HasSuffix(u, "/") {
		return u + "/"
	}
	return u
}

// validateServer checks the listeners, the database URL and the log format.
func (c *Config) validateServer(p *problems) {
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		p.add("HTTP_ADDR: %q is not host:port, such as :8080 or 127.0.0.1:8080", c.HTTPAddr)
	}
	if _, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
		p.add("ADMIN_ADDR: %q is not host:port, such as :9090 or 127.0.0.1:9090", c.AdminAddr)
	} else if sameListener(c.AdminAddr, c.HTTPAddr) {
		p.add("ADMIN_ADDR: %q is the same as HTTP_ADDR; the admin listener must be separate from the public one", c.AdminAddr)
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql" && u.Scheme != "sqlite") {
			p.add("DATABASE_URL: must start with postgres:// (or be unset for the embedded SQLite database)")
		}
	}
	switch c.LogFormat {
	case "auto", "json", "text":
	default:
		p.add("LOG_FORMAT: %q is not auto, json or text", c.LogFormat)
	}
}

// validateProviders checks that each provider's settings come complete.
func (c *Config) validateProviders(p *problems) {
	if (c.StatusPage.APIKey == "") != (c.StatusPage.PageID == "") {
		p.add("STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID: set both to post to Statuspage, or neither")
	}
	if (c.Instatus.APIKey == "") != (c.Instatus.PageID == "") {
		p.add("INSTATUS_API_KEY and INSTATUS_PAGE_ID: set both to post to Instatus, or neither")
	}
	if c.Confluence.URL != "" && (c.Confluence.Email == "" || c.Confluence.APIToken == "" || c.Confluence.SpaceID == "") {
		p.add("CONFLUENCE_EMAIL, CONFLUENCE_API_TOKEN and CONFLUENCE_SPACE_ID: required when CONFLUENCE_URL is set")
	}
	if c.GitHub.PostmortemMode != "pr" && c.GitHub.PostmortemMode != "issue" {
		p.add("GITHUB_POSTMORTEM_MODE: %q is not pr or issue", c.GitHub.PostmortemMode)
	}
	if c.GitHub.PostmortemRepo != "" && (!strings.Contains(c.GitHub.PostmortemRepo, "/") || c.GitHub.Token == "") {
		p.add("GITHUB_POSTMORTEM_REPO: needs owner/name and GITHUB_TOKEN")
	}
	if c.Unleash.APIURL != "" && c.Unleash.Token == "" {
		p.add("UNLEASH_TOKEN: required when UNLEASH_API_URL is set")
	}
}

// validate checks Sign in with Slack's settings when it is enabled;
// publicURL is the web view's address.
func (w WebConfig) validate(p *problems, publicURL string) {
	if !w.Enabled() {
		return
	}
	if w.ClientSecret == "" {
		p.add("SLACK_CLIENT_SECRET: required with SLACK_CLIENT_ID for Sign in with Slack; the client secret from the Slack app's Basic Information page")
	}
	if publicURL == "" {
		p.add("PUBLIC_URL: required with SLACK_CLIENT_ID; the web view's address, whose /auth/callback is the app's redirect URL")
	}
	for _, a := range w.Admins {
		if !strings.HasPrefix(a, "U") && !strings.HasPrefix(a, "W") {
			p.add("WEB_ADMINS: %q is not a Slack user id such as U012ABCDEF", a)
		}
	}
	if w.SessionTTL < 5*time.Minute || w.SessionTTL > 30*24*time.Hour {
		p.add("WEB_SESSION_TTL: %s is outside 5m to 720h", w.SessionTTL)
	}
}

// splitList reads a comma- or space-separated list, dropping empty items.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

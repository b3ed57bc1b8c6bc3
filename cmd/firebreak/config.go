package main

import (
	"log/slog"
	"time"

	"github.com/firebreakhq/firebreak/incident"
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

// ConfluenceConfig configures postmortem export to Confluence Cloud, or to
// Confluence Data Center when Flavor is "datacenter" (APIToken is then a
// personal access token and Email is not used).
type ConfluenceConfig struct {
	Flavor   string
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

package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/integrations/alerting"
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

// secrets reads a comma-separated list of secrets (several while one is
// rotated): set, it must name at least one.
func (e *env) secrets(name string) Secret {
	s := e.secret(name)
	if s != "" && len(secretList(s)) == 0 {
		e.errs = append(e.errs, fmt.Errorf("%s names no secret: set one, or several separated by commas while rotating", name))
	}
	return s
}

// providers reads the settings of the providers firebreak talks to besides
// Slack, and of Sign in with Slack, into c.
func (e *env) providers(c *Config) {
	c.PagerDuty = PagerDutyConfig{
		APIURL:        e.url("PAGERDUTY_API_URL", DefaultPagerDutyAPIURL),
		EventsURL:     e.url("PAGERDUTY_EVENTS_URL", DefaultPagerDutyEvents),
		Token:         e.secret("PAGERDUTY_TOKEN"),
		WebhookSecret: e.secrets("PAGERDUTY_WEBHOOK_SECRET"),
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
		Flavor:   strings.ToLower(e.str("CONFLUENCE_FLAVOR", "cloud")),
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
		AlertmanagerToken:      e.secrets("ALERTMANAGER_WEBHOOK_TOKEN"),
		GrafanaToken:           e.secrets("GRAFANA_WEBHOOK_TOKEN"),
		GrafanaHMACSecret:      e.secrets("GRAFANA_WEBHOOK_SECRET"),
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

// splitList reads a comma- or space-separated list, dropping empty items.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/firebreakhq/firebreak/web"
)

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
	chosen := c.Slack.Mode != ""
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
		switch {
		case !slack || c.Slack.SigningSecret != "":
		case chosen:
			p.add("SLACK_SIGNING_SECRET: required in HTTP mode; the signing secret from the Slack app's Basic Information page")
		default:
			// No app token picked HTTP mode; Socket Mode is the other way in.
			p.add("SLACK_SIGNING_SECRET: required in HTTP mode; the signing secret from the Slack app's Basic Information page. " +
				"For Socket Mode instead (slack-manifest.yaml), set SLACK_APP_TOKEN: an app-level token (xapp-...) with connections:write")
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
	switch c.Confluence.Flavor {
	case "cloud":
		if c.Confluence.URL != "" && (c.Confluence.Email == "" || c.Confluence.APIToken == "" || c.Confluence.SpaceID == "") {
			p.add("CONFLUENCE_EMAIL, CONFLUENCE_API_TOKEN and CONFLUENCE_SPACE_ID: required when CONFLUENCE_URL is set")
		}
	case "datacenter":
		if c.Confluence.URL != "" && (c.Confluence.APIToken == "" || c.Confluence.SpaceID == "") {
			p.add("CONFLUENCE_API_TOKEN (a personal access token) and CONFLUENCE_SPACE_ID (the space key): required when CONFLUENCE_URL is set")
		}
	default:
		p.add("CONFLUENCE_FLAVOR: %q is not cloud or datacenter", c.Confluence.Flavor)
	}
	if c.GitHub.PostmortemMode != "pr" && c.GitHub.PostmortemMode != "issue" {
		p.add("GITHUB_POSTMORTEM_MODE: %q is not pr or issue", c.GitHub.PostmortemMode)
	}
	if c.GitHub.PostmortemRepo != "" && (!strings.Contains(c.GitHub.PostmortemRepo, "/") || c.GitHub.Token == "") {
		p.add("GITHUB_POSTMORTEM_REPO: needs owner/name and GITHUB_TOKEN")
	}
	if (c.Unleash.APIURL == "") != (c.Unleash.Token == "") {
		p.add("UNLEASH_TOKEN and UNLEASH_API_URL: set both to roll back Unleash flags, or neither")
	}
	if c.PagerDuty.FromEmail != "" && !emailAddress(c.PagerDuty.FromEmail) {
		p.add("PAGERDUTY_FROM_EMAIL: %q is not an e-mail address; it must be the bare address of a PagerDuty user, such as oncall-bot@example.com",
			c.PagerDuty.FromEmail)
	}
}

// validate checks Sign in with Slack's settings when it is enabled;
// publicURL is the web view's address.
func (w WebConfig) validate(p *problems, publicURL string) {
	// Ids of the wrong shape never match anyone, whether the web view
	// is on yet or not.
	for _, a := range w.Admins {
		if !slackUserID.MatchString(a) {
			p.add("WEB_ADMINS: %q is not a Slack user id such as U012ABCDEF (the member id from the profile's ⋮ menu)", a)
		}
	}
	if w.TeamID != "" && !slackTeamID.MatchString(w.TeamID) {
		p.add("SLACK_TEAM_ID: %q is not a Slack workspace id such as T012ABCDEF (an Enterprise Grid organisation's E... id is not one: "+
			"sign-in is checked against the workspace)", w.TeamID)
	}
	if !w.Enabled() {
		// Half of the pair would otherwise leave the web view off
		// without a word.
		if w.ClientSecret != "" {
			p.add("SLACK_CLIENT_ID: required with SLACK_CLIENT_SECRET for the web view's Sign in with Slack; the client id from the Slack app's Basic Information page " +
				"(or leave SLACK_CLIENT_SECRET unset to run without the web view)")
		}
		return
	}
	if w.ClientSecret == "" {
		p.add("SLACK_CLIENT_SECRET: required with SLACK_CLIENT_ID for Sign in with Slack; the client secret from the Slack app's Basic Information page")
	}
	if publicURL == "" {
		p.add("PUBLIC_URL: required with SLACK_CLIENT_ID; the web view's address, whose /auth/callback is the app's redirect URL")
	} else if u, err := url.Parse(publicURL); err == nil && u.Host != "" {
		if err := web.RootURL(publicURL); err != nil {
			p.add("PUBLIC_URL: %q %v", publicURL, err)
		}
	}
	if w.SessionTTL < 5*time.Minute || w.SessionTTL > 30*24*time.Hour {
		p.add("WEB_SESSION_TTL: %s is outside 5m to 720h", w.SessionTTL)
	}
}

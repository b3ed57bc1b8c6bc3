package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(envOf(map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1",
	}))
	require.NoError(t, err)
	require.Equal(t, "socket", cfg.Slack.Mode, "an app token selects Socket Mode")
	require.Equal(t, ":8080", cfg.HTTPAddr)
	require.Empty(t, cfg.DatabaseURL)
	require.Equal(t, "firebreak.db", cfg.SQLitePath)
	require.Equal(t, "https://slack.com/api/", cfg.Slack.APIURL)
	require.Equal(t, "https://api.pagerduty.com", cfg.PagerDuty.APIURL)
	require.Equal(t, "https://api.github.com/", cfg.GitHub.APIURL)
	require.Equal(t, "/incident", cfg.Slack.Command)
	require.Equal(t, 25*time.Second, cfg.ShutdownTimeout)
	require.False(t, cfg.Web.Enabled(), "the web view is off without a client id")
	require.Equal(t, 12*time.Hour, cfg.Web.SessionTTL)
	require.Equal(t, "https://slack.com/openid/connect/authorize", cfg.Web.AuthorizeURL)
}

func TestLoadConfigWeb(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(envOf(map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1",
		"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "shh", "PUBLIC_URL": "https://fb.example.com",
		"WEB_ADMINS": "U01, U02", "WEB_SESSION_TTL": "8h", "SLACK_TEAM_ID": "T01",
	}))
	require.NoError(t, err)
	require.True(t, cfg.Web.Enabled())
	require.Equal(t, []string{"U01", "U02"}, cfg.Web.Admins)
	require.Equal(t, 8*time.Hour, cfg.Web.SessionTTL)
	require.Equal(t, "T01", cfg.Web.TeamID)
	require.NotContains(t, fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), "shh", "the client secret never prints")
}

func TestLoadConfigProviderURLs(t *testing.T) {
	t.Parallel()
	cfg, err := LoadConfig(envOf(map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s",
		"SLACK_API_URL":     "https://slack-gov.com/api", // GovSlack
		"PAGERDUTY_API_URL": "https://api.eu.pagerduty.com",
		"GITHUB_API_URL":    "https://github.example.com/api/v3",
	}))
	require.NoError(t, err)
	require.Equal(t, "http", cfg.Slack.Mode, "no app token selects HTTP mode")
	require.Equal(t, "https://slack-gov.com/api/", cfg.Slack.APIURL, "a trailing slash is added for slack-go")
	require.Equal(t, "https://api.eu.pagerduty.com", cfg.PagerDuty.APIURL)
	require.Equal(t, "https://github.example.com/api/v3/", cfg.GitHub.APIURL)
}

func TestLoadConfigErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no bot token", map[string]string{"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN: required"},
		{"user token", map[string]string{"SLACK_BOT_TOKEN": "xoxp-1", "SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN: must be a bot token"},
		{"http without secret", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET: required in HTTP mode"},
		// Socket Mode is the README's default: the bot token alone says the app token is the other way.
		{"bot token alone", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, "For Socket Mode instead (slack-manifest.yaml), set SLACK_APP_TOKEN"},
		{"socket without app token", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_MODE": "socket"}, "SLACK_APP_TOKEN: required in Socket Mode"},
		{"bad mode", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_MODE": "rtm"}, "SLACK_MODE"},
		{"bad addr", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "HTTP_ADDR": "8080"}, "HTTP_ADDR"},
		{"bad database", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "DATABASE_URL": "mysql://x"}, "DATABASE_URL"},
		{"bad url", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "PAGERDUTY_API_URL": "ftp://x"}, "PAGERDUTY_API_URL"},
		{"bad duration", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SHUTDOWN_TIMEOUT": "soon"}, "SHUTDOWN_TIMEOUT"},
		{"bad workers", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "JOB_WORKERS": "0"}, "JOB_WORKERS"},
		{"bad level", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"both secret forms", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_BOT_TOKEN_FILE": "/x", "SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE"},
		{"missing secret file", map[string]string{"SLACK_BOT_TOKEN_FILE": "/nonexistent/token", "SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN_FILE: cannot read /nonexistent/token"},
		{"web without secret", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_CLIENT_ID": "1.2", "PUBLIC_URL": "https://fb.example.com"}, "SLACK_CLIENT_SECRET: required"},
		{"web without public URL", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"}, "PUBLIC_URL: required with SLACK_CLIENT_ID"},
		{"web admin not a user", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "PUBLIC_URL": "https://fb.example.com", "WEB_ADMINS": "U01,alice"}, "WEB_ADMINS: \"alice\""},
		{"web session too long", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s", "PUBLIC_URL": "https://fb.example.com", "WEB_SESSION_TTL": "9000h"}, "WEB_SESSION_TTL"},
		{"confluence half set", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "CONFLUENCE_URL": "https://x.atlassian.net/wiki"}, "CONFLUENCE_EMAIL"},
		{"confluence bad flavor", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "CONFLUENCE_FLAVOR": "server"}, "CONFLUENCE_FLAVOR: \"server\" is not cloud or datacenter"},
		{"confluence data center without token", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "CONFLUENCE_FLAVOR": "datacenter",
			"CONFLUENCE_URL": "https://wiki.example.com/confluence", "CONFLUENCE_SPACE_ID": "ENG"}, "CONFLUENCE_API_TOKEN (a personal access token)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadConfig(envOf(tt.env))
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(path, []byte("xoxb-very-secret\n"), 0o600))
	cfg, err := LoadConfig(envOf(map[string]string{
		"SLACK_BOT_TOKEN_FILE": path, "SLACK_APP_TOKEN": "xapp-also-secret", "SLACK_SIGNING_SECRET": "sign-secret",
	}))
	require.NoError(t, err)
	require.Equal(t, "xoxb-very-secret", cfg.Slack.BotToken.Reveal(), "the _FILE variant is read and its newline trimmed")
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := strings.ToLower(sprintf(format, cfg))
		require.NotContains(t, out, "very-secret")
		require.NotContains(t, out, "also-secret")
		require.NotContains(t, out, "sign-secret")
	}
}

func TestLoadPolicy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(good, []byte(`
timezone: Europe/Berlin
channels:
  broadcast: "#incidents"
severities:
  P1:
    respond_within: 5m
  P2:
    update_every: 20m
  P3:
    paging: oncall
  P4:
    respond_within: 90m
    target: "by the next stand-up"
services:
  checkout:
    name: Checkout
    responders: [U123, S456, alice@example.com]
    runbook: https://runbooks.example.com/checkout
    pagerduty: {service_id: PABC123}
    github: {repos: [acme/checkout], environments: [production], deploy_workflow: deploy.yml, rollback: workflow}
    flags:
      - {provider: launchdarkly, project: default, key: new-checkout, environment: production}
`), 0o600))
	p, err := LoadPolicy(good)
	require.NoError(t, err)
	require.Equal(t, "Europe/Berlin", p.Location.String())
	require.Equal(t, "#incidents", p.BroadcastChannel)
	require.Equal(t, 20*time.Minute, p.Severity(incident.P2).UpdateEvery)
	require.Equal(t, time.Hour, p.Severity(incident.P2).RespondWithin, "fields left out keep their defaults")
	require.Equal(t, incident.PageOnCall, p.Severity(incident.P3).Paging)
	require.Equal(t, "5 minutes", p.Severity(incident.P1).TargetText, "a new clock target says itself in the messages")
	require.Equal(t, "1 hour", p.Severity(incident.P2).TargetText)
	require.Equal(t, "by the next stand-up", p.Severity(incident.P4).TargetText, "unless the target's words are given")
	require.Equal(t, 10*time.Minute, p.Severity(incident.P1).UpdateEvery)
	require.Equal(t, "PABC123", p.Services["checkout"].PagerDuty.ServiceID)
	require.Equal(t, []string{"U123", "S456", "alice@example.com"}, p.Services["checkout"].Responders)

	def, err := LoadPolicy("")
	require.NoError(t, err)
	require.Equal(t, incident.PageOnCallAndBackup, def.Severity(incident.P1).Paging)
	require.Equal(t, []string{"comms", "ops", "scribe"}, def.Roles)

	bad := []struct{ yaml, want string }{
		{"severities:\n  P5: {label: x}\n", "P5"},
		{"severities:\n  P1:\n    update_every: often\n", "severities.P1.update_every"},
		{"severities:\n  P1:\n    paging: everyone\n", "paging"},
		{"timezone: Mars/Olympus\n", "timezone"},
		{"servics: {}\n", "line 1"},
		{"services:\n  api:\n    github: {rollback: revert}\n", "services.api.github.rollback"},
		{"nags:\n  snooze: forever\n", "nags.snooze"},
		{"rollback:\n  two_person: [P9]\n", "rollback.two_person"},
		{"rollback:\n  two_person: {production: [P0]}\n", "rollback.two_person.production"},
		{"rollback:\n  two_person: P1\n", "rollback.two_person"},
		{"private_incidents: {pages: everything}\n", "private_incidents.pages"},
		{"channels: {broadcast: C1, private_broadcast: C1}\n", "channels.private_broadcast"},
		{"permissions: {rollback: [S1]}\n", "line 1"},
		{"permissions: {takeover_after: 10s}\n", "permissions.takeover_after"},
		{"permissions: {export: [not-an-id]}\n", "permissions.export"},
		{"paging: {repage_cooldown: soon}\n", "paging.repage_cooldown"},
	}
	for _, b := range bad {
		path := filepath.Join(dir, "bad.yaml")
		require.NoError(t, os.WriteFile(path, []byte(b.yaml), 0o600))
		_, err := LoadPolicy(path)
		require.Error(t, err, b.yaml)
		require.Contains(t, err.Error(), b.want)
		require.Contains(t, err.Error(), "POLICY_FILE", "the error names the setting")
	}
}

func TestLoadPolicyPermissions(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
channels: {broadcast: "#incidents", private_broadcast: "#incidents-private"}
commander_group: S0ICS
permissions:
  declare: [S0ONCALL, lead@example.com]
  export: [S0POSTMORTEMS, U0WRITER]
  takeover_after: 20m
paging:
  repage_cooldown: 10m
services:
  checkout:
    owners: [S0CHECKOUT]
environments:
  production:
    owners: [S0SRE]
rollback:
  group: S0RELEASE
  two_person:
    production: [P1, P2, P3, P4]
    "*": [P1]
private_incidents: {pages: full}
`), 0o600))
	p, err := LoadPolicy(path)
	require.NoError(t, err)
	require.Equal(t, []string{"S0ONCALL", "lead@example.com"}, p.Declarers)
	require.Equal(t, []string{"S0POSTMORTEMS", "U0WRITER"}, p.Exporters)
	require.Equal(t, 20*time.Minute, p.TakeoverAfter)
	require.Equal(t, 10*time.Minute, p.RepageCooldown)
	require.Empty(t, p.Warnings(), "a commander group is set")
	require.Equal(t, []string{"S0CHECKOUT"}, p.Services["checkout"].Owners)
	require.Equal(t, []string{"S0SRE"}, p.Environments["production"].Owners)
	require.True(t, p.TwoPersonFor("production", incident.P4))
	require.True(t, p.TwoPersonFor("staging", incident.P1))
	require.False(t, p.TwoPersonFor("staging", incident.P2))
	require.Equal(t, "#incidents-private", p.PrivateBroadcastChannel)
	require.Equal(t, incident.DiscloseFull, p.PrivatePages)
	require.Equal(t, incident.DiscloseRedacted, p.PrivateExports, "redacted unless said otherwise")

	// The short form: severities that need two people in every environment.
	require.NoError(t, os.WriteFile(path, []byte("rollback: {two_person: [P1, P2]}\n"), 0o600))
	p, err = LoadPolicy(path)
	require.NoError(t, err)
	require.True(t, p.TwoPersonFor("anything", incident.P2))
	require.False(t, p.TwoPersonFor("anything", incident.P3))
}

func sprintf(format string, v any) string { return fmt.Sprintf(format, v) }

func TestExamplePolicyLoads(t *testing.T) {
	t.Parallel()
	p, err := LoadPolicy("../../docs/policy.example.yaml")
	require.NoError(t, err)
	require.Contains(t, p.Services, "checkout")
	require.Equal(t, "workflow", p.Services["checkout"].GitHub.Rollback)
	require.Zero(t, p.Severity(incident.P3).UpdateEvery)
	require.True(t, p.PauseNagsWhenMitigated)
	require.Equal(t, 30*time.Minute, p.Snooze)
	require.Equal(t, 10*time.Minute, p.Severity(incident.P1).StatusPageWithin)
	require.Equal(t, 30*time.Minute, p.Severity(incident.P1).CustomerEmailAfter)
	require.Zero(t, p.Severity(incident.P2).StatusPageWithin)
	require.Equal(t, incident.ComponentPartialOutage, p.Severity(incident.P2).ComponentStatus)
	require.Equal(t, incident.StatusPageService{Provider: "statuspage", Components: []string{"8kbf7d35c070", "vtnh60py4yd7"}}, p.Services["checkout"].StatusPage)
	require.Equal(t, 30*time.Minute, p.Comms.StaleAfter)
	require.Equal(t, []string{"S0SUPPORTLEADS"}, p.Comms.Publishers)
	require.True(t, p.Comms.Notify)
	require.Equal(t, []string{"S0POSTMORTEMS"}, p.Exporters)
	require.Equal(t, 15*time.Minute, p.TakeoverAfter)
	require.Equal(t, 5*time.Minute, p.RepageCooldown)
	require.Empty(t, p.Warnings())
}

func TestStatusPagePolicyAndConfig(t *testing.T) {
	t.Parallel()
	_, err := LoadPolicy(writePolicyFile(t, "severities:\n  P1:\n    component_status: on_fire\n"))
	require.ErrorContains(t, err, "component_status")
	_, err = LoadPolicy(writePolicyFile(t, "services:\n  api:\n    statuspage: {provider: statuscake}\n"))
	require.ErrorContains(t, err, "statuspage.provider")
	p, err := LoadPolicy(writePolicyFile(t, "severities:\n  P2:\n    status_page_within: 20m\ncomms:\n  stale_after: \"off\"\n  notify_subscribers: false\n"))
	require.NoError(t, err)
	require.Equal(t, 20*time.Minute, p.Severity(incident.P2).StatusPageWithin)
	require.Zero(t, p.Comms.StaleAfter)
	require.False(t, p.Comms.Notify)

	env := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "STATUSPAGE_API_KEY": "k"}
	_, err = LoadConfig(func(k string) string { return env[k] })
	require.ErrorContains(t, err, "STATUSPAGE_PAGE_ID")
	env["STATUSPAGE_PAGE_ID"] = "pg1"
	env["INSTATUS_PAGE_ID"] = "ip1"
	_, err = LoadConfig(func(k string) string { return env[k] })
	require.ErrorContains(t, err, "INSTATUS_API_KEY")
	env["INSTATUS_API_KEY"] = "ik"
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, "https://api.statuspage.io/v1", cfg.StatusPage.APIURL)
	require.Equal(t, "pg1", cfg.StatusPage.PageID)
	require.Equal(t, "https://api.instatus.com", cfg.Instatus.APIURL)
}

func TestConfluenceFlavor(t *testing.T) {
	t.Parallel()
	base := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1",
		"CONFLUENCE_URL": "https://x.atlassian.net/wiki", "CONFLUENCE_EMAIL": "bot@example.com", "CONFLUENCE_API_TOKEN": "t", "CONFLUENCE_SPACE_ID": "ENG"}
	cfg, err := LoadConfig(envOf(base))
	require.NoError(t, err)
	require.Equal(t, "cloud", cfg.Confluence.Flavor, "Cloud unless told otherwise")

	dc := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "CONFLUENCE_FLAVOR": "DataCenter",
		"CONFLUENCE_URL": "https://wiki.example.com/confluence", "CONFLUENCE_API_TOKEN": "pat", "CONFLUENCE_SPACE_ID": "ENG"}
	cfg, err = LoadConfig(envOf(dc))
	require.NoError(t, err, "Data Center needs no e-mail: the personal access token names the account")
	require.Equal(t, "datacenter", cfg.Confluence.Flavor)
}

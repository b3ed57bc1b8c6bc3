package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"gopkg.in/yaml.v3"
)

// TestDockerCompose loads docker-compose.yml with the Compose spec's own
// loader (no Docker engine needed) and checks what running it depends on.
func TestDockerCompose(t *testing.T) {
	t.Parallel()
	opts, err := cli.NewProjectOptions([]string{"../../docker-compose.yml"},
		cli.WithWorkingDirectory("../.."),
		cli.WithEnv([]string{"SLACK_BOT_TOKEN=xoxb-test", "SLACK_APP_TOKEN=xapp-test"}),
		cli.WithName("firebreak"),
	)
	require.NoError(t, err)
	project, err := opts.LoadProject(context.Background())
	require.NoError(t, err)

	pg, err := project.GetService("postgres")
	require.NoError(t, err)
	require.NotNil(t, pg.HealthCheck)
	require.Contains(t, pg.HealthCheck.Test, "pg_isready -U firebreak -d firebreak")

	bot, err := project.GetService("firebreak")
	require.NoError(t, err)
	require.NotNil(t, bot.Build, "the bot is built from the Dockerfile")
	require.Equal(t, types.ServiceConditionHealthy, bot.DependsOn["postgres"].Condition, "the bot waits for a healthy database")
	require.NotNil(t, bot.HealthCheck)
	require.Equal(t, types.HealthCheckTest{"CMD", "/usr/local/bin/firebreak", "healthcheck"}, bot.HealthCheck.Test)
	require.NotNil(t, bot.Deploy)
	require.NotNil(t, bot.Deploy.Replicas)
	require.GreaterOrEqual(t, *bot.Deploy.Replicas, 2, "several replicas share the database")
	require.Equal(t, types.Duration(30*time.Second), *bot.StopGracePeriod)

	// The environment the compose file passes must be a valid configuration.
	env := map[string]string{}
	for k, v := range bot.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	require.Equal(t, "xoxb-test", env["SLACK_BOT_TOKEN"])
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Contains(t, cfg.DatabaseURL, "@postgres:5432/firebreak")
	require.Equal(t, "socket", cfg.Slack.Mode)

	// The public port is published, one host port per replica; the admin port is not.
	require.Len(t, bot.Ports, 1)
	require.Equal(t, uint32(8080), bot.Ports[0].Target)
	require.Equal(t, "8080-8081", bot.Ports[0].Published)
	require.Equal(t, ":9090", cfg.AdminAddr)
	// No policy unless POLICY_PATH names one: the example's placeholder services, responders and drills
	// would act in a real workspace.
	require.Empty(t, cfg.PolicyFile, "the built-in defaults")
	require.Len(t, bot.Volumes, 1)
	require.True(t, bot.Volumes[0].ReadOnly)
	// PostgreSQL takes the connections of more replicas than the file runs (41 each: two pools of 20 and
	// the job engine's listener).
	require.Contains(t, strings.Join(pg.Command, " "), "max_connections=200")
	require.GreaterOrEqual(t, 200, 41*(*bot.Deploy.Replicas+2))

	// With POLICY_PATH, that file is mounted where POLICY_FILE names, and loads.
	opts, err = cli.NewProjectOptions([]string{"../../docker-compose.yml"},
		cli.WithWorkingDirectory("../.."),
		cli.WithEnv([]string{"SLACK_BOT_TOKEN=xoxb-test", "SLACK_APP_TOKEN=xapp-test", "POLICY_PATH=./docs/policy.example.yaml"}),
		cli.WithName("firebreak"),
	)
	require.NoError(t, err)
	withPolicy, err := opts.LoadProject(context.Background())
	require.NoError(t, err)
	bot, err = withPolicy.GetService("firebreak")
	require.NoError(t, err)
	require.Equal(t, "/etc/firebreak/policy.yaml", *bot.Environment["POLICY_FILE"])
	require.Len(t, bot.Volumes, 1)
	require.Equal(t, "/etc/firebreak/policy.yaml", bot.Volumes[0].Target)
	require.Equal(t, "policy.example.yaml", filepath.Base(bot.Volumes[0].Source))
	_, err = LoadPolicy(bot.Volumes[0].Source)
	require.NoError(t, err)

	// .env.example names every variable the compose file takes from the environment.
	example, err := os.ReadFile("../../.env.example")
	require.NoError(t, err)
	for _, name := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "PUBLIC_URL", "PAGERDUTY_TOKEN", "GITHUB_TOKEN", "POLICY_PATH", "FIREBREAK_PORTS"} {
		require.Contains(t, string(example), name+"=", name)
	}

	// Without the Slack token the file refuses to start.
	opts, err = cli.NewProjectOptions([]string{"../../docker-compose.yml"}, cli.WithWorkingDirectory("../.."), cli.WithEnv(nil), cli.WithName("firebreak"))
	require.NoError(t, err)
	_, err = opts.LoadProject(context.Background())
	require.ErrorContains(t, err, "SLACK_BOT_TOKEN")
}

// TestDockerComposeTakesEverySettingFromDotEnv follows the compose file's
// instructions (cp .env.example .env, fill it in, docker compose up): a
// setting from the README's table written in .env reaches the bot, not only
// the few the compose file names.
func TestDockerComposeTakesEverySettingFromDotEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	compose, err := os.ReadFile("../../docker-compose.yml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "docker-compose.yml"), compose, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte(strings.Join([]string{
		"SLACK_BOT_TOKEN=xoxb-test", "SLACK_APP_TOKEN=xapp-test",
		"STATUSPAGE_API_KEY=sp-key", "STATUSPAGE_PAGE_ID=sp-page",
		"ALERTMANAGER_WEBHOOK_TOKEN=am-token", "LAUNCHDARKLY_WEBHOOK_SECRET=ld-secret",
		"SLACK_CLIENT_ID=123.456", "SLACK_CLIENT_SECRET=client-secret", "PUBLIC_URL=https://firebreak.example.com",
		"GITHUB_POSTMORTEM_REPO=acme/postmortems", "GITHUB_TOKEN=ghp_test",
		"", // the compose file's own settings win over .env
		"DATABASE_URL=postgres://elsewhere:5432/other",
	}, "\n")), 0o600))
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "docker-compose.yml")},
		cli.WithWorkingDirectory(dir), cli.WithEnv(nil), cli.WithEnvFiles(), cli.WithDotEnv, cli.WithName("firebreak"))
	require.NoError(t, err)
	project, err := opts.LoadProject(context.Background())
	require.NoError(t, err)
	svc, err := project.GetService("firebreak")
	require.NoError(t, err)
	env := map[string]string{}
	for k, v := range svc.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, "sp-key", cfg.StatusPage.APIKey.Reveal())
	require.Equal(t, "sp-page", cfg.StatusPage.PageID)
	require.Equal(t, "am-token", cfg.Alerts.AlertmanagerToken.Reveal())
	require.Equal(t, "ld-secret", cfg.LD.WebhookSecret.Reveal())
	require.True(t, cfg.Web.Enabled(), "SLACK_CLIENT_ID from .env turns on the web view")
	require.Equal(t, "acme/postmortems", cfg.GitHub.PostmortemRepo)
	require.Contains(t, cfg.DatabaseURL, "@postgres:5432/firebreak", "the compose file's database is kept")
}

// TestSlackManifestsFitSlacksSchema checks both shipped manifests against
// the lengths Slack's manifest schema allows (slackapi/manifest-schema,
// manifest.schema.1.0.0.json): Slack refuses a manifest past one of them
// when the app is created from it.
func TestSlackManifestsFitSlacksSchema(t *testing.T) {
	t.Parallel()
	type text struct {
		what     string
		value    string
		min, max int
	}
	for _, path := range []string{"../../slack-manifest.yaml", "../../slack-manifest.http.yaml"} {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		var m struct {
			Display struct {
				Name            string `yaml:"name"`
				Description     string `yaml:"description"`
				LongDescription string `yaml:"long_description"`
				Color           string `yaml:"background_color"`
			} `yaml:"display_information"`
			Features struct {
				BotUser struct {
					DisplayName string `yaml:"display_name"`
				} `yaml:"bot_user"`
				SlashCommands []struct {
					Command     string `yaml:"command"`
					Description string `yaml:"description"`
					UsageHint   string `yaml:"usage_hint"`
				} `yaml:"slash_commands"`
				Shortcuts []struct {
					Name        string `yaml:"name"`
					CallbackID  string `yaml:"callback_id"`
					Description string `yaml:"description"`
				} `yaml:"shortcuts"`
			} `yaml:"features"`
			OAuth struct {
				Scopes struct {
					Bot  []string `yaml:"bot"`
					User []string `yaml:"user"`
				} `yaml:"scopes"`
			} `yaml:"oauth_config"`
		}
		require.NoError(t, yaml.Unmarshal(b, &m))
		texts := []text{
			{"display_information.name", m.Display.Name, 1, 35},
			{"display_information.description", m.Display.Description, 1, 140},
			{"features.bot_user.display_name", m.Features.BotUser.DisplayName, 1, 80},
		}
		if m.Display.LongDescription != "" {
			texts = append(texts, text{"display_information.long_description", m.Display.LongDescription, 175, 4000})
		}
		if m.Display.Color != "" {
			require.Regexp(t, `^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$`, m.Display.Color, path)
		}
		for _, c := range m.Features.SlashCommands {
			texts = append(texts, text{"slash_commands[].command", c.Command, 2, 32}, text{"slash_commands[].description", c.Description, 1, 2000},
				text{"slash_commands[].usage_hint", c.UsageHint, 1, 1000})
		}
		require.LessOrEqual(t, len(m.Features.Shortcuts), 10, path)
		for _, s := range m.Features.Shortcuts {
			texts = append(texts, text{"shortcuts[].name", s.Name, 1, 24}, text{"shortcuts[].callback_id", s.CallbackID, 1, 255},
				text{"shortcuts[].description", s.Description, 1, 150})
		}
		for _, scope := range append(m.OAuth.Scopes.Bot, m.OAuth.Scopes.User...) {
			texts = append(texts, text{"oauth_config.scopes", scope, 1, 50})
		}
		for _, tx := range texts {
			n := utf8.RuneCountInString(tx.value)
			require.True(t, n >= tx.min && n <= tx.max, "%s: %s is %d characters (%q); Slack takes %d to %d", path, tx.what, n, tx.value, tx.min, tx.max)
		}
	}
}

// TestSlackManifests checks that both shipped manifests ask for every scope
// and event the bot uses, and differ only in the transport.
func TestSlackManifests(t *testing.T) {
	t.Parallel()
	type manifest struct {
		Features struct {
			SlashCommands []struct {
				Command      string `yaml:"command"`
				URL          string `yaml:"url"`
				ShouldEscape bool   `yaml:"should_escape"`
			} `yaml:"slash_commands"`
			Shortcuts []struct {
				Name       string `yaml:"name"`
				Type       string `yaml:"type"`
				CallbackID string `yaml:"callback_id"`
			} `yaml:"shortcuts"`
		} `yaml:"features"`
		OAuth struct {
			RedirectURLs []string `yaml:"redirect_urls"`
			Scopes       struct {
				Bot  []string `yaml:"bot"`
				User []string `yaml:"user"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				RequestURL string   `yaml:"request_url"`
				BotEvents  []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				IsEnabled  bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			} `yaml:"interactivity"`
			SocketMode bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	load := func(path string) manifest {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		var m manifest
		require.NoError(t, yaml.Unmarshal(b, &m))
		return m
	}
	socket, http := load("../../slack-manifest.yaml"), load("../../slack-manifest.http.yaml")

	events := []string{"message.channels", "message.groups", "pin_added", "pin_removed", "reaction_added", "reaction_removed"}
	for name, m := range map[string]manifest{"socket": socket, "http": http} {
		require.ElementsMatch(t, []string{"openid", "profile", "email"}, m.OAuth.Scopes.User, "%s: Sign in with Slack for the web view", name)
		require.Equal(t, []string{"https://firebreak.example.com/auth/callback"}, m.OAuth.RedirectURLs, "%s: the web view's callback", name)
		require.Subset(t, m.Settings.Events.BotEvents, events, name)
		// Exactly the scopes the code uses: a scope the bot never needs is
		// one more thing to justify on the consent screen.
		require.ElementsMatch(t, requiredScopes(t, m.Settings.Events.BotEvents), m.OAuth.Scopes.Bot, "%s: bot scopes", name)
		require.True(t, m.Settings.Interactivity.IsEnabled, name)
		require.Len(t, m.Features.SlashCommands, 1, name)
		require.Equal(t, "/incident", m.Features.SlashCommands[0].Command, name)
		require.True(t, m.Features.SlashCommands[0].ShouldEscape, "%s: mentions must arrive as user ids", name)
		require.Len(t, m.Features.Shortcuts, 1, name)
		require.Equal(t, "message", m.Features.Shortcuts[0].Type, name)
		require.Equal(t, bot.ShortcutDeclareFromMessage, m.Features.Shortcuts[0].CallbackID, "%s: the shortcut the bot answers", name)
		require.Equal(t, "Declare incident", m.Features.Shortcuts[0].Name, name)
	}
	require.True(t, socket.Settings.SocketMode)
	require.Empty(t, socket.Settings.Events.RequestURL)
	require.False(t, http.Settings.SocketMode)
	require.Equal(t, "https://firebreak.example.com/slack/events", http.Settings.Events.RequestURL)
	require.Equal(t, "https://firebreak.example.com/slack/interactions", http.Settings.Interactivity.RequestURL)
	require.Equal(t, "https://firebreak.example.com/slack/commands", http.Features.SlashCommands[0].URL)
	require.Equal(t, socket.OAuth.Scopes.Bot, http.OAuth.Scopes.Bot, "both variants need the same scopes")
}

// TestDockerfileDataDirectoryBelongsToTheUser checks that the image can
// create its embedded SQLite file: the directory SQLITE_PATH names must be
// given to the image's user, since WORKDIR creates a missing directory
// owned by root whatever USER says, and the nonroot user cannot write there.
func TestDockerfileDataDirectoryBelongsToTheUser(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../Dockerfile")
	require.NoError(t, err)
	lines := strings.Split(string(b), "\n")
	// The final stage: from its FROM to the end.
	final := 0
	for i, l := range lines {
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(l)), "FROM ") {
			final = i
		}
	}
	var user, dataDir string
	var chowned []string
	for _, l := range lines[final:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "USER":
			user = strings.Split(f[1], ":")[0]
		case "ENV":
			for _, kv := range f[1:] {
				if v, ok := strings.CutPrefix(kv, "SQLITE_PATH="); ok {
					dataDir = filepath.Dir(v)
				}
			}
		case "COPY":
			for _, a := range f[1:] {
				if owner, ok := strings.CutPrefix(a, "--chown="); ok {
					chowned = append(chowned, strings.Split(owner, ":")[0]+" "+f[len(f)-1])
				}
			}
		}
	}
	require.Equal(t, "nonroot", user)
	require.Equal(t, "/data", dataDir)
	require.True(t, slices.Contains(chowned, "65532 "+dataDir) || slices.Contains(chowned, user+" "+dataDir),
		"%s, where SQLite writes, must be copied in with --chown=%s; WORKDIR alone leaves it to root", dataDir, user)
}

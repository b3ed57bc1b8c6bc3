package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSettingsThatCannotWorkAreRefused: a setting whose value can never
// work (a Slack id of the wrong shape, an e-mail that is not one, half of
// a pair) fails the configuration, naming the setting, whether or not the
// feature it belongs to is otherwise on; well-formed ones pass.
func TestSettingsThatCannotWorkAreRefused(t *testing.T) {
	t.Parallel()
	base := func(kv ...string) map[string]string {
		env := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}
		for i := 0; i+1 < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	tests := []struct {
		name string
		env  map[string]string
		want string // "" for a configuration that passes
	}{
		{"web admin a name, web view off", base("WEB_ADMINS", "alice"), `WEB_ADMINS: "alice" is not a Slack user id`},
		{"web admin a lower-case id", base("WEB_ADMINS", "U01ABC,uxyz"), `WEB_ADMINS: "uxyz" is not a Slack user id`},
		{"web admin a U with no id", base("WEB_ADMINS", "Ualice"), `WEB_ADMINS: "Ualice" is not a Slack user id`},
		{"web admins ids", base("WEB_ADMINS", "U012ABCDEF, W012ABCDEF"), ""},
		{"team id not one", base("SLACK_TEAM_ID", "xyz"), `SLACK_TEAM_ID: "xyz" is not a Slack workspace id`},
		{"team id an organisation", base("SLACK_TEAM_ID", "E012ABCDEF"), `SLACK_TEAM_ID: "E012ABCDEF" is not a Slack workspace id`},
		{"team id", base("SLACK_TEAM_ID", "T012ABCDEF"), ""},
		{"pagerduty from not an e-mail", base("PAGERDUTY_FROM_EMAIL", "notanemail"), `PAGERDUTY_FROM_EMAIL: "notanemail" is not an e-mail address`},
		{"pagerduty from with a name", base("PAGERDUTY_FROM_EMAIL", "Bot <bot@example.com>"), `PAGERDUTY_FROM_EMAIL: "Bot <bot@example.com>" is not an e-mail address`},
		{"pagerduty from", base("PAGERDUTY_FROM_EMAIL", "oncall-bot@example.com"), ""},
		{"unleash token without URL", base("UNLEASH_TOKEN", "tok"), "UNLEASH_TOKEN and UNLEASH_API_URL: set both"},
		{"unleash URL without token", base("UNLEASH_API_URL", "https://unleash.example.com/api"), "UNLEASH_TOKEN and UNLEASH_API_URL: set both"},
		{"unleash both", base("UNLEASH_API_URL", "https://unleash.example.com/api", "UNLEASH_TOKEN", "tok"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadConfig(envOf(tt.env))
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestCheckFailsASettingThatCannotWork: firebreak check reports the
// setting, and fails.
func TestCheckFailsASettingThatCannotWork(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"check"}, envOf(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1",
		"WEB_ADMINS": "alice", "SLACK_TEAM_ID": "xyz", "PAGERDUTY_FROM_EMAIL": "notanemail", "UNLEASH_TOKEN": "tok"}), &out, &out)
	require.Error(t, err)
	for _, s := range []string{"WEB_ADMINS", "SLACK_TEAM_ID", "PAGERDUTY_FROM_EMAIL", "UNLEASH_TOKEN and UNLEASH_API_URL"} {
		require.Contains(t, out.String(), s)
	}
}

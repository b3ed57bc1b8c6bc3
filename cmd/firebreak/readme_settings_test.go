package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestWrongSigningSecretIsNamedInTheLog: HTTP mode with a signing secret
// that is not the app's (its verification token or client secret pasted
// instead): every Slack request is refused, and Slack's check of the
// manifest's request URLs fails. The log says that the signatures do not
// match SLACK_SIGNING_SECRET and where the right one is, not only "invalid
// signature", which reads like an attack.
func TestWrongSigningSecretIsNamedInTheLog(t *testing.T) {
	t.Parallel()
	b := startBot(t, botOptions{mode: "http"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := b.driver.SlashCommand(ctx, b.base+"/slack/commands",
		slack.SlashCommand{Command: "/incident", Text: "help", UserID: "U0ALICE", ChannelID: "C0GENERAL"}, slackfake.WrongSecret())
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	var line string
	for l := range strings.Lines(b.logs.String()) {
		if strings.Contains(l, "rejected Slack request") {
			line = l
		}
	}
	require.Contains(t, line, "SLACK_SIGNING_SECRET")
	require.Contains(t, line, `"level":"ERROR"`)
	require.Contains(t, line, "Basic Information → App Credentials")
}

// TestClientSecretWithoutClientIDIsReported: the README says setting
// SLACK_CLIENT_ID and SLACK_CLIENT_SECRET turns the web view on, and that a
// bad setting stops the program naming the variable. Half of the pair (the
// secret, PUBLIC_URL) with the id forgotten is refused naming the id, as the
// id without the secret is refused naming the secret.
func TestClientSecretWithoutClientIDIsReported(t *testing.T) {
	t.Parallel()
	base := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "PUBLIC_URL": "https://firebreak.example.com"}
	with := func(k, v string) map[string]string {
		env := map[string]string{k: v}
		for k, v := range base {
			env[k] = v
		}
		return env
	}
	_, err := LoadConfig(envOf(with("SLACK_CLIENT_SECRET", "s3cret")))
	require.Error(t, err, "SLACK_CLIENT_SECRET without SLACK_CLIENT_ID")
	require.Contains(t, err.Error(), "SLACK_CLIENT_ID: required with SLACK_CLIENT_SECRET")
	require.NotContains(t, err.Error(), "s3cret")

	_, err = LoadConfig(envOf(with("SLACK_CLIENT_ID", "123.456")))
	require.Error(t, err, "SLACK_CLIENT_ID without SLACK_CLIENT_SECRET")
	require.Contains(t, err.Error(), "SLACK_CLIENT_SECRET: required with SLACK_CLIENT_ID")

	env := with("SLACK_CLIENT_ID", "123.456")
	env["SLACK_CLIENT_SECRET"] = "s3cret"
	cfg, err := LoadConfig(envOf(env))
	require.NoError(t, err)
	require.True(t, cfg.Web.Enabled())
}

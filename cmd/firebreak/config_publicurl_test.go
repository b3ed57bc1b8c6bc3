package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The web view's routes, redirects and cookies are at the root of its
// host, and Sign in with Slack's callback is PUBLIC_URL + /auth/callback: an
// address with a path would send people where nothing answers, so it is
// refused at start, naming PUBLIC_URL. A trailing slash is the root.
func TestPublicURLWithAPathIsRefused(t *testing.T) {
	t.Parallel()
	web := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"}
	with := func(public string) map[string]string {
		env := map[string]string{"PUBLIC_URL": public}
		for k, v := range web {
			env[k] = v
		}
		return env
	}
	for _, public := range []string{"https://tools.example.com/firebreak", "https://tools.example.com/firebreak/", "https://fb.example.com/?team=x",
		"https://fb.example.com#", "https://fb.example.com/#", "https://admin:secret@fb.example.com"} {
		_, err := LoadConfig(envOf(with(public)))
		require.Error(t, err, public)
		require.Contains(t, err.Error(), `PUBLIC_URL: "`+public+`"`)
	}
	_, err := LoadConfig(envOf(with("https://tools.example.com/firebreak")))
	require.ErrorContains(t, err, "has a path (/firebreak)")
	for _, public := range []string{"https://fb.example.com", "https://fb.example.com/", "http://127.0.0.1:8080"} {
		_, err := LoadConfig(envOf(with(public)))
		require.NoError(t, err, public)
	}
}

package bot

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// signedTransport serves tr's handler over HTTP with its log in logs.
func signedTransport(t *testing.T) (*transport, *syncBuffer, string) {
	t.Helper()
	tr := newTransport(t)
	logs := &syncBuffer{}
	tr.h.log = slog.New(slog.NewTextHandler(logs, nil))
	r := chi.NewRouter()
	tr.h.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return tr, logs, srv.URL
}

func sendCommand(t *testing.T, tr *transport, base string, opts ...slackfake.RequestOption) int {
	t.Helper()
	r, err := tr.driver.SlashCommand(context.Background(), base+"/slack/commands",
		slack.SlashCommand{Command: "/incident", Text: "help", UserID: tr.ic.ID, ChannelID: tr.inc.ChannelID}, opts...)
	require.NoError(t, err)
	return r.StatusCode
}

func countLines(logs, s string) int {
	n := 0
	for line := range strings.Lines(logs) {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// TestWrongSigningSecretNamesTheSetting: HTTP mode with a signing secret
// that is not the app's (its client secret or verification token pasted
// instead): every Slack request is refused. While no request has passed
// the check since the start, the first whose signature does not match says
// once, as an error, that signatures do not match SLACK_SIGNING_SECRET and
// where the right value is; the rejections go on being logged in a bounded
// number of lines, each counting those left out.
func TestWrongSigningSecretNamesTheSetting(t *testing.T) {
	tr, logs, base := signedTransport(t)
	for range 5 {
		require.Equal(t, http.StatusUnauthorized, sendCommand(t, tr, base, slackfake.WrongSecret()))
	}
	line := logLine(t, logs.String(), "SLACK_SIGNING_SECRET")
	require.Contains(t, line, "level=ERROR")
	require.Contains(t, line, "Basic Information → App Credentials")
	require.Contains(t, line, "Signing Secret")
	require.Equal(t, 1, countLines(logs.String(), "SLACK_SIGNING_SECRET"), "said once")
	require.Equal(t, 1, countLines(logs.String(), "rejected Slack request"), "the others are left out for now")

	tr.clock.Advance(rejectionLogEvery)
	require.Equal(t, http.StatusUnauthorized, sendCommand(t, tr, base, slackfake.WrongSecret()))
	line = logLine(t, logs.String(), "level=WARN")
	require.Contains(t, line, "rejected Slack request")
	require.Contains(t, line, "not_logged_since_the_last=4")
	require.Equal(t, 1, countLines(logs.String(), "SLACK_SIGNING_SECRET"), "still said once")
}

// TestSigningSecretMismatchAfterARequestPassedIsNotBlamedOnTheSetting: once
// a request has passed the check, the secret is the app's: a later request
// with a signature that does not match is someone else's, logged as a
// rejection only. A request without Slack's headers (a scanner) never
// blames the setting either.
func TestSigningSecretMismatchAfterARequestPassedIsNotBlamedOnTheSetting(t *testing.T) {
	tr, logs, base := signedTransport(t)
	require.Equal(t, http.StatusUnauthorized, sendCommand(t, tr, base, slackfake.Unsigned()))
	require.Equal(t, http.StatusOK, sendCommand(t, tr, base))
	tr.clock.Advance(time.Minute)
	require.Equal(t, http.StatusUnauthorized, sendCommand(t, tr, base, slackfake.WrongSecret()))
	require.NotContains(t, logs.String(), "SLACK_SIGNING_SECRET")
	require.Equal(t, 2, countLines(logs.String(), "level=WARN msg=\"rejected Slack request\""), logs.String())
}

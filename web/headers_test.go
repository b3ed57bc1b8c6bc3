package web_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/metrics"
	"github.com/firebreakhq/firebreak/web"
)

// TestHTTPSAnswersAskForHTTPSOnly: with an https public URL, the pages,
// the sign-in and the API tell the browser to use https only from then on
// (Strict-Transport-Security for at least a year), so a later visit typed
// as http:// or a downgraded link cannot carry the session cookie's
// sign-in in the clear. API answers are nosniff like the pages.
func TestHTTPSAnswersAskForHTTPSOnly(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ts := httptest.NewTLSServer(nil)
	t.Cleanup(ts.Close)
	api := slack.New(f.slack.BotToken(), slack.OptionAPIURL(f.slack.URL()))
	w, err := web.New(web.Config{Reader: f.store, Incidents: f.svc, Access: f.access, Metrics: metrics.NewService(f.store, incident.DefaultPolicy(), f.clock),
		Slack: api, SlackAPIURL: f.slack.URL(), AuthorizeURL: f.slack.BaseURL() + "/openid/connect/authorize",
		ClientID: slackfake.DefaultClientID, ClientSecret: slackfake.DefaultClientSecret, PublicURL: ts.URL, Clock: f.clock})
	require.NoError(t, err)
	ts.Config.Handler = w.Handler()
	client := ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, path := range []string{"/login", "/auth/start", "/incidents", "/static/style.css", "/api/v1/incidents", "/api/v1/openapi.json"} {
		resp, err := client.Get(ts.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		hsts := resp.Header.Get("Strict-Transport-Security")
		age, ok := strings.CutPrefix(hsts, "max-age=")
		require.True(t, ok, "%s: Strict-Transport-Security %q", path, hsts)
		secs, err := strconv.Atoi(strings.SplitN(age, ";", 2)[0])
		require.NoError(t, err, path)
		require.GreaterOrEqual(t, secs, 365*24*3600, path)
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), path)
	}

	// Over plain http (a development set-up) there is nothing to pin.
	resp, _ := f.browser().get("/login")
	require.Empty(t, resp.Header.Get("Strict-Transport-Security"))
}

package bot

import (
	"bytes"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestAppRateLimitedIsReported: Slack's app_rate_limited says events past
// 30,000 an hour for a workspace are not being delivered. It is
// acknowledged, and an operator is told, with the minute it began.
func TestAppRateLimitedIsReported(t *testing.T) {
	tr := newTransport(t)
	var logs bytes.Buffer
	tr.h.log = slog.New(slog.NewTextHandler(&logs, nil))
	body := []byte(`{"token":"` + slackfake.VerificationToken + `","type":"app_rate_limited","team_id":"T0FAKE","minute_rate_limited":1518467820,"api_app_id":"A0FAKE"}`)
	req, err := http.NewRequest(http.MethodPost, tr.base+"/slack/events", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	tr.driver.Sign(req.Header, body)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, logs.String(), "level=WARN")
	require.Contains(t, logs.String(), "app_rate_limited")
	require.Contains(t, logs.String(), "minute_rate_limited=1518467820")
}

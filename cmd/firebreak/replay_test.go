package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// replayRead is long enough for a replica to have written the signatures
// it accepted (within 20 ms) and for every other to have read them (every
// second), with room for a loaded machine.
const replayRead = 3 * time.Second

// signedCommand returns a signed `/incident help` and a function that sends
// exactly that request to a bot, returning the status.
func signedCommand(t *testing.T, driver *slackfake.Driver) func(b *botInstance) int {
	body := url.Values{"command": {"/incident"}, "text": {"help"}, "user_id": {"U0ALICE"}, "channel_id": {"C0GENERAL"}, "team_id": {slackfake.DefaultTeamID}}.Encode()
	h := http.Header{}
	driver.Sign(h, []byte(body))
	return func(b *botInstance) int {
		req, err := http.NewRequest(http.MethodPost, b.base+"/slack/commands", strings.NewReader(body))
		require.NoError(t, err)
		req.Header = h.Clone()
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
}

// TestReplayRefusedByOtherReplicas: with two replicas on one PostgreSQL, a
// signed request one accepted is refused by the other once it has read the
// first's record, and by a replica that starts afterwards.
func TestReplayRefusedByOtherReplicas(t *testing.T) {
	t.Parallel()
	dsn := pgtest.MigratedDSN(t)
	fake := slackfake.New(slackfake.WithChatWritePublic())
	t.Cleanup(fake.Close)
	a := startBot(t, botOptions{mode: "http", databaseURL: dsn, slack: fake})
	b := startBot(t, botOptions{mode: "http", databaseURL: dsn, slack: fake})
	send := signedCommand(t, a.driver)

	require.Equal(t, http.StatusOK, send(a))
	require.Equal(t, http.StatusUnauthorized, send(a), "the replica that accepted it refuses the replay")
	time.Sleep(replayRead)
	require.Equal(t, http.StatusUnauthorized, send(b), "the other replica refuses it too")

	c := startBot(t, botOptions{mode: "http", databaseURL: dsn, slack: fake})
	time.Sleep(replayRead)
	require.Equal(t, http.StatusUnauthorized, send(c), "a replica started afterwards refuses it")
	_, metrics := b.get("/metrics")
	require.True(t, strings.Contains(metrics, `firebreak_slack_requests_total{kind="command",outcome="replayed"} 1`),
		"the other replica counts the replay it refused")
}

// TestReplayRefusedAfterRestart: on the embedded SQLite database, the bot
// refuses after a restart a signed request it accepted before.
func TestReplayRefusedAfterRestart(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/firebreak.db"
	fake := slackfake.New(slackfake.WithChatWritePublic())
	t.Cleanup(fake.Close)
	first := startBot(t, botOptions{mode: "http", sqlitePath: path, slack: fake})
	send := signedCommand(t, first.driver)
	require.Equal(t, http.StatusOK, send(first))
	time.Sleep(replayRead) // recorded
	first.stop()

	again := startBot(t, botOptions{mode: "http", sqlitePath: path, slack: fake})
	time.Sleep(replayRead)
	require.Equal(t, http.StatusUnauthorized, send(again), "the restarted bot refuses the replay")
}

package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// serving fetches /serving from the admin listener.
func (b *botInstance) serving() (int, string) {
	b.t.Helper()
	resp, err := http.Get(b.admin + "/serving")
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	var s struct {
		Serving bool   `json:"serving"`
		Status  string `json:"status"`
	}
	require.NoError(b.t, json.Unmarshal(body, &s), string(body))
	require.Equal(b.t, resp.StatusCode == http.StatusOK, s.Serving)
	return resp.StatusCode, s.Status
}

// TestServingProbeIgnoresTheSharedDatabase: with the database down, every
// replica is as unable to reach it as the others, so taking them all out
// of service helps nobody: the readiness probe (/serving) stays 200, and
// the requests get the bot's own answer (that the database is not
// answering) instead of a load balancer's error. /readyz still reports the
// database as unavailable, for operators and alerts.
func TestServingProbeIgnoresTheSharedDatabase(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := newDBProxy(t, u.Host)
	b := startBot(t, botOptions{mode: "http", databaseURL: proxy.through(dsn)})
	code, state := b.serving()
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "serving", state)

	proxy.set(proxyCut)
	require.Eventually(t, func() bool { code, _ := b.readyz(); return code == http.StatusServiceUnavailable }, 10*time.Second, 50*time.Millisecond,
		"/readyz reports the database down")
	_, r := b.readyz()
	require.False(t, r.Checks["database"].OK)
	code, state = b.serving()
	require.Equal(t, http.StatusOK, code, "the replica stays in service")
	require.Equal(t, "serving", state)
	_, text := b.command("http", "U0ALICE", "C0GENERAL", "list")
	require.Contains(t, text, "database is not answering", "the person gets the bot's own sentence")
	proxy.set(proxyPass)
}

// TestServingProbeSaysDraining: once SIGTERM arrives, /serving answers 503
// while the running jobs finish, and the admin listener stays up for it.
func TestServingProbeSaysDraining(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(slackfake.WithChatWritePublic())
	t.Cleanup(fake.Close)
	b := startBot(t, botOptions{mode: "http", slack: fake})
	fake.SetLatency("conversations.create", 2*time.Second)
	creating := arrival(fake, "conversations.create")
	_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P2 drain the probe")
	require.Contains(t, text, "INC-1")
	await(t, creating, 10*time.Second, "the setup job to ask Slack for the channel")

	sigterm := b.cancel
	b.cancel = nil // this test waits for the exit itself
	sigterm()
	require.Eventually(t, func() bool {
		code, state := b.serving()
		return code == http.StatusServiceUnavailable && state == "draining"
	}, 2*time.Second, 20*time.Millisecond, "draining while the setup job finishes")
	select {
	case err := <-b.done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("the bot did not stop within 20s")
	}
	require.Len(t, fake.CallsTo("pins.add"), 1, "the running job finished")
}

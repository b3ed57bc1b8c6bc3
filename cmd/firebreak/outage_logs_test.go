package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// TestDatabaseOutageLogsAFewLines: with PostgreSQL refusing connections, a
// replica logs what is wrong once, and then a line a minute per message
// with how many it left out, rather than River's failed fetch every 250 ms
// and every failed job twice.
func TestDatabaseOutageLogsAFewLines(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := newDBProxy(t, u.Host)
	b := startBot(t, botOptions{mode: "http", databaseURL: proxy.through(dsn), env: map[string]string{"LOG_LEVEL": "info"}})
	_, text := b.command("http", "U0ALICE", "C0GENERAL", "list")
	require.NotEmpty(t, text)

	before := len(strings.Split(b.logs.String(), "\n"))
	proxy.set(proxyCut)
	const outage = 4 * time.Second
	time.Sleep(outage)
	lines := strings.Split(b.logs.String(), "\n")[before:]
	counts := map[string]int{}
	for _, l := range lines {
		var rec struct {
			Level     string `json:"level"`
			Msg       string `json:"msg"`
			Component string `json:"component"`
		}
		if json.Unmarshal([]byte(l), &rec) != nil || rec.Level == "DEBUG" {
			continue
		}
		t.Logf("%s %s", rec.Level, rec.Msg)
		if rec.Component == "jobs" || riverMessage(rec.Msg) {
			counts[rec.Msg]++
		}
	}
	require.NotEmpty(t, counts, "the outage is logged")
	for msg, n := range counts {
		require.LessOrEqual(t, n, 1, "%q logged %d times in %s", msg, n, outage)
	}
	proxy.set(proxyPass)
}

// riverMessage reports a message of River's own, which names its service.
func riverMessage(msg string) bool {
	for _, p := range []string{"producer:", "jobexecutor.", "maintenance.", "notifier.", "leadership.", "jobcompleter.", "Client:"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

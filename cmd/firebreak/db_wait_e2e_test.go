package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// TestServeWaitsForADatabaseThatIsNotUpYet: on a first install the bundled
// PostgreSQL may not take connections yet when the bot starts. The bot
// does not exit: it says it is waiting for the database, its admin
// listener answers /healthz all along (so the pod is not restarted), and
// once PostgreSQL listens the bot migrates and serves.
func TestServeWaitsForADatabaseThatIsNotUpYet(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	target := u.Host
	dbAddr, admin := freeAddr(t), freeAddr(t) // nothing listens on dbAddr yet: connections are refused
	u.Host = dbAddr

	type seen struct {
		healthz int
		state   string
	}
	waited := make(chan seen, 1)
	go func() {
		var last seen
		defer func() { waited <- last }()
		for range 2000 {
			r, err := http.Get("http://" + admin + "/serving")
			if err != nil {
				continue
			}
			var body struct{ Status string }
			_ = json.NewDecoder(r.Body).Decode(&body)
			r.Body.Close()
			if body.Status != "waiting for the database" {
				continue
			}
			h, err := http.Get("http://" + admin + "/healthz")
			if err != nil {
				return
			}
			h.Body.Close()
			last = seen{h.StatusCode, body.Status}
			// PostgreSQL comes up.
			ln, err := net.Listen("tcp", dbAddr)
			if err != nil {
				return
			}
			p := &dbProxy{t: t, ln: ln, target: target}
			t.Cleanup(func() { _ = ln.Close(); p.closeAll() })
			go p.serve()
			return
		}
	}()
	b := startBot(t, botOptions{mode: "http", databaseURL: u.String(), env: map[string]string{"ADMIN_ADDR": admin}})
	require.Equal(t, seen{http.StatusOK, "waiting for the database"}, <-waited, "the admin listener said so, and /healthz answered")
	require.Contains(t, b.logs.String(), "waiting for the database")
	require.Contains(t, b.logs.String(), "firebreak started", "it migrated and serves")
}

// TestServeDoesNotWaitForAWrongDatabase: a database PostgreSQL says does
// not exist will not appear by waiting: the bot exits at once with the
// error, without waiting for the database.
func TestServeDoesNotWaitForAWrongDatabase(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(pgtest.DSN(t))
	require.NoError(t, err)
	u.Path = "/firebreak_no_such_database"
	var logs syncBuffer
	env := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": testSigningSecret, "SLACK_MODE": "http",
		"HTTP_ADDR": freeAddr(t), "ADMIN_ADDR": freeAddr(t), "DATABASE_URL": u.String(), "LOG_FORMAT": "json"}
	err = run(context.Background(), []string{"serve"}, envOf(env), io.Discard, &logs)
	require.ErrorContains(t, err, "DATABASE_URL: open database")
	require.ErrorContains(t, err, "firebreak_no_such_database")
	require.NotContains(t, logs.String(), "waiting for the database")
}

package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// silentServer accepts TCP connections and never answers on them, as a
// PostgreSQL host behind a firewall that swallows traffic, or a process
// that listens but hangs, does. It counts the connections it took.
type silentServer struct {
	ln       net.Listener
	accepted atomic.Int32
	mu       sync.Mutex
	conns    []net.Conn
}

func newSilentServer(t *testing.T) *silentServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &silentServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			_ = c.Close()
		}
	})
	return s
}

// TestDatabaseWaitKeepsItsLimitAgainstAServerThatNeverAnswers: a
// PostgreSQL address that takes the connection and never answers (or drops
// it unanswered) does not hold the start beyond the wait's limit: each try
// ends on its own, the bot tries again, and gives up when the limit is
// reached, saying the database error.
func TestDatabaseWaitKeepsItsLimitAgainstAServerThatNeverAnswers(t *testing.T) {
	t.Parallel()
	s := newSilentServer(t)
	cfg := Config{DatabaseURL: "postgres://firebreak@" + s.ln.Addr().String() + "/firebreak?sslmode=disable"}
	var phases []string
	done := make(chan error, 1)
	go func() {
		db, err := openDatabaseWithin(context.Background(), cfg, 3*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)),
			func(p string) { phases = append(phases, p) })
		if db != nil {
			_ = db.Close()
		}
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the wait for the database did not end by its limit")
	}
	require.ErrorContains(t, err, "DATABASE_URL: open database")
	require.Equal(t, []string{"waiting for the database"}, phases)
	require.GreaterOrEqual(t, s.accepted.Load(), int32(2), "a try that got no answer was given up and the database tried again")
}

// serveUntilWaiting runs serve against databaseURL until its admin
// listener says it is waiting for the database, then stops it as SIGTERM
// does, and returns its logs and what serve returned. It fails the test if
// serve exits before it waits.
func serveUntilWaiting(t *testing.T, databaseURL string) (string, error) {
	t.Helper()
	admin := freeAddr(t)
	var logs syncBuffer
	env := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": testSigningSecret, "SLACK_MODE": "http",
		"HTTP_ADDR": freeAddr(t), "ADMIN_ADDR": admin, "DATABASE_URL": databaseURL, "LOG_FORMAT": "json"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, envOf(env), io.Discard, &logs) }()
	var exited bool
	var exitErr error
	require.Eventually(t, func() bool {
		select {
		case exitErr = <-done:
			exited = true
			return true
		default:
		}
		r, err := http.Get("http://" + admin + "/serving")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		var body struct{ Status string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		return body.Status == "waiting for the database"
	}, 30*time.Second, 20*time.Millisecond)
	require.False(t, exited, "serve exited without waiting for the database: %v\n%s", exitErr, logs.String())
	cancel() // SIGTERM
	select {
	case err := <-done:
		return logs.String(), err
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop on SIGTERM while waiting for the database")
		return "", nil
	}
}

// TestServeStopsCleanlyOnSIGTERMWhileWaitingForTheDatabase: a SIGTERM
// while the bot waits for PostgreSQL is a normal shutdown: serve returns
// no error (the process exits 0), not the database's last error.
func TestServeStopsCleanlyOnSIGTERMWhileWaitingForTheDatabase(t *testing.T) {
	t.Parallel()
	logs, err := serveUntilWaiting(t, "postgres://firebreak@"+freeAddr(t)+"/firebreak?sslmode=disable") // refused
	require.NoError(t, err, "a shutdown while waiting is a clean exit")
	require.Contains(t, logs, "waiting for the database")
}

// TestServeWaitsForADatabaseNameThatDoesNotResolveYet: under
// docker-compose the database container's name does not resolve until it
// has started: the bot waits for it as for a database that refuses
// connections.
func TestServeWaitsForADatabaseNameThatDoesNotResolveYet(t *testing.T) {
	t.Parallel()
	logs, err := serveUntilWaiting(t, "postgres://firebreak@firebreak-db-not-up-yet.invalid:5432/firebreak?sslmode=disable")
	require.NoError(t, err)
	require.Contains(t, logs, "no such host", "the log says why it waits")
}

package main

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// commitHold forwards PostgreSQL traffic; once armed, the COMMIT of a
// transaction that inserted an incident (a declare's) reaches the server
// and takes effect, and the server's answers are then held back for hold:
// on the connection that sent it, or (everywhere) on every connection, as
// with a database that stalls right then. Other transactions' commits (the
// job engine's, the replay records') hold nothing.
type commitHold struct {
	ln         net.Listener
	hold       time.Duration
	everywhere bool
	armed      atomic.Bool
	fired      atomic.Int32
	until      atomic.Int64 // everywhere: held until then (Unix ns)
}

func newCommitHold(t *testing.T, target string, hold time.Duration, everywhere bool) *commitHold {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &commitHold{ln: ln, hold: hold, everywhere: everywhere}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			own := &atomic.Int64{}
			if p.everywhere {
				own = &p.until
			}
			declaring := false // this connection's transaction inserted an incident
			go p.pipe(up, c, func(b []byte) {
				lower := bytes.ToLower(b)
				if p.armed.Load() && bytes.Contains(lower, []byte(`into "incidents"`)) {
					declaring = true
				}
				if p.armed.Load() && declaring && bytes.Contains(lower, []byte("commit")) {
					declaring = false
					own.Store(time.Now().Add(p.hold).UnixNano())
					p.fired.Add(1)
				}
			})
			go p.pipe(c, up, func([]byte) {
				if d := time.Until(time.Unix(0, own.Load())); d > 0 {
					time.Sleep(d)
				}
			})
		}
	}()
	return p
}

func (p *commitHold) pipe(dst, src net.Conn, each func([]byte)) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			each(buf[:n])
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// through is dsn with its host this proxy.
func (p *commitHold) through(t *testing.T, dsn string) string {
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.Host = p.ln.Addr().String()
	return u.String()
}

func storedIncidents(t *testing.T, dsn string) []*incident.Incident {
	t.Helper()
	db, err := gormstore.Open(context.Background(), dsn)
	require.NoError(t, err)
	defer db.Close()
	got, err := gormstore.New(db, incident.SystemClock).ListIncidents(context.Background(), incident.IncidentFilter{})
	require.NoError(t, err)
	return got
}

// declareWithCommitHeld starts the bot on PostgreSQL behind a commitHold
// (everywhere as newCommitHold takes it) and declares with the declare's
// COMMIT answer held for 4 s. It checks the commit was held, the answer
// came within Slack's three seconds and never says nothing was changed,
// and that the declare took effect once (its war room built); it returns
// the answer and the demo world.
func declareWithCommitHeld(t *testing.T, everywhere bool) (string, *demoWorld) {
	t.Helper()
	dsn := pgtest.DSN(t)
	hold := newCommitHold(t, hostOf(t, dsn), 4*time.Second, everywhere)
	world, cleanup, err := newDemoWorld(t.TempDir(), nopWriter{})
	require.NoError(t, err)
	t.Cleanup(cleanup)
	b := startBot(t, botOptions{mode: "http", slack: world.slack, databaseURL: hold.through(t, dsn), env: reliabilityEnv(t, world, ""), process: true})

	hold.armed.Store(true)
	start := time.Now()
	_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P1 --service=checkout Checkout fails")
	took := time.Since(start)
	hold.armed.Store(false)
	t.Logf("answered in %s: %q", took.Round(time.Millisecond), text)
	require.Positive(t, hold.fired.Load(), "the declare's commit was held")
	require.Less(t, took, 3*time.Second, "answered within Slack's three seconds")
	require.NotContains(t, text, "nothing was changed")
	require.Eventually(t, func() bool { return warRoomDone(world.slack, "Checkout fails") }, 30*time.Second, 50*time.Millisecond)
	require.Len(t, storedIncidents(t, dsn), 1)
	return text, world
}

// A declare whose COMMIT PostgreSQL took, but whose answer did not come
// back within the acknowledgement's deadline, is not answered "nothing was
// changed, try again" (which the declarer would follow, declaring and
// paging a second incident): the bot looks for it by the declare's key and
// answers with it when it is there.
func TestDeclareCommitUnansweredIsFound(t *testing.T) {
	text, world := declareWithCommitHeld(t, false)
	require.Contains(t, text, "Declaring INC-1", "the stored declare is answered as declared")
	require.Len(t, world.pd.Incidents(), 1)
}

// The same with the whole database stalled after the COMMIT: the bot
// cannot look, and says the incident may have been declared, never that
// nothing was changed. The declare did take effect, and its war room is
// built once the database answers.
func TestDeclareCommitUnansweredSaysItMayHaveBeenDeclared(t *testing.T) {
	text, _ := declareWithCommitHeld(t, true)
	require.Contains(t, text, "may have been declared: look at the open incidents before you declare it again")
}

func hostOf(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	return u.Host
}

package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// Modes of a dbProxy.
const (
	proxyPass int32 = iota // forward
	proxyHang              // accept and forward nothing, in either direction
	proxyCut               // close every connection and refuse new ones
)

// dbProxy stands between the bot and PostgreSQL so a test can hang or cut
// the database under a running bot.
type dbProxy struct {
	t      *testing.T
	ln     net.Listener
	target string
	mode   atomic.Int32

	mu    sync.Mutex
	conns []net.Conn
	// resume is closed when a hang ends.
	resume chan struct{}
}

func newDBProxy(t *testing.T, target string) *dbProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &dbProxy{t: t, ln: ln, target: target}
	t.Cleanup(func() { _ = ln.Close(); p.closeAll() })
	go p.serve()
	return p
}

func (p *dbProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.mode.Load() == proxyCut {
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		if p.mode.Load() == proxyCut {
			// Cut while this one was being dialled: set stores the mode
			// under mu before closing what is listed, so a connection
			// listed after that is seen here.
			p.mu.Unlock()
			_ = c.Close()
			_ = up.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// pipe copies while the proxy passes; while it hangs, bytes are held back.
func (p *dbProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && p.mode.Load() == proxyHang {
			<-p.hang() // a hung network: nothing moves until it ends
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				_ = dst.Close()
			}
			return
		}
	}
}

func (p *dbProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *dbProxy) hang() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode.Load() != proxyHang {
		done := make(chan struct{})
		close(done)
		return done
	}
	if p.resume == nil {
		p.resume = make(chan struct{})
	}
	return p.resume
}

func (p *dbProxy) set(mode int32) {
	p.mu.Lock()
	p.mode.Store(mode)
	p.mu.Unlock()
	if mode != proxyHang {
		p.mu.Lock()
		if p.resume != nil {
			close(p.resume)
			p.resume = nil
		}
		p.mu.Unlock()
	}
	if mode == proxyCut {
		p.closeAll()
	}
}

// through rewrites a database URL to go through the proxy.
func (p *dbProxy) through(dsn string) string {
	u, err := url.Parse(dsn)
	require.NoError(p.t, err)
	u.Host = p.ln.Addr().String()
	return u.String()
}

// TestDatabaseHangsAndCuts: with PostgreSQL hung, then cut, under a running
// bot, a slash command is answered within Slack's 3 seconds with the bot's
// own sentence, and a PagerDuty acknowledgement that cannot be stored is
// answered 5xx, so PagerDuty delivers it again; once the database is back,
// the redelivery is recorded and shown.
func TestDatabaseHangsAndCuts(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := newDBProxy(t, u.Host)
	world, cleanup, err := newDemoWorld(t.TempDir(), nopWriter{})
	require.NoError(t, err)
	t.Cleanup(cleanup)
	fake := world.slack
	b := startBot(t, botOptions{mode: "http", slack: fake, databaseURL: proxy.through(dsn), env: reliabilityEnv(t, world, "")})

	_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P1 --service=checkout Checkout fails")
	require.Contains(t, text, "Declaring INC-1")
	require.Eventually(t, func() bool { return warRoomDone(fake, "Checkout fails") }, 30*time.Second, 50*time.Millisecond)
	require.Len(t, world.pd.Incidents(), 1)
	pdIncident := world.pd.Incidents()[0].ID

	for _, mode := range []struct {
		name string
		mode int32
	}{{"hung", proxyHang}, {"cut", proxyCut}} {
		proxy.set(mode.mode)
		start := time.Now()
		_, text = b.command("http", "U0ALICE", "C0GENERAL", "list")
		took := time.Since(start)
		t.Logf("database %s: list answered in %s", mode.name, took.Round(time.Millisecond))
		require.Less(t, took, 3*time.Second, "answered within Slack's 3 seconds with the database %s", mode.name)
		require.Contains(t, text, "database is not answering", "the bot's own sentence with the database %s", mode.name)
	}

	// Cut: the acknowledgement cannot be stored, so it is refused with a
	// 5xx and PagerDuty will deliver it again.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := world.pd.SendWebhook(ctx, b.base+"/webhooks/pagerduty", demoPDSecret, "incident.acknowledged", pdIncident, "Bob Roe")
	require.NoError(t, err)
	resp.Body.Close()
	require.GreaterOrEqual(t, resp.StatusCode, http.StatusInternalServerError, "an event that was not stored is not answered 200")

	proxy.set(proxyPass)
	require.Eventually(t, func() bool {
		resp, err := world.pd.SendWebhook(ctx, b.base+"/webhooks/pagerduty", demoPDSecret, "incident.acknowledged", pdIncident, "Bob Roe")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 200*time.Millisecond, "the redelivery is accepted once the database is back")
	require.Eventually(t, func() bool {
		for _, ch := range fake.Channels() {
			if strings.Contains(messagesText(fake, ch.ID), "Acknowledged by Bob Roe") {
				return true
			}
		}
		return false
	}, 20*time.Second, 50*time.Millisecond, "the acknowledgement is shown")
	_, text = b.command("http", "U0ALICE", "C0GENERAL", "list")
	require.Contains(t, text, "INC-1")
}

package jobs

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/migrations"
)

// cutProxy forwards TCP connections to a database server until it is cut:
// then every open connection is closed and new ones are refused, as when
// the database fails over or the network to it drops, until it is
// restored.
type cutProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() {
		_ = ln.Close()
		p.setCut(true)
	})
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *cutProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *cutProxy) forward(client net.Conn) {
	if !p.track(client) {
		_ = client.Close()
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(server) {
		_ = client.Close()
		if server != nil {
			_ = server.Close()
		}
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	_ = client.Close()
	_ = server.Close()
}

// setCut cuts the database off (closing every connection) or restores it.
func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if !cut {
		return
	}
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// through returns dsn with its host replaced by the proxy's address.
func (p *cutProxy) through(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	u.Host = p.ln.Addr().String()
	return u.String()
}

// TestDatabaseOutageTakesNoLiveJob: while the database is unreachable no
// replica can beat, so once it is back every replica's last beat is older
// than DeadAfter. Each replica is alive and still running its jobs: none
// may take the others' for a dead replica's and run them a second time. A
// replica judges another dead only when it has itself been beating for
// DeadAfter, which the other had to beat too.
func TestDatabaseOutageTakesNoLiveJob(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	proxy := newCutProxy(t, u.Host)
	viaProxy := proxy.through(t, dsn)
	direct := openPool(t, dsn)
	require.NoError(t, migrations.Up(context.Background(), stdlib.OpenDBFromPool(direct), migrations.Postgres))

	release := make(chan struct{})
	var rec recorder
	rec.fn = func(ctx context.Context, _ int) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	const (
		perEngine = 2
		deadAfter = 1200 * time.Millisecond
	)
	// One replica beats more often than the other, so it is the first to
	// look once the database is back.
	beats := []time.Duration{100 * time.Millisecond, 400 * time.Millisecond}
	engines := make([]*Engine, 2)
	for i := range engines {
		opts := testOptions()
		opts.InstanceID = fmt.Sprintf("replica-%d", i)
		opts.UrgentWorkers = perEngine
		opts.HeartbeatInterval = beats[i]
		opts.DeadAfter = deadAfter
		opts.JobTimeout = time.Hour
		e, err := NewPostgres(openPool(t, viaProxy), opts)
		require.NoError(t, err)
		e.Handle("work", rec.handle)
		engines[i] = e
	}
	// Each replica holds jobs of its own: the first fills its workers
	// before the second starts.
	for i, e := range engines {
		start(t, e)
		for j := range perEngine {
			_, err := e.Schedule(context.Background(), incident.Job{Kind: "work", Urgent: true, Payload: fmt.Appendf(nil, "job-%d-%d", i, j)})
			require.NoError(t, err)
		}
		require.Eventually(t, func() bool { return rec.total() == (i+1)*perEngine }, waitFor, tick)
	}
	t.Cleanup(func() { // before the engines stop
		proxy.setCut(false)
		select {
		case <-release:
		default:
			close(release)
		}
	})

	proxy.setCut(true)
	time.Sleep(3 * deadAfter) // every last beat is now stale
	proxy.setCut(false)
	// Long enough for a replica that judged the others dead to have taken
	// their jobs: made available again, or running a second attempt.
	time.Sleep(deadAfter + 4*beats[1])

	var firstRuns int
	require.NoError(t, direct.QueryRow(context.Background(),
		"SELECT count(*) FROM river_job WHERE state = 'running' AND attempt = 1").Scan(&firstRuns))
	require.Equal(t, len(engines)*perEngine, firstRuns, "every job is still in its first run, on its own replica")
	for i := range engines {
		for j := range perEngine {
			require.Equal(t, 1, rec.count(fmt.Sprintf("job-%d-%d", i, j)), "job-%d-%d ran again while its replica still ran it", i, j)
		}
	}
	close(release)
	require.Eventually(t, func() bool {
		var done int
		err := direct.QueryRow(context.Background(), "SELECT count(*) FROM river_job WHERE state = 'completed'").Scan(&done)
		return err == nil && done == len(engines)*perEngine
	}, waitFor, tick)
	require.Equal(t, len(engines)*perEngine, rec.total(), "each job ran once")
}

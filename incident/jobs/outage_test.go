package jobs

import (
	"context"
	"errors"
	"fmt"
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
// restored. A hung proxy instead holds every byte in both directions, on
// open connections and new ones, as a network partition does, and delivers
// them late when it is restored.
type cutProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	hung  bool
	flow  *sync.Cond // signalled when hung or cut changes
	conns map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.flow = sync.NewCond(&p.mu)
	t.Cleanup(func() {
		_ = ln.Close()
		p.setCut(true)
	})
	go p.serve()
	return p
}

// setHung holds every byte from now on, or delivers the held ones and
// forwards again.
func (p *cutProxy) setHung(hung bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hung = hung
	p.flow.Broadcast()
}

// flowing waits while the proxy is hung; false once it is cut.
func (p *cutProxy) flowing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.hung && !p.cut {
		p.flow.Wait()
	}
	return !p.cut
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
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if !p.flowing() {
					return
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
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
	p.flow.Broadcast()
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
// than DeadAfter. No replica can tell that the others lost the database too:
// each stops its own running jobs before DeadAfter (ErrHeartbeatLost), as a
// replica cut off on its own must. None may take the others' jobs for a
// dead replica's either: a replica judges another dead only when it has
// itself been beating for DeadAfter, which the other had to beat too. Each
// replica, beating again, gives its stopped jobs back as interrupted (the
// rerun is the next attempt, and the job's maximum grows by one with it,
// where a takeover leaves the maximum as it was), and every job then runs
// once more, never on two replicas at once, and completes once.
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
	var mu sync.Mutex
	running := map[string]int{}     // runs of each job going on now
	overlapped := map[string]bool{} // a job ran on two replicas at once
	stopped := map[string]int{}     // runs stopped by ErrHeartbeatLost
	completed := map[string]int{}
	work := func(ctx context.Context, payload []byte) error {
		job := string(payload)
		mu.Lock()
		running[job]++
		overlapped[job] = overlapped[job] || running[job] > 1
		mu.Unlock()
		defer func() {
			mu.Lock()
			running[job]--
			mu.Unlock()
		}()
		select {
		case <-release:
			mu.Lock()
			completed[job]++
			mu.Unlock()
			return nil
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), ErrHeartbeatLost) {
				mu.Lock()
				stopped[job]++
				mu.Unlock()
			}
			return ctx.Err()
		}
	}
	count := func(m map[string]int) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, c := range m {
			n += c
		}
		return n
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
		e.Handle("work", work)
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
		require.Eventually(t, func() bool { return count(running) == (i+1)*perEngine }, waitFor, tick)
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
	// Every replica stops its jobs before another could take them over.
	require.Eventually(t, func() bool { return count(stopped) == len(engines)*perEngine }, deadAfter, tick)
	time.Sleep(2 * deadAfter) // every last beat is now stale
	proxy.setCut(false)
	// Each job runs again, once; long enough for a replica that judged
	// the others dead to have taken their jobs too.
	require.Eventually(t, func() bool { return count(running) == len(engines)*perEngine }, waitFor, tick)
	time.Sleep(deadAfter + 4*beats[1])

	close(release)
	require.Eventually(t, func() bool {
		var done int
		err := direct.QueryRow(context.Background(), "SELECT count(*) FROM river_job WHERE state = 'completed' AND attempt = 2 AND max_attempts = $1",
			cappedAttempts(DefaultMaxAttempts, DefaultRetryCap)+1).Scan(&done)
		return err == nil && done == len(engines)*perEngine
	}, waitFor, tick, "every job completes at the attempt after its interrupted one: none was taken over")
	mu.Lock()
	defer mu.Unlock()
	for i := range engines {
		for j := range perEngine {
			job := fmt.Sprintf("job-%d-%d", i, j)
			require.False(t, overlapped[job], "%s ran on two replicas at once", job)
			require.Equal(t, 1, stopped[job], job)
			require.Equal(t, 1, completed[job], job)
		}
	}
}

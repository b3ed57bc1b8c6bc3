package main

import (
	"context"
	"database/sql"
	"io"
	"net"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// BenchmarkDeclareRemoteDatabase is the open loop's declare at 100 req/s
// with PostgreSQL on another host: every byte between the bot and the
// database is held back 1 ms by a delay line, as a network between two
// machines would. It reports the round trip that makes (rtt-ms, a SELECT 1
// through it, median of 200), so a declare's latency can be read in round
// trips. 200 declares, not counted, warm the bot up first. The delay line
// runs in the bot's process, on the same two cores: its sleeps and copies
// are load of their own, so the p99 here says less about the bot than the
// p50.
//
//	go test ./cmd/firebreak -run '^$' -bench DeclareRemoteDatabase -benchtime 1000x -count 3
func BenchmarkDeclareRemoteDatabase(b *testing.B) {
	dsn := pgtest.MigratedDSN(b)
	u, err := url.Parse(dsn)
	require.NoError(b, err)
	line := newDelayLine(b, u.Host, time.Millisecond)
	u.Host = line.addr()
	remote := u.String()

	rtt := measureRoundTrip(b, remote)
	bot := startBot(b, botOptions{mode: "http", slack: loadWorkspace(b), databaseURL: remote, env: map[string]string{"LOG_LEVEL": "error"}})
	// Warm up as a running replica is: both pools' connections open, each
	// backend with its catalogs read and the statements prepared (a new
	// backend's first declare parses for 40-90 ms), the war rooms built.
	seedOpenIncidents(b, bot, 200)
	b.ResetTimer()
	// The declares' pool, and the jobs' (which build the war rooms meanwhile).
	waits := func(pool string) float64 {
		return bot.metric("pgxpool_empty_acquire{", `db_name="`+pool+`"`)
	}
	fg, bg := waits("firebreak"), waits("firebreak_background")
	got := openLoop(b, bot, "declare", 100)
	b.ReportMetric((waits("firebreak")-fg)/float64(b.N), "dbwaits/op")
	b.ReportMetric((waits("firebreak_background")-bg)/float64(b.N), "bg-dbwaits/op")
	b.ReportMetric(rtt, "rtt-ms")
	b.ReportMetric(got.p50, "p50-ms")
	b.ReportMetric(got.p99, "p99-ms")
	b.ReportMetric(got.max, "max-ms")
	b.ReportMetric(got.refused, "refused-frac")
}

// measureRoundTrip is the median time of a SELECT 1 on dsn, in milliseconds.
func measureRoundTrip(b *testing.B, dsn string) float64 {
	db, err := sql.Open("pgx", dsn)
	require.NoError(b, err)
	defer func() { _ = db.Close() }()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	require.NoError(b, err)
	defer func() { _ = conn.Close() }()
	took := make([]time.Duration, 200)
	for i := range took {
		start := time.Now()
		_, err := conn.ExecContext(ctx, "SELECT 1")
		require.NoError(b, err)
		took[i] = time.Since(start)
	}
	slices.Sort(took)
	return float64(took[len(took)/2].Microseconds()) / 1000
}

// delayLine forwards TCP connections to target, each chunk of bytes
// leaving one delay after it arrived, in order, in both directions.
type delayLine struct {
	ln     net.Listener
	target string
	delay  time.Duration
}

func newDelayLine(tb testing.TB, target string, delay time.Duration) *delayLine {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	d := &delayLine{ln: ln, target: target, delay: delay}
	tb.Cleanup(func() { _ = ln.Close() })
	go d.serve()
	return d
}

func (d *delayLine) addr() string { return d.ln.Addr().String() }

func (d *delayLine) serve() {
	for {
		c, err := d.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", d.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		go d.pipe(up, c)
		go d.pipe(c, up)
	}
}

// pipe copies src to dst, each chunk written once its delay has passed.
func (d *delayLine) pipe(dst, src net.Conn) {
	type chunk struct {
		data []byte
		due  time.Time
	}
	queue := make(chan chunk, 1024)
	go func() {
		defer func() { _ = dst.Close() }()
		for c := range queue {
			if wait := time.Until(c.due); wait > 0 {
				time.Sleep(wait)
			}
			if _, err := dst.Write(c.data); err != nil {
				return
			}
		}
	}()
	defer close(queue)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			queue <- chunk{data: slices.Clone(buf[:n]), due: time.Now().Add(d.delay)}
		}
		if err != nil {
			if err != io.EOF {
				_ = src.Close()
			}
			return
		}
	}
}

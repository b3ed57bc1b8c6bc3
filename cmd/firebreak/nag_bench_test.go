package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// Shape of BenchmarkNagLateness: nagIncidents open incidents declared
// evenly over nagWindow, each wanting an update every nagCadence, so the
// nags of each rung come due at nagIncidents/nagWindow per second.
const (
	nagIncidents = 1000
	nagWindow    = 20 * time.Second
	nagCadence   = 90 * time.Second
	nagLatency   = 100 * time.Millisecond
)

// BenchmarkNagLateness declares 1,000 incidents through the real program
// (durable timers on the real job engine, on SQLite and on PostgreSQL),
// adds 100 ms to every Slack call once their war rooms are ready, and lets
// the first two rungs of update nags come due: 1,000 nags per rung, due
// evenly over 20 seconds (50 per second), the second rung also messaging
// the IC directly. For every nag it measures how late Slack received it
// versus its due time (computed from the stored declaration and the
// stored time of the previous nag, by the rule of incident.NextNagAt), and
// it fails when a nag is missing or posted twice.
//
//	go test ./cmd/firebreak -run '^$' -bench NagLateness -benchtime 1x
//
// BENCH_JOB_URGENT_WORKERS and BENCH_JOB_WORKERS, when set, replace the
// program's worker counts, to compare them.
func BenchmarkNagLateness(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				nagLatenessRun(b, db)
			}
		})
	}
}

func nagLatenessRun(b *testing.B, db string) {
	fake := slackfake.New(slackfake.WithChatWritePublic())
	b.Cleanup(fake.Close)
	users := []string{"U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN"}
	for _, u := range users {
		name := strings.ToLower(u[2:])
		fake.AddUser(slackfake.User{ID: u, Name: name, Email: name + "@example.com"})
	}
	fake.AddChannel(slackfake.Channel{ID: "C0GENERAL", Name: "general", Members: []string{fake.BotUserID()}})
	o := botOptions{mode: "http", slack: fake, sqlitePath: filepath.Join(b.TempDir(), "firebreak.db"), env: map[string]string{
		"LOG_LEVEL":   "error",
		"POLICY_FILE": writePolicyFile(b, fmt.Sprintf("severities:\n  P3:\n    update_every: %s\n", nagCadence)),
	}}
	for _, k := range []string{"JOB_WORKERS", "JOB_URGENT_WORKERS"} {
		if v := os.Getenv("BENCH_" + k); v != "" {
			o.env[k] = v
		}
	}
	dsn := o.sqlitePath
	if db == "postgres" {
		o.databaseURL = pgtest.MigratedDSN(b)
		dsn = o.databaseURL
	}
	bot := startBot(b, o)

	// Declare the incidents at a steady pace, whatever the answers' latency.
	day := time.Now().UTC().Format("2006-01-02")
	client := keepAliveClient(256)
	interval := nagWindow / nagIncidents
	start := time.Now()
	var (
		wg     sync.WaitGroup
		failed atomic.Int64
	)
	for i := range nagIncidents {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Go(func() {
			body := fmt.Sprintf("declare P3 nag load %d", i)
			if _, err := postCommandAs(client, bot.driver, bot.base+"/slack/commands", body, users[i%len(users)]); err != nil {
				if failed.Add(1) == 1 {
					b.Logf("declare %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d declares failed", n)
	}
	declared := time.Since(start)

	// Wait for every war room (its panel pinned), then slow Slack down.
	name := func(i int) string { return fmt.Sprintf("inc-%s-nag-load-%d", day, i) }
	firstDue := start.Add(nagCadence)
	channels := make([]string, nagIncidents) // the war rooms' ids
	for {
		ready := 0
		for i := range nagIncidents {
			if ch, ok := fake.Channel(name(i)); ok && len(ch.Pins) > 0 {
				channels[i] = ch.ID
				ready++
			}
		}
		if ready == nagIncidents {
			break
		}
		if time.Now().After(firstDue.Add(-2 * time.Second)) {
			b.Fatalf("only %d of %d war rooms ready %s after the first declare; the first nags are due", ready, nagIncidents, time.Since(start).Round(time.Second))
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.Logf("%d declares in %s, war rooms ready %s after the first declare", nagIncidents, declared.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	fake.SetLatency("", nagLatency)
	b.ResetTimer()

	// Collect until both rungs are posted everywhere, or long after the last
	// is due; stop before the third rung can come due.
	type posted struct{ rung1, rung2 []time.Time }
	collect := func() (map[string]*posted, int) {
		out := map[string]*posted{}
		n := 0
		for _, id := range channels {
			p := &posted{}
			for _, m := range fake.Messages(id) {
				if !strings.Contains(m.Text, "needs a status update") {
					continue
				}
				at := tsTime(b, m.TS)
				switch {
				case strings.Contains(m.Text, "Second reminder"):
					p.rung2 = append(p.rung2, at)
				case strings.Contains(m.Text, "updates missed"):
					b.Fatalf("%s: a third nag before the third rung was due: %s", id, m.Text)
				default:
					p.rung1 = append(p.rung1, at)
				}
			}
			out[id] = p
			if len(p.rung1) > 0 && len(p.rung2) > 0 {
				n++
			}
		}
		return out, n
	}
	stop := start.Add(3*nagCadence - 2*time.Second)
	for {
		_, done := collect()
		if done == nagIncidents || time.Now().After(stop) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Time for a duplicate to show, still before the third rung.
	if wait := min(3*time.Second, time.Until(stop)); wait > 0 {
		time.Sleep(wait)
	}
	posts, _ := collect()
	b.StopTimer()
	slack := fake.Calls()
	bot.stop()

	// The due times, from what the program stored.
	ctx := context.Background()
	gdb, err := gormstore.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer gdb.Close()
	store := gormstore.New(gdb, incident.SystemClock)
	incs, err := store.ListIncidents(ctx, incident.IncidentFilter{})
	if err != nil {
		b.Fatal(err)
	}
	if len(incs) != nagIncidents {
		b.Fatalf("%d incidents stored, want %d", len(incs), nagIncidents)
	}
	var (
		late             [2][]time.Duration
		missing, doubled [2]int
	)
	for _, inc := range incs {
		p := posts[inc.ChannelID]
		if p == nil {
			b.Fatalf("%s has no war room", inc.Key())
		}
		events, err := store.ListTimeline(ctx, inc.ID)
		if err != nil {
			b.Fatal(err)
		}
		var firstNagAt time.Time
		for _, ev := range events {
			if ev.Kind == incident.EventNag && ev.Text == "Update nag #1" {
				firstNagAt = ev.At
			}
		}
		for rung, got := range [][]time.Time{p.rung1, p.rung2} {
			switch {
			case len(got) == 0:
				missing[rung]++
				continue
			case len(got) > 1:
				doubled[rung]++
			}
			due := inc.DeclaredAt.Add(nagCadence)
			if rung == 1 {
				due = inc.DeclaredAt.Add(2 * nagCadence)
				if firstNagAt.IsZero() {
					b.Fatalf("%s: the first nag was posted but not recorded", inc.Key())
				}
				if next := firstNagAt.Add(nagCadence); next.After(due) {
					due = next
				}
			}
			late[rung] = append(late[rung], got[0].Sub(due))
		}
	}
	all := append(append([]time.Duration(nil), late[0]...), late[1]...)
	for rung, l := range append(late[:], all) {
		if len(l) == 0 {
			continue
		}
		f := percentiles(l)
		label := "all"
		if rung < 2 {
			label = fmt.Sprintf("rung%d", rung+1)
		}
		b.ReportMetric(f.p50, label+"-p50-ms")
		b.ReportMetric(f.p99, label+"-p99-ms")
		b.ReportMetric(f.max, label+"-max-ms")
		b.Logf("%s: %d nags, late p50 %.0f ms, p99 %.0f ms, max %.0f ms", label, len(l), f.p50, f.p99, f.max)
	}
	nags := 0
	for _, c := range slack {
		if c.Method == "chat.postMessage" && strings.Contains(c.Args.Get("text"), "needs a status update") {
			nags++
		}
	}
	b.Logf("nags posted %d (chat.postMessage calls carrying one: %d); missing rung 1/2: %d/%d; doubled rung 1/2: %d/%d",
		len(late[0])+len(late[1]), nags, missing[0], missing[1], doubled[0], doubled[1])
	if missing != [2]int{} || doubled != [2]int{} {
		b.Fatalf("missing nags (rung 1, rung 2): %v; doubled: %v", missing, doubled)
	}
}

// tsTime turns a Slack message ts into the time Slack stored the message.
func tsTime(b *testing.B, ts string) time.Time {
	sec, frac, ok := strings.Cut(ts, ".")
	s, err1 := strconv.ParseInt(sec, 10, 64)
	us, err2 := strconv.ParseInt(frac, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		b.Fatalf("bad message ts %q", ts)
	}
	return time.Unix(s, us*1000)
}

package web_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/metrics"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/web"
)

// callCounter counts the store calls behind a page, and remembers the
// incidents whose own rows (timeline, updates, follow-ups, rollbacks) were
// read.
type callCounter struct {
	web.Reader

	mu    sync.Mutex
	calls map[string]int
	read  map[int64]bool
}

func newCallCounter(r web.Reader) *callCounter {
	return &callCounter{Reader: r, calls: map[string]int{}, read: map[int64]bool{}}
}

func (c *callCounter) count(method string, ids ...int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[method]++
	for _, id := range ids {
		c.read[id] = true
	}
}

// reset forgets the calls counted so far.
func (c *callCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls, c.read = map[string]int{}, map[int64]bool{}
}

// total is the number of store calls since the last reset, and what they were.
func (c *callCounter) total() (int, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.calls {
		n += k
	}
	return n, c.calls
}

// readAny reports whether the rows of any of incs were read.
func (c *callCounter) readAny(incs []*incident.Incident) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, inc := range incs {
		if c.read[inc.ID] {
			out = append(out, inc.Key())
		}
	}
	return out
}

func (c *callCounter) ListIncidents(ctx context.Context, f incident.IncidentFilter) ([]*incident.Incident, error) {
	c.count("ListIncidents")
	return c.Reader.ListIncidents(ctx, f)
}

func (c *callCounter) ListTimeline(ctx context.Context, id int64) ([]incident.TimelineEvent, error) {
	c.count("ListTimeline", id)
	return c.Reader.ListTimeline(ctx, id)
}

func (c *callCounter) ListStatusUpdates(ctx context.Context, id int64) ([]incident.StatusUpdate, error) {
	c.count("ListStatusUpdates", id)
	return c.Reader.ListStatusUpdates(ctx, id)
}

func (c *callCounter) ListActionItems(ctx context.Context, id int64) ([]incident.ActionItem, error) {
	c.count("ListActionItems", id)
	return c.Reader.ListActionItems(ctx, id)
}

func (c *callCounter) ListRollbacks(ctx context.Context, id int64) ([]incident.Rollback, error) {
	c.count("ListRollbacks", id)
	return c.Reader.ListRollbacks(ctx, id)
}

func (c *callCounter) ListIncidentRecords(ctx context.Context, ids []int64) (map[int64]incident.IncidentRecord, error) {
	c.count("ListIncidentRecords", ids...)
	return c.Reader.ListIncidentRecords(ctx, ids)
}

func (c *callCounter) GetIncidentByNumber(ctx context.Context, n int64) (*incident.Incident, error) {
	c.count("GetIncidentByNumber")
	return c.Reader.GetIncidentByNumber(ctx, n)
}

func (c *callCounter) ListPages(ctx context.Context, id int64) ([]incident.Page, error) {
	c.count("ListPages", id)
	return c.Reader.ListPages(ctx, id)
}

func (c *callCounter) ListChangeEvents(ctx context.Context, service string, from, to time.Time) ([]incident.ChangeEvent, error) {
	c.count("ListChangeEvents")
	return c.Reader.ListChangeEvents(ctx, service, from, to)
}

func (c *callCounter) GetExport(ctx context.Context, id int64, target string) (*incident.ExportRef, error) {
	c.count("GetExport", id)
	return c.Reader.GetExport(ctx, id, target)
}

// reportStores are the stores the metrics tests run on.
var reportStores = []string{"memory", "sqlite", "postgres"}

// openStore returns an empty store of the dialect, telling the time with
// clock.
func openStore(tb testing.TB, dialect string, clock incident.Clock) incidenttest.Store {
	tb.Helper()
	if dialect == "memory" {
		return incidenttest.NewMemStore(clock)
	}
	ctx := context.Background()
	url := "sqlite:" + filepath.Join(tb.TempDir(), "firebreak.db")
	if dialect == "postgres" {
		url = pgtest.MigratedDSN(tb)
	}
	db, err := gormstore.Open(ctx, url)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = db.Close() })
	require.NoError(tb, db.Migrate(ctx))
	return gormstore.New(db, clock)
}

// seedReports stores n incidents declared over span, the last one an
// hour before t0, with what the metrics read of each: timeline events
// (nags, status-page posts), status updates, follow-ups and rollbacks.
// Every seventh incident is private, its IC Alice. It returns the private
// ones.
func seedReports(tb testing.TB, st incidenttest.Store, clock *incidenttest.Clock, n int, span time.Duration, first int) []*incident.Incident {
	tb.Helper()
	ctx := context.Background()
	var private []*incident.Incident
	for i := first; i < first+n; i++ {
		declared := t0.Add(-time.Hour - time.Duration(i-first)*(span/time.Duration(n))).Truncate(time.Second)
		sev := incident.Severity(i%4 + 1)
		inc, err := st.CreateIncident(ctx, incidenttest.NewIncident(func(inc *incident.Incident) {
			inc.Title = fmt.Sprintf("seeded incident %d", i)
			inc.Severity = sev
			inc.Service = []string{"checkout", "payroll", ""}[i%3]
			inc.DeclaredAt = declared
			inc.ChannelID = fmt.Sprintf("C0SEED%05d", i)
			inc.Commander = "U0CAROL"
			if i%7 == 0 {
				inc.Private, inc.Commander = true, "U0ALICE"
			}
			if i%11 == 0 {
				inc.Status = incident.StatusInvestigating
				return
			}
			ack := declared.Add(time.Duration(i%30+1) * time.Minute)
			inc.AcknowledgedAt, inc.Status = &ack, incident.StatusResolved
			if i%2 == 0 {
				mit := declared.Add(time.Duration(i%90+20) * time.Minute)
				inc.MitigatedAt = &mit
			}
			res := declared.Add(time.Duration(i%300+120) * time.Minute)
			inc.ResolvedAt = &res
		}))
		require.NoError(tb, err)
		if inc.Private {
			private = append(private, inc)
		}
		evs := []incident.TimelineEvent{
			{IncidentID: inc.ID, Kind: incident.EventDeclared, Actor: "U0ALICE", At: declared, Text: "declared", Key: true},
			{IncidentID: inc.ID, Kind: incident.EventNote, Actor: "U0BOB", At: declared.Add(2 * time.Minute), Text: "looking"},
		}
		if i%3 == 0 {
			evs = append(evs, incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventNag, At: declared.Add(35 * time.Minute)})
		}
		if sev == incident.P1 && i%8 != 1 {
			evs = append(evs, incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventStatusPage, Actor: "U0ALICE",
				At: declared.Add(time.Duration(i%20) * time.Minute), Text: "posted",
				Payload: incident.StatusPageData{Kind: "incident", Status: incident.PublicInvestigating}})
		}
		for _, ev := range evs {
			require.NoError(tb, st.AddTimelineEvent(ctx, &ev))
		}
		for k := range i%3 + 1 {
			require.NoError(tb, st.AddStatusUpdate(ctx, &incident.StatusUpdate{IncidentID: inc.ID, Author: "U0CAROL",
				Text: "still on it", Status: incident.StatusInvestigating, NextUpdateIn: 30 * time.Minute,
				PostedAt: declared.Add(time.Duration(10+k*(20+i%25)) * time.Minute)}))
		}
		var due *time.Time
		if i%2 == 1 {
			d := declared.Add(72 * time.Hour)
			due = &d
		}
		require.NoError(tb, st.AddActionItem(ctx, &incident.ActionItem{IncidentID: inc.ID, Text: "add an alert", Owner: "U0BOB",
			DueOn: due, Done: i%4 == 0, CreatedAt: declared.Add(3 * time.Hour)}))
		if i%5 == 0 {
			clock.Set(declared.Add(10 * time.Minute))
			rb := incidenttest.NewRollback(inc.ID, fmt.Sprintf("rollback-%d", i))
			require.NoError(tb, st.AddRollback(ctx, rb))
			clock.Set(declared.Add(time.Duration(15+i%200) * time.Minute))
			_, err := st.UpdateRollback(ctx, rb.ID, func(r *incident.Rollback) error {
				r.Status = incident.RollbackSucceeded
				return nil
			})
			require.NoError(tb, err)
			clock.Set(t0)
		}
	}
	return private
}

// metricsPath is the page's path for a period reaching back over what
// seedReports stored.
const metricsPath = "/reports/metrics?period=365d&drills=include"

// TestMetricsPageReadsTheStoreAConstantNumberOfTimes: the metrics page and
// its CSV read the store a fixed number of times however many incidents
// the period holds, and never read the rows of an incident the viewer may
// not see.
func TestMetricsPageReadsTheStoreAConstantNumberOfTimes(t *testing.T) {
	t.Parallel()
	for _, dialect := range reportStores {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			clock := incidenttest.NewClock(t0)
			st := openStore(t, dialect, clock)
			private := seedReports(t, st, clock, 8, 30*24*time.Hour, 1)
			counting := newCallCounter(st)
			f := setup(t, func(cfg *web.Config) {
				cfg.Reader, cfg.Metrics = counting, metrics.NewService(counting, cfg.Policy, cfg.Clock)
			})
			alice, bob := f.browser(), f.browser()
			alice.signIn(f.alice)
			bob.signIn(f.bob)

			calls := func(b *browser, path string) (int, map[string]int) {
				t.Helper()
				counting.reset()
				resp, body := b.get(path)
				require.Equal(t, http.StatusOK, resp.StatusCode, body)
				return counting.total()
			}
			few, byMethod := calls(alice, metricsPath)
			require.LessOrEqual(t, few, 2, "store calls for 8 incidents: %v", byMethod)

			seedReports(t, st, clock, 40, 300*24*time.Hour, 100)
			many, byMethod := calls(alice, metricsPath)
			require.Equal(t, few, many, "store calls for 48 incidents: %v", byMethod)
			csv, _ := calls(alice, "/reports/metrics.csv?period=365d&drills=include")
			require.Equal(t, few, csv)

			calls(bob, metricsPath)
			require.Empty(t, counting.readAny(private), "rows of incidents Bob may not see were read")
		})
	}
}

// TestMetricsPageCountsWhatEachIncidentRecorded: the numbers of the metrics
// page are those of the incidents the viewer may see, each with its whole
// timeline, status updates, follow-ups and rollbacks as the store returns
// them one incident at a time, on every store.
func TestMetricsPageCountsWhatEachIncidentRecorded(t *testing.T) {
	t.Parallel()
	for _, dialect := range reportStores {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clock := incidenttest.NewClock(t0)
			st := openStore(t, dialect, clock)
			private := seedReports(t, st, clock, 60, 200*24*time.Hour, 1)
			require.NotEmpty(t, private)
			var policy incident.Policy
			f := setup(t, func(cfg *web.Config) {
				cfg.Reader, cfg.Metrics, policy = st, metrics.NewService(st, cfg.Policy, cfg.Clock), cfg.Policy
			})
			reference := metrics.NewService(st, policy, f.clock)

			for _, user := range []string{f.alice.ID, f.bob.ID} {
				b := f.browser()
				if user == f.alice.ID {
					b.signIn(f.alice)
				} else {
					b.signIn(f.bob)
				}
				for _, service := range []string{"", "checkout"} {
					q := metrics.Query{From: t0.Add(-365 * 24 * time.Hour), To: t0, Service: service, IncludeDrills: true}
					facts, err := reference.Facts(ctx, q)
					require.NoError(t, err)
					incs := make([]*incident.Incident, len(facts))
					for i := range facts {
						incs[i] = facts[i].Incident
					}
					seen, err := f.svc.Visible(ctx, user, incs)
					require.NoError(t, err)
					kept := visibleFacts(facts, seen)
					if user == f.bob.ID {
						require.Less(t, len(kept), len(facts), "Bob sees fewer incidents than there are")
					}
					want := reference.Compute(kept, q)
					require.Positive(t, want.Rollback.Met, "the seed has incidents resolved by a rollback")
					require.Positive(t, want.Nags)
					require.Positive(t, want.StatusPage.Met)

					resp, got := b.get("/reports/metrics.csv?period=365d&drills=include&service=" + service)
					require.Equal(t, http.StatusOK, resp.StatusCode, got)
					require.Equal(t, string(web.ReportCSV(want)), got, "%s, service %q", user, service)
				}
			}
		})
	}
}

// visibleFacts keeps the facts of the incidents in seen, in order.
func visibleFacts(facts []metrics.Facts, seen []*incident.Incident) []metrics.Facts {
	ids := make([]int64, len(seen))
	for i, inc := range seen {
		ids[i] = inc.ID
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var kept []metrics.Facts
	for _, f := range facts {
		if k := sort.Search(len(ids), func(i int) bool { return ids[i] >= f.Incident.ID }); k < len(ids) && ids[k] == f.Incident.ID {
			kept = append(kept, f)
		}
	}
	return kept
}

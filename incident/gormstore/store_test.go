package gormstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// testClock stands after every time the conformance suite writes explicitly, so
// defaulted times sort last.
func testClock() *incidenttest.Clock {
	return incidenttest.NewClock(incidenttest.Epoch().Add(24 * time.Hour))
}

// openDB opens a fresh, migrated database of the named dialect. A
// PostgreSQL one is a clone of the template pgtest migrates once.
func openDB(t *testing.T, dialect string) *gormstore.DB {
	t.Helper()
	return openURL(t, dbURL(t, dialect), dialect == "sqlite")
}

// dbURL returns the URL of a fresh database of the named dialect: a SQLite
// file not yet migrated, or a migrated PostgreSQL clone.
func dbURL(t *testing.T, dialect string) string {
	t.Helper()
	switch dialect {
	case "sqlite":
		return "sqlite:" + filepath.Join(t.TempDir(), "firebreak.db")
	case "postgres":
		return pgtest.MigratedDSN(t)
	}
	t.Fatalf("unknown dialect %q", dialect)
	return ""
}

// openURL opens the database at url, closed at the end of the test, and
// migrates it when asked: a second process's handle on a database is
// opened without.
func openURL(t *testing.T, url string, migrate bool) *gormstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := gormstore.Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	if migrate {
		require.NoError(t, db.Migrate(ctx))
	}
	return db
}

func TestStoreSQLite(t *testing.T) {
	t.Parallel()
	incidenttest.RunStoreTests(t, func(t *testing.T) incidenttest.Store {
		return gormstore.New(openDB(t, "sqlite"), testClock())
	})
}

func TestStorePostgres(t *testing.T) {
	t.Parallel()
	incidenttest.RunStoreTests(t, func(t *testing.T) incidenttest.Store {
		return gormstore.New(openDB(t, "postgres"), testClock())
	})
}

// TestStoreUsesClock pins what the shared suite cannot see: defaulted and
// updated times come from the injected clock, on both dialects.
func TestStoreUsesClock(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clock := incidenttest.NewClock(time.Time{})
			s := gormstore.New(openDB(t, dialect), clock)
			inc, err := s.CreateIncident(ctx, &incident.Incident{Title: "t", Severity: incident.P2})
			require.NoError(t, err)
			require.Equal(t, incidenttest.Epoch(), inc.DeclaredAt)
			require.Equal(t, incidenttest.Epoch(), inc.UpdatedAt)

			later := clock.Advance(90 * time.Minute)
			updated, err := s.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
				i.Status = incident.StatusInvestigating
				return []incident.TimelineEvent{{Kind: incident.EventStatusChanged}}, nil
			})
			require.NoError(t, err)
			require.Equal(t, later, updated.UpdatedAt)
			require.Equal(t, incidenttest.Epoch(), updated.DeclaredAt)
			events, err := s.ListTimeline(ctx, inc.ID)
			require.NoError(t, err)
			require.Len(t, events, 1)
			require.Equal(t, later, events[0].At)

			first, err := s.RecordDelivery(ctx, incident.Delivery{Source: "slack", ID: "Ev1"})
			require.NoError(t, err)
			require.True(t, first)
			n, err := s.PurgeDeliveries(ctx, later)
			require.NoError(t, err)
			require.Zero(t, n, "received at the clock's now, not before it")
			n, err = s.PurgeDeliveries(ctx, later.Add(time.Microsecond))
			require.NoError(t, err)
			require.Equal(t, int64(1), n)

			page := incidenttest.NewPage(inc.ID, "INC-1", func(p *incident.Page) { p.CreatedAt = time.Time{} })
			require.NoError(t, s.AddPage(ctx, page))
			require.Equal(t, later, page.CreatedAt)

			rb := incidenttest.NewRollback(inc.ID, "deploy:d1", func(r *incident.Rollback) {
				r.CreatedAt, r.UpdatedAt = incidenttest.Epoch(), incidenttest.Epoch()
			})
			require.NoError(t, s.AddRollback(ctx, rb))
			require.Equal(t, later, rb.CreatedAt, "always the clock's now")
			require.Equal(t, later, rb.UpdatedAt)
			latest := clock.Advance(time.Minute)
			rb2, err := s.UpdateRollback(ctx, rb.ID, func(r *incident.Rollback) error {
				r.Status = incident.RollbackRunning
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, later, rb2.CreatedAt)
			require.Equal(t, latest, rb2.UpdatedAt)
			read, err := s.GetRollback(ctx, "deploy:d1")
			require.NoError(t, err)
			require.Equal(t, rb2, read)
		})
	}
}

func TestAccessStoreSQLite(t *testing.T) {
	t.Parallel()
	incidenttest.RunAccessStoreTests(t, func(t *testing.T) incident.AccessStore {
		return gormstore.New(openDB(t, "sqlite"), testClock())
	})
}

func TestAccessStorePostgres(t *testing.T) {
	t.Parallel()
	incidenttest.RunAccessStoreTests(t, func(t *testing.T) incident.AccessStore {
		return gormstore.New(openDB(t, "postgres"), testClock())
	})
}

// TestNumbersAfterARolledBackDeclare pins what each dialect does with the
// number of a declare that rolls back: SQLite hands it out again (no gaps),
// PostgreSQL leaves it unused (a sequence, which makes no declare wait for
// another's commit).
func TestNumbersAfterARolledBackDeclare(t *testing.T) {
	t.Parallel()
	for dialect, want := range map[string]int64{"sqlite": 1, "postgres": 2} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := gormstore.New(openDB(t, dialect), testClock())
			boom := errors.New("boom")
			err := s.Atomic(ctx, func(tx incident.Tx) error {
				inc, err := tx.CreateIncident(ctx, incidenttest.NewIncident())
				require.NoError(t, err)
				require.EqualValues(t, 1, inc.Number)
				return boom
			})
			require.ErrorIs(t, err, boom)
			inc, err := s.CreateIncident(ctx, incidenttest.NewIncident())
			require.NoError(t, err)
			require.Equal(t, want, inc.Number)
			next, err := s.CreateIncident(ctx, incidenttest.NewIncident())
			require.NoError(t, err)
			require.Equal(t, want+1, next.Number, "then one after the other")
		})
	}
}

// TestNumbersAfterARefusedIncident: an incident refused inside a transaction
// that goes on (its channel is taken) leaves no gap in SQLite's numbers.
func TestNumbersAfterARefusedIncident(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := gormstore.New(openDB(t, "sqlite"), testClock())
	held, err := s.CreateIncident(ctx, incidenttest.NewIncident(func(i *incident.Incident) { i.ChannelID = "C0HELD" }))
	require.NoError(t, err)
	var kept *incident.Incident
	err = s.Atomic(ctx, func(tx incident.Tx) error {
		_, err := tx.CreateIncident(ctx, incidenttest.NewIncident(func(i *incident.Incident) { i.ChannelID = "C0HELD" }))
		incidenttest.RequireCode(t, err, incident.ECONFLICT)
		kept, err = tx.CreateIncident(ctx, incidenttest.NewIncident())
		return err
	})
	require.NoError(t, err)
	require.Equal(t, held.Number+1, kept.Number, "the refused incident's number is given back")
}

// TestListSeesEveryCommittedWrite: lists are shared and kept between
// writes; a list still shows every incident committed through this handle
// before it was asked for, and, within a tenth of a second, those of another
// process (a second handle on the same SQLite file, or on the same
// PostgreSQL database as another replica).
func TestListSeesEveryCommittedWrite(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			listSeesEveryCommittedWrite(t, dialect)
		})
	}
}

// listSeesEveryCommittedWrite lists through one handle ("here") while it
// and another ("elsewhere": another process on the same SQLite file, or
// another replica on the same PostgreSQL database) write.
func listSeesEveryCommittedWrite(t *testing.T, dialect string) {
	ctx := context.Background()
	url := "sqlite:" + filepath.Join(t.TempDir(), "firebreak.db")
	if dialect == "postgres" {
		url = pgtest.MigratedDSN(t)
	}
	open := func() *gormstore.Store {
		db, err := gormstore.Open(ctx, url)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		require.NoError(t, db.Migrate(ctx))
		return gormstore.New(db, testClock())
	}
	here, elsewhere := open(), open()
	openOnly := incident.IncidentFilter{OpenOnly: true}
	count := func() int {
		list, err := here.ListIncidents(ctx, openOnly)
		require.NoError(t, err)
		return len(list)
	}
	require.Zero(t, count())
	require.Zero(t, count(), "answered again while nothing changed")

	_, err := here.CreateIncident(ctx, incidenttest.NewIncident())
	require.NoError(t, err)
	require.Equal(t, 1, count(), "a write of this process")

	_, err = elsewhere.CreateIncident(ctx, incidenttest.NewIncident())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return count() == 2 }, time.Second, 10*time.Millisecond, "a write of another process")

	err = here.Atomic(ctx, func(tx incident.Tx) error {
		_, err := tx.CreateIncident(ctx, incidenttest.NewIncident())
		return err
	})
	require.NoError(t, err)
	require.Equal(t, 3, count(), "a transaction of this process")

	list, err := here.ListIncidents(ctx, openOnly)
	require.NoError(t, err)
	_, err = elsewhere.UpdateIncident(ctx, list[0].ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.Status = incident.StatusResolved
		return nil, nil
	})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return count() == 2 }, time.Second, 10*time.Millisecond, "another process's change of status")

	// Callers answered by one kept read get values of their own.
	first, err := here.ListIncidents(ctx, openOnly)
	require.NoError(t, err)
	title := first[0].Title
	first[0].Title, first[0].Roles = "changed by one caller", map[string]string{"scribe": "U0X"}
	again, err := here.ListIncidents(ctx, openOnly)
	require.NoError(t, err)
	require.Equal(t, title, again[0].Title)
	require.Empty(t, again[0].Roles)
}

// TestAddTimelineEvents: a batch of events is stored in one write, in
// order, each with its ID and defaulted time; inside a transaction it is
// part of the transaction; a repeated source id stores none of the batch.
func TestAddTimelineEvents(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clock := testClock()
			s := gormstore.New(openDB(t, dialect), clock)
			inc, err := s.CreateIncident(ctx, incidenttest.NewIncident())
			require.NoError(t, err)
			evs := []incident.TimelineEvent{
				*incidenttest.NewTimelineEvent(inc.ID, func(e *incident.TimelineEvent) { e.Text = "first"; e.At = time.Time{} }),
				*incidenttest.NewTimelineEvent(inc.ID, func(e *incident.TimelineEvent) { e.Text = "second"; e.SourceID = "msg-1"; e.At = clock.Now() }),
			}
			require.NoError(t, s.AddTimelineEvents(ctx, evs))
			require.NotZero(t, evs[0].ID)
			require.NotEqual(t, evs[0].ID, evs[1].ID)
			require.True(t, evs[0].At.Equal(clock.Now()), "a zero At becomes now")

			err = s.Atomic(ctx, func(tx incident.Tx) error {
				return tx.(incident.TimelineBatcher).AddTimelineEvents(ctx, []incident.TimelineEvent{
					*incidenttest.NewTimelineEvent(inc.ID, func(e *incident.TimelineEvent) { e.Text = "in a transaction"; e.At = clock.Now() }),
					*incidenttest.NewTimelineEvent(inc.ID, func(e *incident.TimelineEvent) { e.Text = "in it too"; e.At = clock.Now() }),
				})
			})
			require.NoError(t, err)

			err = s.AddTimelineEvents(ctx, []incident.TimelineEvent{
				*incidenttest.NewTimelineEvent(inc.ID, func(e *incident.TimelineEvent) { e.Text = "refused" }),
				*incidenttest.NewTimelineEvent(inc.ID, func(e *incident.TimelineEvent) { e.SourceID = "msg-1" }),
			})
			incidenttest.RequireCode(t, err, incident.ECONFLICT)

			got, err := s.ListTimeline(ctx, inc.ID)
			require.NoError(t, err)
			var texts []string
			for _, ev := range got {
				texts = append(texts, ev.Text)
			}
			require.Equal(t, []string{"first", "second", "in a transaction", "in it too"}, texts, "nothing of the refused batch")
		})
	}
}

// TestCountOpenIncidents: the open incidents by severity, in one query,
// drills and incidents no longer open left out.
func TestCountOpenIncidents(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := gormstore.New(openDB(t, dialect), testClock())
			counts, err := s.CountOpenIncidents(ctx)
			require.NoError(t, err)
			require.Empty(t, counts)
			for _, in := range []struct {
				sev    incident.Severity
				status incident.Status
				drill  bool
			}{
				{incident.P1, incident.StatusDeclared, false},
				{incident.P1, incident.StatusInvestigating, false},
				{incident.P1, incident.StatusResolved, false},
				{incident.P2, incident.StatusMitigated, false},
				{incident.P2, incident.StatusInvestigating, true},
				{incident.P3, incident.StatusClosed, false},
			} {
				create := incidenttest.NewIncident(func(i *incident.Incident) { i.Severity, i.Status, i.Drill = in.sev, in.status, in.drill })
				_, err := s.CreateIncident(ctx, create)
				require.NoError(t, err)
			}
			counts, err = s.CountOpenIncidents(ctx)
			require.NoError(t, err)
			require.Equal(t, map[incident.Severity]int{incident.P1: 2, incident.P2: 1}, counts)
		})
	}
}

// TestPostgresRefusesUnstorableText: text PostgreSQL cannot store (a NUL,
// in a column or in JSON) is refused as invalid with a sentence saying why,
// not reported as the database failing, so nobody retries it for ever.
func TestPostgresRefusesUnstorableText(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := gormstore.New(openDB(t, "postgres"), testClock())
	inc, err := s.CreateIncident(ctx, incidenttest.NewIncident())
	require.NoError(t, err)
	for name, ev := range map[string]*incident.TimelineEvent{
		"text": incidenttest.NewTimelineEvent(inc.ID, func(e *incident.TimelineEvent) { e.Text = "before\x00after" }),
		"json": incidenttest.NewTimelineEvent(inc.ID, func(e *incident.TimelineEvent) {
			e.Kind, e.Payload = incident.EventPaged, incident.PagedData{Service: "check\x00out"}
		}),
	} {
		err := s.AddTimelineEvent(ctx, ev)
		incidenttest.RequireCode(t, err, incident.EINVALID)
		require.Contains(t, incident.ErrorMessage(err), "NUL", name)
	}
	evs, err := s.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	require.Empty(t, evs, "nothing was stored")
}

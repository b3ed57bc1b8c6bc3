package incidenttest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// Store is every store method the conformance suite checks: the core's
// incident.Store and the methods the feature packages declare in their own
// store interfaces, which every implementation keeps too.
type Store interface {
	incident.Store
	// A declare's incident and first events in one write.
	incident.IncidentOpener
	// The chat's reports of people's standing, which the transport keeps.
	incident.PeopleStore
	// The records of many incidents at once, for the reports.
	incident.ReportReader
	// The changes and rollbacks of package changes (changes.Store).
	AddChangeEvent(ctx context.Context, c *incident.ChangeEvent) error
	ListChangeEvents(ctx context.Context, service string, from, to time.Time) ([]incident.ChangeEvent, error)
	AddRollback(ctx context.Context, r *incident.Rollback) error
	UpdateRollback(ctx context.Context, id int64, fn func(*incident.Rollback) error) (*incident.Rollback, error)
	GetRollback(ctx context.Context, key string) (*incident.Rollback, error)
	ListRollbacks(ctx context.Context, incidentID int64) ([]incident.Rollback, error)
}

// RunStoreTests checks that a Store keeps incident.Store's contract, the
// feature stores' (PageStore, and the changes and rollbacks in Store) and
// the shared extras documented on MemStore and gormstore.Store. newStore must
// return a new, empty store each time it is called; the subtests run in
// parallel, each with its own store.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) Store) {
	t.Helper()
	tests := []storeTest{
		{"CreateAndGet", testCreateAndGet},
		{"CreateDefaults", testCreateDefaults},
		{"CreateInvalid", testCreateInvalid},
		{"NumbersIncrease", testNumbersIncrease},
		{"ConcurrentCreateDistinctNumbers", testConcurrentCreate},
		{"DeclareKeyIdempotent", testDeclareKey},
		{"ConcurrentDeclareKey", testConcurrentDeclareKey},
		{"NotFound", testNotFound},
		{"UniqueChannel", testUniqueChannel},
		{"ListIncidents", testListIncidents},
		{"ListIncidentsFilters", testListIncidentsFilters},
		{"UpdateIncident", testUpdateIncident},
		{"UpdateIncidentFnErrorAborts", testUpdateFnError},
		{"UpdateIncidentInvalidAborts", testUpdateInvalid},
		{"UpdateIncidentDuplicateEventAborts", testUpdateDuplicateEvent},
		{"ConcurrentUpdatesSerialise", testConcurrentUpdates},
		{"Timeline", testTimeline},
		{"TimelineErrors", testTimelineErrors},
		{"StatusUpdates", testStatusUpdates},
		{"ActionItems", testActionItems},
		{"ChangeEvents", testChangeEvents},
		{"ChangeEventErrors", testChangeEventErrors},
		{"ChangeEventStates", testChangeEventStates},
		{"Deliveries", testDeliveries},
		{"ReplayBatches", testReplayBatches},
		{"PeopleStandings", testPeopleStandings},
		{"UpdateTimelineEvent", testUpdateTimelineEvent},
		{"UpdateTimelineEventErrors", testUpdateTimelineEventErrors},
		{"Pages", testPages},
		{"InstallationID", testInstallationID},
		{"PageErrors", testPageErrors},
		{"UpdatePage", testUpdatePage},
		{"ConcurrentPageUpdatesSerialise", testConcurrentPageUpdates},
		{"Rollbacks", testRollbacks},
		{"RollbackErrors", testRollbackErrors},
		{"UpdateRollback", testUpdateRollback},
		{"Exports", testExports},
		{"TimesNormalised", testTimesNormalised},
		{"ReturnsCopies", testReturnsCopies},
		{"Ping", testPing},
		{"Alerts", testAlerts},
		{"AlertGroups", testAlertGroups},
		{"ConcurrentAddAlert", testConcurrentAddAlert},
		{"UpdateActionItem", testUpdateActionItem},
		{"Reviews", testReviews},
		{"Notices", testNotices},
		{"FollowThroughAtomic", testFollowThroughAtomic},
	}
	tests = append(tests, listPageTests...)
	tests = append(tests, atomicTests...)
	tests = append(tests, alertGroupTests...)
	tests = append(tests, openerTests...)
	tests = append(tests, reportTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

// storeTest is one check of the conformance suite, run on a new store.
type storeTest struct {
	name string
	run  func(t *testing.T, s Store)
}

// RequireCode fails the test unless err carries the domain error code.
func RequireCode(t testing.TB, err error, code string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, incident.ErrorCode(err), "error: %v", err)
}

func ptr[T any](v T) *T { return &v }

func at(minutes int) time.Time { return Epoch().Add(time.Duration(minutes) * time.Minute) }

func create(t *testing.T, s incident.Store, opts ...func(*incident.Incident)) *incident.Incident {
	t.Helper()
	inc, err := s.CreateIncident(context.Background(), NewIncident(opts...))
	require.NoError(t, err)
	return inc
}

func testTimesNormalised(t *testing.T, s Store) {
	ctx := context.Background()
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	local := time.Date(2026, 3, 2, 15, 0, 0, 123456789, zone)
	inc, err := s.CreateIncident(ctx, NewIncident(func(i *incident.Incident) {
		i.DeclaredAt = local
		i.ResolvedAt = ptr(local.Add(time.Hour))
		i.SnoozedUntil = ptr(local.Add(2 * time.Hour))
	}))
	require.NoError(t, err)
	read, err := s.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	for _, tm := range []time.Time{inc.DeclaredAt, read.DeclaredAt, *read.ResolvedAt, *read.SnoozedUntil, read.UpdatedAt} {
		require.Equal(t, time.UTC, tm.Location())
		require.Zero(t, tm.Nanosecond()%1000, "stored to the microsecond")
	}
	require.True(t, read.DeclaredAt.Equal(local.Truncate(time.Microsecond)))
	require.Equal(t, inc, read)

	ev := NewTimelineEvent(inc.ID, func(e *incident.TimelineEvent) { e.At = local })
	require.NoError(t, s.AddTimelineEvent(ctx, ev))
	require.Equal(t, time.UTC, ev.At.Location(), "the argument gets the stored time")
	events, err := s.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, []incident.TimelineEvent{*ev}, events)
}

func testReturnsCopies(t *testing.T, s Store) {
	ctx := context.Background()
	in := NewIncident(func(i *incident.Incident) {
		i.Roles = map[string]string{incident.RoleComms: "U0COMMS"}
		i.AcknowledgedAt = ptr(at(1))
	})
	got, err := s.CreateIncident(ctx, in)
	require.NoError(t, err)
	in.Roles[incident.RoleComms] = "U0MUTATED"
	*in.AcknowledgedAt = at(99)
	got.Roles[incident.RoleComms] = "U0MUTATED"
	*got.AcknowledgedAt = at(99)
	got.Title = "mutated"

	read, err := s.GetIncident(ctx, got.ID)
	require.NoError(t, err)
	require.Equal(t, "U0COMMS", read.Roles[incident.RoleComms])
	require.Equal(t, at(1), *read.AcknowledgedAt)
	require.Equal(t, "checkout is down", read.Title)

	list, err := s.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	list[0].Roles[incident.RoleComms] = "U0MUTATED"

	_, err = s.UpdateIncident(ctx, got.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.Roles[incident.RoleComms] = "U0MUTATED"
		return nil, errors.New("abort")
	})
	require.Error(t, err)

	ev := NewTimelineEvent(got.ID, func(e *incident.TimelineEvent) { e.Payload = incident.NoteData{Permalink: "v"} })
	require.NoError(t, s.AddTimelineEvent(ctx, ev))
	ev.Payload = incident.NoteData{Permalink: "mutated"}
	events, err := s.ListTimeline(ctx, got.ID)
	require.NoError(t, err)
	events[0].Payload = incident.NoteData{Permalink: "mutated too"}

	read, err = s.GetIncident(ctx, got.ID)
	require.NoError(t, err)
	require.Equal(t, "U0COMMS", read.Roles[incident.RoleComms])
	events, err = s.ListTimeline(ctx, got.ID)
	require.NoError(t, err)
	require.Equal(t, incident.NoteData{Permalink: "v"}, events[0].Payload)
}

func testPing(t *testing.T, s Store) {
	require.NoError(t, s.Ping(context.Background()))
}

package incidenttest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
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
	tests := []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
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
		{"UpdateTimelineEvent", testUpdateTimelineEvent},
		{"UpdateTimelineEventErrors", testUpdateTimelineEventErrors},
		{"Pages", testPages},
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
		{"ConcurrentAddAlert", testConcurrentAddAlert},
		{"UpdateActionItem", testUpdateActionItem},
		{"Reviews", testReviews},
		{"Notices", testNotices},
		{"FollowThroughAtomic", testFollowThroughAtomic},
	}
	tests = append(tests, atomicTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

// PageStore is what incident/paging's Store adds to incident.Store: every
// store the suite checks keeps pages too, on itself and on the Tx of its
// Atomic.
type PageStore interface {
	AddPage(ctx context.Context, p *incident.Page) error
	UpdatePage(ctx context.Context, id int64, fn func(*incident.Page) error) (*incident.Page, error)
	FindPage(ctx context.Context, provider, ref string) (*incident.Page, error)
}

// pagesOf returns the page methods of a store or a transaction, failing
// the test when it has none.
func pagesOf(t testing.TB, s any) PageStore {
	t.Helper()
	p, ok := s.(PageStore)
	require.True(t, ok, "%T keeps no pages (incident/paging's Store)", s)
	return p
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

func testCreateAndGet(t *testing.T, s Store) {
	ctx := context.Background()
	in := NewIncident(func(i *incident.Incident) {
		i.Title = "payments degraded"
		i.Description = "p99 latency above 5s"
		i.Severity = incident.P1
		i.Status = incident.StatusInvestigating
		i.Service = "payments"
		i.Private = true
		i.DeclareKey = "T1:U1:abc"
		i.Commander = "U0IC"
		i.Roles = map[string]string{incident.RoleComms: "U0COMMS", incident.RoleScribe: "U0SCRIBE"}
		i.ChannelID = "C0INC1"
		i.ChannelName = "inc-1-payments-degraded"
		i.PanelTS = "1700000000.000100"
		i.BroadcastChannel = "C0BROADCAST"
		i.BroadcastTS = "1700000000.000200"
		i.Summary = "not yet"
		i.PublicProvider, i.PublicID, i.PublicURL = "statuspage", "p0ub1ic", "https://stspg.io/p0ub1ic"
		i.LastUpdateAt = ptr(at(15))
		i.NagCount = 2
		i.SnoozedUntil = ptr(at(75))
		i.DeclaredAt = at(0)
		i.AcknowledgedAt = ptr(at(2))
		i.MitigatedAt = ptr(at(20))
		i.ResolvedAt = ptr(at(40))
		i.ClosedAt = ptr(at(60))
	})
	before := *in
	got, err := s.CreateIncident(ctx, in)
	require.NoError(t, err)
	require.Equal(t, before, *in, "CreateIncident must not change its argument")
	require.Positive(t, got.ID)
	require.Positive(t, got.Number)
	require.Equal(t, fmt.Sprintf("INC-%d", got.Number), got.Key())
	require.False(t, got.UpdatedAt.IsZero())

	want := before
	want.ID, want.Number, want.UpdatedAt = got.ID, got.Number, got.UpdatedAt
	require.Equal(t, &want, got)

	for name, get := range map[string]func() (*incident.Incident, error){
		"id":      func() (*incident.Incident, error) { return s.GetIncident(ctx, got.ID) },
		"number":  func() (*incident.Incident, error) { return s.GetIncidentByNumber(ctx, got.Number) },
		"channel": func() (*incident.Incident, error) { return s.GetIncidentByChannel(ctx, "C0INC1") },
	} {
		read, err := get()
		require.NoError(t, err, name)
		require.Equal(t, got, read, name)
	}
}

func testCreateDefaults(t *testing.T, s Store) {
	got, err := s.CreateIncident(context.Background(), &incident.Incident{Title: "t", Severity: incident.P3})
	require.NoError(t, err)
	require.Equal(t, incident.StatusDeclared, got.Status)
	require.False(t, got.DeclaredAt.IsZero())
	require.False(t, got.UpdatedAt.IsZero())
	require.Equal(t, time.UTC, got.DeclaredAt.Location())
	require.Nil(t, got.Roles)
	require.Empty(t, got.DeclareKey)
	require.Empty(t, got.ChannelID)
	require.Nil(t, got.AcknowledgedAt)
	require.Nil(t, got.LastUpdateAt)
	require.Nil(t, got.SnoozedUntil)
	require.Zero(t, got.NagCount)
}

func testCreateInvalid(t *testing.T, s Store) {
	ctx := context.Background()
	for name, opt := range map[string]func(*incident.Incident){
		"no title":           func(i *incident.Incident) { i.Title = "" },
		"severity zero":      func(i *incident.Incident) { i.Severity = 0 },
		"severity five":      func(i *incident.Incident) { i.Severity = 5 },
		"unknown status":     func(i *incident.Incident) { i.Status = "sleeping" },
		"huge severity":      func(i *incident.Incident) { i.Severity = 65537 },
		"negative severity":  func(i *incident.Incident) { i.Severity = -1 },
		"negative nag count": func(i *incident.Incident) { i.NagCount = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.CreateIncident(ctx, NewIncident(opt))
			RequireCode(t, err, incident.EINVALID)
		})
	}
	_, err := s.CreateIncident(ctx, nil)
	RequireCode(t, err, incident.EINVALID)
	list, err := s.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Empty(t, list)
	// Rejected incidents consume no number.
	require.Equal(t, int64(1), create(t, s).Number)
}

func testNumbersIncrease(t *testing.T, s Store) {
	var last int64
	for range 3 {
		inc := create(t, s)
		require.Greater(t, inc.Number, last)
		last = inc.Number
	}
}

func testConcurrentCreate(t *testing.T, s Store) {
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		numbers []int64
		errs    []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inc, err := s.CreateIncident(context.Background(), NewIncident(func(inc *incident.Incident) {
				inc.Title = fmt.Sprintf("incident %d", i)
				inc.DeclareKey = fmt.Sprintf("key-%d", i)
			}))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			numbers = append(numbers, inc.Number)
		}()
	}
	wg.Wait()
	require.Empty(t, errs)
	sort.Slice(numbers, func(i, j int) bool { return numbers[i] < numbers[j] })
	require.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8}, numbers, "numbers are distinct and gap-free")
}

func testDeclareKey(t *testing.T, s Store) {
	ctx := context.Background()
	first := create(t, s, func(i *incident.Incident) { i.DeclareKey = "K1" })

	again, err := s.CreateIncident(ctx, NewIncident(func(i *incident.Incident) {
		i.DeclareKey = "K1"
		i.Title = "a double-clicked submit"
	}))
	RequireCode(t, err, incident.ECONFLICT)
	require.NotNil(t, again, "the existing incident comes back with the conflict")
	require.Equal(t, first, again)

	// An empty key never conflicts.
	create(t, s, func(i *incident.Incident) { i.DeclareKey = "" })
	create(t, s, func(i *incident.Incident) { i.DeclareKey = "" })
	list, err := s.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, list, 3)
}

func testConcurrentDeclareKey(t *testing.T, s Store) {
	const n = 6
	type result struct {
		inc *incident.Incident
		err error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inc, err := s.CreateIncident(context.Background(), NewIncident(func(inc *incident.Incident) { inc.DeclareKey = "same" }))
			results[i] = result{inc, err}
		}()
	}
	wg.Wait()
	var created int
	for _, r := range results {
		require.NotNil(t, r.inc, "every call returns the incident: %v", r.err)
		require.Equal(t, results[0].inc.ID, r.inc.ID, "every call returns the same incident")
		if r.err == nil {
			created++
		} else {
			RequireCode(t, r.err, incident.ECONFLICT)
		}
	}
	require.Equal(t, 1, created)
	list, err := s.ListIncidents(context.Background(), incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, list, 1)
}

func testNotFound(t *testing.T, s Store) {
	ctx := context.Background()
	inc := create(t, s, func(i *incident.Incident) { i.ChannelID = "C0HAS" })
	_, err := s.GetIncident(ctx, inc.ID+1000)
	RequireCode(t, err, incident.ENOTFOUND)
	_, err = s.GetIncidentByNumber(ctx, inc.Number+1000)
	RequireCode(t, err, incident.ENOTFOUND)
	_, err = s.GetIncidentByChannel(ctx, "C0NOPE")
	RequireCode(t, err, incident.ENOTFOUND)
	_, err = s.GetIncidentByChannel(ctx, "")
	RequireCode(t, err, incident.ENOTFOUND)

	called := false
	_, err = s.UpdateIncident(ctx, inc.ID+1000, func(*incident.Incident) ([]incident.TimelineEvent, error) {
		called = true
		return nil, nil
	})
	RequireCode(t, err, incident.ENOTFOUND)
	require.False(t, called)
}

func testUniqueChannel(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s, func(i *incident.Incident) { i.ChannelID = "C0A" })
	_, err := s.CreateIncident(ctx, NewIncident(func(i *incident.Incident) { i.ChannelID = "C0A" }))
	RequireCode(t, err, incident.ECONFLICT)

	b := create(t, s, func(i *incident.Incident) { i.ChannelID = "" })
	create(t, s, func(i *incident.Incident) { i.ChannelID = "" })
	_, err = s.UpdateIncident(ctx, b.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.ChannelID = "C0A"
		return nil, nil
	})
	RequireCode(t, err, incident.ECONFLICT)
	got, err := s.GetIncidentByChannel(ctx, "C0A")
	require.NoError(t, err)
	require.Equal(t, a.ID, got.ID)
	got, err = s.GetIncident(ctx, b.ID)
	require.NoError(t, err)
	require.Empty(t, got.ChannelID)
}

func testListIncidents(t *testing.T, s Store) {
	ctx := context.Background()
	mk := func(sev incident.Severity, st incident.Status, minute int) int64 {
		return create(t, s, func(i *incident.Incident) {
			i.Severity, i.Status, i.DeclaredAt = sev, st, at(minute)
		}).ID
	}
	p3old := mk(incident.P3, incident.StatusDeclared, 0)
	p1closed := mk(incident.P1, incident.StatusClosed, 5)
	p3new := mk(incident.P3, incident.StatusMitigated, 10)
	p2 := mk(incident.P2, incident.StatusInvestigating, 1)
	p1new := mk(incident.P1, incident.StatusResolved, 30)
	p3same := mk(incident.P3, incident.StatusDeclared, 10) // ties with p3new: higher id first

	ids := func(f incident.IncidentFilter) []int64 {
		list, err := s.ListIncidents(ctx, f)
		require.NoError(t, err)
		out := make([]int64, 0, len(list))
		for _, inc := range list {
			out = append(out, inc.ID)
		}
		return out
	}
	require.Equal(t, []int64{p1new, p1closed, p2, p3same, p3new, p3old}, ids(incident.IncidentFilter{}))
	require.Equal(t, []int64{p2, p3same, p3new, p3old}, ids(incident.IncidentFilter{OpenOnly: true}))
	require.Equal(t, []int64{p1new, p1closed}, ids(incident.IncidentFilter{Limit: 2}))
	require.Equal(t, []int64{p2}, ids(incident.IncidentFilter{OpenOnly: true, Limit: 1}))
}

func testListIncidentsFilters(t *testing.T, s Store) {
	ctx := context.Background()
	mk := func(sev incident.Severity, st incident.Status, service string, drill bool, minute int) int64 {
		return create(t, s, func(i *incident.Incident) {
			i.Severity, i.Status, i.Service, i.Drill, i.DeclaredAt = sev, st, service, drill, at(minute)
		}).ID
	}
	apiP1 := mk(incident.P1, incident.StatusResolved, "api", false, 0)
	apiP2 := mk(incident.P2, incident.StatusInvestigating, "api", false, 10)
	webP1 := mk(incident.P1, incident.StatusClosed, "web", false, 20)
	drill := mk(incident.P1, incident.StatusResolved, "api", true, 30)

	got, err := s.GetIncident(ctx, drill)
	require.NoError(t, err)
	require.True(t, got.Drill, "drill flag round-trips")
	got, err = s.GetIncident(ctx, apiP1)
	require.NoError(t, err)
	require.False(t, got.Drill)
	_, err = s.UpdateIncident(ctx, apiP1, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.Drill = true
		return nil, nil
	})
	require.NoError(t, err)
	got, err = s.GetIncident(ctx, apiP1)
	require.NoError(t, err)
	require.True(t, got.Drill, "drill flag updates")
	_, err = s.UpdateIncident(ctx, apiP1, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.Drill = false
		return nil, nil
	})
	require.NoError(t, err)

	ids := func(f incident.IncidentFilter) []int64 {
		list, err := s.ListIncidents(ctx, f)
		require.NoError(t, err)
		out := make([]int64, 0, len(list))
		for _, inc := range list {
			require.True(t, f.Match(inc), "store returned INC-%d, which the filter does not match", inc.Number)
			out = append(out, inc.ID)
		}
		return out
	}
	require.Equal(t, []int64{drill, webP1, apiP1, apiP2}, ids(incident.IncidentFilter{}))
	require.Equal(t, []int64{webP1, apiP1, apiP2}, ids(incident.IncidentFilter{ExcludeDrills: true}))
	require.Equal(t, []int64{drill, apiP1, apiP2}, ids(incident.IncidentFilter{Service: "api"}))
	require.Equal(t, []int64{webP1, apiP1}, ids(incident.IncidentFilter{Severity: incident.P1, ExcludeDrills: true}))
	require.Equal(t, []int64{drill, apiP1}, ids(incident.IncidentFilter{Statuses: []incident.Status{incident.StatusResolved}}))
	require.Equal(t, []int64{webP1, apiP2}, ids(incident.IncidentFilter{DeclaredFrom: at(10), DeclaredBefore: at(30)}))
	require.Equal(t, []int64{drill, webP1}, ids(incident.IncidentFilter{DeclaredFrom: at(20)}))
	require.Equal(t, []int64{apiP1}, ids(incident.IncidentFilter{DeclaredBefore: at(10)}))
	require.Empty(t, ids(incident.IncidentFilter{Service: "nope"}))
}

func testUpdateIncident(t *testing.T, s Store) {
	ctx := context.Background()
	orig := create(t, s, func(i *incident.Incident) {
		i.Commander = "U0OLD"
		i.Roles = map[string]string{incident.RoleOps: "U0OPS"}
		i.AcknowledgedAt = ptr(at(1))
		i.Summary = "draft"
		i.NagCount = 3
		i.SnoozedUntil = ptr(at(45))
	})
	updated, err := s.UpdateIncident(ctx, orig.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		require.Equal(t, orig, i, "fn sees the stored incident")
		i.ID, i.Number = 999999, 999999 // ignored
		i.Status = incident.StatusMitigated
		i.Severity = incident.P1
		i.MitigatedAt = ptr(at(30))
		i.AcknowledgedAt = nil
		i.Commander = ""
		i.Summary = ""
		i.Roles = map[string]string{incident.RoleComms: "U0COMMS"}
		i.ChannelID = "C0NEW"
		i.PublicProvider, i.PublicID, i.PublicURL = "instatus", "ckpub1", "https://acme.instatus.com/ckpub1"
		i.LastUpdateAt = ptr(at(30))
		i.NagCount = 0
		i.SnoozedUntil = nil
		return []incident.TimelineEvent{
			{Kind: incident.EventStatusChanged, Actor: "U0IC", At: at(30), Text: "mitigated", Key: true, Payload: incident.StatusChangedData{From: incident.StatusDeclared, To: incident.StatusMitigated}},
			{Kind: incident.EventSeverityChanged, Actor: "U0IC", Text: "P2 -> P1", SourceID: "src-1"},
		}, nil
	})
	require.NoError(t, err)
	require.Equal(t, orig.ID, updated.ID)
	require.Equal(t, orig.Number, updated.Number)
	require.Equal(t, incident.StatusMitigated, updated.Status)
	require.Equal(t, incident.P1, updated.Severity)
	require.Equal(t, ptr(at(30)), updated.MitigatedAt)
	require.Nil(t, updated.AcknowledgedAt)
	require.Empty(t, updated.Commander)
	require.Empty(t, updated.Summary)
	require.Equal(t, map[string]string{incident.RoleComms: "U0COMMS"}, updated.Roles)
	require.Equal(t, ptr(at(30)), updated.LastUpdateAt)
	require.Equal(t, "https://acme.instatus.com/ckpub1", updated.PublicURL)
	require.Equal(t, [2]string{"instatus", "ckpub1"}, [2]string{updated.PublicProvider, updated.PublicID})
	require.Zero(t, updated.NagCount)
	require.Nil(t, updated.SnoozedUntil)
	require.False(t, updated.UpdatedAt.IsZero())

	read, err := s.GetIncident(ctx, orig.ID)
	require.NoError(t, err)
	require.Equal(t, updated, read)
	byChannel, err := s.GetIncidentByChannel(ctx, "C0NEW")
	require.NoError(t, err)
	require.Equal(t, orig.ID, byChannel.ID)

	events, err := s.ListTimeline(ctx, orig.ID)
	require.NoError(t, err)
	require.Len(t, events, 2)
	for _, ev := range events {
		require.Equal(t, orig.ID, ev.IncidentID)
		require.Positive(t, ev.ID)
		require.False(t, ev.At.IsZero(), "a zero At becomes now")
	}
	var status incident.TimelineEvent
	for _, ev := range events {
		if ev.Kind == incident.EventStatusChanged {
			status = ev
		}
	}
	require.True(t, status.Key)
	require.Equal(t, at(30), status.At)
	require.Equal(t, incident.StatusChangedData{From: incident.StatusDeclared, To: incident.StatusMitigated}, status.Payload)
}

func testUpdateFnError(t *testing.T, s Store) {
	ctx := context.Background()
	orig := create(t, s)
	sentinel := errors.New("the lifecycle says no")
	_, err := s.UpdateIncident(ctx, orig.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.Title = "changed"
		i.Status = incident.StatusResolved
		return []incident.TimelineEvent{{Kind: incident.EventNote, Text: "never stored"}}, sentinel
	})
	require.Same(t, sentinel, err, "fn's error is returned as is")

	domainErr := incident.Errorf(incident.ECONFLICT, "closed")
	_, err = s.UpdateIncident(ctx, orig.ID, func(*incident.Incident) ([]incident.TimelineEvent, error) {
		return nil, domainErr
	})
	require.Same(t, domainErr, err)

	read, err := s.GetIncident(ctx, orig.ID)
	require.NoError(t, err)
	require.Equal(t, orig, read, "nothing was written")
	events, err := s.ListTimeline(ctx, orig.ID)
	require.NoError(t, err)
	require.Empty(t, events)
}

func testUpdateInvalid(t *testing.T, s Store) {
	ctx := context.Background()
	orig := create(t, s)
	for name, change := range map[string]func(*incident.Incident){
		"status":   func(i *incident.Incident) { i.Status = "bogus" },
		"severity": func(i *incident.Incident) { i.Severity = 9 },
		"title":    func(i *incident.Incident) { i.Title = "" },
		"nags":     func(i *incident.Incident) { i.NagCount = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.UpdateIncident(ctx, orig.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
				change(i)
				return nil, nil
			})
			RequireCode(t, err, incident.EINVALID)
		})
	}
	_, err := s.UpdateIncident(ctx, orig.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.Title = "valid change"
		return []incident.TimelineEvent{{Text: "an event with no kind"}}, nil
	})
	RequireCode(t, err, incident.EINVALID)
	read, err := s.GetIncident(ctx, orig.ID)
	require.NoError(t, err)
	require.Equal(t, orig, read)
}

func testUpdateDuplicateEvent(t *testing.T, s Store) {
	ctx := context.Background()
	orig := create(t, s)
	require.NoError(t, s.AddTimelineEvent(ctx, NewTimelineEvent(orig.ID, func(e *incident.TimelineEvent) { e.SourceID = "Ev1" })))
	_, err := s.UpdateIncident(ctx, orig.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.Title = "should not stick"
		return []incident.TimelineEvent{
			{Kind: incident.EventNote, Text: "new"},
			{Kind: incident.EventMessage, SourceID: "Ev1"},
		}, nil
	})
	RequireCode(t, err, incident.ECONFLICT)
	read, err := s.GetIncident(ctx, orig.ID)
	require.NoError(t, err)
	require.Equal(t, orig, read)
	events, err := s.ListTimeline(ctx, orig.ID)
	require.NoError(t, err)
	require.Len(t, events, 1)

	// Two events with one new SourceID in the same update also conflict.
	_, err = s.UpdateIncident(ctx, orig.ID, func(*incident.Incident) ([]incident.TimelineEvent, error) {
		return []incident.TimelineEvent{
			{Kind: incident.EventMessage, SourceID: "Ev2"},
			{Kind: incident.EventMessage, SourceID: "Ev2"},
		}, nil
	})
	RequireCode(t, err, incident.ECONFLICT)
	events, err = s.ListTimeline(ctx, orig.ID)
	require.NoError(t, err)
	require.Len(t, events, 1)
}

// testConcurrentUpdates increments a counter kept in Roles from several
// goroutines; lost updates would leave it short.
func testConcurrentUpdates(t *testing.T, s Store) {
	ctx := context.Background()
	orig := create(t, s, func(i *incident.Incident) { i.Roles = map[string]string{"count": "0"} })
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[g] = s.UpdateIncident(ctx, orig.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
				var c int
				if _, err := fmt.Sscan(i.Roles["count"], &c); err != nil {
					return nil, err
				}
				i.Roles["count"] = fmt.Sprint(c + 1)
				return []incident.TimelineEvent{{Kind: incident.EventNote, Text: fmt.Sprint(c + 1)}}, nil
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	read, err := s.GetIncident(ctx, orig.ID)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(n), read.Roles["count"])
	events, err := s.ListTimeline(ctx, orig.ID)
	require.NoError(t, err)
	require.Len(t, events, n)
}

func testTimeline(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	late := NewTimelineEvent(a.ID, func(e *incident.TimelineEvent) { e.At, e.Text = at(10), "late" })
	early := NewTimelineEvent(a.ID, func(e *incident.TimelineEvent) {
		e.At, e.Text, e.Key, e.SourceID = at(1), "early", true, "1700000000.000100"
		e.Kind, e.Payload = incident.EventMessage, incident.MessageData{User: "U1", Permalink: "https://x/1"}
	})
	tie := NewTimelineEvent(a.ID, func(e *incident.TimelineEvent) { e.At, e.Text = at(10), "tie, added later" })
	other := NewTimelineEvent(b.ID, func(e *incident.TimelineEvent) { e.SourceID = "1700000000.000100" })
	for _, ev := range []*incident.TimelineEvent{late, early, tie, other} {
		require.NoError(t, s.AddTimelineEvent(ctx, ev))
		require.Positive(t, ev.ID, "the ID is set on the argument")
	}
	require.Less(t, late.ID, tie.ID)

	got, err := s.ListTimeline(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, []incident.TimelineEvent{*early, *late, *tie}, got)

	got, err = s.ListTimeline(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, []incident.TimelineEvent{*other}, got, "the same SourceID on another incident is stored")

	// A zero At becomes now; an empty SourceID never conflicts.
	for range 2 {
		ev := &incident.TimelineEvent{IncidentID: b.ID, Kind: incident.EventNote}
		require.NoError(t, s.AddTimelineEvent(ctx, ev))
		require.False(t, ev.At.IsZero())
	}

	got, err = s.ListTimeline(ctx, b.ID+a.ID+1000)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testTimelineErrors(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	require.NoError(t, s.AddTimelineEvent(ctx, NewTimelineEvent(a.ID, func(e *incident.TimelineEvent) { e.SourceID = "Ev1" })))

	dup := NewTimelineEvent(a.ID, func(e *incident.TimelineEvent) { e.SourceID, e.Text = "Ev1", "redelivered" })
	RequireCode(t, s.AddTimelineEvent(ctx, dup), incident.ECONFLICT)
	require.Zero(t, dup.ID, "a rejected event gets no ID")
	RequireCode(t, s.AddTimelineEvent(ctx, NewTimelineEvent(a.ID+1000)), incident.ENOTFOUND)
	RequireCode(t, s.AddTimelineEvent(ctx, NewTimelineEvent(a.ID, func(e *incident.TimelineEvent) { e.Kind = "" })), incident.EINVALID)
	RequireCode(t, s.AddTimelineEvent(ctx, nil), incident.EINVALID)

	got, err := s.ListTimeline(ctx, a.ID)
	require.NoError(t, err)
	require.Len(t, got, 1)
}

func testStatusUpdates(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	second := &incident.StatusUpdate{IncidentID: a.ID, Author: "U0IC", Status: incident.StatusMitigated, Text: "error rate back to normal", NextUpdateIn: 30 * time.Minute, PostedAt: at(20)}
	first := &incident.StatusUpdate{IncidentID: a.ID, Author: "U0IC", Status: incident.StatusInvestigating, Text: "looking at the payment gateway", NextUpdateIn: 90 * time.Second, PostedAt: at(5)}
	require.NoError(t, s.AddStatusUpdate(ctx, second))
	require.NoError(t, s.AddStatusUpdate(ctx, first))
	require.Positive(t, first.ID)
	require.NotEqual(t, first.ID, second.ID)

	got, err := s.ListStatusUpdates(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, []incident.StatusUpdate{*first, *second}, got)

	events, err := s.ListTimeline(ctx, a.ID)
	require.NoError(t, err)
	require.Len(t, events, 2, "each update adds its timeline event")
	ev := events[0]
	require.Equal(t, incident.EventUpdatePosted, ev.Kind)
	require.Equal(t, "U0IC", ev.Actor)
	require.Equal(t, at(5), ev.At)
	require.Equal(t, first.Text, ev.Text)
	require.Equal(t, incident.UpdatePostedData{Status: incident.StatusInvestigating}, ev.Payload)

	zero := &incident.StatusUpdate{IncidentID: a.ID, Status: incident.StatusMitigated, Text: "now"}
	require.NoError(t, s.AddStatusUpdate(ctx, zero))
	require.False(t, zero.PostedAt.IsZero(), "a zero PostedAt becomes now")

	RequireCode(t, s.AddStatusUpdate(ctx, &incident.StatusUpdate{IncidentID: a.ID + 1000, Status: incident.StatusMitigated}), incident.ENOTFOUND)
	RequireCode(t, s.AddStatusUpdate(ctx, &incident.StatusUpdate{IncidentID: a.ID, Status: "bogus"}), incident.EINVALID)
	RequireCode(t, s.AddStatusUpdate(ctx, &incident.StatusUpdate{IncidentID: a.ID, Status: incident.StatusMitigated, NextUpdateIn: -time.Second}), incident.EINVALID)
	RequireCode(t, s.AddStatusUpdate(ctx, nil), incident.EINVALID)
	got, err = s.ListStatusUpdates(ctx, a.ID)
	require.NoError(t, err)
	require.Len(t, got, 3)
	got, err = s.ListStatusUpdates(ctx, a.ID+1000)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testActionItems(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	later := &incident.ActionItem{IncidentID: a.ID, Text: "add an alert on gateway latency", Owner: "U0OWNER", DueOn: ptr(at(7 * 24 * 60)), CreatedBy: "U0IC", CreatedAt: at(50), ExternalURL: "https://github.com/acme/checkout/issues/7"}
	earlier := &incident.ActionItem{IncidentID: a.ID, Text: "write the postmortem", Done: true, CreatedBy: "U0IC", CreatedAt: at(45)}
	require.NoError(t, s.AddActionItem(ctx, later))
	require.NoError(t, s.AddActionItem(ctx, earlier))
	require.Positive(t, later.ID)

	got, err := s.ListActionItems(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, []incident.ActionItem{*earlier, *later}, got)

	zero := &incident.ActionItem{IncidentID: a.ID, Text: "t"}
	require.NoError(t, s.AddActionItem(ctx, zero))
	require.False(t, zero.CreatedAt.IsZero(), "a zero CreatedAt becomes now")

	RequireCode(t, s.AddActionItem(ctx, &incident.ActionItem{IncidentID: a.ID + 1000, Text: "t"}), incident.ENOTFOUND)
	RequireCode(t, s.AddActionItem(ctx, &incident.ActionItem{IncidentID: a.ID}), incident.EINVALID)
	RequireCode(t, s.AddActionItem(ctx, nil), incident.EINVALID)
	got, err = s.ListActionItems(ctx, a.ID+1000)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testChangeEvents(t *testing.T, s Store) {
	ctx := context.Background()
	add := func(id, service string, minute int) *incident.ChangeEvent {
		c := NewChangeEvent(id, func(c *incident.ChangeEvent) { c.Service, c.OccurredAt = service, at(minute) })
		require.NoError(t, s.AddChangeEvent(ctx, c))
		require.Positive(t, c.ID)
		return c
	}
	before := add("d0", "checkout", -1)
	start := add("d1", "checkout", 0)
	mid := add("d2", "search", 5)
	midTie := add("d3", "checkout", 5)
	end := add("d4", "checkout", 10)
	add("d5", "checkout", 11)
	flag := NewChangeEvent("flag-1", func(c *incident.ChangeEvent) {
		c.Source, c.Kind, c.Service, c.OccurredAt = "launchdarkly", incident.ChangeFlag, "search", at(7)
		c.Data = map[string]string{"flag": "new-ranker", "to": "on"}
	})
	require.NoError(t, s.AddChangeEvent(ctx, flag))
	_ = before

	got, err := s.ListChangeEvents(ctx, "", at(0), at(10))
	require.NoError(t, err)
	require.Equal(t, []incident.ChangeEvent{*end, *flag, *midTie, *mid, *start}, got, "inclusive window, newest first, ties by newest id")

	got, err = s.ListChangeEvents(ctx, "search", at(0), at(10))
	require.NoError(t, err)
	require.Equal(t, []incident.ChangeEvent{*flag, *mid}, got)

	got, err = s.ListChangeEvents(ctx, "checkout", at(5), at(5))
	require.NoError(t, err)
	require.Equal(t, []incident.ChangeEvent{*midTie}, got)

	// Sub-microsecond bounds: the window is exact even though times are
	// stored to the microsecond.
	got, err = s.ListChangeEvents(ctx, "checkout", at(5).Add(time.Nanosecond), at(10).Add(-time.Nanosecond))
	require.NoError(t, err)
	require.Empty(t, got)

	got, err = s.ListChangeEvents(ctx, "nobody", at(-100), at(100))
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = s.ListChangeEvents(ctx, "", at(10), at(0))
	require.NoError(t, err)
	require.Empty(t, got, "an inverted window is empty")
}

func testChangeEventErrors(t *testing.T, s Store) {
	ctx := context.Background()
	require.NoError(t, s.AddChangeEvent(ctx, NewChangeEvent("d1")))
	dup := NewChangeEvent("d1", func(c *incident.ChangeEvent) { c.Summary = "redelivered" })
	RequireCode(t, s.AddChangeEvent(ctx, dup), incident.ECONFLICT)
	require.Zero(t, dup.ID)
	require.NoError(t, s.AddChangeEvent(ctx, NewChangeEvent("d1", func(c *incident.ChangeEvent) { c.Source = "webhook" })),
		"the same external id from another source is a different change")

	zero := NewChangeEvent("d2", func(c *incident.ChangeEvent) { c.OccurredAt = time.Time{} })
	require.NoError(t, s.AddChangeEvent(ctx, zero))
	require.False(t, zero.OccurredAt.IsZero(), "a zero OccurredAt becomes now")

	for name, opt := range map[string]func(*incident.ChangeEvent){
		"no source": func(c *incident.ChangeEvent) { c.Source = "" },
		"no id":     func(c *incident.ChangeEvent) { c.ExternalID = "" },
		"no kind":   func(c *incident.ChangeEvent) { c.Kind = "" },
	} {
		RequireCode(t, s.AddChangeEvent(ctx, NewChangeEvent("x-"+name, opt)), incident.EINVALID)
	}
	RequireCode(t, s.AddChangeEvent(ctx, nil), incident.EINVALID)
}

func testDeliveries(t *testing.T, s Store) {
	ctx := context.Background()
	record := func(source, id string, minute int) bool {
		first, err := s.RecordDelivery(ctx, incident.Delivery{Source: source, ID: id, ReceivedAt: at(minute)})
		require.NoError(t, err)
		return first
	}
	require.True(t, record("slack", "Ev1", 0))
	require.False(t, record("slack", "Ev1", 1), "a redelivery is not first")
	require.True(t, record("github", "Ev1", 1), "another source's id is separate")
	require.True(t, record("slack", "Ev2", 5))
	require.True(t, record("slack", "Ev3", 10))

	_, err := s.RecordDelivery(ctx, incident.Delivery{Source: "", ID: "x"})
	RequireCode(t, err, incident.EINVALID)
	_, err = s.RecordDelivery(ctx, incident.Delivery{Source: "slack"})
	RequireCode(t, err, incident.EINVALID)

	n, err := s.PurgeDeliveries(ctx, at(5))
	require.NoError(t, err)
	require.Equal(t, int64(2), n, "strictly before the cutoff")
	n, err = s.PurgeDeliveries(ctx, at(5))
	require.NoError(t, err)
	require.Zero(t, n)

	require.True(t, record("slack", "Ev1", 20), "a purged delivery is first again")
	require.False(t, record("slack", "Ev2", 20), "a kept delivery is still known")

	n, err = s.PurgeDeliveries(ctx, at(5).Add(time.Nanosecond))
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "a cutoff just after a delivery purges it")

	// Last, because the clock decides when it was received.
	first, err := s.RecordDelivery(ctx, incident.Delivery{Source: "slack", ID: "Ev-now"})
	require.NoError(t, err)
	require.True(t, first, "a zero ReceivedAt becomes now")
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

func testUpdateTimelineEvent(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	msg := NewTimelineEvent(a.ID, func(e *incident.TimelineEvent) {
		e.Kind, e.SourceID, e.At, e.Text = incident.EventMessage, "1700000000.000100", at(3), "db is slow"
		e.Payload = incident.MessageData{User: "U1"}
	})
	require.NoError(t, s.AddTimelineEvent(ctx, msg))
	other := NewTimelineEvent(b.ID, func(e *incident.TimelineEvent) { e.SourceID, e.Text = msg.SourceID, "untouched" })
	require.NoError(t, s.AddTimelineEvent(ctx, other))

	got, err := s.UpdateTimelineEvent(ctx, a.ID, msg.SourceID, func(e *incident.TimelineEvent) error {
		require.Equal(t, msg, e, "fn sees the stored event")
		e.ID, e.IncidentID, e.SourceID = 999999, b.ID, "changed" // ignored
		e.Text = "db is slow (edited)"
		e.Key = true
		e.Payload = incident.MessageData{User: "U1", Edited: true}
		e.At = time.Time{} // keeps the stored time
		return nil
	})
	require.NoError(t, err)
	want := *msg
	want.Text, want.Key, want.Payload = "db is slow (edited)", true, incident.MessageData{User: "U1", Edited: true}
	require.Equal(t, &want, got)

	events, err := s.ListTimeline(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, []incident.TimelineEvent{want}, events)
	events, err = s.ListTimeline(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, []incident.TimelineEvent{*other}, events, "the same SourceID on another incident is not touched")

	// A deleted message: the event stays, rewritten, at a new time.
	got, err = s.UpdateTimelineEvent(ctx, a.ID, msg.SourceID, func(e *incident.TimelineEvent) error {
		e.Text, e.Payload, e.At = "(message deleted)", nil, at(9)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, at(9), got.At)
	require.Nil(t, got.Payload)
	got.Text = "mutated"
	events, err = s.ListTimeline(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, "(message deleted)", events[0].Text, "the result is a copy")
	require.Equal(t, msg.ID, events[0].ID)
}

func testUpdateTimelineEventErrors(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	ev := NewTimelineEvent(a.ID, func(e *incident.TimelineEvent) { e.SourceID, e.Payload = "Ev1", incident.NoteData{Permalink: "v"} })
	require.NoError(t, s.AddTimelineEvent(ctx, ev))
	require.NoError(t, s.AddTimelineEvent(ctx, NewTimelineEvent(a.ID))) // no SourceID

	for name, key := range map[string]struct {
		incidentID int64
		sourceID   string
	}{
		"other incident":   {b.ID, "Ev1"},
		"unknown incident": {a.ID + b.ID + 1000, "Ev1"},
		"unknown source":   {a.ID, "Ev2"},
		"empty source":     {a.ID, ""},
	} {
		t.Run(name, func(t *testing.T) {
			called := false
			_, err := s.UpdateTimelineEvent(ctx, key.incidentID, key.sourceID, func(*incident.TimelineEvent) error {
				called = true
				return nil
			})
			RequireCode(t, err, incident.ENOTFOUND)
			require.False(t, called)
		})
	}

	sentinel := errors.New("not an edit we keep")
	_, err := s.UpdateTimelineEvent(ctx, a.ID, "Ev1", func(e *incident.TimelineEvent) error {
		e.Text = "never stored"
		e.Payload = incident.NoteData{Permalink: "mutated"}
		return sentinel
	})
	require.Same(t, sentinel, err, "fn's error is returned as is")

	_, err = s.UpdateTimelineEvent(ctx, a.ID, "Ev1", func(e *incident.TimelineEvent) error {
		e.Kind, e.Text = "", "never stored"
		return nil
	})
	RequireCode(t, err, incident.EINVALID)

	events, err := s.ListTimeline(ctx, a.ID)
	require.NoError(t, err)
	require.Len(t, events, 2)
	require.Equal(t, *ev, events[0], "nothing was written")
}

func testPages(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	zone := time.FixedZone("UTC-3", -3*3600)
	later := NewPage(a.ID, "INC-1-backup", func(p *incident.Page) {
		p.CreatedAt = at(5).In(zone).Add(789 * time.Nanosecond)
		p.Assignees = []string{"Grace Hopper", "Alan Turing"}
		p.Status = "acknowledged"
		p.AcknowledgedAt = ptr(at(7))
		p.AcknowledgedBy = "Grace Hopper"
		p.ResolvedAt = ptr(at(30))
	})
	earlier := NewPage(a.ID, "INC-1", func(p *incident.Page) {
		p.CreatedAt = at(1)
		p.ExternalID = "Q1ABCDEF" // the REST API's incident id
		p.Assignees = nil
	})
	onB := NewPage(b.ID, "INC-2")
	for _, p := range []*incident.Page{later, earlier, onB} {
		require.NoError(t, pagesOf(t, s).AddPage(ctx, p))
		require.Positive(t, p.ID, "the ID is set on the argument")
	}
	require.Equal(t, at(5), later.CreatedAt, "the argument gets the stored time: UTC, whole microseconds")
	require.Equal(t, time.UTC, later.CreatedAt.Location())

	got, err := s.ListPages(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, []incident.Page{*earlier, *later}, got, "oldest first")
	require.Nil(t, got[0].Assignees)

	for name, tc := range map[string]struct {
		provider, ref string
		want          *incident.Page
	}{
		"by external id":      {"pagerduty", "Q1ABCDEF", earlier},
		"by dedup key":        {"pagerduty", "INC-1", earlier},
		"events v2 id":        {"pagerduty", "INC-1-backup", later},
		"another incident's":  {"pagerduty", "INC-2", onB},
		"another provider":    {"opsgenie", "INC-1", nil},
		"unknown ref":         {"pagerduty", "INC-404", nil},
		"empty ref":           {"pagerduty", "", nil},
		"empty provider":      {"", "INC-1", nil},
		"prefix is no match":  {"pagerduty", "INC", nil},
		"case sensitive refs": {"pagerduty", "inc-1", nil},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := pagesOf(t, s).FindPage(ctx, tc.provider, tc.ref)
			if tc.want == nil {
				RequireCode(t, err, incident.ENOTFOUND)
				require.Nil(t, p)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, p)
		})
	}

	// A zero CreatedAt becomes now, which sorts after the explicit times.
	zero := NewPage(a.ID, "INC-1-third", func(p *incident.Page) { p.CreatedAt = time.Time{} })
	require.NoError(t, pagesOf(t, s).AddPage(ctx, zero))
	require.False(t, zero.CreatedAt.IsZero())
	got, err = s.ListPages(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, []incident.Page{*earlier, *later, *zero}, got)

	// What the store returns is a copy.
	got[1].Assignees[0] = "mutated"
	later.Assignees[1] = "mutated"
	found, err := pagesOf(t, s).FindPage(ctx, "pagerduty", "INC-1-backup")
	require.NoError(t, err)
	require.Equal(t, []string{"Grace Hopper", "Alan Turing"}, found.Assignees)

	got, err = s.ListPages(ctx, a.ID+b.ID+1000)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testPageErrors(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	require.NoError(t, pagesOf(t, s).AddPage(ctx, NewPage(a.ID, "INC-1")))

	dup := NewPage(b.ID, "INC-1", func(p *incident.Page) { p.ExternalID = "Q2" })
	RequireCode(t, pagesOf(t, s).AddPage(ctx, dup), incident.ECONFLICT)
	require.Zero(t, dup.ID, "a rejected page gets no ID")
	require.NoError(t, pagesOf(t, s).AddPage(ctx, NewPage(a.ID, "INC-1", func(p *incident.Page) { p.Provider = "opsgenie" })),
		"the same dedup key at another provider is another page")
	for range 2 {
		require.NoError(t, pagesOf(t, s).AddPage(ctx, NewPage(a.ID, "", func(p *incident.Page) { p.ExternalID = "Q3" })),
			"an empty dedup key never conflicts")
	}

	RequireCode(t, pagesOf(t, s).AddPage(ctx, NewPage(a.ID+b.ID+1000, "INC-404")), incident.ENOTFOUND)
	RequireCode(t, pagesOf(t, s).AddPage(ctx, NewPage(a.ID, "INC-x", func(p *incident.Page) { p.Provider = "" })), incident.EINVALID)
	RequireCode(t, pagesOf(t, s).AddPage(ctx, nil), incident.EINVALID)

	got, err := s.ListPages(ctx, a.ID)
	require.NoError(t, err)
	require.Len(t, got, 4)
	got, err = s.ListPages(ctx, b.ID)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testUpdatePage(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	page := NewPage(a.ID, "INC-1", func(p *incident.Page) { p.ExternalID = "" })
	require.NoError(t, pagesOf(t, s).AddPage(ctx, page))
	taken := NewPage(a.ID, "INC-1-backup")
	require.NoError(t, pagesOf(t, s).AddPage(ctx, taken))

	got, err := pagesOf(t, s).UpdatePage(ctx, page.ID, func(p *incident.Page) error {
		require.Equal(t, page, p, "fn sees the stored page")
		p.ID, p.IncidentID = 999999, b.ID // ignored
		p.CreatedAt = time.Time{}         // keeps the stored time
		p.ExternalID = "Q1ABCDEF"
		p.Status = "acknowledged"
		p.AcknowledgedAt = ptr(at(4))
		p.AcknowledgedBy = "Grace Hopper"
		p.Assignees = []string{"Grace Hopper"}
		return nil
	})
	require.NoError(t, err)
	want := *page
	want.ExternalID, want.Status, want.AcknowledgedAt, want.AcknowledgedBy = "Q1ABCDEF", "acknowledged", ptr(at(4)), "Grace Hopper"
	want.Assignees = []string{"Grace Hopper"}
	require.Equal(t, &want, got)
	found, err := pagesOf(t, s).FindPage(ctx, "pagerduty", "Q1ABCDEF")
	require.NoError(t, err)
	require.Equal(t, &want, found, "findable by the new external id")
	list, err := s.ListPages(ctx, b.ID)
	require.NoError(t, err)
	require.Empty(t, list, "the page stays with its incident")

	got, err = pagesOf(t, s).UpdatePage(ctx, page.ID, func(p *incident.Page) error {
		p.Status, p.ResolvedAt, p.Assignees = "resolved", ptr(at(30)), nil
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, ptr(at(30)), got.ResolvedAt)
	require.Nil(t, got.Assignees)
	want = *got

	called := false
	_, err = pagesOf(t, s).UpdatePage(ctx, page.ID+taken.ID+1000, func(*incident.Page) error {
		called = true
		return nil
	})
	RequireCode(t, err, incident.ENOTFOUND)
	require.False(t, called)

	sentinel := errors.New("stale webhook")
	_, err = pagesOf(t, s).UpdatePage(ctx, page.ID, func(p *incident.Page) error {
		p.Status = "triggered"
		return sentinel
	})
	require.Same(t, sentinel, err, "fn's error is returned as is")
	_, err = pagesOf(t, s).UpdatePage(ctx, page.ID, func(p *incident.Page) error {
		p.DedupKey, p.Status = taken.DedupKey, "triggered"
		return nil
	})
	RequireCode(t, err, incident.ECONFLICT)
	_, err = pagesOf(t, s).UpdatePage(ctx, page.ID, func(p *incident.Page) error {
		p.Provider, p.Status = "", "triggered"
		return nil
	})
	RequireCode(t, err, incident.EINVALID)

	found, err = pagesOf(t, s).FindPage(ctx, "pagerduty", "INC-1")
	require.NoError(t, err)
	require.Equal(t, &want, found, "nothing was written")
}

// testConcurrentPageUpdates appends to a page's Assignees from several
// goroutines, as concurrent webhooks do; lost updates would leave names out.
func testConcurrentPageUpdates(t *testing.T, s Store) {
	ctx := context.Background()
	pages := pagesOf(t, s)
	page := NewPage(create(t, s).ID, "INC-1", func(p *incident.Page) { p.Assignees = nil })
	require.NoError(t, pages.AddPage(ctx, page))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[g] = pages.UpdatePage(ctx, page.ID, func(p *incident.Page) error {
				p.Assignees = append(p.Assignees, fmt.Sprintf("responder %d", g))
				return nil
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	got, err := pagesOf(t, s).FindPage(ctx, "pagerduty", "INC-1")
	require.NoError(t, err)
	require.Len(t, got.Assignees, n)
}

func testRollbacks(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	deploy := NewRollback(a.ID, "deploy:d1", func(r *incident.Rollback) {
		r.CreatedAt, r.UpdatedAt = at(1), at(2) // the clock decides
	})
	flag := NewRollback(a.ID, "", func(r *incident.Rollback) {
		r.Plan = incident.RollbackPlan{
			Key: "flag:new-ranker:v7", Kind: incident.ChangeFlag, Source: "launchdarkly",
			Description: "Turn new-ranker off in production.", Environment: "production", Service: "search",
			Method: "off", Project: "default", Flag: "new-ranker", ChangeID: "launchdarkly:v7",
		}
		r.Status = ""
	})
	onB := NewRollback(b.ID, "deploy:d2", func(r *incident.Rollback) { r.Plan.Key = "" })
	for _, r := range []*incident.Rollback{deploy, flag, onB} {
		require.NoError(t, s.AddRollback(ctx, r))
		require.Positive(t, r.ID, "the ID is set on the argument")
		require.False(t, r.CreatedAt.IsZero())
		require.Equal(t, r.CreatedAt, r.UpdatedAt)
	}
	require.NotEqual(t, at(1), deploy.CreatedAt, "CreatedAt always comes from the clock")
	require.Equal(t, "flag:new-ranker:v7", flag.Key, "an empty Key is the plan's")
	require.Equal(t, incident.RollbackAwaitingApproval, flag.Status, "an empty Status awaits approval")
	require.Equal(t, "deploy:d2", onB.Plan.Key, "an empty Plan.Key is the rollback's")

	got, err := s.ListRollbacks(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, []incident.Rollback{*deploy, *flag}, got, "oldest first")

	for _, want := range []*incident.Rollback{deploy, flag, onB} {
		read, err := s.GetRollback(ctx, want.Key)
		require.NoError(t, err)
		require.Equal(t, want, read, "the plan round-trips")
	}

	got, err = s.ListRollbacks(ctx, a.ID+b.ID+1000)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testRollbackErrors(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	require.NoError(t, s.AddRollback(ctx, NewRollback(a.ID, "deploy:d1")))

	dup := NewRollback(b.ID, "deploy:d1", func(r *incident.Rollback) { r.RequestedBy = "U0OTHER" })
	RequireCode(t, s.AddRollback(ctx, dup), incident.ECONFLICT)
	require.Zero(t, dup.ID, "a rejected rollback gets no ID")
	RequireCode(t, s.AddRollback(ctx, NewRollback(a.ID+b.ID+1000, "deploy:d9")), incident.ENOTFOUND)
	for name, opt := range map[string]func(*incident.Rollback){
		"no key":         func(r *incident.Rollback) { r.Key, r.Plan.Key = "", "" },
		"different keys": func(r *incident.Rollback) { r.Plan.Key = "deploy:other" },
	} {
		RequireCode(t, s.AddRollback(ctx, NewRollback(a.ID, "deploy:"+name, opt)), incident.EINVALID)
	}
	RequireCode(t, s.AddRollback(ctx, nil), incident.EINVALID)

	_, err := s.GetRollback(ctx, "deploy:d404")
	RequireCode(t, err, incident.ENOTFOUND)
	_, err = s.GetRollback(ctx, "")
	RequireCode(t, err, incident.ENOTFOUND)

	got, err := s.ListRollbacks(ctx, a.ID)
	require.NoError(t, err)
	require.Len(t, got, 1)
	got, err = s.ListRollbacks(ctx, b.ID)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testUpdateRollback(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	rb := NewRollback(a.ID, "deploy:d1")
	require.NoError(t, s.AddRollback(ctx, rb))

	got, err := s.UpdateRollback(ctx, rb.ID, func(r *incident.Rollback) error {
		require.Equal(t, rb, r, "fn sees the stored rollback")
		r.ID, r.IncidentID, r.Key, r.Plan.Key = 999999, b.ID, "changed", "changed" // ignored
		r.CreatedAt = at(-60)                                                      // ignored
		r.Status = incident.RollbackRunning
		r.ApprovedBy = "U0APPROVER"
		r.ExternalID = "1234567"
		r.URL = "https://github.com/acme/checkout/actions/runs/1234567"
		r.Detail = "queued"
		r.Plan.Description = "Redeploy, confirmed."
		return nil
	})
	require.NoError(t, err)
	want := *rb
	want.Status, want.ApprovedBy, want.ExternalID = incident.RollbackRunning, "U0APPROVER", "1234567"
	want.URL, want.Detail = "https://github.com/acme/checkout/actions/runs/1234567", "queued"
	want.Plan.Description = "Redeploy, confirmed."
	want.UpdatedAt = got.UpdatedAt
	require.Equal(t, &want, got)
	require.False(t, got.UpdatedAt.Before(rb.UpdatedAt))
	read, err := s.GetRollback(ctx, "deploy:d1")
	require.NoError(t, err)
	require.Equal(t, got, read)
	_, err = s.GetRollback(ctx, "changed")
	RequireCode(t, err, incident.ENOTFOUND)
	list, err := s.ListRollbacks(ctx, b.ID)
	require.NoError(t, err)
	require.Empty(t, list, "the rollback stays with its incident")

	called := false
	_, err = s.UpdateRollback(ctx, rb.ID+1000, func(*incident.Rollback) error {
		called = true
		return nil
	})
	RequireCode(t, err, incident.ENOTFOUND)
	require.False(t, called)

	sentinel := errors.New("not approved")
	_, err = s.UpdateRollback(ctx, rb.ID, func(r *incident.Rollback) error {
		r.Status = incident.RollbackFailed
		return sentinel
	})
	require.Same(t, sentinel, err, "fn's error is returned as is")
	_, err = s.UpdateRollback(ctx, rb.ID, func(r *incident.Rollback) error {
		r.Status, r.Detail = "", "never stored"
		return nil
	})
	RequireCode(t, err, incident.EINVALID)
	read, err = s.GetRollback(ctx, "deploy:d1")
	require.NoError(t, err)
	require.Equal(t, got, read, "nothing was written")
}

func testExports(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	b := create(t, s)
	_, err := s.GetExport(ctx, a.ID, "confluence")
	RequireCode(t, err, incident.ENOTFOUND)

	first := incident.ExportRef{Target: "confluence", ID: "98765", URL: "https://acme.atlassian.net/wiki/pages/98765", Version: 1}
	require.NoError(t, s.SaveExport(ctx, a.ID, first))
	got, err := s.GetExport(ctx, a.ID, "confluence")
	require.NoError(t, err)
	require.Equal(t, &first, got)

	pr := incident.ExportRef{Target: "github", ID: "42", URL: "https://github.com/acme/postmortems/pull/42"}
	require.NoError(t, s.SaveExport(ctx, a.ID, pr))
	second := first
	second.Version = 2
	require.NoError(t, s.SaveExport(ctx, a.ID, second), "a re-export replaces the record")
	got, err = s.GetExport(ctx, a.ID, "confluence")
	require.NoError(t, err)
	require.Equal(t, &second, got)
	got, err = s.GetExport(ctx, a.ID, "github")
	require.NoError(t, err)
	require.Equal(t, &pr, got, "each target has its own record")

	_, err = s.GetExport(ctx, b.ID, "confluence")
	RequireCode(t, err, incident.ENOTFOUND)
	_, err = s.GetExport(ctx, a.ID, "")
	RequireCode(t, err, incident.ENOTFOUND)

	RequireCode(t, s.SaveExport(ctx, a.ID+b.ID+1000, first), incident.ENOTFOUND)
	RequireCode(t, s.SaveExport(ctx, a.ID, incident.ExportRef{ID: "1"}), incident.EINVALID)
	got, err = s.GetExport(ctx, a.ID, "confluence")
	require.NoError(t, err)
	require.Equal(t, &second, got)
}

func testPing(t *testing.T, s Store) {
	require.NoError(t, s.Ping(context.Background()))
}

// testChangeEventStates: a change that moves through states under one id is
// stored once, as its newest report.
func testChangeEventStates(t *testing.T, s Store) {
	ctx := context.Background()
	state := func(st string, rev int64, minute int, service string) *incident.ChangeEvent {
		return NewChangeEvent("deployment:acme/shop:42", func(c *incident.ChangeEvent) {
			c.Service, c.OccurredAt, c.Revision, c.Summary = service, at(minute), rev, "Deploy ("+st+")"
			c.Data = map[string]string{"state": st}
		})
	}
	pending := state("pending", 100, 0, "checkout")
	require.NoError(t, s.AddChangeEvent(ctx, pending))
	running := state("in_progress", 101, 2, "")
	require.NoError(t, s.AddChangeEvent(ctx, running), "a later state replaces the stored one")
	require.Equal(t, pending.ID, running.ID, "one change, one row")
	require.Equal(t, "checkout", running.Service, "a report without a service keeps the stored one")

	failed := state("failure", 102, 6, "checkout")
	require.NoError(t, s.AddChangeEvent(ctx, failed))
	RequireCode(t, s.AddChangeEvent(ctx, state("in_progress", 101, 2, "checkout")), incident.ECONFLICT)
	RequireCode(t, s.AddChangeEvent(ctx, state("failure", 102, 6, "checkout")), incident.ECONFLICT)

	got, err := s.ListChangeEvents(ctx, "checkout", at(-10), at(10))
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, *failed, got[0])
	require.Equal(t, "failure", got[0].Data["state"], "a late delivery of an earlier state does not overwrite a later one")
	got, err = s.ListChangeEvents(ctx, "", at(-10), at(5))
	require.NoError(t, err)
	require.Empty(t, got, "the change is listed at its latest time")

	// Without revisions, the later report wins.
	run := NewChangeEvent("run-7", func(c *incident.ChangeEvent) { c.OccurredAt = at(1) })
	require.NoError(t, s.AddChangeEvent(ctx, run))
	done := NewChangeEvent("run-7", func(c *incident.ChangeEvent) { c.OccurredAt, c.Summary = at(3), "done" })
	require.NoError(t, s.AddChangeEvent(ctx, done))
	RequireCode(t, s.AddChangeEvent(ctx, NewChangeEvent("run-7", func(c *incident.ChangeEvent) { c.OccurredAt = at(2) })), incident.ECONFLICT)
	got, err = s.ListChangeEvents(ctx, "", at(3), at(3))
	require.NoError(t, err)
	require.Equal(t, []incident.ChangeEvent{*done}, got)
}

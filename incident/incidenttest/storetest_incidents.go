package incidenttest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

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

	keyed := create(t, s, func(i *incident.Incident) { i.DeclareKey, i.DeclaredAt = "alert-123", at(40) }).ID
	require.Equal(t, []int64{keyed}, ids(incident.IncidentFilter{DeclareKey: "alert-123"}))
	require.Empty(t, ids(incident.IncidentFilter{DeclareKey: "alert-124"}))
}

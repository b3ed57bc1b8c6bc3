package incidenttest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// The newest-first list and its pages (IncidentFilter.Order and After),
// which the web list and the API read a page at a time.
var listPageTests = []storeTest{
	{"ListNewestFirst", testListNewestFirst},
	{"ListNewestPages", testListNewestPages},
	{"ListNewestPagesKeepTheirPlace", testListNewestPagesKeepTheirPlace},
	{"ListNewestFiltersCombined", testListNewestFiltersCombined},
	{"ListCursorBetweenMicroseconds", testListCursorBetweenMicroseconds},
	{"ListUnknownOrder", testListUnknownOrder},
}

// listIDs lists the IDs of the incidents f selects, checking that each one
// passes f.
func listIDs(t *testing.T, s incident.IncidentStore, f incident.IncidentFilter) []int64 {
	t.Helper()
	list, err := s.ListIncidents(context.Background(), f)
	require.NoError(t, err)
	out := make([]int64, 0, len(list))
	for _, inc := range list {
		require.True(t, f.Match(inc), "store returned INC-%d, which the filter does not match", inc.Number)
		out = append(out, inc.ID)
	}
	return out
}

// allPages reads every page of f, size incidents at a time, each after the
// last incident of the one before, and returns the IDs in the order read.
func allPages(t *testing.T, s incident.IncidentStore, f incident.IncidentFilter, size int) []int64 {
	t.Helper()
	f.Order, f.Limit, f.After = incident.OrderNewest, size, nil
	out := []int64{}
	for range 1000 {
		page, err := s.ListIncidents(context.Background(), f)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), size)
		for _, inc := range page {
			require.True(t, f.Match(inc), "page after %+v holds INC-%d, which the filter does not match", f.After, inc.Number)
			out = append(out, inc.ID)
		}
		if len(page) < size {
			return out
		}
		f.After = incident.CursorOf(page[len(page)-1])
	}
	t.Fatal("the pages never end")
	return nil
}

func testListNewestFirst(t *testing.T, s Store) {
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
	p4same := mk(incident.P4, incident.StatusDeclared, 10) // and another, less severe

	newest := incident.IncidentFilter{Order: incident.OrderNewest}
	require.Equal(t, []int64{p1new, p4same, p3same, p3new, p1closed, p2, p3old}, listIDs(t, s, newest))
	newest.Limit = 3
	require.Equal(t, []int64{p1new, p4same, p3same}, listIDs(t, s, newest))
	newest.OpenOnly, newest.Limit = true, 2
	require.Equal(t, []int64{p4same, p3same}, listIDs(t, s, newest))

	// The zero Order is still most severe first: Slack's list.
	require.Equal(t, []int64{p1new, p1closed, p2, p3same, p3new, p3old, p4same}, listIDs(t, s, incident.IncidentFilter{}))
	require.Equal(t, []int64{p2, p3same}, listIDs(t, s, incident.IncidentFilter{OpenOnly: true, Limit: 2}))
}

func testListNewestPages(t *testing.T, s Store) {
	// Twelve incidents, five of them declared at one time (minute 20), and
	// stored out of order, so IDs and times disagree.
	minutes := []int{20, 5, 20, 40, 20, 1, 33, 20, 20, 7, 33, 50}
	var ids []int64
	for _, m := range minutes {
		ids = append(ids, create(t, s, func(i *incident.Incident) { i.DeclaredAt = at(m) }).ID)
	}
	all := listIDs(t, s, incident.IncidentFilter{Order: incident.OrderNewest})
	require.Equal(t, []int64{ids[11], ids[3], ids[10], ids[6], ids[8], ids[7], ids[4], ids[2], ids[0], ids[9], ids[1], ids[5]}, all)

	for size := 1; size <= 13; size++ {
		require.Equal(t, all, allPages(t, s, incident.IncidentFilter{}, size), "pages of %d", size)
	}

	// A page that ends inside the tie goes on with the rest of it.
	after := &incident.ListCursor{DeclaredAt: at(20), ID: ids[7]}
	require.Equal(t, []int64{ids[4], ids[2]}, listIDs(t, s, incident.IncidentFilter{Order: incident.OrderNewest, After: after, Limit: 2}))
	// A cursor past the last incident reads an empty page.
	last, err := s.GetIncident(context.Background(), ids[5])
	require.NoError(t, err)
	require.Empty(t, listIDs(t, s, incident.IncidentFilter{Order: incident.OrderNewest, After: incident.CursorOf(last)}))
	// After is a filter in the severity order too.
	require.Equal(t, []int64{ids[9], ids[1], ids[5]},
		listIDs(t, s, incident.IncidentFilter{After: &incident.ListCursor{DeclaredAt: at(20), ID: ids[0]}}))
}

func testListNewestPagesKeepTheirPlace(t *testing.T, s Store) {
	ctx := context.Background()
	var ids []int64
	for m := range 6 {
		ids = append(ids, create(t, s, func(i *incident.Incident) { i.DeclaredAt = at(10 * m) }).ID)
	}
	f := incident.IncidentFilter{Order: incident.OrderNewest, Limit: 2}
	first, err := s.ListIncidents(ctx, f)
	require.NoError(t, err)
	require.Len(t, first, 2)

	// Incidents declared while someone reads the pages, and a change to one
	// already read, neither repeat nor skip an incident on the next page.
	create(t, s, func(i *incident.Incident) { i.DeclaredAt = at(100) })
	create(t, s, func(i *incident.Incident) { i.DeclaredAt = at(40) }) // with the first page's last, a higher ID
	_, err = s.UpdateIncident(ctx, ids[5], func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.Status = incident.StatusResolved
		return nil, nil
	})
	require.NoError(t, err)

	f.After = incident.CursorOf(first[len(first)-1])
	require.Equal(t, []int64{ids[3], ids[2]}, listIDs(t, s, f))
}

func testListNewestFiltersCombined(t *testing.T, s Store) {
	services := []string{"api", "web", "db"}
	statuses := []incident.Status{incident.StatusDeclared, incident.StatusInvestigating, incident.StatusMitigated, incident.StatusResolved, incident.StatusClosed}
	for n := range 40 {
		create(t, s, func(i *incident.Incident) {
			i.Service = services[n%len(services)]
			i.Severity = incident.Severity(1 + n%4)
			i.Status = statuses[n%len(statuses)]
			i.Drill = n%7 == 0
			i.DeclaredAt = at(n / 3 * 10) // three at each time
		})
	}
	all, err := s.ListIncidents(context.Background(), incident.IncidentFilter{Order: incident.OrderNewest})
	require.NoError(t, err)
	require.Len(t, all, 40)

	// What a filter selects is what Match keeps of the whole list, in the
	// same order; every page of it, too.
	filters := []incident.IncidentFilter{
		{ExcludeDrills: true},
		{Service: "api"},
		{Service: "web", ExcludeDrills: true},
		{Severity: incident.P2},
		{Severity: incident.P1, Service: "db", ExcludeDrills: true},
		{OpenOnly: true},
		{OpenOnly: true, Service: "api", ExcludeDrills: true},
		{Statuses: []incident.Status{incident.StatusResolved, incident.StatusClosed}},
		{DeclaredFrom: at(30), DeclaredBefore: at(100)},
		{DeclaredFrom: at(30), DeclaredBefore: at(100), Service: "web", ExcludeDrills: true},
		{Service: "nope"},
	}
	for _, f := range filters {
		want := []int64{}
		for _, inc := range all {
			if f.Match(inc) {
				want = append(want, inc.ID)
			}
		}
		f.Order = incident.OrderNewest
		require.Equal(t, want, listIDs(t, s, f), "%+v", f)
		for _, size := range []int{1, 2, 5} {
			require.Equal(t, want, allPages(t, s, f, size), "pages of %d of %+v", size, f)
		}
	}
}

func testListCursorBetweenMicroseconds(t *testing.T, s Store) {
	a := create(t, s, func(i *incident.Incident) { i.DeclaredAt = at(10) }).ID
	b := create(t, s, func(i *incident.Incident) { i.DeclaredAt = at(10) }).ID
	c := create(t, s, func(i *incident.Incident) { i.DeclaredAt = at(10).Add(time.Microsecond) }).ID
	f := incident.IncidentFilter{Order: incident.OrderNewest}

	// A cursor between stored times, whatever its ID, falls between them.
	f.After = &incident.ListCursor{DeclaredAt: at(10).Add(500 * time.Nanosecond), ID: 1}
	require.Equal(t, []int64{b, a}, listIDs(t, s, f))
	f.After = &incident.ListCursor{DeclaredAt: at(10).Add(1500 * time.Nanosecond), ID: 1}
	require.Equal(t, []int64{c, b, a}, listIDs(t, s, f))
	// A cursor's zone does not matter.
	f.After = &incident.ListCursor{DeclaredAt: at(10).In(time.FixedZone("UTC+5:30", 5*3600+1800)), ID: b}
	require.Equal(t, []int64{a}, listIDs(t, s, f))
}

func testListUnknownOrder(t *testing.T, s Store) {
	create(t, s)
	_, err := s.ListIncidents(context.Background(), incident.IncidentFilter{Order: incident.ListOrder(9)})
	RequireCode(t, err, incident.EINVALID)
}

package gormstore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestFilterKey: filters that select different incidents never share a
// read; filters that select the same ones do.
func TestFilterKey(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 8, 7, 14, 23, 0, 5, time.UTC)
	distinct := []incident.IncidentFilter{
		{},
		{OpenOnly: true},
		{Statuses: []incident.Status{incident.StatusDeclared}},
		{Statuses: []incident.Status{incident.StatusDeclared, incident.StatusMitigated}},
		{Statuses: []incident.Status{incident.StatusMitigated, incident.StatusDeclared}},
		{Severity: incident.P1},
		{Severity: incident.P2},
		{Service: "checkout"},
		{Service: `checkout" limit=5`},
		{Service: "checkout", Limit: 5},
		{DeclaredFrom: at},
		{DeclaredFrom: at.Add(time.Nanosecond)},
		{DeclaredFrom: time.Unix(0, 0)},
		{DeclaredBefore: at},
		{DeclaredFrom: at, DeclaredBefore: at.Add(time.Hour)},
		{ExcludeDrills: true},
		{Limit: 50},
		{Limit: 51},
		{Order: incident.OrderNewest},
		{Order: incident.OrderNewest, Limit: 50},
		{Order: incident.OrderNewest, After: &incident.ListCursor{DeclaredAt: at, ID: 7}},
		{Order: incident.OrderNewest, After: &incident.ListCursor{DeclaredAt: at, ID: 8}},
		{Order: incident.OrderNewest, After: &incident.ListCursor{DeclaredAt: at.Add(time.Microsecond), ID: 7}},
		{After: &incident.ListCursor{DeclaredAt: at, ID: 7}},
	}
	seen := map[string]int{}
	for i, f := range distinct {
		k := filterKey(f)
		if j, ok := seen[k]; ok {
			t.Fatalf("filters %d (%+v) and %d (%+v) share the key %q", j, distinct[j], i, f, k)
		}
		seen[k] = i
	}

	same := [][2]incident.IncidentFilter{
		{{DeclaredFrom: at}, {DeclaredFrom: at.In(time.FixedZone("CET", 3600))}},
		{{Limit: 0}, {Limit: -1}},
		{{Statuses: []incident.Status{}}, {}},
		{{After: &incident.ListCursor{DeclaredAt: at, ID: 7}}, {After: &incident.ListCursor{DeclaredAt: at.In(time.FixedZone("CET", 3600)), ID: 7}}},
	}
	for _, p := range same {
		require.Equal(t, filterKey(p[0]), filterKey(p[1]), "%+v and %+v select the same incidents", p[0], p[1])
	}
}

func BenchmarkFilterKey(b *testing.B) {
	f := incident.IncidentFilter{OpenOnly: true, ExcludeDrills: true, Limit: 50}
	for b.Loop() {
		_ = filterKey(f)
	}
}

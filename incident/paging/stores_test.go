package paging_test

import (
	"testing"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/paging"
	"github.com/firebreakhq/firebreak/incident/storetest"
)

// testStore is what the tests need of a store: the whole incident store,
// with paging's pages.
type testStore interface {
	incident.Store
	paging.Store
}

// storeKind names a store the tests run on.
type storeKind = storetest.Kind

const (
	storeMemory   = storetest.Memory
	storeSQLite   = storetest.SQLite
	storePostgres = storetest.Postgres
)

// everyStore is the stores a test about what the store records runs on.
var everyStore = storetest.Every

// openStore returns a fresh store of the kind whose transactions hand their
// jobs to q (storetest.Open).
func openStore(t *testing.T, kind storeKind, clock incident.Clock, q *incidenttest.Queue) testStore {
	return storetest.Open[testStore](t, kind, clock, q)
}

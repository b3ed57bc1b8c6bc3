package gormstore_test

import (
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/paging"
)

// The store keeps pages for incident/paging, on itself and, through the
// same methods, on the transaction of its Atomic (the conformance suite's
// Atomic tests check that one).
var (
	_ paging.Store = (*gormstore.Store)(nil)
	_ paging.Tx    = (*gormstore.Store)(nil)
)

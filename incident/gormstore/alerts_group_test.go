package gormstore_test

import (
	"testing"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// TestAlertGroupStartsOnceAcrossProcesses: three replicas, each with its
// own connections to one database, store the first alerts of a storm at
// the same instant, each looking for the group and storing its alert in
// one transaction. One starts the group; the others wait for its claim and
// join it.
func TestAlertGroupStartsOnceAcrossProcesses(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			url := dbURL(t, dialect)
			var stores []incident.Transactor
			for i := range 3 {
				stores = append(stores, gormstore.New(openURL(t, url, i == 0 && dialect == "sqlite"), testClock()))
			}
			incidenttest.RequireOneAlertGroup(t, stores)
		})
	}
}

package gormstore_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/migrations"
)

// oldReplicaDeclares is a declare of a 0.1.0 replica, still running during
// a rolling upgrade: it takes its number from incident_counters, not from
// the sequence this release numbers incidents with (migration 00023), in
// the transaction that stores the incident.
func oldReplicaDeclares(t *testing.T, db *sql.DB, title string) (int64, error) {
	t.Helper()
	tx, err := db.Begin()
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	var number int64
	require.NoError(t, tx.QueryRow(`UPDATE incident_counters SET value = value + 1 WHERE name = 'incident_number' RETURNING value`).Scan(&number))
	if _, err := tx.Exec(`INSERT INTO incidents (number, title, severity, status, declared_at, updated_at, commander, declared_by)
		VALUES ($1, $2, 2, 'declared', now(), now(), 'U1', 'U1')`, number, title); err != nil {
		return number, err
	}
	return number, tx.Commit()
}

// TestRollingUpgradeFrom010NumbersAroundTheOldReplicas: replicas of 0.1.0
// (numbers from incident_counters) are replaced one by one by this release
// (numbers from incident_number_seq, which started from the same value).
// A new replica's declare whose number an old replica took meanwhile draws
// another number and is stored, rather than being refused as "Another
// incident already uses this channel."; a declare that clashes on the
// channel is still refused, and says so.
func TestRollingUpgradeFrom010NumbersAroundTheOldReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := gormstore.Open(ctx, pgtest.DSN(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, migrations.UpTo(ctx, db.SQL(), migrations.Postgres, 19)) // 0.1.0's schema
	require.NoError(t, oneDeclareOfTheOldRelease(db.SQL()))
	require.NoError(t, db.Migrate(ctx)) // the first new replica starts
	store := gormstore.New(db, incident.SystemClock)

	// Old replicas declare several times in a row (INC-2 to INC-8), more
	// than one draw each would skip: the new replica's declare, with its
	// first events in the same statement, lands on the first free number.
	var last int64
	for range 7 {
		last, err = oldReplicaDeclares(t, db.SQL(), "old replica")
		require.NoError(t, err)
	}
	require.Equal(t, int64(8), last)
	var opened *incident.Incident
	err = store.Atomic(ctx, func(tx incident.Tx) error {
		var err error
		opened, err = tx.(incident.IncidentOpener).CreateIncidentWith(ctx,
			incidenttest.NewIncident(func(i *incident.Incident) { i.DeclareKey = "T1:U1:upgrade" }),
			func(inc *incident.Incident) []incident.TimelineEvent {
				return []incident.TimelineEvent{{Kind: incident.EventDeclared, Text: "declared " + inc.Key()}}
			})
		return err
	})
	require.NoError(t, err, "the new replica's declare draws another number")
	require.Equal(t, int64(9), opened.Number)
	events, err := store.ListTimeline(ctx, opened.ID)
	require.NoError(t, err)
	require.Len(t, events, 1, "the attempts that stored nothing stored no events")
	require.Equal(t, "declared INC-9", events[0].Text)

	// The old replicas' counter now hands out a number taken: their
	// declares fail while both versions run (the upgrade note says so).
	_, err = oldReplicaDeclares(t, db.SQL(), "old replica after a new one")
	require.ErrorContains(t, err, "incidents_number_key")

	// The new replica's declares go on.
	inc, err := store.CreateIncident(ctx, &incident.Incident{Title: "new replica", Severity: incident.P2, DeclaredAt: time.Now()})
	require.NoError(t, err)
	require.Equal(t, int64(10), inc.Number)

	// The same declare again is still the incident stored before.
	again, err := store.CreateIncident(ctx, incidenttest.NewIncident(func(i *incident.Incident) { i.DeclareKey = "T1:U1:upgrade" }))
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Equal(t, opened.ID, again.ID)

	// A channel that belongs to an incident is refused for its channel,
	// even when the number clashes too.
	channel := "C0WARROOM"
	_, err = store.CreateIncident(ctx, incidenttest.NewIncident(func(i *incident.Incident) { i.ChannelID = channel }))
	require.NoError(t, err)
	var fresh int64
	require.NoError(t, db.SQL().QueryRow(`SELECT max(number) + 1 FROM incidents`).Scan(&fresh))
	_, err = db.SQL().Exec(`INSERT INTO incidents (number, title, severity, status, declared_at, updated_at, commander, declared_by)
		VALUES ($1, 'old replica, once more', 2, 'declared', now(), now(), 'U1', 'U1')`, fresh)
	require.NoError(t, err)
	_, err = store.CreateIncident(ctx, incidenttest.NewIncident(func(i *incident.Incident) { i.ChannelID = channel }))
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Equal(t, "Another incident already uses this channel.", incident.ErrorMessage(err))

	var numbers, distinct int
	require.NoError(t, db.SQL().QueryRow(`SELECT count(*), count(DISTINCT number) FROM incidents`).Scan(&numbers, &distinct))
	require.Equal(t, numbers, distinct)
}

// oneDeclareOfTheOldRelease stores INC-1 as 0.1.0 does, before the upgrade.
func oneDeclareOfTheOldRelease(db *sql.DB) error {
	_, err := db.Exec(`WITH n AS (UPDATE incident_counters SET value = value + 1 WHERE name = 'incident_number' RETURNING value)
		INSERT INTO incidents (number, title, severity, status, declared_at, updated_at, commander, declared_by)
		SELECT value, 'before the upgrade', 2, 'declared', now(), now(), 'U1', 'U1' FROM n`)
	return err
}

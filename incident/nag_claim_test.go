package incident_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// readThenChange is a store on which something happens to an incident
// just after the next read of it: another replica's change landing between
// the nag timer's read and its claim.
type readThenChange struct {
	*incidenttest.MemStore
	afterRead func()
}

func (s *readThenChange) GetIncident(ctx context.Context, id int64) (*incident.Incident, error) {
	inc, err := s.MemStore.GetIncident(ctx, id)
	if f := s.afterRead; f != nil {
		s.afterRead = nil
		f()
	}
	return inc, err
}

// nagRaced is a P1 whose first nag falls due just after change lands, once
// the nag timer has read the incident.
func nagRaced(t *testing.T, change func(b bundle, id int64)) (bundle, *incident.Incident) {
	t.Helper()
	var store *readThenChange
	b := setupOn(t, func(s *incidenttest.MemStore) incident.Store {
		store = &readThenChange{MemStore: s}
		return store
	})
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 9*time.Minute+30*time.Second)
	require.Empty(t, b.chat.Nags)
	store.afterRead = func() { change(b, inc.ID) }
	advance(t, b, time.Minute)
	require.Nil(t, store.afterRead, "the nag timer read the incident")
	got, err := b.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	return b, got
}

// TestNagNotPostedOnAnIncidentResolvedAsItFellDue: the incident was
// resolved (on another replica) just after the nag timer read it: no
// reminder is posted in a resolved incident's channel.
func TestNagNotPostedOnAnIncidentResolvedAsItFellDue(t *testing.T) {
	t.Parallel()
	b, inc := nagRaced(t, func(b bundle, id int64) {
		_, err := b.svc.SetStatus(context.Background(), id, incident.StatusResolved, "U0DECL", "")
		require.NoError(t, err)
	})
	require.Equal(t, incident.StatusResolved, inc.Status)
	require.Empty(t, b.chat.Nags, "no update reminder in a resolved incident")
	require.Zero(t, inc.NagCount)
}

// TestSnoozeAsTheNagFellDueHolds: the IC snoozed just after the nag timer
// read the incident: the nag is not posted, and the snooze still holds its
// full time instead of being replaced by the next rung's gap.
func TestSnoozeAsTheNagFellDueHolds(t *testing.T) {
	t.Parallel()
	b, inc := nagRaced(t, func(b bundle, id int64) {
		_, err := b.svc.Snooze(context.Background(), id, "U0DECL")
		require.NoError(t, err)
	})
	require.Empty(t, b.chat.Nags, "the snooze came first")
	require.Zero(t, inc.NagCount)
	advance(t, b, 27*time.Minute)
	require.Empty(t, b.chat.Nags, "silent for the snooze's 30 minutes")
	advance(t, b, 4*time.Minute)
	require.Len(t, b.chat.Nags, 1, "and reminded once it is over")
}

// TestSeverityLoweredAsTheNagFellDue: the incident went to P3, which has
// no cadence, just after the nag timer read it: no reminder.
func TestSeverityLoweredAsTheNagFellDue(t *testing.T) {
	t.Parallel()
	b, inc := nagRaced(t, func(b bundle, id int64) {
		_, err := b.svc.SetSeverity(context.Background(), id, incident.P3, "U0DECL")
		require.NoError(t, err)
	})
	require.Equal(t, incident.P3, inc.Severity)
	require.Empty(t, b.chat.Nags, "P3 has no update reminders")
	advance(t, b, 2*time.Hour)
	require.Empty(t, b.chat.Nags)
}

package incidenttest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// openerTests check CreateIncidentWith: a declare's incident and its first
// timeline events, all stored or none.
var openerTests = []storeTest{
	{"CreateIncidentWithEvents", testCreateIncidentWith},
	{"CreateIncidentWithRepeatedKey", testCreateIncidentWithRepeatedKey},
	{"CreateIncidentWithFailingEventStoresNothing", testCreateIncidentWithFailingEvent},
	{"CreateIncidentWithInsideAtomic", testCreateIncidentWithInAtomic},
}

// firstEvents is what a declare's timeline starts with, naming the
// incident by its key in the text, twice in the first event. The last has
// no time: the store's now, after the others'.
func firstEvents(inc *incident.Incident) []incident.TimelineEvent {
	return []incident.TimelineEvent{
		{Kind: incident.EventDeclared, Actor: "U0DECLARER", At: Epoch(), Key: true,
			Text: "<@U0DECLARER> declared " + inc.Key() + " (P2): " + inc.Title + " [" + inc.Key() + "]"},
		{Kind: incident.EventRoleAssigned, Actor: "U0DECLARER", At: Epoch(), Key: true,
			Text:    "<@U0IC> is the Incident Commander of " + inc.Key(),
			Payload: incident.RoleAssignedData{Role: incident.RoleCommander, User: "U0IC"}},
		{Kind: incident.EventNote, Actor: "U0DECLARER", Key: true, Text: "declared from a message",
			SourceID: "declared_from:C0SRC:1700000000.000100",
			Payload:  incident.NoteData{Channel: "C0SRC", TS: "1700000000.000100", Author: "U0AUTHOR"}},
	}
}

func testCreateIncidentWith(t *testing.T, s Store) {
	ctx := context.Background()
	calls := 0
	in := NewIncident(func(i *incident.Incident) {
		// A key typed into the title is the person's words: never replaced.
		i.Title = "INC-12 again: checkout is down"
		i.DeclareKey = "T1:U1:first-events"
		i.PeakSeverity = incident.P1 // kept as given, as every field
	})
	before := *in
	got, err := s.CreateIncidentWith(ctx, in, func(inc *incident.Incident) []incident.TimelineEvent {
		calls++
		require.Equal(t, in.Title, inc.Title)
		require.Equal(t, in.Severity, inc.Severity)
		return firstEvents(inc)
	})
	require.NoError(t, err)
	require.Equal(t, 1, calls)
	require.Equal(t, before, *in, "CreateIncidentWith must not change its argument")
	require.Positive(t, got.ID)
	require.Positive(t, got.Number)
	stored, err := s.GetIncident(ctx, got.ID)
	require.NoError(t, err)
	require.Equal(t, got, stored)
	require.Equal(t, incident.P1, stored.PeakSeverity)

	events, err := s.ListTimeline(ctx, got.ID)
	require.NoError(t, err)
	require.Len(t, events, 3)
	key := got.Key()
	require.Equal(t, "<@U0DECLARER> declared "+key+" (P2): INC-12 again: checkout is down ["+key+"]", events[0].Text)
	require.Equal(t, incident.EventDeclared, events[0].Kind)
	require.Equal(t, "<@U0IC> is the Incident Commander of "+key, events[1].Text)
	require.Equal(t, incident.RoleAssignedData{Role: incident.RoleCommander, User: "U0IC"}, events[1].Payload)
	require.Equal(t, "declared from a message", events[2].Text)
	require.Equal(t, "declared_from:C0SRC:1700000000.000100", events[2].SourceID)
	require.Equal(t, incident.NoteData{Channel: "C0SRC", TS: "1700000000.000100", Author: "U0AUTHOR"}, events[2].Payload)
	require.True(t, events[2].At.After(Epoch()), "an unset time becomes the store's now")
	for _, ev := range events {
		require.Equal(t, got.ID, ev.IncidentID)
		require.True(t, ev.Key)
		require.Positive(t, ev.ID)
	}
	require.True(t, events[0].At.Equal(Epoch()))
	require.Less(t, events[0].ID, events[1].ID, "the events keep their order")

	// The next incident's events name the next incident.
	next, err := s.CreateIncidentWith(ctx, NewIncident(), firstEvents)
	require.NoError(t, err)
	require.Greater(t, next.Number, got.Number)
	events, err = s.ListTimeline(ctx, next.ID)
	require.NoError(t, err)
	require.Len(t, events, 3)
	require.True(t, strings.HasSuffix(events[1].Text, " of "+next.Key()), events[1].Text)
}

func testCreateIncidentWithRepeatedKey(t *testing.T, s Store) {
	ctx := context.Background()
	in := NewIncident(func(i *incident.Incident) { i.DeclareKey = "T1:U1:repeated" })
	first, err := s.CreateIncidentWith(ctx, in, firstEvents)
	require.NoError(t, err)
	again, err := s.CreateIncidentWith(ctx, in, firstEvents)
	RequireCode(t, err, incident.ECONFLICT)
	require.NotNil(t, again)
	require.Equal(t, first.ID, again.ID)
	require.Equal(t, first.Number, again.Number)
	events, err := s.ListTimeline(ctx, first.ID)
	require.NoError(t, err)
	require.Len(t, events, 3, "a repeated declare adds no events")
	list, err := s.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, list, 1)
}

func testCreateIncidentWithFailingEvent(t *testing.T, s Store) {
	ctx := context.Background()
	failing := map[string]struct {
		change func([]incident.TimelineEvent) []incident.TimelineEvent
		code   string
	}{
		"an event with no kind": {func(evs []incident.TimelineEvent) []incident.TimelineEvent {
			evs[1].Kind = ""
			return evs
		}, incident.EINVALID},
		"two events of one source": {func(evs []incident.TimelineEvent) []incident.TimelineEvent {
			evs[0].SourceID = evs[2].SourceID
			return evs
		}, incident.ECONFLICT},
	}
	for name, tc := range failing {
		got, err := s.CreateIncidentWith(ctx, NewIncident(func(i *incident.Incident) { i.DeclareKey = "T1:U1:" + name }),
			func(inc *incident.Incident) []incident.TimelineEvent { return tc.change(firstEvents(inc)) })
		RequireCode(t, err, tc.code)
		require.Nil(t, got, name)
	}
	list, err := s.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Empty(t, list, "no incident remains of a declare whose events failed")

	// The keys are free: the declares were undone, not half stored.
	for name := range failing {
		got, err := s.CreateIncidentWith(ctx, NewIncident(func(i *incident.Incident) { i.DeclareKey = "T1:U1:" + name }), firstEvents)
		require.NoError(t, err, name)
		events, err := s.ListTimeline(ctx, got.ID)
		require.NoError(t, err)
		require.Len(t, events, 3)
	}
}

func testCreateIncidentWithInAtomic(t *testing.T, s Store) {
	ctx := context.Background()
	errLater := errors.New("a later step of the declare failed")
	var inside *incident.Incident
	err := s.Atomic(ctx, func(tx incident.Tx) error {
		opener, ok := tx.(incident.IncidentOpener)
		require.True(t, ok, "the Tx of %T offers IncidentOpener", s)
		var err error
		if inside, err = opener.CreateIncidentWith(ctx, NewIncident(), firstEvents); err != nil {
			return err
		}
		// Inside the transaction the incident and its events are there.
		events, err := tx.ListTimeline(ctx, inside.ID)
		require.NoError(t, err)
		require.Len(t, events, 3)
		return errLater
	})
	require.ErrorIs(t, err, errLater)
	_, err = s.GetIncident(ctx, inside.ID)
	RequireCode(t, err, incident.ENOTFOUND)
	events, err := s.ListTimeline(ctx, inside.ID)
	require.NoError(t, err)
	require.Empty(t, events)

	var kept *incident.Incident
	require.NoError(t, s.Atomic(ctx, func(tx incident.Tx) error {
		var err error
		kept, err = tx.(incident.IncidentOpener).CreateIncidentWith(ctx, NewIncident(func(i *incident.Incident) {
			i.DeclaredAt = Epoch().Add(time.Minute)
		}), firstEvents)
		return err
	}))
	events, err = s.ListTimeline(ctx, kept.ID)
	require.NoError(t, err)
	require.Len(t, events, 3)
	require.Contains(t, events[0].Text, kept.Key())
}

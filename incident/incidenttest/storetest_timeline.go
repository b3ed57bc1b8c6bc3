package incidenttest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

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

package incidenttest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func testStatusUpdates(t *testing.T, s Store) {
	ctx := context.Background()
	a := create(t, s)
	second := &incident.StatusUpdate{IncidentID: a.ID, Author: "U0IC", Status: incident.StatusMitigated, Text: "error rate back to normal", NextUpdateIn: 30 * time.Minute, PostedAt: at(20)}
	first := &incident.StatusUpdate{IncidentID: a.ID, Author: "U0IC", Status: incident.StatusInvestigating, Text: "looking at the payment gateway", NextUpdateIn: 90 * time.Second, PostedAt: at(5)}
	require.NoError(t, s.AddStatusUpdate(ctx, second))
	require.NoError(t, s.AddStatusUpdate(ctx, first))
	require.Positive(t, first.ID)
	require.NotEqual(t, first.ID, second.ID)

	got, err := s.ListStatusUpdates(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, []incident.StatusUpdate{*first, *second}, got)

	events, err := s.ListTimeline(ctx, a.ID)
	require.NoError(t, err)
	require.Len(t, events, 2, "each update adds its timeline event")
	ev := events[0]
	require.Equal(t, incident.EventUpdatePosted, ev.Kind)
	require.Equal(t, "U0IC", ev.Actor)
	require.Equal(t, at(5), ev.At)
	require.Equal(t, first.Text, ev.Text)
	require.Equal(t, incident.UpdatePostedData{Status: incident.StatusInvestigating}, ev.Payload)

	zero := &incident.StatusUpdate{IncidentID: a.ID, Status: incident.StatusMitigated, Text: "now"}
	require.NoError(t, s.AddStatusUpdate(ctx, zero))
	require.False(t, zero.PostedAt.IsZero(), "a zero PostedAt becomes now")

	RequireCode(t, s.AddStatusUpdate(ctx, &incident.StatusUpdate{IncidentID: a.ID + 1000, Status: incident.StatusMitigated}), incident.ENOTFOUND)
	RequireCode(t, s.AddStatusUpdate(ctx, &incident.StatusUpdate{IncidentID: a.ID, Status: "bogus"}), incident.EINVALID)
	RequireCode(t, s.AddStatusUpdate(ctx, &incident.StatusUpdate{IncidentID: a.ID, Status: incident.StatusMitigated, NextUpdateIn: -time.Second}), incident.EINVALID)
	RequireCode(t, s.AddStatusUpdate(ctx, nil), incident.EINVALID)
	got, err = s.ListStatusUpdates(ctx, a.ID)
	require.NoError(t, err)
	require.Len(t, got, 3)
	got, err = s.ListStatusUpdates(ctx, a.ID+1000)
	require.NoError(t, err)
	require.Empty(t, got)

	// Posted through an API token: the line names it, the words do not.
	tokened := &incident.StatusUpdate{IncidentID: a.ID, Author: "U0IC", Status: incident.StatusMitigated, Text: "rolled back", PostedAt: at(30), Via: "the API token “sync”"}
	require.NoError(t, s.AddStatusUpdate(ctx, tokened))
	events, err = s.ListTimeline(ctx, a.ID)
	require.NoError(t, err)
	var lines, words []string
	for _, ev := range events {
		lines = append(lines, ev.Text)
	}
	require.Contains(t, lines, "rolled back (through the API token “sync”)")
	got, err = s.ListStatusUpdates(ctx, a.ID)
	require.NoError(t, err)
	for _, u := range got {
		words = append(words, u.Text)
	}
	require.Contains(t, words, "rolled back")
	require.NotContains(t, lines, "rolled back")
}

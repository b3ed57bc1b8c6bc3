package incidenttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

func testUpdateIncident(t *testing.T, s Store) {
	ctx := context.Background()
	orig := create(t, s, func(i *incident.Incident) {
		i.Commander = "U0OLD"
		i.Roles = map[string]string{incident.RoleOps: "U0OPS"}
		i.AcknowledgedAt = ptr(at(1))
		i.Summary = "draft"
		i.NagCount = 3
		i.SnoozedUntil = ptr(at(45))
	})
	updated, err := s.UpdateIncident(ctx, orig.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		require.Equal(t, orig, i, "fn sees the stored incident")
		i.ID, i.Number = 999999, 999999 // ignored
		i.Status = incident.StatusMitigated
		i.Severity = incident.P1
		i.PeakSeverity = incident.P1
		i.MitigatedAt = ptr(at(30))
		i.AcknowledgedAt = nil
		i.Commander = ""
		i.Summary = ""
		i.Roles = map[string]string{incident.RoleComms: "U0COMMS"}
		i.ChannelID = "C0NEW"
		i.PublicProvider, i.PublicID, i.PublicURL = "instatus", "ckpub1", "https://acme.instatus.com/ckpub1"
		i.LastUpdateAt = ptr(at(30))
		i.NagCount = 0
		i.SnoozedUntil = nil
		return []incident.TimelineEvent{
			{Kind: incident.EventStatusChanged, Actor: "U0IC", At: at(30), Text: "mitigated", Key: true, Payload: incident.StatusChangedData{From: incident.StatusDeclared, To: incident.StatusMitigated}},
			{Kind: incident.EventSeverityChanged, Actor: "U0IC", Text: "P2 -> P1", SourceID: "src-1"},
		}, nil
	})
	require.NoError(t, err)
	require.Equal(t, orig.ID, updated.ID)
	require.Equal(t, orig.Number, updated.Number)
	require.Equal(t, incident.StatusMitigated, updated.Status)
	require.Equal(t, incident.P1, updated.Severity)
	require.Equal(t, incident.P1, updated.PeakSeverity)
	require.Equal(t, ptr(at(30)), updated.MitigatedAt)
	require.Nil(t, updated.AcknowledgedAt)
	require.Empty(t, updated.Commander)
	require.Empty(t, updated.Summary)
	require.Equal(t, map[string]string{incident.RoleComms: "U0COMMS"}, updated.Roles)
	require.Equal(t, ptr(at(30)), updated.LastUpdateAt)
	require.Equal(t, "https://acme.instatus.com/ckpub1", updated.PublicURL)
	require.Equal(t, [2]string{"instatus", "ckpub1"}, [2]string{updated.PublicProvider, updated.PublicID})
	require.Zero(t, updated.NagCount)
	require.Nil(t, updated.SnoozedUntil)
	require.False(t, updated.UpdatedAt.IsZero())

	read, err := s.GetIncident(ctx, orig.ID)
	require.NoError(t, err)
	require.Equal(t, updated, read)
	byChannel, err := s.GetIncidentByChannel(ctx, "C0NEW")
	require.NoError(t, err)
	require.Equal(t, orig.ID, byChannel.ID)

	events, err := s.ListTimeline(ctx, orig.ID)
	require.NoError(t, err)
	require.Len(t, events, 2)
	for _, ev := range events {
		require.Equal(t, orig.ID, ev.IncidentID)
		require.Positive(t, ev.ID)
		require.False(t, ev.At.IsZero(), "a zero At becomes now")
	}
	var status incident.TimelineEvent
	for _, ev := range events {
		if ev.Kind == incident.EventStatusChanged {
			status = ev
		}
	}
	require.True(t, status.Key)
	require.Equal(t, at(30), status.At)
	require.Equal(t, incident.StatusChangedData{From: incident.StatusDeclared, To: incident.StatusMitigated}, status.Payload)
}

func testUpdateFnError(t *testing.T, s Store) {
	ctx := context.Background()
	orig := create(t, s)
	sentinel := errors.New("the lifecycle says no")
	_, err := s.UpdateIncident(ctx, orig.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.Title = "changed"
		i.Status = incident.StatusResolved
		return []incident.TimelineEvent{{Kind: incident.EventNote, Text: "never stored"}}, sentinel
	})
	require.Same(t, sentinel, err, "fn's error is returned as is")

	domainErr := incident.Errorf(incident.ECONFLICT, "closed")
	_, err = s.UpdateIncident(ctx, orig.ID, func(*incident.Incident) ([]incident.TimelineEvent, error) {
		return nil, domainErr
	})
	require.Same(t, domainErr, err)

	read, err := s.GetIncident(ctx, orig.ID)
	require.NoError(t, err)
	require.Equal(t, orig, read, "nothing was written")
	events, err := s.ListTimeline(ctx, orig.ID)
	require.NoError(t, err)
	require.Empty(t, events)
}

func testUpdateInvalid(t *testing.T, s Store) {
	ctx := context.Background()
	orig := create(t, s)
	for name, change := range map[string]func(*incident.Incident){
		"status":   func(i *incident.Incident) { i.Status = "bogus" },
		"severity": func(i *incident.Incident) { i.Severity = 9 },
		"title":    func(i *incident.Incident) { i.Title = "" },
		"nags":     func(i *incident.Incident) { i.NagCount = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.UpdateIncident(ctx, orig.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
				change(i)
				return nil, nil
			})
			RequireCode(t, err, incident.EINVALID)
		})
	}
	_, err := s.UpdateIncident(ctx, orig.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.Title = "valid change"
		return []incident.TimelineEvent{{Text: "an event with no kind"}}, nil
	})
	RequireCode(t, err, incident.EINVALID)
	read, err := s.GetIncident(ctx, orig.ID)
	require.NoError(t, err)
	require.Equal(t, orig, read)
}

func testUpdateDuplicateEvent(t *testing.T, s Store) {
	ctx := context.Background()
	orig := create(t, s)
	require.NoError(t, s.AddTimelineEvent(ctx, NewTimelineEvent(orig.ID, func(e *incident.TimelineEvent) { e.SourceID = "Ev1" })))
	_, err := s.UpdateIncident(ctx, orig.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.Title = "should not stick"
		return []incident.TimelineEvent{
			{Kind: incident.EventNote, Text: "new"},
			{Kind: incident.EventMessage, SourceID: "Ev1"},
		}, nil
	})
	RequireCode(t, err, incident.ECONFLICT)
	read, err := s.GetIncident(ctx, orig.ID)
	require.NoError(t, err)
	require.Equal(t, orig, read)
	events, err := s.ListTimeline(ctx, orig.ID)
	require.NoError(t, err)
	require.Len(t, events, 1)

	// Two events with one new SourceID in the same update also conflict.
	_, err = s.UpdateIncident(ctx, orig.ID, func(*incident.Incident) ([]incident.TimelineEvent, error) {
		return []incident.TimelineEvent{
			{Kind: incident.EventMessage, SourceID: "Ev2"},
			{Kind: incident.EventMessage, SourceID: "Ev2"},
		}, nil
	})
	RequireCode(t, err, incident.ECONFLICT)
	events, err = s.ListTimeline(ctx, orig.ID)
	require.NoError(t, err)
	require.Len(t, events, 1)
}

// testConcurrentUpdates increments a counter kept in Roles from several
// goroutines; lost updates would leave it short.
func testConcurrentUpdates(t *testing.T, s Store) {
	ctx := context.Background()
	orig := create(t, s, func(i *incident.Incident) { i.Roles = map[string]string{"count": "0"} })
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[g] = s.UpdateIncident(ctx, orig.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
				var c int
				if _, err := fmt.Sscan(i.Roles["count"], &c); err != nil {
					return nil, err
				}
				i.Roles["count"] = fmt.Sprint(c + 1)
				return []incident.TimelineEvent{{Kind: incident.EventNote, Text: fmt.Sprint(c + 1)}}, nil
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	read, err := s.GetIncident(ctx, orig.ID)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(n), read.Roles["count"])
	events, err := s.ListTimeline(ctx, orig.ID)
	require.NoError(t, err)
	require.Len(t, events, n)
}

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

// atomicTests check Store.Atomic: all of a transaction or nothing of it.
var atomicTests = []storeTest{
	{"AtomicCommitsEverything", testAtomicCommits},
	{"AtomicSecondWriteFailsNothingRemains", testAtomicSecondWriteFails},
	{"AtomicFnErrorUndoesEverything", testAtomicFnError},
	{"AtomicPanicUndoesEverything", testAtomicPanic},
	{"AtomicHandledConflictContinues", testAtomicHandledConflict},
	{"AtomicConcurrentDeclaresOfOneKey", testAtomicConcurrentDeclareKey},
	{"AtomicChannelConflictContinues", testAtomicChannelConflict},
	{"AtomicNestedFailureUndoesOnlyItself", testAtomicNested},
	{"AtomicDeliveryPageAndEvent", testAtomicDeliveryPageEvent},
}

func testAtomicCommits(t *testing.T, s Store) {
	ctx := context.Background()
	var inc *incident.Incident
	err := s.Atomic(ctx, func(tx incident.Tx) error {
		var err error
		if inc, err = tx.CreateIncident(ctx, NewIncident()); err != nil {
			return err
		}
		if err := tx.AddTimelineEvent(ctx, NewTimelineEvent(inc.ID)); err != nil {
			return err
		}
		// A read inside the transaction sees its own writes.
		got, err := tx.GetIncident(ctx, inc.ID)
		if err != nil {
			return err
		}
		require.Equal(t, inc.Title, got.Title)
		return pagesOf(t, tx).AddPage(ctx, NewPage(inc.ID, "firebreak-1-checkout"))
	})
	require.NoError(t, err)
	got, err := s.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, inc.Number, got.Number)
	events, err := s.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, events, 1)
	pages, err := s.ListPages(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, pages, 1)
}

func testAtomicSecondWriteFails(t *testing.T, s Store) {
	ctx := context.Background()
	err := s.Atomic(ctx, func(tx incident.Tx) error {
		inc, err := tx.CreateIncident(ctx, NewIncident(func(i *incident.Incident) { i.DeclareKey = "trigger-1" }))
		if err != nil {
			return err
		}
		if err := tx.AddTimelineEvent(ctx, NewTimelineEvent(inc.ID)); err != nil {
			return err
		}
		// The second write of the step fails: an event for no incident.
		return tx.AddTimelineEvent(ctx, NewTimelineEvent(inc.ID+1000))
	})
	RequireCode(t, err, incident.ENOTFOUND)
	all, err := s.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Empty(t, all, "the incident of a failed transaction must not remain")
	// The declare key is free again. The rolled-back number may stay unused
	// (PostgreSQL takes numbers from a sequence) or be handed out again.
	inc, err := s.CreateIncident(ctx, NewIncident(func(i *incident.Incident) { i.DeclareKey = "trigger-1" }))
	require.NoError(t, err)
	require.Contains(t, []int64{1, 2}, inc.Number)
	events, err := s.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	require.Empty(t, events)
}

func testAtomicFnError(t *testing.T, s Store) {
	ctx := context.Background()
	before := create(t, s)
	boom := errors.New("boom")
	err := s.Atomic(ctx, func(tx incident.Tx) error {
		if _, err := tx.UpdateIncident(ctx, before.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
			i.Status = incident.StatusMitigated
			return []incident.TimelineEvent{{Kind: incident.EventStatusChanged, Actor: "U1", Text: "Mitigated"}}, nil
		}); err != nil {
			return err
		}
		if err := pagesOf(t, tx).AddPage(ctx, NewPage(before.ID, "firebreak-1-checkout")); err != nil {
			return err
		}
		if _, err := deliveriesOf(t, tx).RecordDelivery(ctx, incident.Delivery{Source: "pagerduty", ID: "evt-1", ReceivedAt: Epoch()}); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom, "fn's error is returned as is")
	got, err := s.GetIncident(ctx, before.ID)
	require.NoError(t, err)
	require.Equal(t, before.Status, got.Status)
	events, err := s.ListTimeline(ctx, before.ID)
	require.NoError(t, err)
	require.Empty(t, events)
	pages, err := s.ListPages(ctx, before.ID)
	require.NoError(t, err)
	require.Empty(t, pages)
	first, err := s.RecordDelivery(ctx, incident.Delivery{Source: "pagerduty", ID: "evt-1", ReceivedAt: Epoch()})
	require.NoError(t, err)
	require.True(t, first, "the delivery marker of a failed transaction must not remain")
}

func testAtomicPanic(t *testing.T, s Store) {
	ctx := context.Background()
	require.Panics(t, func() {
		_ = s.Atomic(ctx, func(tx incident.Tx) error {
			if _, err := tx.CreateIncident(ctx, NewIncident()); err != nil {
				return err
			}
			panic("handler bug")
		})
	})
	all, err := s.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Empty(t, all)
	// The store still works after the panic.
	create(t, s)
}

func testAtomicHandledConflict(t *testing.T, s Store) {
	ctx := context.Background()
	first, err := s.CreateIncident(ctx, NewIncident(func(i *incident.Incident) { i.DeclareKey = "view-1" }))
	require.NoError(t, err)
	ev := NewTimelineEvent(first.ID, func(e *incident.TimelineEvent) { e.SourceID = "msg-1" })
	require.NoError(t, s.AddTimelineEvent(ctx, ev))

	err = s.Atomic(ctx, func(tx incident.Tx) error {
		again, err := tx.CreateIncident(ctx, NewIncident(func(i *incident.Incident) { i.DeclareKey = "view-1" }))
		if incident.ErrorCode(err) != incident.ECONFLICT {
			return errors.New("want ECONFLICT for a repeated declare key")
		}
		require.Equal(t, first.ID, again.ID)
		dup := NewTimelineEvent(first.ID, func(e *incident.TimelineEvent) { e.SourceID = "msg-1" })
		if err := tx.AddTimelineEvent(ctx, dup); incident.ErrorCode(err) != incident.ECONFLICT {
			return errors.New("want ECONFLICT for a repeated source id")
		}
		// The transaction goes on after the handled conflicts.
		return tx.AddTimelineEvent(ctx, NewTimelineEvent(first.ID, func(e *incident.TimelineEvent) { e.SourceID = "msg-2" }))
	})
	require.NoError(t, err)
	events, err := s.ListTimeline(ctx, first.ID)
	require.NoError(t, err)
	require.Len(t, events, 2)
}

// testAtomicConcurrentDeclareKey runs declares of one key side by side, each
// in a transaction that goes on after its conflict: one incident is stored,
// every declare gets it, and every transaction's other write commits.
func testAtomicConcurrentDeclareKey(t *testing.T, s Store) {
	ctx := context.Background()
	const n = 6
	got := make([]*incident.Incident, n)
	errs := make([]error, n)
	var created sync.Map
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Atomic(ctx, func(tx incident.Tx) error {
				inc, err := tx.CreateIncident(ctx, NewIncident(func(inc *incident.Incident) { inc.DeclareKey = "declare-race" }))
				switch {
				case err == nil:
					created.Store(i, true)
				case incident.ErrorCode(err) != incident.ECONFLICT || inc == nil:
					return fmt.Errorf("want the incident or ECONFLICT with it: %w", err)
				}
				got[i] = inc
				return tx.AddTimelineEvent(ctx, NewTimelineEvent(inc.ID, func(e *incident.TimelineEvent) { e.SourceID = fmt.Sprintf("race-%d", i) }))
			})
		})
	}
	wg.Wait()
	count := 0
	created.Range(func(any, any) bool { count++; return true })
	require.Equal(t, 1, count, "one declare stores the incident")
	for i := range n {
		require.NoError(t, errs[i], "declare %d", i)
		require.Equal(t, got[0].ID, got[i].ID, "declare %d gets the stored incident", i)
	}
	all, err := s.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, all, 1)
	events, err := s.ListTimeline(ctx, got[0].ID)
	require.NoError(t, err)
	require.Len(t, events, n, "every transaction went on after its conflict and committed")
}

// testAtomicChannelConflict creates an incident on a channel another one
// holds, in a transaction that goes on: the conflict is reported, nothing of
// the refused incident remains, and the rest commits.
func testAtomicChannelConflict(t *testing.T, s Store) {
	ctx := context.Background()
	holder := create(t, s, func(i *incident.Incident) { i.ChannelID = "C0HELD" })
	err := s.Atomic(ctx, func(tx incident.Tx) error {
		_, err := tx.CreateIncident(ctx, NewIncident(func(i *incident.Incident) { i.ChannelID = "C0HELD"; i.Title = "refused" }))
		if incident.ErrorCode(err) != incident.ECONFLICT {
			return fmt.Errorf("want ECONFLICT for a channel in use: %v", err)
		}
		_, err = tx.CreateIncident(ctx, NewIncident(func(i *incident.Incident) { i.ChannelID = "C0FREE"; i.Title = "kept" }))
		return err
	})
	require.NoError(t, err)
	all, err := s.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, all, 2)
	titles := []string{all[0].Title, all[1].Title}
	require.ElementsMatch(t, []string{holder.Title, "kept"}, titles)
}

func testAtomicNested(t *testing.T, s Store) {
	ctx := context.Background()
	inner := errors.New("inner failed")
	var kept *incident.Incident
	err := s.Atomic(ctx, func(tx incident.Tx) error {
		var err error
		if kept, err = tx.CreateIncident(ctx, NewIncident()); err != nil {
			return err
		}
		nestedErr := tx.Atomic(ctx, func(tx incident.Tx) error {
			if _, err := tx.CreateIncident(ctx, NewIncident(func(i *incident.Incident) { i.Title = "undone" })); err != nil {
				return err
			}
			return inner
		})
		if !errors.Is(nestedErr, inner) {
			return errors.New("the nested error must come back as is")
		}
		return tx.AddTimelineEvent(ctx, NewTimelineEvent(kept.ID))
	})
	require.NoError(t, err)
	all, err := s.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Equal(t, kept.ID, all[0].ID)
}

// testAtomicDeliveryPageEvent is the shape of an acknowledgement webhook:
// the dedupe marker, the page update and the timeline event are one fact.
func testAtomicDeliveryPageEvent(t *testing.T, s Store) {
	ctx := context.Background()
	inc := create(t, s)
	page := NewPage(inc.ID, "firebreak-1-checkout")
	require.NoError(t, pagesOf(t, s).AddPage(ctx, page))
	ack := func(fail bool) error {
		return s.Atomic(ctx, func(tx incident.Tx) error {
			first, err := deliveriesOf(t, tx).RecordDelivery(ctx, incident.Delivery{Source: "pagerduty", ID: "ack-1", ReceivedAt: Epoch()})
			if err != nil || !first {
				return err
			}
			if _, err := pagesOf(t, tx).UpdatePage(ctx, page.ID, func(p *incident.Page) error {
				p.Status = "acknowledged"
				return nil
			}); err != nil {
				return err
			}
			if fail {
				// The third write fails: an event for no incident.
				return tx.AddTimelineEvent(ctx, NewTimelineEvent(inc.ID+1000))
			}
			return tx.AddTimelineEvent(ctx, NewTimelineEvent(inc.ID, func(e *incident.TimelineEvent) { e.Kind = incident.EventAcknowledged }))
		})
	}
	RequireCode(t, ack(true), incident.ENOTFOUND)
	pages, err := s.ListPages(ctx, inc.ID)
	require.NoError(t, err)
	require.NotEqual(t, "acknowledged", pages[0].Status, "the page update must be undone with the failed event")
	// The redelivery is not mistaken for a duplicate, and now succeeds.
	require.NoError(t, ack(false))
	pages, err = s.ListPages(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, "acknowledged", pages[0].Status)
	events, err := s.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, events, 1)
}

// deliveriesOf is the delivery role of a store's Tx: a Tx carries the
// incident and timeline roles, and the stores' Tx implements every role.
func deliveriesOf(t testing.TB, tx incident.Tx) incident.DeliveryStore {
	t.Helper()
	d, ok := tx.(incident.DeliveryStore)
	require.True(t, ok, "%T records no deliveries", tx)
	return d
}

package incident_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// countingStore counts the writes a war room's setup makes.
type countingStore struct {
	*incidenttest.MemStore
	updates, events atomic.Int32
}

func (c *countingStore) UpdateIncident(ctx context.Context, id int64, fn func(*incident.Incident) ([]incident.TimelineEvent, error)) (*incident.Incident, error) {
	c.updates.Add(1)
	return c.MemStore.UpdateIncident(ctx, id, fn)
}

func (c *countingStore) AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error {
	c.events.Add(1)
	return c.MemStore.AddTimelineEvent(ctx, ev)
}

// batchingStore is a countingStore whose timeline stores several events in
// one write, all or none, as a database's one INSERT does.
type batchingStore struct {
	*countingStore
	batches, batched atomic.Int32
	before           func() // runs before each batch is stored
}

func (b *batchingStore) AddTimelineEvents(ctx context.Context, evs []incident.TimelineEvent) error {
	b.batches.Add(1)
	if b.before != nil {
		b.before()
	}
	stored, err := b.MemStore.ListTimeline(ctx, evs[0].IncidentID)
	if err != nil {
		return err
	}
	for _, ev := range stored {
		for _, add := range evs {
			if add.SourceID != "" && add.SourceID == ev.SourceID {
				return incident.Errorf(incident.ECONFLICT, "event %s is already stored", ev.SourceID)
			}
		}
	}
	for i := range evs {
		b.batched.Add(1)
		if err := b.MemStore.AddTimelineEvent(ctx, &evs[i]); err != nil {
			return err
		}
	}
	return nil
}

// TestWarRoomWrites pins what building a war room writes: the channel, its
// step and the move to investigating are one write; the panel and the
// announcement one each (their ts); and one write records the steps that
// ran: the topic, bookmarks, invites, panel and announcement.
func TestWarRoomWrites(t *testing.T) {
	t.Parallel()
	var store *batchingStore
	b := setupOn(t, func(s *incidenttest.MemStore) incident.Store {
		store = &batchingStore{countingStore: &countingStore{MemStore: s}}
		return store
	})
	ctx := context.Background()
	inc := declare(t, b, "checkout is down", incident.P1, "")
	store.updates.Store(0)
	store.events.Store(0)
	require.Empty(t, b.queue.RunAll(t))

	inc, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.StatusInvestigating, inc.Status)
	require.NotEmpty(t, inc.PanelTS)
	require.NotEmpty(t, inc.BroadcastTS)
	require.EqualValues(t, 3, store.updates.Load(), "incident writes: channel with its step and status, panel, announcement")
	require.EqualValues(t, 1, store.batches.Load(), "one write records the steps")
	require.EqualValues(t, 5, store.batched.Load(), "step records: topic, bookmarks, invites, panel, announcement")
	require.Zero(t, store.events.Load(), "no step recorded on its own")
	requireChannelOpenedOnce(t, b.store, inc.ID)
	requireStepsOnce(t, b.store, inc.ID)
}

// TestSetupStepRecordedMeanwhile: a step that another attempt recorded
// while this one ran fails the one write; the steps are then recorded one
// by one, that one skipped, and the setup succeeds with each step on the
// timeline once.
func TestSetupStepRecordedMeanwhile(t *testing.T) {
	t.Parallel()
	var store *batchingStore
	b := setupOn(t, func(s *incidenttest.MemStore) incident.Store {
		store = &batchingStore{countingStore: &countingStore{MemStore: s}}
		return store
	})
	ctx := context.Background()
	inc := declare(t, b, "checkout is down", incident.P1, "")
	store.before = func() {
		store.before = nil
		require.NoError(t, store.MemStore.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventSetup,
			Actor: "bot", Text: "Channel topic set", SourceID: "setup:topic"}))
	}
	require.Empty(t, b.queue.RunAll(t))
	require.EqualValues(t, 1, store.batches.Load())
	require.EqualValues(t, 5, store.events.Load(), "each step one by one after the failed write")
	requireStepsOnce(t, b.store, inc.ID)
}

// requireStepsOnce checks the timeline records each setup step once.
func requireStepsOnce(t *testing.T, store *incidenttest.MemStore, id int64) {
	t.Helper()
	events, err := store.ListTimeline(context.Background(), id)
	require.NoError(t, err)
	steps := map[string]int{}
	for _, ev := range events {
		if ev.Kind == incident.EventSetup {
			steps[ev.SourceID]++
		}
	}
	require.Equal(t, map[string]int{"setup:channel": 1, "setup:topic": 1, "setup:bookmarks": 1, "setup:invites": 1,
		"setup:panel": 1, "setup:announce": 1}, steps)
}

// TestSetupAdoptsAStoredChannel: an attempt that stored the channel and died
// before recording the step leaves the next one to record it and start
// investigating, without creating another channel.
func TestSetupAdoptsAStoredChannel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := declare(t, b, "checkout is down", incident.P1, "")
	_, err := b.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.ChannelID, i.ChannelName = "C0EARLIER", "inc-2026-08-07-checkout-is-down"
		return nil, nil
	})
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))

	inc, err = b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, "C0EARLIER", inc.ChannelID)
	require.Equal(t, incident.StatusInvestigating, inc.Status)
	require.Empty(t, b.chat.Channels, "no second channel")
	requireChannelOpenedOnce(t, b.store, inc.ID)

	// Running setup again (a redelivered job) records nothing twice.
	_, err = b.queue.Schedule(ctx, incident.Job{Kind: incident.JobSetup, Payload: []byte(`{"incident_id":` + itoa(inc.ID) + `}`)})
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	requireChannelOpenedOnce(t, b.store, inc.ID)
}

// requireChannelOpenedOnce checks the timeline holds the channel step and
// the move to investigating once each, in that order.
func requireChannelOpenedOnce(t *testing.T, store *incidenttest.MemStore, id int64) {
	t.Helper()
	events, err := store.ListTimeline(context.Background(), id)
	require.NoError(t, err)
	var opened []string
	for _, ev := range events {
		switch {
		case ev.SourceID == "setup:channel":
			opened = append(opened, "channel: "+ev.Text)
		case ev.Kind == incident.EventStatusChanged:
			opened = append(opened, "status: "+ev.Text)
		}
	}
	require.Len(t, opened, 2, "%q", opened)
	require.Equal(t, "channel: Channel #inc-2026-08-07-checkout-is-down created", opened[0])
	require.Equal(t, "status: Investigating", opened[1])
}

func itoa(n int64) string { return fmt.Sprint(n) }

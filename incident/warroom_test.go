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

// TestWarRoomWrites pins what building a war room writes: the channel, its
// step and the move to investigating are one write; the panel and the
// announcement one each (their ts); and one step record for each of the
// topic, bookmarks, invites, panel and announcement.
func TestWarRoomWrites(t *testing.T) {
	t.Parallel()
	var store *countingStore
	b := setupOn(t, func(s *incidenttest.MemStore) incident.Store {
		store = &countingStore{MemStore: s}
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
	require.EqualValues(t, 5, store.events.Load(), "step records: topic, bookmarks, invites, panel, announcement")
	requireChannelOpenedOnce(t, b.store, inc.ID)
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

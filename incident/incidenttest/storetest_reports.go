package incidenttest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// reportTests check incident.ReportReader: the records of many incidents
// at once, as each incident's own List methods return them.
var reportTests = []storeTest{
	{"IncidentRecords", testIncidentRecords},
	{"IncidentRecordsOfManyIDs", testIncidentRecordsManyIDs},
	{"IncidentRecordsInATransaction", testIncidentRecordsAtomic},
}

// recordOf reads an incident's records one List method at a time, with an
// empty list as nil.
func recordOf(t *testing.T, s Store, id int64) incident.IncidentRecord {
	t.Helper()
	ctx := context.Background()
	var rec incident.IncidentRecord
	evs, err := s.ListTimeline(ctx, id)
	require.NoError(t, err)
	ups, err := s.ListStatusUpdates(ctx, id)
	require.NoError(t, err)
	items, err := s.ListActionItems(ctx, id)
	require.NoError(t, err)
	rbs, err := s.ListRollbacks(ctx, id)
	require.NoError(t, err)
	if len(evs) > 0 {
		rec.Timeline = evs
	}
	if len(ups) > 0 {
		rec.Updates = ups
	}
	if len(items) > 0 {
		rec.ActionItems = items
	}
	if len(rbs) > 0 {
		rec.Rollbacks = rbs
	}
	return rec
}

func testIncidentRecords(t *testing.T, s Store) {
	ctx := context.Background()
	full, onlyItem, bare, unasked := create(t, s), create(t, s), create(t, s), create(t, s)
	for _, inc := range []*incident.Incident{full, unasked} {
		// Stored out of order: the record lists them oldest first.
		for _, m := range []int{30, 10, 20, 10} {
			require.NoError(t, s.AddTimelineEvent(ctx, NewTimelineEvent(inc.ID, func(e *incident.TimelineEvent) {
				e.At, e.Text = at(m), "note"
			})))
		}
		require.NoError(t, s.AddTimelineEvent(ctx, NewTimelineEvent(inc.ID, func(e *incident.TimelineEvent) {
			e.Kind, e.At = incident.EventStatusPage, at(12)
			e.Payload = incident.StatusPageData{Kind: "incident", Status: incident.PublicInvestigating}
		})))
		for _, m := range []int{40, 25} {
			require.NoError(t, s.AddStatusUpdate(ctx, &incident.StatusUpdate{IncidentID: inc.ID, Author: "U0IC",
				Status: incident.StatusInvestigating, Text: "looking", NextUpdateIn: 30 * time.Minute, PostedAt: at(m)}))
		}
		require.NoError(t, s.AddRollback(ctx, NewRollback(inc.ID, "rb-"+inc.Key())))
	}
	due := at(60 * 24)
	for _, inc := range []*incident.Incident{full, onlyItem} {
		require.NoError(t, s.AddActionItem(ctx, &incident.ActionItem{IncidentID: inc.ID, Text: "later", CreatedAt: at(90)}))
		require.NoError(t, s.AddActionItem(ctx, &incident.ActionItem{IncidentID: inc.ID, Text: "sooner", Owner: "U0BOB", DueOn: &due, CreatedAt: at(50)}))
	}

	got, err := s.ListIncidentRecords(ctx, []int64{full.ID, onlyItem.ID, bare.ID, full.ID, 987654321})
	require.NoError(t, err)
	require.Len(t, got, 2, "an entry for each incident asked for with something recorded, and no more")
	require.Equal(t, recordOf(t, s, full.ID), got[full.ID])
	require.Len(t, got[full.ID].Timeline, 7, "the notes, the status-page post and the two updates' events")
	require.Len(t, got[full.ID].Updates, 2)
	require.Len(t, got[full.ID].Rollbacks, 1)
	require.Equal(t, recordOf(t, s, onlyItem.ID), got[onlyItem.ID])
	require.Nil(t, got[onlyItem.ID].Timeline)
	require.Equal(t, "sooner", got[onlyItem.ID].ActionItems[0].Text)
	require.NotContains(t, got, bare.ID)
	require.NotContains(t, got, unasked.ID)

	none, err := s.ListIncidentRecords(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, none)

	// What it returns is the caller's: changing it changes nothing stored.
	got[full.ID].Timeline[0].Text = "changed"
	again, err := s.ListIncidentRecords(ctx, []int64{full.ID})
	require.NoError(t, err)
	require.Equal(t, "note", again[full.ID].Timeline[0].Text)
}

// testIncidentRecordsManyIDs asks for more ids than a statement may bind
// parameters on older SQLite builds (999), or than the store ever puts in
// one IN list.
func testIncidentRecordsManyIDs(t *testing.T, s Store) {
	ctx := context.Background()
	var ids []int64
	want := map[int64]incident.IncidentRecord{}
	for range 3 {
		inc := create(t, s)
		require.NoError(t, s.AddTimelineEvent(ctx, NewTimelineEvent(inc.ID)))
		want[inc.ID] = recordOf(t, s, inc.ID)
		ids = append(ids, inc.ID)
	}
	for i := range 2500 {
		ids = append(ids, int64(1_000_000+i))
	}
	got, err := s.ListIncidentRecords(ctx, ids)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// testIncidentRecordsAtomic reads records inside a transaction, which sees
// its own writes: a Tx implements every role of its store.
func testIncidentRecordsAtomic(t *testing.T, s Store) {
	ctx := context.Background()
	inc := create(t, s)
	err := s.Atomic(ctx, func(tx incident.Tx) error {
		if err := tx.AddTimelineEvent(ctx, NewTimelineEvent(inc.ID)); err != nil {
			return err
		}
		rr, ok := tx.(incident.ReportReader)
		require.True(t, ok, "the Tx reads records too")
		got, err := rr.ListIncidentRecords(ctx, []int64{inc.ID})
		require.NoError(t, err)
		require.Len(t, got[inc.ID].Timeline, 1)
		return nil
	})
	require.NoError(t, err)
}

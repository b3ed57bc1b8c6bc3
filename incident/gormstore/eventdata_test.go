package gormstore_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// TestStoredEventDataReadsTyped pins the compatibility of the data column on
// both dialects: a row written when details were a flat map of strings
// reads into its kind's payload, with no migration, and a payload is
// written as that same flat map, so an older release reads it too.
func TestStoredEventDataReadsTyped(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openDB(t, dialect)
			s := gormstore.New(db, testClock())
			inc, err := s.CreateIncident(ctx, incidenttest.NewIncident())
			require.NoError(t, err)
			cases := incidenttest.LegacyEventData()
			for _, c := range cases {
				raw, err := json.Marshal(c.Stored)
				require.NoError(t, err)
				require.NoError(t, db.Gorm().Exec(
					"INSERT INTO timeline_events (incident_id, kind, actor, at, text, key_event, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
					inc.ID, string(c.Kind), "bot", incidenttest.Epoch(), "old row", false, string(raw)).Error)
			}
			events, err := s.ListTimeline(ctx, inc.ID)
			require.NoError(t, err)
			require.Len(t, events, len(cases))
			for i, c := range cases {
				require.Equal(t, c.Kind, events[i].Kind)
				require.Equal(t, c.Payload, events[i].Payload, "an old %s row reads into its payload", c.Kind)
			}

			other, err := s.CreateIncident(ctx, incidenttest.NewIncident())
			require.NoError(t, err)
			for _, c := range cases {
				ev := incidenttest.NewTimelineEvent(other.ID, func(e *incident.TimelineEvent) { e.Kind, e.Payload = c.Kind, c.Payload })
				require.NoError(t, s.AddTimelineEvent(ctx, ev))
				var stored string
				require.NoError(t, db.Gorm().Raw("SELECT data FROM timeline_events WHERE id = ?", ev.ID).Scan(&stored).Error)
				var got map[string]string
				require.NoError(t, json.Unmarshal([]byte(stored), &got))
				want := map[string]string{}
				for k, v := range c.Stored {
					if v != "" {
						want[k] = v
					}
				}
				require.Equal(t, want, got, "%T is written as the flat map it was", c.Payload)
			}
		})
	}
}

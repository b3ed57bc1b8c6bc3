package incident_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestDrillOccurrenceCatchUpWindow: a scheduled drill is due from its slot
// until the catch-up window after it has passed; a start later in the
// period (a first start, a bot down at the slot) finds it past due, with
// the next slot to say. Before this period's slot, the latest slot is the
// previous period's, so a window that crosses into the next period (a
// Sunday-night weekly drill) still counts.
func TestDrillOccurrenceCatchUpWindow(t *testing.T) {
	t.Parallel()
	utc := time.UTC
	at := func(y int, m time.Month, d, h, min int, loc *time.Location) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	monthly := incident.DrillSchedule{Name: "monthly", Every: "monthly", Day: 1, At: 10 * time.Hour}
	weekly := incident.DrillSchedule{Name: "weekly", Every: "weekly", Day: 0, At: 23*time.Hour + 30*time.Minute} // Sunday 23:30
	quarterly := incident.DrillSchedule{Name: "quarterly", Every: "quarterly", Day: 15, At: 9 * time.Hour}
	berlin := time.FixedZone("CEST", 2*60*60)
	tests := []struct {
		name   string
		d      incident.DrillSchedule
		now    time.Time
		loc    *time.Location
		period string
		slot   time.Time
		next   time.Time
		due    bool
	}{
		{"monthly, a minute before the slot", monthly, at(2026, 8, 1, 9, 59, utc), utc, "2026-07", at(2026, 7, 1, 10, 0, utc), at(2026, 8, 1, 10, 0, utc), false},
		{"monthly, at the slot", monthly, at(2026, 8, 1, 10, 0, utc), utc, "2026-08", at(2026, 8, 1, 10, 0, utc), at(2026, 9, 1, 10, 0, utc), true},
		{"monthly, within the window", monthly, at(2026, 8, 1, 10, 59, utc), utc, "2026-08", at(2026, 8, 1, 10, 0, utc), at(2026, 9, 1, 10, 0, utc), true},
		{"monthly, the window over", monthly, at(2026, 8, 1, 11, 0, utc), utc, "2026-08", at(2026, 8, 1, 10, 0, utc), at(2026, 9, 1, 10, 0, utc), false},
		{"monthly, a first start days later", monthly, at(2026, 8, 3, 12, 0, utc), utc, "2026-08", at(2026, 8, 1, 10, 0, utc), at(2026, 9, 1, 10, 0, utc), false},
		{"monthly, December to January", monthly, at(2026, 12, 20, 8, 0, utc), utc, "2026-12", at(2026, 12, 1, 10, 0, utc), at(2027, 1, 1, 10, 0, utc), false},
		{"monthly, before January's slot", monthly, at(2027, 1, 1, 9, 0, utc), utc, "2026-12", at(2026, 12, 1, 10, 0, utc), at(2027, 1, 1, 10, 0, utc), false},
		{"monthly, local time", monthly, at(2026, 8, 1, 8, 30, utc), berlin, "2026-08", at(2026, 8, 1, 10, 0, berlin), at(2026, 9, 1, 10, 0, berlin), true},
		{"weekly, window into Monday", weekly, at(2026, 8, 10, 0, 10, utc), utc, "2026-W32", at(2026, 8, 9, 23, 30, utc), at(2026, 8, 16, 23, 30, utc), true},
		{"weekly, Monday morning", weekly, at(2026, 8, 10, 9, 0, utc), utc, "2026-W32", at(2026, 8, 9, 23, 30, utc), at(2026, 8, 16, 23, 30, utc), false},
		{"quarterly, before its slot", quarterly, at(2027, 1, 10, 9, 0, utc), utc, "2026-Q4", at(2026, 10, 15, 9, 0, utc), at(2027, 1, 15, 9, 0, utc), false},
		{"quarterly, at its slot", quarterly, at(2026, 10, 15, 9, 30, utc), utc, "2026-Q4", at(2026, 10, 15, 9, 0, utc), at(2027, 1, 15, 9, 0, utc), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.d.Occurrence(tt.now, tt.loc, incident.DrillCatchUp)
			require.Equal(t, tt.period, o.Period)
			require.True(t, tt.slot.Equal(o.Slot), "slot %s, want %s", o.Slot, tt.slot)
			require.True(t, tt.next.Equal(o.Next), "next %s, want %s", o.Next, tt.next)
			require.Equal(t, tt.due, o.Due)
		})
	}
}

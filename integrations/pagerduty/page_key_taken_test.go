package pagerduty_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestAnOpenIncidentUnderTheKeyIsTakenOnlyWhenOpenedSinceTheDeclaration:
// PagerDuty refuses a second open incident under a key. The open one is
// the request's own page when it was opened since the incident was
// declared (NotBefore: an earlier attempt's answer was lost), give or take
// a minute of the clocks' skew; an older one is someone else's, and the
// page is refused with ECONFLICT, naming it, with nothing changed at
// PagerDuty.
func TestAnOpenIncidentUnderTheKeyIsTakenOnlyWhenOpenedSinceTheDeclaration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		declared time.Duration // after the open incident was opened
		taken    bool
	}{
		{"opened after the declaration", -time.Second, true},
		{"opened within the clocks' skew before it", 30 * time.Second, true},
		{"opened well before it", time.Hour, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			req := b.request(b.rest)
			first, err := b.client.Page(ctx, req)
			require.NoError(t, err)
			b.clock.Advance(2 * time.Hour)

			req.NotBefore = t0.Add(tt.declared)
			req.Backup = true
			page, err := b.client.Page(ctx, req)
			if tt.taken {
				require.NoError(t, err)
				require.Equal(t, first.ExternalID, page.ExternalID)
				return
			}
			require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "%v", err)
			require.Contains(t, incident.ErrorMessage(err), "#1, opened 2026-08-07 14:23 UTC, before INC-42 was declared")
			require.Contains(t, incident.ErrorMessage(err), "nobody was paged for INC-42")
			require.Len(t, b.fake.Incidents(), 1)
			require.Equal(t, []string{b.bob.ID}, b.fake.Incidents()[0].Assignees, "the other's incident is left alone: no backup added")
		})
	}
}

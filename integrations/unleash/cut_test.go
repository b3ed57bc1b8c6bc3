package unleash_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/unleash/unleashfake"
)

// A flag with more events than the client reads: the newest are listed,
// and the cut is said rather than passed over.
func TestChangesSaysWhenItReadOnlyTheNewestEvents(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Added oldest first, as Unleash numbers its events.
	const n = 2010
	for i := n - 1; i >= 0; i-- {
		b.fake.AddEvent(unleashfake.Event{Type: "feature-strategy-update", CreatedBy: "bob", CreatedAt: t0.Add(-time.Duration(i) * time.Second),
			Project: "pay", Environment: "production", FeatureName: "fast_refunds"})
	}
	got, cuts, err := b.client.ChangesCut(context.Background(), payments(), t0.Add(-time.Hour), t0)
	require.NoError(t, err)
	require.Len(t, got, 2000)
	require.Equal(t, t0, got[0].OccurredAt)
	require.Equal(t, t0.Add(-1999*time.Second), got[1999].OccurredAt, "the newest 2000")
	require.Equal(t, []incident.SourceCut{{Source: "Unleash", What: "events of flag fast_refunds", Read: 2000}}, cuts)

	// Exactly as many as it reads: nothing is cut.
	b = setup(t)
	for i := range 2000 {
		b.fake.AddEvent(unleashfake.Event{Type: "feature-strategy-update", CreatedBy: "bob", CreatedAt: t0.Add(-time.Duration(i) * time.Second),
			Project: "pay", Environment: "production", FeatureName: "fast_refunds"})
	}
	got, cuts, err = b.client.ChangesCut(context.Background(), payments(), t0.Add(-time.Hour), t0)
	require.NoError(t, err)
	require.Len(t, got, 2000)
	require.Empty(t, cuts)
}

package launchdarkly_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/launchdarkly/ldfake"
)

// A flag with more audit log entries in the window than the client reads:
// the newest are listed, and the cut is said rather than passed over.
func TestChangesSaysWhenItReadOnlyTheNewestEntries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 1010
	for i := range n {
		b.fake.AddAuditEntry(ldfake.AuditEntry{
			ID: fmt.Sprintf("e%04d", i), Date: t0.Add(-time.Duration(i) * time.Second), Name: "New cart",
			TitleVerb: "updated the flag", Project: "shop", Environment: "production", FlagKey: "new-cart",
		})
	}
	got, cuts, err := b.client.ChangesCut(context.Background(), checkout(), t0.Add(-time.Hour), t0)
	require.NoError(t, err)
	require.Len(t, got, 1000)
	require.Equal(t, "e0000", got[0].ExternalID)
	require.Equal(t, "e0999", got[999].ExternalID, "the newest 1000")
	require.Equal(t, []incident.SourceCut{{Source: "LaunchDarkly", What: "audit log entries of flag new-cart", Read: 1000}}, cuts)

	// Fewer entries than that: nothing is cut.
	b = setup(t)
	b.fake.AddAuditEntry(ldfake.AuditEntry{ID: "one", Date: t0.Add(-time.Minute), Name: "New cart",
		TitleVerb: "updated the flag", Project: "shop", Environment: "production", FlagKey: "new-cart"})
	got, cuts, err = b.client.ChangesCut(context.Background(), checkout(), t0.Add(-time.Hour), t0)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Empty(t, cuts)
}

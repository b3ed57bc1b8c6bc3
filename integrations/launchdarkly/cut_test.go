package launchdarkly_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/launchdarkly"
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

// The client reads a flag's entries with the audit log's spec, then
// follows _links.next. A next link that leaves the spec out lists every
// flag's entries from then on: only the asked flag's, in its project, are
// its changes, not another flag's, nor a flag of the same key in another
// project.
func TestChangesKeepOnlyTheAskedFlagsEntriesWhenTheNextLinkDropsTheSpec(t *testing.T) {
	t.Parallel()
	fake := ldfake.New(token, ldfake.WithNow(func() time.Time { return t0 }), ldfake.WithNextLinkWithout("spec"))
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client := launchdarkly.New(launchdarkly.Config{APIURL: srv.URL, Token: token, HTTPClient: srv.Client(),
		Clock: incident.ClockFunc(func() time.Time { return t0 })})
	// 21 entries of the asked flag, the newest: a page and one more.
	for i := range 21 {
		fake.AddAuditEntry(ldfake.AuditEntry{ID: fmt.Sprintf("cart-%02d", i), Date: t0.Add(-time.Duration(i+1) * time.Minute),
			Name: "New cart", TitleVerb: "updated the flag", Project: "shop", Environment: "production", FlagKey: "new-cart"})
	}
	// Older ones of other flags, which only the unfiltered second page
	// lists.
	fake.AddAuditEntry(ldfake.AuditEntry{ID: "dark-mode", Date: t0.Add(-40 * time.Minute), Name: "Dark mode",
		TitleVerb: "turned on the flag", Project: "shop", Environment: "production", FlagKey: "dark-mode"})
	fake.AddAuditEntry(ldfake.AuditEntry{ID: "other-project", Date: t0.Add(-41 * time.Minute), Name: "New cart",
		TitleVerb: "turned on the flag", Project: "outlet", Environment: "production", FlagKey: "new-cart"})

	got, err := client.Changes(context.Background(), checkout(), t0.Add(-time.Hour), t0)
	require.NoError(t, err)
	var second []ldfake.Call
	for _, c := range fake.Calls() {
		if c.Path == "/api/v2/auditlog" && c.Query.Get("offset") != "" {
			second = append(second, c)
		}
	}
	require.Len(t, second, 1, "the second page is read")
	require.Empty(t, second[0].Query.Get("spec"), "through a next link without the spec")
	var ids []string
	for _, c := range got {
		require.Equal(t, "new-cart", c.Ref, c.ExternalID)
		require.Equal(t, "shop", c.Data["project"], c.ExternalID)
		ids = append(ids, c.ExternalID)
	}
	require.Len(t, ids, 21, "every entry of the asked flag, and nothing else: %v", ids)
	require.NotContains(t, ids, "dark-mode")
	require.NotContains(t, ids, "other-project")
}

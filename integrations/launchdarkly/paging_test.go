package launchdarkly_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/launchdarkly"
	"github.com/firebreakhq/firebreak/integrations/launchdarkly/ldfake"
)

// setupWithoutNextLink is setup with an audit log that never answers a
// _links.next, even for a full page.
func setupWithoutNextLink(t *testing.T) bundle {
	t.Helper()
	fake := ldfake.New(token, ldfake.WithNow(func() time.Time { return t0 }), ldfake.WithoutNextLink())
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	client := launchdarkly.New(launchdarkly.Config{APIURL: srv.URL, Token: token, HTTPClient: srv.Client(),
		Clock: incident.ClockFunc(func() time.Time { return t0 })})
	return bundle{fake: fake, srv: srv, client: client}
}

func (b bundle) addCartEntry(id string, at time.Time) {
	b.fake.AddAuditEntry(ldfake.AuditEntry{ID: id, Date: at, Name: "New cart", TitleVerb: "updated the flag",
		Project: "shop", Environment: "production", FlagKey: "new-cart"})
}

func externalIDs(changes []incident.ChangeEvent) []string {
	ids := make([]string, 0, len(changes))
	for _, c := range changes {
		ids = append(ids, c.ExternalID)
	}
	return ids
}

// A flag changed 45 times in the window, with several entries in the same
// millisecond across the pages' edges, and an audit log that answers full
// pages without a next link: every change is listed once, oldest included,
// and the list is complete.
func TestChangesPageOnWithBeforeWhenAFullPageHasNoNextLink(t *testing.T) {
	t.Parallel()
	b := setupWithoutNextLink(t)
	var want []string
	for i := range 45 {
		// Three entries a minute: pages of 20 end inside a minute.
		id := fmt.Sprintf("e%02d", i)
		b.addCartEntry(id, t0.Add(-time.Duration(i/3+1)*time.Minute))
		want = append(want, id)
	}
	got, cuts, err := b.client.ChangesCut(context.Background(), checkout(), t0.Add(-time.Hour), t0)
	require.NoError(t, err)
	require.Empty(t, cuts, "every entry was read")
	require.ElementsMatch(t, want, externalIDs(got), "each change once")
	require.Equal(t, t0.Add(-15*time.Minute), got[len(got)-1].OccurredAt.UTC(), "the oldest changes are listed")

	var befores []string
	for _, c := range b.fake.Calls() {
		if c.Path == "/api/v2/auditlog" {
			befores = append(befores, c.Query.Get("before"))
			require.Equal(t, "proj/shop:env/production:flag/new-cart", c.Query.Get("spec"))
			require.Equal(t, "20", c.Query.Get("limit"))
		}
	}
	require.Len(t, befores, 3, "three pages: %v", befores)
	require.Equal(t, strconv.FormatInt(t0.UnixMilli()+1, 10), befores[0])
	// The second page ends just after the oldest entry of the first: the
	// entries of its millisecond not read yet come back, with those read.
	require.Equal(t, strconv.FormatInt(t0.Add(-7*time.Minute).UnixMilli()+1, 10), befores[1])
}

// More entries of one flag in the window than the pages read: the newest
// are listed and the cut is said, as with next links.
func TestChangesWithoutNextLinkSaysWhenItReadOnlyTheNewest(t *testing.T) {
	t.Parallel()
	b := setupWithoutNextLink(t)
	for i := range 1010 {
		b.addCartEntry(fmt.Sprintf("e%04d", i), t0.Add(-time.Duration(i+1)*time.Second))
	}
	got, cuts, err := b.client.ChangesCut(context.Background(), checkout(), t0.Add(-time.Hour), t0)
	require.NoError(t, err)
	require.Equal(t, []incident.SourceCut{{Source: "LaunchDarkly", What: "audit log entries of flag new-cart", Read: len(got)}}, cuts)
	require.Equal(t, "e0000", got[0].ExternalID)
	for i, c := range got {
		require.Equal(t, fmt.Sprintf("e%04d", i), c.ExternalID, "the newest, each once")
	}
}

// More entries in one millisecond than a page holds: the page cannot be
// paged past without leaving some out, so the cut is said.
func TestChangesWithoutNextLinkSaysAMillisecondFullerThanAPage(t *testing.T) {
	t.Parallel()
	b := setupWithoutNextLink(t)
	at := t0.Add(-10 * time.Minute)
	for i := range 25 {
		b.addCartEntry(fmt.Sprintf("bulk-%02d", i), at)
	}
	b.addCartEntry("older", at.Add(-time.Minute))
	got, cuts, err := b.client.ChangesCut(context.Background(), checkout(), t0.Add(-time.Hour), t0)
	require.NoError(t, err)
	require.Len(t, cuts, 1, "entries of the crowded millisecond are left out, and that is said")
	require.Equal(t, len(got), cuts[0].Read)
	require.Contains(t, externalIDs(got), "older", "paging goes on past the crowded millisecond")
	require.Len(t, got, 21)
}

// A millisecond holding more entries than a page, reached in the middle of
// a page (15 newer entries, 25 in that millisecond, one a minute older):
// the entries past it are still read, and the cut (those of the crowded
// millisecond that no page could reach) is said.
func TestChangesWithoutNextLinkStepsPastACrowdedMillisecondMidPage(t *testing.T) {
	t.Parallel()
	b := setupWithoutNextLink(t)
	for i := range 15 {
		b.addCartEntry(fmt.Sprintf("new%02d", i), t0.Add(-time.Duration(i+1)*time.Second))
	}
	crowded := t0.Add(-10 * time.Minute)
	for i := range 25 {
		b.addCartEntry(fmt.Sprintf("ms%02d", i), crowded)
	}
	b.addCartEntry("older", crowded.Add(-time.Minute))
	got, cuts, err := b.client.ChangesCut(context.Background(), checkout(), t0.Add(-time.Hour), t0)
	require.NoError(t, err)
	require.NotEmpty(t, cuts, "some entries of the crowded millisecond could not be read")
	ids := externalIDs(got)
	require.Contains(t, ids, "older", "the change before the crowded millisecond is listed")
	require.Contains(t, ids, "new00")
	require.Contains(t, ids, "new14")
}

package postmortem_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/confluence/confluencefake"
)

// The team wrote the root cause in Confluence after the draft was
// published; "Export again" leaves their page alone and says so once in the
// channel, naming who edited it, with the link and a Retry button. It is
// not retried in the background, nor reported as Confluence being down.
func TestReExportLeavesAPageEditedInConfluenceAlone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	ctx := context.Background()
	inc, _ := f.replay(t)
	reply := incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: alice}
	require.NoError(t, f.pm.Export(ctx, inc.ID, "confluence", alice, reply))
	require.Empty(t, f.queue.RunAll(t))
	ref, err := f.store.GetExport(ctx, inc.ID, "confluence")
	require.NoError(t, err)

	team := f.exp.conf.Pages()[0].Body + "<h2>Root cause (agreed)</h2><p>The order-history query had no index.</p>"
	jane := confluencefake.User{AccountID: "5d2f0a1b9c8e7d0012345678", Username: "jdoe", UserKey: "8a7f808a1", DisplayName: "Jane Doe"}
	require.NoError(t, f.exp.conf.Edit(ref.ID, team, jane))
	before := len(f.exp.conf.Calls())

	f.clock.Advance(2 * time.Minute)
	require.NoError(t, f.pm.Export(ctx, inc.ID, "confluence", bob, reply))
	failed := f.queue.RunAll(t)
	require.Len(t, failed, 1)
	require.ErrorIs(t, failed[0], incident.ErrJobCancel, "retrying cannot help")

	var reports []string
	for _, p := range f.chat.PostsIn(inc.ChannelID) {
		if strings.HasPrefix(p, ":warning: *Exporting") {
			reports = append(reports, p)
		}
	}
	require.Equal(t, []string{fmt.Sprintf(":warning: *Exporting the INC-1 postmortem to Confluence failed*: "+
		"The Confluence page was edited in Confluence by Jane Doe since the last export (version 2); firebreak did not overwrite it. "+
		"Copy what the new draft adds into the page by hand, or delete the page in Confluence and export again to publish the draft as a new page: %s "+
		"Fix the cause, then press Retry. [Retry export to Confluence:postmortem_export=%d:confluence]", ref.URL, inc.ID)}, reports)

	pages := f.exp.conf.Pages()
	require.Len(t, pages, 1)
	require.Equal(t, team, pages[0].Body, "the team's page is untouched")
	require.Equal(t, 2, pages[0].Version)
	reads := 0
	for _, c := range f.exp.conf.Calls()[before:] {
		require.NotEqual(t, http.MethodPut, c.Method)
		if c.Method == http.MethodGet && strings.HasPrefix(c.Path, "/wiki/api/v2/pages/"+ref.ID) {
			reads++
		}
	}
	require.Equal(t, 1, reads, "one attempt, not retried")
	still, err := f.store.GetExport(ctx, inc.ID, "confluence")
	require.NoError(t, err)
	require.Equal(t, *ref, *still, "the record still points at the page as the bot last wrote it")
}

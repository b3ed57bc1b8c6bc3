package postmortem_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/integrations/confluence/confluencefake"
)

// TestExportRateLimitedToTheEndIsSaid: Confluence answers 429 with a
// Retry-After to every create. The job engine postpones the export as
// asked, then, its postponements spent, counts the 429s as failures; the
// last attempt's failure is said in the channel with its Retry button, not
// dropped in silence, and the job ends there.
func TestExportRateLimitedToTheEndIsSaid(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	ctx := context.Background()
	inc, _ := f.replay(t)
	f.exp.conf.Fail(confluencefake.Fault{Method: http.MethodPost, PathContains: "/api/v2/pages", Status: http.StatusTooManyRequests,
		Message: "Rate limit exceeded", RetryAfter: "30", Times: 100000})

	require.NoError(t, f.pm.Export(ctx, inc.ID, "confluence", alice, incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: alice}))
	failed := f.queue.RunAll(t)
	require.Len(t, failed, 1, "the job ends: %v", failed)
	require.ErrorIs(t, failed[0], incident.ErrJobCancel, "not postponed again after the channel was told")
	var ra interface{ RetryAfter() time.Duration }
	require.False(t, errors.As(failed[0], &ra), "its Retry-After would have it postponed")

	var said []string
	for _, p := range f.chat.PostsIn(inc.ChannelID) {
		if strings.HasPrefix(p, ":warning: *Exporting") {
			said = append(said, p)
		}
	}
	require.Len(t, said, 1, "the failure is said once, at the last attempt: %q", said)
	require.Contains(t, said[0], "Confluence")
	require.Contains(t, said[0], "Retry export to Confluence")
	require.Empty(t, f.exp.conf.Pages())
}

package paging_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestNobodyIsPagedForAnIncidentThatIsOver: the Page button or command, and
// an old Retry page button, refuse a resolved or closed incident; and a page
// still waiting to go out (PagerDuty down, say) when its incident is
// resolved is not sent, so no PagerDuty incident is left open that the
// resolution will not resolve.
func TestNobodyIsPagedForAnIncidentThatIsOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, status := range []incident.Status{incident.StatusResolved, incident.StatusClosed} {
		t.Run(string(status), func(t *testing.T) {
			b, pg := pagingSetup(t)
			inc := declare(t, b, "quiet", incident.P3, "")
			b.queue.RunAll(t)
			_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "fixed")
			require.NoError(t, err)
			if status == incident.StatusClosed {
				_, err = b.svc.SetStatus(ctx, inc.ID, incident.StatusClosed, "U0DECL", "")
				require.NoError(t, err)
			}
			b.queue.RunAll(t)
			_, err = b.pg.Page(ctx, inc.ID, "checkout", "U0DECL")
			require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "%v", err)
			require.Contains(t, incident.ErrorMessage(err), "nobody is paged")
			v, err := json.Marshal(map[string]any{"incident_id": inc.ID, "service": "checkout", "round": 100})
			require.NoError(t, err)
			err = b.pg.RetryPage(ctx, string(v), "U0DECL")
			require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "%v", err)
			b.queue.RunAll(t)
			require.Empty(t, pg.requests)
		})
	}
	t.Run("resolved before the page went out", func(t *testing.T) {
		b, pg := pagingSetup(t)
		inc := declare(t, b, "checkout is down", incident.P2, "")
		b.queue.Run(t, incident.JobSetup)
		_, err := b.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, "U0DECL", "a false alarm")
		require.NoError(t, err)
		b.queue.RunAll(t)
		require.Empty(t, pg.requests)
		pages, err := b.store.ListPages(ctx, inc.ID)
		require.NoError(t, err)
		require.Empty(t, pages)
	})
}

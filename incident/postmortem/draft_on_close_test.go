package postmortem_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/postmortem"
)

// The close's hooks may run again (a retry of incident.JobHooks after
// another hook failed), minutes later: the close is drafted once.
func TestCloseHookRunAgainDraftsOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	ctx := context.Background()
	inc, _, err := f.svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P2, DeclaredBy: "U0ALICE",
		ReplyTo: incident.ReplyTarget{UserID: "U0ALICE"}})
	require.NoError(t, err)
	closed := *inc
	closed.Status, closed.UpdatedAt = incident.StatusClosed, f.clock.Now()
	change := incident.Change{Kind: incident.EventStatusChanged, Incident: &closed, From: string(incident.StatusResolved), To: string(incident.StatusClosed)}
	hook := f.pm.Feature().Hook
	require.NoError(t, hook(ctx, change))
	f.clock.Advance(3 * time.Minute)
	require.NoError(t, hook(ctx, change))
	require.Equal(t, 1, f.queue.Pending(postmortem.JobDraft), "one draft for one close")
}

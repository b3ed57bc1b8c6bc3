package changes_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// GitHub accepted the dispatch but never said which run it started, and
// no run names the rollback (the workflow sets no run-name). Once the bot
// stops looking, the rollback must not stay "running" for ever: nothing
// would move it on, and both Retry and a new request would be refused as
// "already running". The round fails, says where to look, and offers
// Retry.
func TestRollbackWhoseRunNeverShowsFailsWithRetryWhenTheBotStopsLooking(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newGitHubFollow(t)
	inc, r := g.rollBack(t)
	require.Empty(t, r.ExternalID)

	for range 45 {
		g.clock.Advance(15 * time.Second)
		require.Empty(t, g.queue.RunDue(t, g.clock.Now()))
	}
	r = g.rollback(t, r.Key)
	require.Equal(t, incident.RollbackFailed, r.Status)
	require.Zero(t, g.queue.Pending(changes.JobRollback, changes.JobRollbackProgress), "nothing follows it any more")
	posts := g.posts(inc)
	require.Contains(t, posts, "Rollback of acme/checkout in production to 1111111 failed")
	require.Contains(t, posts, "No run of it was found in 10m00s")
	require.Contains(t, posts, "retry only if none started")
	require.Contains(t, posts, "/actions/workflows/deploy.yml", "it links where to look")

	r, err := g.rb.RetryRollback(ctx, r.Key, "U0ROLL1")
	require.NoError(t, err, "Retry can start it again")
	require.Equal(t, incident.RollbackRunning, r.Status)
	require.Empty(t, g.queue.RunDue(t, g.clock.Now()))
	require.Len(t, g.fake.Dispatches(followRepo), 2)
}

// A run the bot follows by its id and that is still going when the bot
// stops looking is left running: it may still finish, and its webhooks
// say so.
func TestRollbackWhoseRunIsKnownStaysRunningWhenTheBotStopsLooking(t *testing.T) {
	t.Parallel()
	g := newGitHubFollow(t, ghfake.WithRunNameInput("reason"))
	inc, r := g.rollBack(t)
	require.NotEmpty(t, r.ExternalID)

	for range 45 {
		g.clock.Advance(15 * time.Second)
		require.Empty(t, g.queue.RunDue(t, g.clock.Now()))
	}
	require.Equal(t, incident.RollbackRunning, g.rollback(t, r.Key).Status)
	require.Contains(t, g.posts(inc), "I stopped checking the rollback")
}

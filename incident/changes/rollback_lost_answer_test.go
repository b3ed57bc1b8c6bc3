package changes_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// recordingDownStore refuses what a rollback records right after its
// provider carried it out, once, as a database that stops answering for
// a moment does: the first update of a rollback (the run the provider
// started) when failRun is set, or the first transaction after that update
// (the line saying the rollback started) when failSay is set.
type recordingDownStore struct {
	*incidenttest.MemStore
	failRun, failSay bool

	mu      sync.Mutex
	updated bool
	failed  bool
}

func (s *recordingDownStore) down() error {
	return incident.Errorf(incident.EUNAVAILABLE, "The incident database is not answering.")
}

func (s *recordingDownStore) UpdateRollback(ctx context.Context, id int64, fn func(*incident.Rollback) error) (*incident.Rollback, error) {
	s.mu.Lock()
	first := !s.updated
	s.updated = true
	fail := first && s.failRun && !s.failed
	s.failed = s.failed || fail
	s.mu.Unlock()
	if fail {
		return nil, s.down()
	}
	return s.MemStore.UpdateRollback(ctx, id, fn)
}

func (s *recordingDownStore) Atomic(ctx context.Context, fn func(tx incident.Tx) error) error {
	s.mu.Lock()
	fail := s.updated && s.failSay && !s.failed
	s.failed = s.failed || fail
	s.mu.Unlock()
	if fail {
		return s.down()
	}
	return s.MemStore.Atomic(ctx, fn)
}

// newLostAnswerFollow is the GitHub follow bundle on a GitHub that names
// the run a dispatch starts (return_run_details) and a deploy workflow
// without run-name, so no run's title tells the rollback's run apart.
func newLostAnswerFollow(t *testing.T, store **recordingDownStore, failRun, failSay bool) githubFollow {
	t.Helper()
	return newGitHubFollowOn(t, func(m *incidenttest.MemStore) changes.Store {
		*store = &recordingDownStore{MemStore: m, failRun: failRun, failSay: failSay}
		return *store
	}, nil)
}

// GitHub carries out the dispatch and names its run, and the database
// refuses to record that run: the job is retried. The retry must not
// dispatch the deploy workflow a second time (nothing on GitHub says the
// first run was the rollback's), and the channel must hear what became of
// the rollback: it is followed, and when no run shows it fails saying
// where to look, with Retry.
func TestRollbackIsNotDispatchedAgainWhenItsRunCouldNotBeRecorded(t *testing.T) {
	t.Parallel()
	var store *recordingDownStore
	g := newLostAnswerFollow(t, &store, true, false)
	inc, r := g.rollBack(t)
	require.True(t, store.failed, "the database refused the run")
	require.Len(t, g.fake.Dispatches(followRepo), 1, "the rollback is dispatched once")
	require.Contains(t, g.posts(inc), "Rolling back on behalf of <@U0DECL>", "the channel hears that the rollback started")

	for range 45 {
		g.clock.Advance(15 * time.Second)
		require.Empty(t, g.queue.RunDue(t, g.clock.Now()))
	}
	require.Len(t, g.fake.Dispatches(followRepo), 1, "following the rollback dispatches nothing")
	r = g.rollback(t, r.Key)
	require.Equal(t, incident.RollbackFailed, r.Status)
	posts := g.posts(inc)
	require.Contains(t, posts, "retry only if none started")
	require.Contains(t, posts, "[Retry rollback:")
}

// GitHub carries out the dispatch, the bot records its run, and the
// database refuses the line saying the rollback started: the retried job
// follows the recorded run instead of dispatching again, and says its
// outcome.
func TestRollbackFollowsItsRecordedRunWhenSayingItStartedFailed(t *testing.T) {
	t.Parallel()
	var store *recordingDownStore
	g := newLostAnswerFollow(t, &store, false, true)
	inc, r := g.rollBack(t)
	require.True(t, store.failed, "the database refused the line")
	require.Len(t, g.fake.Dispatches(followRepo), 1, "the rollback is dispatched once")
	run := g.fake.Dispatches(followRepo)[0].RunID
	require.Equal(t, fmt.Sprint(run), r.ExternalID)
	require.Contains(t, g.posts(inc), "Rolling back on behalf of <@U0DECL>")

	require.NoError(t, g.fake.CompleteRun(followRepo, run, "success"))
	g.clock.Advance(15 * time.Second)
	require.Empty(t, g.queue.RunDue(t, g.clock.Now()))
	require.Equal(t, incident.RollbackSucceeded, g.rollback(t, r.Key).Status)
	require.Contains(t, g.posts(inc), "succeeded")
	require.Len(t, g.fake.Dispatches(followRepo), 1)
}

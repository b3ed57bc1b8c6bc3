package postmortem_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/postmortem"
)

// claimReleaseFails is a store whose release of a requested export's claim
// fails as many times as fails says: the database hiccups as the job
// starts.
type claimReleaseFails struct {
	*gormstore.Store
	mu    sync.Mutex
	fails int
}

func (s *claimReleaseFails) ReleaseLease(ctx context.Context, key, holder string) error {
	s.mu.Lock()
	fail := strings.HasPrefix(key, "export-request:") && s.fails > 0
	if fail {
		s.fails--
	}
	s.mu.Unlock()
	if fail {
		return errors.New("database is locked")
	}
	return s.Store.ReleaseLease(ctx, key, holder)
}

// claimReleaseFailing is githubExport on a store whose claim releases fail
// fails times.
func claimReleaseFailing(t *testing.T, fails int) githubExportRun {
	t.Helper()
	var exp incident.Exporter
	g := githubExport(t, nil, func(e incident.Exporter) incident.Exporter { exp = e; return e })
	store := &claimReleaseFails{Store: g.store, fails: fails}
	g.q.ResetHandlers()
	g.pm = postmortem.New(postmortem.Config{Store: store, Chat: g.chat, Scheduler: g.q, Exporters: []incident.Exporter{exp},
		Renderer: mustTemplates(t), Clock: g.clock})
	g.pm.RegisterJobs(g.q)
	return g
}

// Case (a): the claim's release failed as the first export started, and
// the export finished. A request after that (a note added, the draft
// changed) exports again instead of being told an export is under way
// while nothing is scheduled.
func TestExportClaimWhoseReleaseFailedDoesNotLoseTheNextRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := claimReleaseFailing(t, 1)
	reply := incident.ReplyTarget{ChannelID: g.inc.ChannelID, UserID: alice}
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply))
	require.Empty(t, g.q.RunAll(t))
	require.Len(t, links(g), 1)

	g.clock.Advance(3 * time.Second)
	note(t, g, "The order-history query had no index.")
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply), "the first export is done: nothing stands for this request")
	require.Equal(t, 1, g.q.Pending(postmortem.JobExport))
	require.Empty(t, g.q.RunAll(t))
	require.Contains(t, g.fake.Files("acme/postmortems", "postmortem/inc-1")[postmortemFile], "The order-history query had no index.")
	require.Len(t, links(g), 2)
}

// Case (a), the database down for both releases: the claim holds requests
// off for 20 seconds at most, and the refused request is told to ask again
// if no link comes.
func TestExportClaimNeverReleasedHoldsOffTwentySeconds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := claimReleaseFailing(t, 2)
	reply := incident.ReplyTarget{ChannelID: g.inc.ChannelID, UserID: alice}
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply))
	require.Empty(t, g.q.RunAll(t))

	g.clock.Advance(5 * time.Second)
	err := g.pm.Export(ctx, g.inc.ID, "github", alice, reply)
	require.ErrorIs(t, err, postmortem.ErrExportUnderWay)
	require.Equal(t, "An export of INC-1's postmortem to github is already under way; its link will be posted here. If no link comes within a minute, ask again.",
		incident.ErrorMessage(err))
	g.clock.Advance(15 * time.Second)
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply))
	require.Empty(t, g.q.RunAll(t))
	require.Len(t, links(g), 2)
}

// Case (b): the claimed job waited behind a long export (another holds
// the export lease) until the engine discarded it; it never started its
// export. A request after that schedules an export.
func TestExportClaimOfADiscardedJobDoesNotLoseTheNextRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := githubExport(t, nil, nil)
	reply := incident.ReplyTarget{ChannelID: g.inc.ChannelID, UserID: alice}
	ok, err := g.store.AcquireLease(ctx, fmt.Sprintf("export:%d:github", g.inc.ID), "job:99", 5*time.Minute)
	require.NoError(t, err)
	require.True(t, ok)

	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply))
	job, ok := g.q.Take(postmortem.JobExport)
	require.True(t, ok)
	var later interface{ RetryAfter() time.Duration }
	err = g.q.Handler(postmortem.JobExport)(incident.WithJobRun(ctx, 7, job.MaxAttempts, job.MaxAttempts), job.Payload)
	require.ErrorAs(t, err, &later, "its last attempt still waits behind the long export: the engine discards it")

	g.clock.Advance(2 * time.Second)
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply), "the discarded job stands for no request")
	require.Equal(t, 1, g.q.Pending(postmortem.JobExport))
	require.NoError(t, g.store.ReleaseLease(ctx, fmt.Sprintf("export:%d:github", g.inc.ID), "job:99"))
	require.Empty(t, g.q.RunAll(t))
	require.Len(t, g.fake.PullRequests("acme/postmortems"), 1)
	require.Len(t, links(g), 1)
}

// Case (b): the claimed job was cancelled by its handler (the incident's
// target refused it) or by the engine before it ran: a request after that
// is not held off past 20 seconds.
func TestExportClaimOfACancelledJobDoesNotLoseTheNextRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := githubExport(t, nil, nil)
	reply := incident.ReplyTarget{ChannelID: g.inc.ChannelID, UserID: alice}

	// Cancelled before it ran: nothing of the job ends the claim.
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply))
	_, ok := g.q.Take(postmortem.JobExport)
	require.True(t, ok)
	g.clock.Advance(20 * time.Second)
	require.NoError(t, g.pm.Export(ctx, g.inc.ID, "github", alice, reply))
	require.Empty(t, g.q.RunAll(t))
	require.Len(t, links(g), 1)
}

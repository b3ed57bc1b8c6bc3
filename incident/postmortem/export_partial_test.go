package postmortem_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// The postmortem goes to GitHub as a pull request, but the repository has
// Issues turned off, so the action items' issues are refused (410). The
// pull request is still recorded and its link said and bookmarked, and the
// refusal of the action items is reported with its Retry; a Retry updates
// the same pull request.
func TestExportRecordsThePostmortemWhenItsActionItemsAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := githubExport(t, func(f *ghfake.Server) { f.DisableIssues("acme/postmortems") }, nil)
	fake, store, q, chat, pm, inc := g.fake, g.store, g.q, g.chat, g.pm, g.inc
	reply := incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: alice}
	require.NoError(t, pm.Export(ctx, inc.ID, "github", alice, reply))
	failed := q.RunAll(t)
	require.Len(t, failed, 1)
	require.ErrorIs(t, failed[0], incident.ErrJobCancel, "retrying the refusal cannot help")

	prs := fake.PullRequests("acme/postmortems")
	require.Len(t, prs, 1)
	ref, err := store.GetExport(ctx, inc.ID, "github")
	require.NoError(t, err, "the pull request is recorded")
	require.True(t, strings.HasSuffix(ref.URL, "/pull/1"), ref.URL)
	posts := chat.PostsIn(inc.ChannelID)
	require.Contains(t, posts, ":page_facing_up: <@U01ALICE> exported the INC-1 postmortem in GitHub: "+ref.URL)
	require.Equal(t, []string{"Postmortem (GitHub) " + ref.URL}, chat.Bookmarks[inc.ChannelID])
	var reports []string
	for _, p := range posts {
		if strings.HasPrefix(p, ":warning: *Exporting") {
			reports = append(reports, p)
		}
	}
	require.Len(t, reports, 1)
	require.Contains(t, reports[0], "GitHub Issues are turned off in acme/postmortems, so the action items cannot be opened as issues there")

	// A Retry while Issues are still off updates the same pull request and
	// says again why the action items were not opened.
	require.NoError(t, pm.Export(ctx, inc.ID, "github", alice, reply))
	require.Len(t, q.RunAll(t), 1)
	require.Len(t, fake.PullRequests("acme/postmortems"), 1, "the Retry updates the same pull request")
}

// githubExportRun is a closed incident with one action item, its store on
// SQLite, and the postmortem service exporting to GitHub (the fake's
// acme/postmortems) with action items as issues.
type githubExportRun struct {
	fake  *ghfake.Server
	store *gormstore.Store
	q     *incidenttest.Queue
	chat  *incidenttest.Chat
	pm    *postmortem.Service
	inc   *incident.Incident
	clock *incidenttest.Clock
}

// githubExport sets up a githubExportRun; prepare adjusts the fake, wrap
// the exporter (each may be nil).
func githubExport(t *testing.T, prepare func(*ghfake.Server), wrap func(incident.Exporter) incident.Exporter) githubExportRun {
	t.Helper()
	ctx := context.Background()
	clock := incidenttest.NewClock(declaredAt())
	fake := ghfake.New(ghfake.WithClock(clock.Now))
	t.Cleanup(fake.Close)
	fake.AddRepo("acme/postmortems", "main", "")
	if prepare != nil {
		prepare(fake)
	}
	db, err := gormstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "firebreak.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Migrate(ctx))
	store := gormstore.New(db, clock)
	ghc, err := github.New(github.Config{APIURL: fake.URL(), Token: fake.Token(), ExportRepo: "acme/postmortems", ActionItemIssues: true, Clock: clock})
	require.NoError(t, err)
	var exp incident.Exporter = ghc
	if wrap != nil {
		exp = wrap(ghc)
	}
	q := incidenttest.NewQueue()
	chat := newFakeChat()
	pm := postmortem.New(postmortem.Config{Store: store, Chat: chat, Scheduler: q, Exporters: []incident.Exporter{exp}, Renderer: mustTemplates(t), Clock: clock})
	pm.RegisterJobs(q)
	inc, err := store.CreateIncident(ctx, &incident.Incident{Title: "Checkout fails for card payments", Severity: incident.P1,
		Status: incident.StatusClosed, Service: "checkout", DeclaredBy: alice, Commander: alice, ChannelID: "C0PM",
		Roles: map[string]string{}, DeclaredAt: declaredAt()})
	require.NoError(t, err)
	require.NoError(t, store.AddActionItem(ctx, &incident.ActionItem{IncidentID: inc.ID, Text: "Add an index", Owner: dev, CreatedBy: alice, CreatedAt: declaredAt()}))
	return githubExportRun{fake: fake, store: store, q: q, chat: chat, pm: pm, inc: inc, clock: clock}
}

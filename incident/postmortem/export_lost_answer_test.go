package postmortem_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// lostAnswer lets GitHub carry out the next call with method whose path
// ends in suffix, and answers 502 in its stead, as a proxy whose upstream
// answered too late does.
type lostAnswer struct {
	mu             sync.Mutex
	method, suffix string
}

func (l *lostAnswer) arm(method, suffix string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.method, l.suffix = method, suffix
}

func (l *lostAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	hit := l.method != "" && r.Method == l.method && strings.HasSuffix(r.URL.Path, l.suffix)
	if hit {
		l.method = ""
	}
	l.mu.Unlock()
	if !hit {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return &http.Response{StatusCode: http.StatusBadGateway, Status: "502 Bad Gateway", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(`{"message":"Server Error"}`)), Request: r}, nil
}

// process is one run of the bot: its own store handle on the database, its
// own GitHub client and its own job queue.
type process struct {
	store *gormstore.Store
	queue *incidenttest.Queue
	chat  *incidenttest.Chat
	pm    *postmortem.Service
}

func startProcess(t *testing.T, dbURL, mode string, clock incident.Clock, fake *ghfake.Server, transport http.RoundTripper) process {
	t.Helper()
	ctx := context.Background()
	db, err := gormstore.Open(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Migrate(ctx))
	store := gormstore.New(db, clock)
	ghc, err := github.New(github.Config{APIURL: fake.URL(), Token: fake.Token(), ExportRepo: "acme/postmortems",
		ExportMode: mode, Clock: clock, HTTPClient: &http.Client{Transport: transport}})
	require.NoError(t, err)
	q := incidenttest.NewQueue()
	chat := newFakeChat()
	pm := postmortem.New(postmortem.Config{Store: store, Chat: chat, Scheduler: q, Exporters: []incident.Exporter{ghc},
		Renderer: mustTemplates(t), Clock: clock})
	pm.RegisterJobs(q)
	return process{store: store, queue: q, chat: chat, pm: pm}
}

// A re-export's write reaches GitHub but its answer is lost: the issue
// edit answered 502, or, for a pull request, the call after the commit
// failed. The process stops there, before it records anything, and the
// job's next attempt runs in another process a minute later, compiling the
// draft anew ("draft compiled" a minute later). It takes what it finds on
// GitHub for the bot's own write, recorded before the write in the export
// record on the database, and updates it, instead of calling it edited by
// hand and cancelling the export for good.
func TestExportRetriedInAnotherProcessAfterALostAnswer(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		for _, mode := range []string{github.ExportIssue, github.ExportPullRequest} {
			t.Run(dialect+"/"+mode, func(t *testing.T) {
				t.Parallel()
				dbURL := "sqlite:" + filepath.Join(t.TempDir(), "firebreak.db")
				if dialect == "postgres" {
					dbURL = pgtest.DSN(t)
				}
				exportRetriedInAnotherProcess(t, dbURL, mode)
			})
		}
	}
}

func exportRetriedInAnotherProcess(t *testing.T, dbURL, mode string) {
	ctx := context.Background()
	clock := incidenttest.NewClock(declaredAt().Add(2 * time.Hour))
	fake := ghfake.New(ghfake.WithClock(clock.Now))
	t.Cleanup(fake.Close)
	fake.AddRepo("acme/postmortems", "main", "")
	lost := &lostAnswer{}
	a := startProcess(t, dbURL, mode, clock, fake, lost)

	inc, err := a.store.CreateIncident(ctx, &incident.Incident{Title: "Checkout fails for card payments", Severity: incident.P1,
		Status: incident.StatusClosed, Service: "checkout", DeclaredBy: alice, Commander: alice, ChannelID: "C0PM",
		Roles: map[string]string{}, DeclaredAt: declaredAt()})
	require.NoError(t, err)
	reply := incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: alice}
	require.NoError(t, a.pm.Export(ctx, inc.ID, "github", alice, reply))
	require.Empty(t, a.queue.RunAll(t))
	first, err := a.store.GetExport(ctx, inc.ID, "github")
	require.NoError(t, err)

	// Exported again half an hour later; the write goes through and its
	// answer is lost.
	clock.Advance(30 * time.Minute)
	require.NoError(t, a.pm.Export(ctx, inc.ID, "github", alice, reply))
	job, ok := a.queue.Take(postmortem.JobExport)
	require.True(t, ok)
	if mode == github.ExportIssue {
		lost.arm(http.MethodPatch, "/issues/"+first.ID)
	} else {
		lost.arm(http.MethodGet, "/pulls/"+first.ID)
	}
	err = a.queue.Handler(postmortem.JobExport)(incident.WithJobRun(ctx, 7, 1, 5), job.Payload)
	require.Error(t, err)
	require.NotErrorIs(t, err, incident.ErrJobCancel, "a lost answer is retried")
	written := "draft compiled 2026-03-14 16:35 UTC"
	if mode == github.ExportIssue {
		require.Contains(t, fake.Issues("acme/postmortems")[0].Body, written, "GitHub carried the edit out")
	} else {
		require.Contains(t, fake.Files("acme/postmortems", "postmortem/inc-1")[mdFile(t, fake)], written, "GitHub took the commit")
	}

	// The process stops; the job's next attempt runs in another, a minute
	// later.
	clock.Advance(time.Minute)
	b := startProcess(t, dbURL, mode, clock, fake, http.DefaultTransport)
	require.NoError(t, b.queue.Handler(postmortem.JobExport)(incident.WithJobRun(ctx, 7, 2, 5), job.Payload),
		"the bot's own write is not taken for a person's edit")
	require.Empty(t, b.queue.RunAll(t), "the link is said")

	now := "draft compiled 2026-03-14 16:36 UTC"
	if mode == github.ExportIssue {
		issues := fake.Issues("acme/postmortems")
		require.Len(t, issues, 1)
		require.Contains(t, issues[0].Body, now)
	} else {
		require.Contains(t, fake.Files("acme/postmortems", "postmortem/inc-1")[mdFile(t, fake)], now)
		require.Len(t, fake.PullRequests("acme/postmortems"), 1)
	}
	ref, err := b.store.GetExport(ctx, inc.ID, "github")
	require.NoError(t, err)
	require.Equal(t, first.ID, ref.ID)
	require.Equal(t, 2, ref.Version)
	require.Empty(t, ref.Pending, "nothing is pending once the export is recorded")
	var said []string
	for _, p := range append(a.chat.PostsIn(inc.ChannelID), b.chat.PostsIn(inc.ChannelID)...) {
		require.NotContains(t, p, "edited on GitHub")
		if strings.Contains(p, "updated the INC-1 postmortem in GitHub") {
			said = append(said, p)
		}
	}
	require.Len(t, said, 1, "the update is said once")
}

// mdFile is the path of the one postmortem file on the export's branch.
func mdFile(t *testing.T, fake *ghfake.Server) string {
	t.Helper()
	files := fake.Files("acme/postmortems", "postmortem/inc-1")
	require.Len(t, files, 1)
	for p := range files {
		return p
	}
	return ""
}

package postmortem_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/incident/storetest"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// hungExportRecords is the postmortem store whose next writes of an
// export's line on the timeline fail, as a database that hangs past the
// write's deadline after the link was posted.
type hungExportRecords struct {
	postmortem.Store
	mu    sync.Mutex
	fails int
}

func (s *hungExportRecords) AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error {
	s.mu.Lock()
	fail := strings.HasPrefix(ev.SourceID, "postmortem:export:") && s.fails > 0
	if fail {
		s.fails--
	}
	s.mu.Unlock()
	if fail {
		return incident.Errorf(incident.EUNAVAILABLE, "The database did not answer.")
	}
	return s.Store.AddTimelineEvent(ctx, ev)
}

// exportStore is what the export tests on the fake Slack need of a store.
type exportStore interface {
	postmortem.Store
	CreateIncident(ctx context.Context, inc *incident.Incident) (*incident.Incident, error)
}

// slackExport is a closed incident whose channel is in the fake Slack, and
// the postmortem service exporting it to the fake GitHub through exp,
// posting through the bot's Slack client, its jobs run by an attemptEngine.
type slackExport struct {
	store  exportStore
	srv    *slackfake.Server
	pm     *postmortem.Service
	engine *attemptEngine
	inc    *incident.Incident
	asker  string
}

func newSlackExport(t *testing.T, kind storetest.Kind, wrapStore func(postmortem.Store) postmortem.Store,
	wrap func(incident.Exporter) incident.Exporter) *slackExport {
	t.Helper()
	ctx := context.Background()
	clock := incidenttest.NewClock(declaredAt().Add(3 * time.Hour))
	store := storetest.Open[exportStore](t, kind, clock, incidenttest.NewQueue())
	srv := slackfake.New(slackfake.WithClock(clock.Now))
	t.Cleanup(srv.Close)
	asker := srv.AddUser(slackfake.User{Name: "asker", Email: "asker@example.com"})
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-20260314-checkout", Creator: srv.BotUserID(), Members: []string{srv.BotUserID(), asker.ID}})
	chat := bot.NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), incident.DefaultPolicy(), bot.WithChatClock(clock))
	gh := ghfake.New(ghfake.WithClock(clock.Now))
	t.Cleanup(gh.Close)
	gh.AddRepo("acme/postmortems", "main", "")
	ghc, err := github.New(github.Config{APIURL: gh.URL(), Token: gh.Token(), ExportRepo: "acme/postmortems", Clock: clock})
	require.NoError(t, err)
	var exp incident.Exporter = ghc
	if wrap != nil {
		exp = wrap(ghc)
	}
	var pmStore postmortem.Store = store
	if wrapStore != nil {
		pmStore = wrapStore(store)
	}
	f := &slackExport{store: store, srv: srv, engine: newAttemptEngine(), asker: asker.ID}
	f.pm = postmortem.New(postmortem.Config{Split: bot.MarkdownParts, Store: pmStore, Chat: chat, Scheduler: f.engine,
		Exporters: []incident.Exporter{exp}, Renderer: mustTemplates(t), Clock: clock})
	f.pm.RegisterJobs(f.engine)
	resolved := declaredAt().Add(2 * time.Hour)
	f.inc, err = store.CreateIncident(ctx, &incident.Incident{Title: "Checkout fails for card payments", Severity: incident.P1,
		Status: incident.StatusClosed, Service: "checkout", DeclaredBy: asker.ID, Commander: asker.ID, ChannelID: ch.ID,
		Roles: map[string]string{}, DeclaredAt: declaredAt(), ResolvedAt: &resolved})
	require.NoError(t, err)
	return f
}

func (f *slackExport) messages(prefix string) []string {
	var out []string
	for _, m := range f.srv.Messages(f.inc.ChannelID) {
		if strings.HasPrefix(m.Text, prefix) {
			out = append(out, m.Text)
		}
	}
	return out
}

// TestExportLinkSaidOnceWhenItsRecordFails: the export's link is posted,
// the write that records it fails, and a further step of the export (an
// action item's issue) fails too, so the job is retried. The retry, which
// now finds the pull request recorded, says nothing new, and the record
// of the link is retried: the link is in the channel once, not "exported"
// then "updated", and on the timeline.
func TestExportLinkSaidOnceWhenItsRecordFails(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind storetest.Kind) {
		f := newSlackExport(t, kind,
			func(s postmortem.Store) postmortem.Store { return &hungExportRecords{Store: s, fails: 1} },
			func(e incident.Exporter) incident.Exporter { return &flakyItems{Exporter: e, fails: 1} })
		require.NoError(t, f.pm.Export(context.Background(), f.inc.ID, "github", f.asker,
			incident.ReplyTarget{ChannelID: f.inc.ChannelID, UserID: f.asker}))
		failures, failed := f.engine.runAll(t, func() {})
		require.Empty(t, failed)
		require.Equal(t, 2, failures, "the export was retried once, and the link's record once")
		links := f.messages(":page_facing_up:")
		require.Len(t, links, 1, "%q", links)
		require.Contains(t, links[0], "exported the INC-1 postmortem in GitHub")
		events, err := f.store.ListTimeline(context.Background(), f.inc.ID)
		require.NoError(t, err)
		lines := 0
		for _, ev := range events {
			if strings.HasPrefix(ev.Text, "Postmortem exported in GitHub") {
				lines++
			}
		}
		require.Equal(t, 1, lines, "the link is on the timeline")
	})
}

// TestExportLinkSaidOnceAfterAmbiguousFailure: the link's post lands but
// Slack answers 500, then a further step fails and the job is retried:
// the link is in the channel once.
func TestExportLinkSaidOnceAfterAmbiguousFailure(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind storetest.Kind) {
		f := newSlackExport(t, kind, nil,
			func(e incident.Exporter) incident.Exporter { return &flakyItems{Exporter: e, fails: 1} })
		var mu sync.Mutex
		done := false
		f.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
			mu.Lock()
			defer mu.Unlock()
			if c.Method == "chat.postMessage" && strings.HasPrefix(c.Args.Get("text"), ":page_facing_up:") && !done {
				done = true
				return slackfake.TookEffectThen(500)
			}
			return nil
		})
		require.NoError(t, f.pm.Export(context.Background(), f.inc.ID, "github", f.asker,
			incident.ReplyTarget{ChannelID: f.inc.ChannelID, UserID: f.asker}))
		_, failed := f.engine.runAll(t, func() {})
		require.Empty(t, failed)
		require.True(t, done)
		require.Len(t, f.messages(":page_facing_up:"), 1, "%q", f.messages(":page_facing_up:"))
		require.Len(t, f.messages(":warning: *Exporting"), 1, "the failure is said once while retried")
	})
}

// TestDraftPostedOnceWhenItsRecordFails: the draft's summary is posted and
// the write that records it fails; then a part's post fails, and the
// posting is retried. The retry, which finds no record of the summary,
// finds the summary in the channel instead of posting a second one.
func TestDraftPostedOnceWhenItsRecordFails(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind storetest.Kind) {
		f := newPartsFixture(t, kind)
		hung := &hungDraftRecords{partsStore: f.store, fails: 1}
		f.engine = newAttemptEngine()
		f.pm = postmortem.New(postmortem.Config{Split: bot.MarkdownParts, Store: hung,
			Chat:      bot.NewChat(slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL())), incident.DefaultPolicy(), bot.WithChatClock(f.clock)),
			Scheduler: f.engine, Renderer: mustTemplates(t), Clock: f.clock})
		f.pm.RegisterJobs(f.engine)
		require.NoError(t, f.pm.ScheduleDraft(context.Background(), f.inc))
		var mu sync.Mutex
		posts := 0
		f.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
			mu.Lock()
			defer mu.Unlock()
			if c.Method != "chat.postMessage" {
				return nil
			}
			if posts++; posts == 3 {
				return slackfake.ServerError(500) // part 2, which does not land
			}
			return nil
		})
		failures, failed := f.engine.runAll(t, func() {})
		require.Empty(t, failed)
		require.Equal(t, 1, failures)
		require.Zero(t, hung.fails, "the summary's record failed")
		drafts := f.postedDrafts(t)
		require.Len(t, drafts, 1, "one summary")
		requireOneVersion(t, drafts[0].parts, f.document(t))
	})
}

// hungDraftRecords is the draft's store whose next record of a posted
// summary fails.
type hungDraftRecords struct {
	partsStore
	mu    sync.Mutex
	fails int
}

func (s *hungDraftRecords) AddTimelineEvent(ctx context.Context, ev *incident.TimelineEvent) error {
	s.mu.Lock()
	fail := strings.HasSuffix(ev.SourceID, ":summary") && s.fails > 0
	if fail {
		s.fails--
	}
	s.mu.Unlock()
	if fail {
		return incident.Errorf(incident.EUNAVAILABLE, "The database did not answer.")
	}
	return s.partsStore.AddTimelineEvent(ctx, ev)
}

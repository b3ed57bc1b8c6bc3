package postmortem_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
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
)

// partsStore is what the draft-posting tests need of a store.
type partsStore interface {
	postmortem.Store
	CreateIncident(ctx context.Context, inc *incident.Incident) (*incident.Incident, error)
	UpdateTimelineEvent(ctx context.Context, incidentID int64, sourceID string, fn func(*incident.TimelineEvent) error) (*incident.TimelineEvent, error)
}

// partsFixture posts drafts through the bot's Slack client to the fake
// Slack, with the postmortem's jobs run by engine.
type partsFixture struct {
	store  partsStore
	clock  *incidenttest.Clock
	srv    *slackfake.Server
	pm     *postmortem.Service
	engine *attemptEngine
	inc    *incident.Incident
	// events are the source ids of the key events, earliest first.
	events []string
}

// keyEvents is how many key events the incident starts with: enough for a
// draft of three messages.
const keyEvents = 500

func newPartsFixture(t *testing.T, kind storetest.Kind) *partsFixture {
	t.Helper()
	ctx := context.Background()
	clock := incidenttest.NewClock(declaredAt().Add(3 * time.Hour))
	store := storetest.Open[partsStore](t, kind, clock, incidenttest.NewQueue())
	srv := slackfake.New(slackfake.WithClock(clock.Now))
	t.Cleanup(srv.Close)
	responder := srv.AddUser(slackfake.User{Name: "responder", Email: "responder@example.com"})
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-20260314-search", Creator: srv.BotUserID(), Members: []string{srv.BotUserID(), responder.ID}})
	chat := bot.NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), incident.DefaultPolicy(),
		bot.WithChatClock(clock))

	f := &partsFixture{store: store, clock: clock, srv: srv, engine: newAttemptEngine()}
	f.pm = postmortem.New(postmortem.Config{Split: bot.MarkdownParts, Store: store, Chat: chat, Scheduler: f.engine,
		Renderer: mustTemplates(t), Clock: clock})
	f.pm.RegisterJobs(f.engine)

	resolved := declaredAt().Add(2 * time.Hour)
	inc, err := store.CreateIncident(ctx, &incident.Incident{Title: "Search is slow", Severity: incident.P2, Status: incident.StatusResolved,
		Service: "search", DeclaredBy: responder.ID, Commander: responder.ID, ChannelID: ch.ID, Roles: map[string]string{},
		DeclaredAt: declaredAt(), ResolvedAt: &resolved})
	require.NoError(t, err)
	f.inc = inc
	f.events = f.addKeyEvents(t, 0, keyEvents, 0)
	return f
}

// addKeyEvents records count key notes, numbered from first, one every ten
// seconds from offset after the declaration, and returns their source ids.
func (f *partsFixture) addKeyEvents(t *testing.T, first, count int, offset time.Duration) []string {
	t.Helper()
	evs := make([]incident.TimelineEvent, count)
	srcs := make([]string, count)
	for i := range evs {
		n, at := first+i, declaredAt().Add(offset+time.Duration(i+1)*10*time.Second)
		srcs[i] = fmt.Sprintf("note:%d.%06d", at.Unix(), n)
		evs[i] = incident.TimelineEvent{IncidentID: f.inc.ID, Kind: incident.EventNote, Actor: "bot", At: at, Key: true, SourceID: srcs[i],
			Text: fmt.Sprintf("observation %03d: p99 latency of the search cluster at %d ms; the query cache hit rate at %d%%, shard rebalancing still in progress on node %d of the pool", n, 400+n, 90-n%40, n%12)}
	}
	if b, ok := f.store.(incident.TimelineBatcher); ok {
		require.NoError(t, b.AddTimelineEvents(context.Background(), evs))
		return srcs
	}
	for i := range evs {
		require.NoError(t, f.store.AddTimelineEvent(context.Background(), &evs[i]))
	}
	return srcs
}

// document is the Markdown the draft would post now.
func (f *partsFixture) document(t *testing.T) string {
	t.Helper()
	_, doc, err := f.pm.Draft(context.Background(), f.inc.ID)
	require.NoError(t, err)
	return doc.Markdown
}

// failPost makes the nth chat.postMessage from now on take effect, then
// answer 500, as a Slack outage does halfway through a post; when down,
// every post after it fails too.
func (f *partsFixture) failPost(nth int, down bool) {
	var mu sync.Mutex
	seen := 0
	f.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if c.Method != "chat.postMessage" {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		seen++
		switch {
		case seen == nth:
			return slackfake.TookEffectThen(http.StatusInternalServerError)
		case seen > nth && down:
			return slackfake.ServerError(http.StatusInternalServerError)
		}
		return nil
	})
}

var partHeader = regexp.MustCompile("^\\*(INC-\\d+) postmortem draft \\(Markdown\\), part (\\d+) of (\\d+)\\*\n```\n")

// postedDraft is a draft as the channel shows it: a summary and the
// Markdown parts posted under it.
type postedDraft struct {
	summary string
	parts   []draftPart
}

type draftPart struct {
	i, of    int
	markdown string
}

// postedDrafts reads the drafts in the channel back, in the order they
// were posted.
func (f *partsFixture) postedDrafts(t *testing.T) []postedDraft {
	t.Helper()
	var drafts []postedDraft
	for _, m := range f.srv.Messages(f.inc.ChannelID) {
		if strings.Contains(m.Text, "Postmortem draft for") {
			drafts = append(drafts, postedDraft{summary: m.Text})
			continue
		}
		h := partHeader.FindStringSubmatch(m.Text)
		if h == nil {
			continue
		}
		require.NotEmpty(t, drafts, "part %s follows a summary", h[2])
		body, ok := strings.CutSuffix(strings.TrimPrefix(m.Text, h[0]), "\n```")
		require.True(t, ok, "part %s ends its code block", h[2])
		i, _ := strconv.Atoi(h[2])
		n, _ := strconv.Atoi(h[3])
		last := &drafts[len(drafts)-1]
		last.parts = append(last.parts, draftPart{i: i, of: n, markdown: unescapeDraft(body)})
	}
	return drafts
}

// unescapeDraft undoes the escaping of a part's text: Slack's three
// entities and the broken code fences.
func unescapeDraft(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "`\u200b``", "```").Replace(s)
}

// requireOneVersion checks that the parts are exactly one of the
// documents, every line once and in order, each part numbered in its
// place, and returns which document.
func requireOneVersion(t *testing.T, parts []draftPart, docs ...string) int {
	t.Helper()
	require.NotEmpty(t, parts)
	texts := make([]string, len(parts))
	for i, p := range parts {
		texts[i] = p.markdown
	}
	posted := strings.Join(texts, "\n")
	version := -1
	for v, doc := range docs {
		if posted == strings.Join(bot.MarkdownParts(doc), "\n") {
			version = v
			break
		}
	}
	if version < 0 {
		// Say what went wrong in lines, not in whole documents.
		for v, doc := range docs {
			want, got := nonBlankLines(doc), nonBlankLines(posted)
			extra, missing := lineDiff(want, got)
			t.Errorf("version %d: %d lines posted for %d in the document; %d repeated or foreign, %d missing", v+1, len(got), len(want), extra, missing)
		}
		t.FailNow()
	}
	require.Equal(t, nonBlankLines(docs[version]), nonBlankLines(posted), "every line of version %d once, in order", version+1)
	for i, p := range parts {
		require.Equal(t, i+1, p.i, "part %d of %d is in its place", p.i, p.of)
		require.Equal(t, len(parts), p.of, "part %d says %d parts; %d were posted", p.i, p.of, len(parts))
	}
	return version
}

func nonBlankLines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// lineDiff counts the lines of got beyond those of want, and those of want
// missing from got, as multisets.
func lineDiff(want, got []string) (extra, missing int) {
	count := map[string]int{}
	for _, l := range want {
		count[l]++
	}
	for _, l := range got {
		count[l]--
	}
	for _, c := range count {
		if c < 0 {
			extra -= c
		} else {
			missing += c
		}
	}
	return extra, missing
}

// TestRetriedDraftPostsOneVersion: a posting of the draft that fails
// halfway, with a post that landed although Slack answered 500, and is
// retried after the document changed, leaves exactly one version of the
// document in the channel: every line once, in order, under one summary.
func TestRetriedDraftPostsOneVersion(t *testing.T) {
	t.Parallel()
	edits := []struct {
		name string
		edit func(t *testing.T, f *partsFixture)
	}{
		{"a line added near the start", func(t *testing.T, f *partsFixture) {
			f.addKeyEvents(t, 900, 1, -5*time.Second)
		}},
		{"a line gone near the start", func(t *testing.T, f *partsFixture) {
			_, err := f.store.UpdateTimelineEvent(context.Background(), f.inc.ID, f.events[1], func(ev *incident.TimelineEvent) error {
				ev.Key = false
				return nil
			})
			require.NoError(t, err)
		}},
		{"a line edited", func(t *testing.T, f *partsFixture) {
			_, err := f.store.UpdateTimelineEvent(context.Background(), f.inc.ID, f.events[3], func(ev *incident.TimelineEvent) error {
				ev.Text = "observation 003, corrected: p99 latency of the search cluster at 2.1 s after the cache was flushed by the deploy of the ranking service"
				return nil
			})
			require.NoError(t, err)
		}},
		{"one part more", func(t *testing.T, f *partsFixture) {
			f.addKeyEvents(t, 1000, keyEvents/2, time.Second)
		}},
		{"one part fewer", func(t *testing.T, f *partsFixture) {
			for _, src := range f.events[:keyEvents/2] {
				_, err := f.store.UpdateTimelineEvent(context.Background(), f.inc.ID, src, func(ev *incident.TimelineEvent) error {
					ev.Key = false
					return nil
				})
				require.NoError(t, err)
			}
		}},
	}
	storetest.ForEach(t, func(t *testing.T, kind storetest.Kind) {
		for _, tt := range edits {
			// The summary is post 1 and part k is post k+1: fail the
			// summary, the first part, one in the middle and the last.
			for _, failing := range []int{1, 2, 3, 4} {
				t.Run(fmt.Sprintf("%s/post %d fails", tt.name, failing), func(t *testing.T) {
					t.Parallel()
					f := newPartsFixture(t, kind)
					before := f.document(t)
					require.Equal(t, 3, len(bot.MarkdownParts(before)), "the draft takes three messages")

					require.NoError(t, f.pm.ScheduleDraft(context.Background(), f.inc))
					f.failPost(failing, false)
					var after string
					failures, failed := f.engine.runAll(t, func() {
						f.srv.ClearFaults()
						if after == "" {
							tt.edit(t, f)
							after = f.document(t)
						}
					})
					require.Empty(t, failed, "no job failed for good")
					require.Equal(t, 1, failures, "the posting failed once and was retried")
					require.NotEqual(t, before, after, "the document changed between the attempts")

					drafts := f.postedDrafts(t)
					require.Equal(t, 1, len(drafts), "one summary")
					require.Equal(t, 0, requireOneVersion(t, drafts[0].parts, before, after),
						"the retry finishes the version its first attempt started")
					require.Contains(t, drafts[0].summary, fmt.Sprintf("follows in %d messages", len(drafts[0].parts)))
				})
			}
		}
	})
}

// TestDraftPartlyPostedIsReplacedWhole: when the posting of a draft failed
// for good halfway and the draft job runs again (its worker died after it
// pinned the draft, and the job was rescued), the document of now is
// posted whole, under a summary that says it replaces the partial one.
func TestDraftPartlyPostedIsReplacedWhole(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, kind storetest.Kind) {
		f := newPartsFixture(t, kind)
		require.NoError(t, f.pm.ScheduleDraft(context.Background(), f.inc))
		draft := f.engine.Jobs()[0]
		require.Equal(t, postmortem.JobDraft, draft.job.Kind)

		// Slack goes down as part 2 lands, until the posting gives up.
		f.failPost(3, true)
		_, failed := f.engine.runAll(t, func() {})
		require.Equal(t, 1, len(failed), "the posting failed for good")
		f.srv.ClearFaults()

		f.addKeyEvents(t, 900, 1, -5*time.Second)
		now := f.document(t)
		f.engine.rescue(draft)
		_, failed = f.engine.runAll(t, func() {})
		require.Empty(t, failed)

		drafts := f.postedDrafts(t)
		require.Equal(t, 2, len(drafts), "the partial draft, then the whole one")
		require.Equal(t, 2, len(drafts[0].parts), "parts 1 and 2 landed")
		require.NotContains(t, drafts[0].summary, "replaces")
		require.Contains(t, drafts[1].summary, "This draft replaces the earlier one above")
		requireOneVersion(t, drafts[1].parts, now)
	})
}

// attemptEngine runs jobs as the job engine does, one attempt after
// another: each job has an id that is the same on every attempt, a job with
// a Key is not scheduled twice unless it failed for good.
type attemptEngine struct {
	mu       sync.Mutex
	handlers map[string]incident.JobHandler
	waiting  []engineJob
	keys     map[string]bool
	lastID   int64
}

type engineJob struct {
	id  int64
	job incident.Job
}

func newAttemptEngine() *attemptEngine {
	return &attemptEngine{handlers: map[string]incident.JobHandler{}, keys: map[string]bool{}}
}

// Handle registers the handler of a job kind.
func (e *attemptEngine) Handle(kind string, h incident.JobHandler) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.handlers[kind] = h
}

// Schedule keeps the job, unless one of the same Kind and Key is kept.
func (e *attemptEngine) Schedule(_ context.Context, job incident.Job) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if job.Key != "" {
		if e.keys[job.Kind+"/"+job.Key] {
			return false, nil
		}
		e.keys[job.Kind+"/"+job.Key] = true
	}
	e.lastID++
	e.waiting = append(e.waiting, engineJob{id: e.lastID, job: job})
	return true, nil
}

func (e *attemptEngine) next() (engineJob, incident.JobHandler, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.waiting) == 0 {
		return engineJob{}, nil, false
	}
	j := e.waiting[0]
	e.waiting = e.waiting[1:]
	return j, e.handlers[j.job.Kind], true
}

// Jobs returns the waiting jobs, in the order they were scheduled.
func (e *attemptEngine) Jobs() []engineJob {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.waiting)
}

// rescue runs a job again with its id, whatever its key, as the engine
// does with a job whose worker died before the job was marked done.
func (e *attemptEngine) rescue(j engineJob) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.waiting = append(e.waiting, j)
}

// runAll runs the waiting jobs, and those they schedule, retrying each
// failed attempt at once after calling between. It returns how many
// attempts failed and the errors of the jobs that failed for good, whose
// keys are free again.
func (e *attemptEngine) runAll(t *testing.T, between func()) (failures int, failed []error) {
	t.Helper()
	for {
		j, h, ok := e.next()
		if !ok {
			return failures, failed
		}
		require.NotNil(t, h, "a handler for %s", j.job.Kind)
		max := j.job.MaxAttempts
		if max <= 0 {
			max = 3
		}
		var err error
		for attempt := 1; attempt <= max; attempt++ {
			if err = h(incident.WithJobRun(context.Background(), j.id, attempt, max), j.job.Payload); err == nil {
				break
			}
			require.False(t, errors.Is(err, incident.ErrJobCancel), "%s cancelled: %v", j.job.Kind, err)
			failures++
			between()
		}
		if err != nil {
			failed = append(failed, err)
			e.mu.Lock()
			delete(e.keys, j.job.Kind+"/"+j.job.Key)
			e.mu.Unlock()
		}
	}
}

package postmortem_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/capture"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/integrations/confluence"
	"github.com/firebreakhq/firebreak/integrations/confluence/confluencefake"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
	"github.com/firebreakhq/firebreak/templates"
)

// People of the replayed channel.
const (
	alice = "U01ALICE" // declares, Incident Commander
	bob   = "U02BOB"   // on call
	cara  = "U03CARA"  // comms
	dev   = "U04DEV"   // finds the deploy
)

var people = map[string]string{alice: "Alice Ng", bob: "Bob Martin", cara: "Cara Díaz", dev: "Dev Patel"}

// newFakeChat is the test kit's Chat, naming people from the people table
// and counting everyone as a member of every channel.
func newFakeChat() *incidenttest.Chat {
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	c.Names = people
	c.AllMembers = true
	return c
}

// exporters are the real exporters pointed at fake Confluence and GitHub.
type exporters struct {
	conf     *confluencefake.Server
	gh       *ghfake.Server
	list     []incident.Exporter
	docsRepo string
}

func newExporters(t *testing.T, clock incident.Clock) exporters {
	t.Helper()
	conf := confluencefake.New(confluencefake.Config{Email: "bot@example.com", APIToken: "atl-token", Spaces: map[string]string{"42": "OPS"}})
	t.Cleanup(conf.Close)
	gh := ghfake.New(ghfake.WithToken("ghp_token"), ghfake.WithClock(clock.Now))
	t.Cleanup(gh.Close)
	gh.AddRepo("acme/postmortems", "main", "")
	ghc, err := github.New(github.Config{APIURL: gh.URL(), Token: "ghp_token", ExportRepo: "acme/postmortems", Clock: clock})
	require.NoError(t, err)
	cc := confluence.New(confluence.Config{BaseURL: conf.URL(), Email: "bot@example.com", APIToken: "atl-token", SpaceID: "42"})
	return exporters{conf: conf, gh: gh, list: []incident.Exporter{cc, ghc}, docsRepo: "acme/postmortems"}
}

type fixture struct {
	store *incidenttest.MemStore
	clock *incidenttest.Clock
	chat  *incidenttest.Chat
	queue *incidenttest.Queue
	svc   *incident.Service
	capt  *capture.Service
	pm    *postmortem.Service
	exp   exporters
}

func declaredAt() time.Time { return time.Date(2026, time.March, 14, 14, 5, 0, 0, time.UTC) }

func newFixture(t *testing.T, withExporters bool) *fixture {
	t.Helper()
	clock := incidenttest.NewClock(declaredAt())
	store := incidenttest.NewMemStore(clock)
	policy := incident.DefaultPolicy()
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout"}}
	// Bob has no role in the fixture's incidents; the policy lets him
	// export postmortems.
	policy.Exporters = []string{bob}
	ch := newFakeChat()
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	renderer, err := templates.Load("")
	require.NoError(t, err)
	f := &fixture{store: store, clock: clock, chat: ch, queue: q}
	f.svc = incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: ch.Roles(), Policy: policy, Clock: clock})
	var list []incident.Exporter
	if withExporters {
		f.exp = newExporters(t, clock)
		list = f.exp.list
	}
	f.capt = capture.New(capture.Config{Store: store, Chat: ch, Notifier: f.svc, Policy: policy, Clock: clock})
	f.pm = postmortem.New(postmortem.Config{Split: bot.MarkdownParts, Store: store, Core: f.svc, Backfill: f.capt, Policy: policy, Chat: ch, Scheduler: q, Exporters: list,
		Renderer: renderer, Clock: clock})
	f.svc.Use(f.pm.Feature())
	f.svc.RegisterJobs(q)
	f.pm.RegisterJobs(q)
	// The list of changes posted at declare, as the program wires it.
	chg := changes.New(changes.Config{Store: store, Core: f.svc, Chat: ch, Scheduler: q, Policy: policy, Clock: clock})
	chg.RegisterJobs(q)
	f.svc.Use(chg.Feature())
	return f
}

// ts is the Slack ts of a message sent now.
func (f *fixture) ts() string {
	now := f.clock.Now()
	return fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)
}

// say captures a message sent d after the previous step and returns its ts.
func (f *fixture) say(t *testing.T, channel string, d time.Duration, m incident.CapturedMessage) string {
	t.Helper()
	f.clock.Advance(d)
	if m.TS == "" {
		m.TS = f.ts()
	}
	m.ChannelID = channel
	require.NoError(t, f.capt.CaptureMessage(context.Background(), m))
	return m.TS
}

// replay runs a realistic P1 through the channel and closes it: messages,
// a thread, an edit, a deleted message, a pin, a :pushpin: reaction, a note,
// follow-ups, a deploy and a flag change before the start, and a gap while
// the bot was down that only the channel history holds.
func (f *fixture) replay(t *testing.T) (*incident.Incident, map[string]string) {
	t.Helper()
	ctx := context.Background()
	ts := map[string]string{}
	require.NoError(t, f.store.AddChangeEvent(ctx, &incident.ChangeEvent{Source: "github", ExternalID: "dep-1", Kind: incident.ChangeDeploy,
		Service: "checkout", Environment: "production", Summary: "Add order history to checkout", Actor: "dpatel",
		Ref: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", OccurredAt: declaredAt().Add(-24 * time.Minute)}))
	require.NoError(t, f.store.AddChangeEvent(ctx, &incident.ChangeEvent{Source: "launchdarkly", ExternalID: "flag-9", Kind: incident.ChangeFlag,
		Service: "checkout", Environment: "production", Summary: "Bob Martin turned on new-payment-form for 10%",
		OccurredAt: declaredAt().Add(-45 * time.Minute)}))

	inc, _, err := f.svc.Declare(ctx, incident.DeclareInput{Title: "Checkout fails for card payments", Severity: incident.P1,
		ServiceKey: "checkout", DeclaredBy: alice, Key: "cmd:replay",
		Description: "Customers cannot pay by card: checkout shows an error after Pay."})
	require.NoError(t, err)
	require.Empty(t, f.queue.RunAll(t))
	inc, err = f.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	ch := inc.ChannelID

	ts["errors"] = f.say(t, ch, time.Minute, incident.CapturedMessage{User: alice, Text: "Checkout is returning errors for every card payment."})
	ts["dashboards"] = f.say(t, ch, time.Minute, incident.CapturedMessage{User: dev, Text: "Looking at the checkout dashboards now"})
	ts["pool"] = f.say(t, ch, 40*time.Second, incident.CapturedMessage{User: dev, ThreadTS: ts["dashboards"], Text: "DB pool on checkout-db is at 100% &amp; requests are queueing"})
	ts["status"] = f.say(t, ch, 20*time.Second, incident.CapturedMessage{User: cara, Text: "Status page is up"})
	f.say(t, ch, 30*time.Second, incident.CapturedMessage{TS: ts["status"], User: cara, Subtype: incident.SubtypeChanged, Edited: true,
		Text: "Status page posted: investigating checkout errors <https://status.example.com|status page>"})
	_, err = f.svc.AssignRole(ctx, inc.ID, incident.RoleComms, cara, alice)
	require.NoError(t, err)
	ts["deploy"] = f.say(t, ch, time.Minute, incident.CapturedMessage{User: dev, Text: "Deploy 1a2b3c4 at 13:41 added the order-history query; that lines up with the start"})
	require.NoError(t, f.capt.CaptureReaction(ctx, ch, ts["deploy"], "eyes", bob))
	require.NoError(t, f.capt.CaptureReaction(ctx, ch, ts["deploy"], "pushpin", alice))
	ts["oops"] = f.say(t, ch, time.Minute, incident.CapturedMessage{User: bob, Text: "oops, wrong channel"})
	f.say(t, ch, 10*time.Second, incident.CapturedMessage{TS: ts["oops"], Subtype: incident.SubtypeDeleted})
	ts["rollback"] = f.say(t, ch, 2*time.Minute, incident.CapturedMessage{User: dev, Text: "Rolling back checkout to 9f8e7d6 now"})
	require.NoError(t, f.capt.CapturePin(ctx, ch, ts["rollback"], alice))
	_, err = f.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: alice, Known: "Card payments fail at checkout.", Doing: "Rolling back the 13:41 deploy."})
	require.NoError(t, err)

	// The bot is down for ten minutes; only the history has these.
	f.clock.Advance(3 * time.Minute)
	ts["dropping"] = f.ts()
	f.clock.Advance(4 * time.Minute)
	ts["train"] = f.ts()
	f.chat.Messages[ch] = []incident.ChatMessage{
		{TS: inc.PanelTS, User: "U0BOT", Text: "control panel", Pinned: true},
		{TS: ts["errors"], User: alice, Text: "Checkout is returning errors for every card payment."},
		{TS: ts["dashboards"], User: dev, Text: "Looking at the checkout dashboards now"},
		{TS: ts["pool"], ThreadTS: ts["dashboards"], User: dev, Text: "DB pool on checkout-db is at 100% &amp; requests are queueing"},
		{TS: ts["status"], User: cara, Text: "Status page posted: investigating checkout errors <https://status.example.com|status page>", Edited: true},
		{TS: ts["deploy"], User: dev, Text: "Deploy 1a2b3c4 at 13:41 added the order-history query; that lines up with the start", Reactions: []string{"eyes", "pushpin"}},
		{TS: ts["rollback"], User: dev, Text: "Rolling back checkout to 9f8e7d6 now", Pinned: true},
		{TS: ts["dropping"], ThreadTS: ts["dashboards"], User: dev, Text: "Error rate dropping, pool back to 40%"},
		{TS: ts["train"], User: bob, Text: "Sorry, was on the train. Catching up; the rollback fixed it.", Reactions: []string{"pushpin"}},
		{TS: "1.000001", User: "B0PAGERDUTY", Text: "Incident triggered"},
	}
	f.clock.Advance(3 * time.Minute)

	require.NoError(t, f.capt.AddNote(ctx, inc.ID, cara, "Support confirms customers can pay again."))
	_, err = f.svc.SetStatus(ctx, inc.ID, incident.StatusMitigated, alice, "")
	require.NoError(t, err)
	due := time.Date(2026, time.March, 21, 0, 0, 0, 0, time.UTC)
	_, err = f.capt.AddFollowUp(ctx, inc.ID, alice, "Add an index on orders.customer_id", dev, &due)
	require.NoError(t, err)
	_, err = f.capt.AddFollowUp(ctx, inc.ID, alice, "Alert when checkout-db pool use exceeds 80%", "", nil)
	require.NoError(t, err)
	f.clock.Advance(20 * time.Minute)
	_, err = f.svc.SetStatus(ctx, inc.ID, incident.StatusResolved, alice, "We undid the change that caused the errors.")
	require.NoError(t, err)
	f.clock.Advance(5 * time.Minute)
	_, err = f.svc.SetStatus(ctx, inc.ID, incident.StatusClosed, alice, "")
	require.NoError(t, err)
	require.Empty(t, f.queue.Run(t, incident.JobHooks), "closing stores the work of the hooks")
	require.Equal(t, 1, f.queue.Pending(postmortem.JobDraft), "closing schedules the draft")
	require.Empty(t, f.queue.RunAll(t))
	inc, err = f.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	return inc, ts
}

// draftPosts returns the summary and the Markdown parts posted in a channel.
func draftPosts(posts []string) (summaries, parts []string) {
	for _, p := range posts {
		switch {
		case strings.HasPrefix(p, ":memo: *Postmortem draft"):
			summaries = append(summaries, p)
		case strings.Contains(p, "postmortem draft (Markdown), part"):
			parts = append(parts, p)
		}
	}
	return summaries, parts
}

func TestReplayedChannelDraft(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	ctx := context.Background()
	inc, ts := f.replay(t)

	t.Run("timeline", func(t *testing.T) {
		events, err := f.store.ListTimeline(ctx, inc.ID)
		require.NoError(t, err)
		msgs := map[string]incident.TimelineEvent{}
		for _, ev := range events {
			if ev.Kind == incident.EventMessage {
				_, dup := msgs[ev.SourceID]
				require.False(t, dup, "message %s stored twice", ev.SourceID)
				msgs[ev.SourceID] = ev
			}
		}
		require.Len(t, msgs, 9, "seven live messages and two from the gap; no bot messages")
		get := func(name string) incident.TimelineEvent { return msgs["msg:"+ts[name]] }
		data := func(name string) incident.MessageData {
			d, ok := get(name).Payload.(incident.MessageData)
			require.True(t, ok, "%s has a message payload", name)
			return d
		}
		require.True(t, data("status").Edited)
		require.True(t, data("oops").Deleted)
		require.Equal(t, ts["dashboards"], data("pool").ThreadTS)
		require.True(t, get("deploy").Key)
		require.Equal(t, "reaction", data("deploy").Marked)
		require.True(t, get("rollback").Key)
		require.Equal(t, "pin", data("rollback").Marked)
		require.True(t, data("dropping").Backfilled)
		require.Equal(t, ts["dashboards"], data("dropping").ThreadTS)
		require.True(t, get("train").Key, "a key reaction seen only in the history")
		require.False(t, get("errors").Key)
	})

	d, doc, err := f.pm.Draft(ctx, inc.ID)
	require.NoError(t, err)

	t.Run("sections", func(t *testing.T) {
		require.Equal(t, "INC-1", d.Key)
		require.Contains(t, d.Summary, "the Checkout service had an incident: Checkout fails for card payments.")
		require.Contains(t, d.Summary, "Impact on users: Customers cannot pay by card")
		require.Contains(t, d.Summary, "It lasted")

		recorded := map[string]bool{}
		for _, m := range d.Timeline {
			recorded[m.Name] = m.Recorded
		}
		require.Equal(t, map[string]bool{
			postmortem.MilestoneStarted: true, postmortem.MilestoneDeclared: true, postmortem.MilestoneCommander: true,
			postmortem.MilestonePaged: false, postmortem.MilestoneAcknowledged: false, postmortem.MilestoneDiagnosis: true,
			// The changes list is posted automatically at declare.
			postmortem.MilestoneChanges: true, postmortem.MilestoneFix: false, postmortem.MilestoneMitigated: true,
			postmortem.MilestoneResolved: true,
		}, recorded)

		var keyTexts []string
		for _, ev := range d.KeyEvents {
			keyTexts = append(keyTexts, ev.Actor+": "+ev.Text)
		}
		for _, want := range []string{
			"Dev Patel: Deploy 1a2b3c4 at 13:41 added the order-history query; that lines up with the start",
			"Dev Patel: Rolling back checkout to 9f8e7d6 now",
			"Bob Martin: Sorry, was on the train. Catching up; the rollback fixed it.",
			"Cara Díaz: Support confirms customers can pay again.",
		} {
			require.Contains(t, keyTexts, want)
		}
		for _, k := range keyTexts {
			require.NotContains(t, k, "oops", "a deleted message is not a key event")
		}

		require.Equal(t, 17*time.Minute+40*time.Second, d.Metrics.TimeToMitigate)
		require.Equal(t, 37*time.Minute+40*time.Second, d.Metrics.TimeToResolve)
		require.Equal(t, 1, d.Metrics.UpdatesPosted)

		require.NotEmpty(t, d.RootCause.Facts)
		require.Contains(t, d.RootCause.Facts[0], "feature flag change for checkout")
		require.Contains(t, strings.Join(d.RootCause.Facts, "\n"), "deploy for checkout in production, \"Add order history to checkout\" (GitHub 1a2b3c4)")
		require.NotEmpty(t, d.ContributingFactors.Facts)
		require.Contains(t, d.WhatWentWell, "An Incident Commander was in place from the moment the incident was declared.")

		require.Len(t, d.ActionItems, 2)
		require.Equal(t, "Dev Patel", d.ActionItems[0].Owner)
		require.False(t, d.ActionItems[0].DueNeeded)
		require.True(t, d.ActionItems[1].OwnerNeeded)
		require.True(t, d.ActionItems[1].DueNeeded)

		var names []string
		for _, p := range d.Participants {
			names = append(names, p.Name)
		}
		require.Equal(t, []string{"Alice Ng", "Bob Martin", "Cara Díaz", "Dev Patel"}, names)
		require.Equal(t, "Dev Patel", d.MostActive[0].Name)
		require.Equal(t, 8, d.MessageCount, "nine messages, one deleted")

		require.NotEmpty(t, d.ReviewNotes)
		require.Equal(t, postmortem.Finding{Section: "Root cause", Phrase: "Bob Martin",
			Suggestion: d.ReviewNotes[0].Suggestion}, d.ReviewNotes[0])
	})

	t.Run("posted in the channel", func(t *testing.T) {
		summaries, parts := draftPosts(f.chat.PostsIn(inc.ChannelID))
		require.Len(t, summaries, 1)
		s := summaries[0]
		require.Contains(t, s, "*Postmortem draft for INC-1: Checkout fails for card payments*")
		require.Contains(t, s, "*Key metrics:* acknowledged not recorded · mitigated in 17m 40s · resolved in 37m 40s")
		require.Contains(t, s, "14:05 Detected and declared")
		require.Contains(t, s, "*Action items:* 2 (1 without an owner, 1 without a due date)")
		require.Contains(t, s, "the blameless check flagged")
		require.Contains(t, s, "Root cause: \"Bob Martin\"")
		require.Contains(t, s, fmt.Sprintf("[Export to Confluence:postmortem_export=%d:confluence] [Export to GitHub:postmortem_export=%d:github]", inc.ID, inc.ID))
		require.LessOrEqual(t, len([]rune(strings.Split(s, " [Export")[0])), 3000, "the summary fits one Block Kit section")

		require.Len(t, parts, 1)
		require.True(t, strings.HasPrefix(parts[0], "*INC-1 postmortem draft (Markdown), part 1 of 1*\n```\n"))
		for _, heading := range []string{"# INC-1: Checkout fails for card payments", "## 1. Summary", "## 2. Timeline", "### Key events",
			"### Response metrics", "## 3. Root cause analysis", "## 4. Contributing factors", "## 5. What went well",
			"## 6. Action items", "## Participants", "## Review notes", "**owner needed**", "Bob Martin"} {
			require.Contains(t, parts[0], heading)
		}
		require.NotContains(t, parts[0], "<https://", "Slack markup is escaped inside the code block")
		require.Equal(t, strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(doc.Markdown, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")),
			strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(parts[0], "*INC-1 postmortem draft (Markdown), part 1 of 1*\n```\n"), "```")),
			"the whole Markdown is in the channel")
	})

	t.Run("names looked up once each", func(t *testing.T) {
		f.chat.Mu.Lock()
		defer f.chat.Mu.Unlock()
		for id, n := range f.chat.Lookups {
			require.LessOrEqual(t, n, 2, "%s looked up %d times in two drafts", id, n)
		}
	})
}

func TestDraftRetryPostsOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	ctx := context.Background()
	inc, _, err := f.svc.Declare(ctx, incident.DeclareInput{Title: "Search is slow", Severity: incident.P3, DeclaredBy: alice})
	require.NoError(t, err)
	require.Empty(t, f.queue.RunAll(t))
	inc, err = f.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)

	// The history is rate limited once, then the second post fails once:
	// the retries post the summary and the draft once each.
	f.chat.Fail["history"] = 1
	f.chat.Fail["post"] = 0
	require.NoError(t, f.pm.ScheduleDraft(ctx, inc))
	require.NoError(t, f.pm.ScheduleDraft(ctx, inc), "a repeated request in the same minute is absorbed")
	require.Equal(t, 1, f.queue.Pending(postmortem.JobDraft))
	// Fail the Markdown part once, after the summary went out.
	failSecondPost := &secondPostFailer{Chat: f.chat}
	pm := postmortem.New(postmortem.Config{Split: bot.MarkdownParts, Store: f.store, Backfill: f.capt, Policy: f.svc.Policy(), Chat: failSecondPost, Scheduler: f.queue, Renderer: mustTemplates(t), Clock: f.clock})
	pm.RegisterJobs(f.queue)
	require.Empty(t, f.queue.RunAll(t))

	summaries, parts := draftPosts(f.chat.PostsIn(inc.ChannelID))
	require.Len(t, summaries, 1)
	require.Len(t, parts, 1)
	require.NotContains(t, summaries[0], "[Export", "no exporters, no buttons")
	require.True(t, failSecondPost.failed)

	// A minute later, asking again drafts again.
	f.clock.Advance(time.Minute)
	require.NoError(t, f.pm.ScheduleDraft(ctx, inc))
	require.Empty(t, f.queue.RunAll(t))
	summaries, _ = draftPosts(f.chat.PostsIn(inc.ChannelID))
	require.Len(t, summaries, 2)
}

// secondPostFailer fails the first post of a Markdown part once.
type secondPostFailer struct {
	*incidenttest.Chat
	failed bool
}

func (c *secondPostFailer) Notify(ctx context.Context, ch string, n incident.Notice) (string, error) {
	if !c.failed && n.Kind == incident.NoticePostmortemPart {
		c.failed = true
		return "", incident.Errorf(incident.EUNAVAILABLE, "Slack is not responding")
	}
	return c.Chat.Notify(ctx, ch, n)
}

func mustTemplates(t testing.TB) *templates.Set {
	t.Helper()
	r, err := templates.Load("")
	require.NoError(t, err)
	return r
}

func TestExportCreatesThenUpdates(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	ctx := context.Background()
	inc, _ := f.replay(t)
	reply := incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: alice}

	require.Equal(t, []string{"confluence", "github"}, f.pm.Targets())
	for _, target := range []string{"confluence", "github"} {
		require.NoError(t, f.pm.Export(ctx, inc.ID, target, alice, reply))
	}
	require.Empty(t, f.queue.RunAll(t))

	pages := f.exp.conf.Pages()
	require.Len(t, pages, 1)
	require.Equal(t, "Postmortem: INC-1 Checkout fails for card payments", pages[0].Title)
	require.Contains(t, pages[0].Body, "Root cause analysis")
	require.Equal(t, 1, pages[0].Version)
	prs := f.exp.gh.PullRequests(f.exp.docsRepo)
	require.Len(t, prs, 1)
	files := f.exp.gh.Files(f.exp.docsRepo, prs[0].Head)
	require.Contains(t, files, "postmortems/2026-03-14-checkout-fails-for-card-payments.md")

	confRef, err := f.store.GetExport(ctx, inc.ID, "confluence")
	require.NoError(t, err)
	require.Equal(t, 1, confRef.Version)
	ghRef, err := f.store.GetExport(ctx, inc.ID, "github")
	require.NoError(t, err)
	posts := f.chat.PostsIn(inc.ChannelID)
	require.Contains(t, posts, ":page_facing_up: <@U01ALICE> exported the INC-1 postmortem in Confluence: "+confRef.URL)
	require.Contains(t, posts, ":page_facing_up: <@U01ALICE> exported the INC-1 postmortem in GitHub: "+ghRef.URL)
	require.Equal(t, []string{"Postmortem (Confluence) " + confRef.URL, "Postmortem (GitHub) " + ghRef.URL}, f.chat.Bookmarks[inc.ChannelID])

	// A note added after the export, then a re-export: the same page and
	// pull request, updated; no second bookmark.
	require.NoError(t, f.capt.AddNote(ctx, inc.ID, dev, "The order-history query had no index."))
	f.clock.Advance(time.Minute)
	for _, target := range []string{"confluence", "github"} {
		require.NoError(t, f.pm.Export(ctx, inc.ID, target, bob, reply))
		err := f.pm.Export(ctx, inc.ID, target, bob, reply)
		require.ErrorIs(t, err, postmortem.ErrExportUnderWay, "a double click exports once")
	}
	require.Equal(t, 2, f.queue.Pending(postmortem.JobExport))
	require.Empty(t, f.queue.RunAll(t))

	pages = f.exp.conf.Pages()
	require.Len(t, pages, 1, "no duplicate page")
	require.Equal(t, 2, pages[0].Version)
	require.Contains(t, pages[0].Body, "The order-history query had no index.")
	require.Len(t, f.exp.gh.PullRequests(f.exp.docsRepo), 1, "no duplicate pull request")
	require.Contains(t, f.exp.gh.Files(f.exp.docsRepo, prs[0].Head)["postmortems/2026-03-14-checkout-fails-for-card-payments.md"], "The order-history query had no index.")
	confRef2, err := f.store.GetExport(ctx, inc.ID, "confluence")
	require.NoError(t, err)
	require.Equal(t, confRef.ID, confRef2.ID)
	require.Equal(t, 2, confRef2.Version)
	posts = f.chat.PostsIn(inc.ChannelID)
	require.Contains(t, posts, ":page_facing_up: <@U02BOB> updated the INC-1 postmortem in Confluence: "+confRef.URL+" (version 2)")
	require.Len(t, f.chat.Bookmarks[inc.ChannelID], 2)

	events, err := f.store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	var exported []string
	for _, ev := range events {
		if ev.Kind == incident.EventPostmortem && strings.HasPrefix(ev.SourceID, "postmortem:export:") {
			exported = append(exported, ev.Text)
			require.False(t, ev.Key)
		}
	}
	require.Len(t, exported, 4)
}

func TestExportFailureSaysWhyWithRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fault    confluencefake.Fault
		reports  []string
		exported bool
	}{
		{
			name:  "a missing permission stops at once",
			fault: confluencefake.Fault{Method: http.MethodPost, Status: http.StatusForbidden, Message: "no permission"},
			reports: []string{":warning: *Exporting the INC-1 postmortem to Confluence failed*: The Confluence account may not add or edit pages in the space with id 42 (HTTP 403): give it that permission in the space settings, or remove the page restrictions that stop it. " +
				"Fix the cause, then press Retry. [Retry export to Confluence:postmortem_export=%d:confluence]"},
		},
		{
			name:     "an outage is retried",
			fault:    confluencefake.Fault{Status: http.StatusBadGateway, Times: 1},
			reports:  []string{"Retrying in the background."},
			exported: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, true)
			ctx := context.Background()
			inc, _ := f.replay(t)
			f.exp.conf.Fail(tt.fault)
			require.NoError(t, f.pm.Export(ctx, inc.ID, "confluence", alice, incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: alice}))
			failed := f.queue.RunAll(t)

			var reports []string
			for _, p := range f.chat.PostsIn(inc.ChannelID) {
				if strings.HasPrefix(p, ":warning: *Exporting") {
					reports = append(reports, p)
				}
			}
			require.Len(t, reports, len(tt.reports))
			for i, want := range tt.reports {
				if strings.Contains(want, "%d") {
					want = fmt.Sprintf(want, inc.ID)
				}
				require.Contains(t, reports[i], want)
			}
			if tt.exported {
				require.Empty(t, failed)
				require.Len(t, f.exp.conf.Pages(), 1)
				return
			}
			require.Len(t, failed, 1)
			require.ErrorIs(t, failed[0], incident.ErrJobCancel, "retrying a refusal cannot help")
			require.Empty(t, f.exp.conf.Pages())
			_, err := f.store.GetExport(ctx, inc.ID, "confluence")
			require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err))

			// The cause is fixed; Retry (the same action and value) exports.
			id, target, err := postmortem.ParseExportValue(fmt.Sprintf("%d:confluence", inc.ID))
			require.NoError(t, err)
			require.NoError(t, f.pm.Export(ctx, id, target, alice, incident.ReplyTarget{}))
			require.Empty(t, f.queue.RunAll(t))
			require.Len(t, f.exp.conf.Pages(), 1)
		})
	}
}

func TestExportValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	ctx := context.Background()
	inc, _, err := f.svc.Declare(ctx, incident.DeclareInput{Title: "Search is slow", Severity: incident.P3, DeclaredBy: alice})
	require.NoError(t, err)
	none := newFixture(t, false)

	tests := []struct {
		name    string
		pm      *postmortem.Service
		id      int64
		target  string
		code    string
		message string
	}{
		{"known target, any case", f.pm, inc.ID, " Confluence ", "", ""},
		{"unknown target", f.pm, inc.ID, "notion", incident.EINVALID, `Unknown export target "notion": use confluence or github.`},
		{"unknown incident", f.pm, 999, "github", incident.ENOTFOUND, ""},
		{"nothing configured", none.pm, inc.ID, "github", incident.EINVALID, "No postmortem export is configured"},
	}
	for _, tt := range tests {
		err := tt.pm.Export(ctx, tt.id, tt.target, alice, incident.ReplyTarget{})
		require.Equal(t, tt.code, incident.ErrorCode(err), tt.name)
		require.Contains(t, incident.ErrorMessage(err), tt.message, tt.name)
	}
	require.Empty(t, none.pm.Targets())

	for _, v := range []string{"", "1", "x:confluence", "1:", "-3:github"} {
		_, _, err := postmortem.ParseExportValue(v)
		require.Equal(t, incident.EINVALID, incident.ErrorCode(err), v)
	}
}

// BenchmarkDraftFromStore10k loads an incident with 10,000 captured
// messages from a SQLite store, compiles the draft and renders it: the
// work of a draft job after the backfill.
func BenchmarkDraftFromStore10k(b *testing.B) {
	ctx := context.Background()
	clock := incidenttest.NewClock(declaredAt())
	db, err := gormstore.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "bench.db"))
	require.NoError(b, err)
	b.Cleanup(func() { _ = db.Close() })
	require.NoError(b, db.Migrate(ctx))
	store := gormstore.New(db, clock)

	inc, err := store.CreateIncident(ctx, &incident.Incident{Title: "Checkout fails for card payments", Severity: incident.P1,
		Status: incident.StatusInvestigating, Service: "checkout", DeclaredBy: alice, Commander: alice, ChannelID: "C0BENCH",
		Roles: map[string]string{}, DeclaredAt: declaredAt()})
	require.NoError(b, err)
	const n = 10_000
	users := make([]string, 20)
	names := map[string]string{}
	for i := range users {
		users[i] = fmt.Sprintf("U1%04d", i)
		names[users[i]] = fmt.Sprintf("Responder %02d", i)
	}
	step := 67 * time.Minute / (n + 1)
	// One transaction for all the messages keeps the setup quick.
	_, err = store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		events := make([]incident.TimelineEvent, 0, n)
		for k := range n {
			at := declaredAt().Add(time.Duration(k+1) * step)
			ts := fmt.Sprintf("%d.%06d", at.Unix(), k)
			data := incident.MessageData{User: users[k%len(users)], TS: ts}
			if k%7 == 0 {
				data.ThreadTS = fmt.Sprintf("%d.000000", declaredAt().Unix())
			}
			if k%97 == 0 {
				data.Edited = true
			}
			if k%101 == 0 {
				data.Deleted = true
			}
			events = append(events, incident.TimelineEvent{Kind: incident.EventMessage, Actor: users[k%len(users)], At: at, Key: k%50 == 0,
				Text:     fmt.Sprintf("message %d from <@%s>: looking at <https://grafana.example.com/d/%d|panel %d>", k, users[(k+1)%len(users)], k, k),
				SourceID: "msg:" + ts, Payload: data})
		}
		return events, nil
	})
	require.NoError(b, err)
	resolved := declaredAt().Add(67 * time.Minute)
	_, err = store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.Status, i.ResolvedAt = incident.StatusResolved, &resolved
		return nil, nil
	})
	require.NoError(b, err)

	ch := newFakeChat()
	ch.Names = names
	pm := postmortem.New(postmortem.Config{Split: bot.MarkdownParts, Store: store, Chat: ch, Renderer: mustTemplates(b), Clock: clock})
	d, doc, err := pm.Draft(ctx, inc.ID)
	require.NoError(b, err)
	require.Equal(b, n-(n-1)/101-1, d.MessageCount)
	require.NotEmpty(b, doc.Markdown)

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := pm.Draft(ctx, inc.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func TestExportOfPrivateIncidentIsRedacted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	ctx := context.Background()
	inc, _ := f.replay(t)
	_, err := f.store.UpdateIncident(ctx, inc.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.Private = true
		return nil, nil
	})
	require.NoError(t, err)
	reply := incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: alice}
	for _, target := range []string{"confluence", "github"} {
		require.NoError(t, f.pm.Export(ctx, inc.ID, target, alice, reply))
	}
	require.Empty(t, f.queue.RunAll(t))

	pages := f.exp.conf.Pages()
	require.Len(t, pages, 1)
	require.Equal(t, "Postmortem: INC-1 Private incident INC-1", pages[0].Title)
	require.NotContains(t, pages[0].Body, "Checkout fails for card payments")
	require.Contains(t, pages[0].Body, "Root cause analysis", "the rest of the review is exported")
	prs := f.exp.gh.PullRequests(f.exp.docsRepo)
	require.Len(t, prs, 1)
	files := f.exp.gh.Files(f.exp.docsRepo, prs[0].Head)
	md, ok := files["postmortems/2026-03-14-private-incident-inc-1.md"]
	require.True(t, ok, "the file name carries no title: %v", files)
	require.NotContains(t, md, "Checkout fails for card payments")
	require.NotContains(t, prs[0].Title, "Checkout fails")
}

func TestExportOfPrivateIncidentRedactsEveryFormOfTheTitle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	ctx := context.Background()
	// Quotes, a pipe and angle brackets: each document escapes them its own
	// way, and none of those ways may let the title through.
	const title = `Acme "Orion" | merger <draft> & co's data`
	inc, _, err := f.svc.Declare(ctx, incident.DeclareInput{Title: title, Severity: incident.P1, ServiceKey: "checkout",
		DeclaredBy: alice, Key: "cmd:private", Private: true})
	require.NoError(t, err)
	require.Empty(t, f.queue.RunAll(t))
	reply := incident.ReplyTarget{ChannelID: inc.ChannelID, UserID: alice}
	for _, target := range []string{"confluence", "github"} {
		require.NoError(t, f.pm.Export(ctx, inc.ID, target, alice, reply))
	}
	require.Empty(t, f.queue.RunAll(t))

	pages := f.exp.conf.Pages()
	require.Len(t, pages, 1)
	require.NotContains(t, strings.ToLower(pages[0].Body), "orion")
	require.Contains(t, pages[0].Body, "Private incident INC-1")
	prs := f.exp.gh.PullRequests(f.exp.docsRepo)
	require.Len(t, prs, 1)
	for name, md := range f.exp.gh.Files(f.exp.docsRepo, prs[0].Head) {
		require.NotContains(t, strings.ToLower(md), "orion", name)
		require.Contains(t, md, "Private incident INC-1", name)
	}
}

package changes_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// fakeSource is a ChangeSource that answers from a list, or fails.
type fakeSource struct {
	name string
	mu   sync.Mutex
	list []incident.ChangeEvent
	err  error
	// asked records each call's service key and window.
	asked []string
}

func (f *fakeSource) Name() string { return f.name }

func (f *fakeSource) Changes(_ context.Context, svc incident.ServicePolicy, from, to time.Time) ([]incident.ChangeEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, fmt.Sprintf("%s %s..%s", svc.Key, from.Format("15:04"), to.Format("15:04")))
	if f.err != nil {
		return nil, f.err
	}
	return slices.Clone(f.list), nil
}

func (f *fakeSource) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.asked)
}

// fakeRollbacker undoes changes of one source: deploys ("github") or flag
// changes. Execute fails with the queued errors first; Progress answers
// the queued statuses, then the last one again.
type fakeRollbacker struct {
	source string
	mu     sync.Mutex
	// executed records each Execute's plan key and actor.
	executed   []string
	execErrs   []error
	execStatus string
	progress   []string
	polls      int
}

func (f *fakeRollbacker) Handles(c incident.ChangeEvent) bool {
	if c.Source != f.source || c.Ref == "" {
		return false
	}
	if f.source == "github" {
		return c.Kind == incident.ChangeDeploy && c.Data["repo"] != ""
	}
	return c.Kind == incident.ChangeFlag
}

func (f *fakeRollbacker) Plan(_ context.Context, c incident.ChangeEvent, svc incident.ServicePolicy) (incident.RollbackPlan, error) {
	if c.Kind == incident.ChangeFlag {
		return incident.RollbackPlan{Key: "flag:" + c.ExternalID, Kind: incident.ChangeFlag, Source: c.Source,
			Description: fmt.Sprintf("Turn off flag %s in default/%s.", c.Ref, c.Environment),
			Environment: c.Environment, Method: "off", Project: "default", Flag: c.Ref}, nil
	}
	method := "deployment"
	if svc.GitHub.DeployWorkflow != "" {
		method = "workflow"
	}
	return incident.RollbackPlan{Key: "deploy:" + c.ExternalID, Kind: incident.ChangeDeploy, Source: c.Source,
		Description: fmt.Sprintf("Redeploy %s to %s at 0ld5afe (from %s).", c.Data["repo"], c.Environment, c.Ref[:7]),
		Repo:        c.Data["repo"], Environment: c.Environment, FromRef: c.Ref, ToRef: "0ld5afe1234", Method: method,
		Workflow: svc.GitHub.DeployWorkflow}, nil
}

func (f *fakeRollbacker) Execute(_ context.Context, plan incident.RollbackPlan, actor string) (incident.RollbackRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.executed = append(f.executed, plan.Key+" by "+actor)
	if len(f.execErrs) > 0 {
		err := f.execErrs[0]
		f.execErrs = f.execErrs[1:]
		return incident.RollbackRun{}, err
	}
	run := incident.RollbackRun{Plan: plan, Status: f.execStatus, URL: "https://example.com/runs/1"}
	if plan.Kind == incident.ChangeDeploy && plan.Method == "deployment" {
		run.ExternalID = "777"
	}
	if run.Status == "" {
		run.Status = "queued"
	}
	return run, nil
}

func (f *fakeRollbacker) Progress(_ context.Context, run incident.RollbackRun) (incident.RollbackRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls++
	if len(f.progress) == 0 {
		return run, nil
	}
	run.Status = f.progress[0]
	if len(f.progress) > 1 {
		f.progress = f.progress[1:]
	}
	run.Detail = "The deployment is " + run.Status + "."
	return run, nil
}

func (f *fakeRollbacker) executions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.executed)
}

// changeBundle is the test bundle: the core, "what changed?" and its
// rollbacks, with change sources and rollbackers.
type changeBundle struct {
	core     *incident.Service
	chg      *changes.Service
	rb       *changes.Rollbacks
	store    *incidenttest.MemStore
	chat     *incidenttest.Chat
	queue    *incidenttest.Queue
	clock    *incidenttest.Clock
	github   *fakeSource
	flags    *fakeSource
	deploys  *fakeRollbacker
	flagsOff *fakeRollbacker
}

const badSHA = "bad0c0ffee1234567890"

func setupChanges(t *testing.T, mutate ...func(*incident.Policy)) changeBundle {
	t.Helper()
	return newChangeBundle(t, true, mutate...)
}

// newChangeBundle wires the core and changes as the program does; without
// sources, nothing is tracked.
func newChangeBundle(t *testing.T, sources bool, mutate ...func(*incident.Policy)) changeBundle {
	t.Helper()
	clock := incidenttest.NewClock(time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC))
	store := incidenttest.NewMemStore(clock)
	policy := incident.DefaultPolicy()
	policy.Services = map[string]incident.ServicePolicy{
		"checkout": {Key: "checkout", Name: "Checkout", Owners: []string{"S0CHECKOUT"},
			GitHub: incident.GitHubService{Repos: []string{"acme/checkout"}, Environments: []string{"production"}},
			Flags:  []incident.FlagRef{{Provider: "launchdarkly", Key: "new-checkout", Environment: "production"}}},
		"search": {Key: "search", Name: "Search", Owners: []string{"S0CHECKOUT"},
			GitHub: incident.GitHubService{Repos: []string{"acme/search"}},
			Flags:  []incident.FlagRef{{Provider: "unleash", Project: "web", Key: "fuzzy"}}},
	}
	policy.RollbackGroup = "S0ROLL"
	for _, m := range mutate {
		m(&policy)
	}
	c := incidenttest.NewChat()
	c.Word = bot.NoticeText
	c.Users["S0ROLL"] = []string{"U0ROLL1", "U0ROLL2"}
	// The declarer of these tests owns the services' changes.
	c.Users["S0CHECKOUT"] = []string{"U0DECL"}
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	gh := &fakeSource{name: "GitHub"}
	ld := &fakeSource{name: "LaunchDarkly"}
	deploys := &fakeRollbacker{source: "github"}
	flagsOff := &fakeRollbacker{source: "launchdarkly", execStatus: "succeeded"}
	core := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: c.Roles(), Policy: policy, Clock: clock})
	core.RegisterJobs(q)
	var srcs []incident.ChangeSource
	if sources {
		srcs = []incident.ChangeSource{gh, ld}
	}
	chg := changes.New(changes.Config{Store: store, Core: core, Chat: c, Scheduler: q, Policy: policy, Clock: clock,
		Sources: srcs, Rollbackers: []incident.Rollbacker{deploys, flagsOff}, Render: bot.TimelineText})
	chg.RegisterJobs(q)
	core.Use(chg.Feature())
	return changeBundle{core: core, chg: chg, rb: chg.Rollbacks(), store: store, chat: c, queue: q, clock: clock,
		github: gh, flags: ld, deploys: deploys, flagsOff: flagsOff}
}

// declare declares an incident on checkout; the list of changes is
// planned with it.
func (b changeBundle) declare(t *testing.T, title string, sev incident.Severity) *incident.Incident {
	t.Helper()
	inc, existed, err := b.core.Declare(context.Background(), incident.DeclareInput{Title: title, Severity: sev, ServiceKey: "checkout",
		DeclaredBy: "U0DECL", ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}})
	require.NoError(t, err)
	require.False(t, existed)
	return inc
}

// slackMessage is the sentence the chat shows for err.
func slackMessage(err error) string {
	var r *incident.Refusal
	if errors.As(err, &r) {
		return bot.RefusalText(r)
	}
	return incident.ErrorMessage(err)
}

// start is when every incident of these tests is declared.
func (b changeBundle) start() time.Time { return time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC) }

func (b changeBundle) deploy(id string, before time.Duration, state string) incident.ChangeEvent {
	return incident.ChangeEvent{Source: "github", ExternalID: "deployment:acme/checkout:" + id, Kind: incident.ChangeDeploy,
		Summary: "Deploy acme/checkout@" + badSHA[:7] + " to production (" + state + ")", Actor: "octocat",
		URL: "https://github.com/acme/checkout/deployments", Environment: "production", Ref: badSHA,
		OccurredAt: b.start().Add(-before), Data: map[string]string{"repo": "acme/checkout", "deployment_id": id, "state": state}}
}

func (b changeBundle) flagChange(id string, before time.Duration) incident.ChangeEvent {
	return incident.ChangeEvent{Source: "launchdarkly", ExternalID: id, Kind: incident.ChangeFlag, Summary: "Turned on new-checkout in production",
		Actor: "jane@example.com", Environment: "production", Ref: "new-checkout", OccurredAt: b.start().Add(-before),
		Data: map[string]string{"project": "default", "flag": "new-checkout"}}
}

// open declares an incident on checkout, opens its war room, and takes
// the list posted at declare out of the way. The declarer is the IC.
func (b changeBundle) open(t *testing.T, sev incident.Severity) *incident.Incident {
	t.Helper()
	ctx := context.Background()
	inc := b.declare(t, "checkout is down", sev)
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, b.chat.ChangeLists, 1, "the list is posted at declare")
	b.chat.ChangeLists = nil
	inc, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	return inc
}

// lastList asks "what changed?" and returns the list posted.
func (b changeBundle) lastList(t *testing.T, inc *incident.Incident, window time.Duration) incident.ChangeList {
	t.Helper()
	b.clock.Advance(10 * time.Second) // a new request, not a double click
	require.NoError(t, b.chg.WhatChanged(context.Background(), inc.ID, window, "U0DECL", incident.ReplyTarget{UserID: "U0DECL"}))
	require.Empty(t, b.queue.RunAll(t))
	require.NotEmpty(t, b.chat.ChangeLists)
	return b.chat.ChangeLists[len(b.chat.ChangeLists)-1]
}

func itemOf(t *testing.T, list incident.ChangeList, externalID string) incident.ChangeItem {
	t.Helper()
	for _, it := range list.Items {
		if it.Change.ExternalID == externalID {
			return it
		}
	}
	t.Fatalf("change %s is not listed", externalID)
	return incident.ChangeItem{}
}

func (b changeBundle) posts(inc *incident.Incident) string {
	b.chat.Mu.Lock()
	defer b.chat.Mu.Unlock()
	return strings.Join(b.chat.Posts[inc.ChannelID], "\n")
}

func (b changeBundle) rollbackSteps(t *testing.T, inc *incident.Incident) []string {
	t.Helper()
	events, err := b.store.ListTimeline(context.Background(), inc.ID)
	require.NoError(t, err)
	var steps []string
	for _, ev := range events {
		if ev.Kind != incident.EventRollback {
			continue
		}
		// Executions sent and answered are bookkeeping; the tests of
		// rollbacks whose answer was lost read them.
		if step := ev.Payload.(incident.RollbackData).Step; step != "sent" && step != "answered" {
			steps = append(steps, step+":"+ev.Actor)
		}
	}
	return steps
}

func TestWhatChangedListsTheWindowNewestFirst(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	pr := incident.ChangeEvent{Source: "github", ExternalID: "pull_request:acme/checkout:12", Kind: incident.ChangePullRequest,
		Summary: "Merged acme/checkout#12", OccurredAt: b.start().Add(-45 * time.Minute), Data: map[string]string{"repo": "acme/checkout"}}
	b.github.list = []incident.ChangeEvent{
		pr,
		b.deploy("1", 10*time.Minute, "success"),
		b.deploy("0", 70*time.Minute, "success"), // before the default window
		b.deploy("9", -5*time.Minute, "success"), // after the start
		b.deploy("2", 30*time.Minute, "failure"), // on the highlight's edge
		b.deploy("3", 31*time.Minute, "success"), // just outside it
	}
	b.flags.list = []incident.ChangeEvent{b.flagChange("ld-1", 20*time.Minute)}
	inc := b.open(t, incident.P2)

	list := b.lastList(t, inc, 0)
	require.Equal(t, b.start(), list.Start)
	require.Equal(t, b.start(), list.To)
	require.Equal(t, b.start().Add(-time.Hour), list.From)
	var ids, highlighted, actions []string
	for _, it := range list.Items {
		ids = append(ids, it.Change.ExternalID)
		if it.Highlight {
			highlighted = append(highlighted, it.Change.ExternalID)
		}
		actions = append(actions, it.Action)
	}
	require.Equal(t, []string{"deployment:acme/checkout:1", "ld-1", "deployment:acme/checkout:2", "deployment:acme/checkout:3",
		"pull_request:acme/checkout:12"}, ids, "newest first, only the window")
	require.Equal(t, []string{"deployment:acme/checkout:1", "ld-1", "deployment:acme/checkout:2"}, highlighted)
	require.Equal(t, []string{"Roll back", "Turn off", "Roll back", "Roll back", ""}, actions, "a merged pull request has no button")
	require.Equal(t, "github|"+fmt.Sprint(b.start().Add(-10*time.Minute).Unix())+"|deployment:acme/checkout:1", list.Items[0].Value)
	require.Empty(t, list.Failures)
	require.Contains(t, b.github.asked, "checkout 13:23..14:23", "the source is asked for the service and the window")

	wide := b.lastList(t, inc, 2*time.Hour)
	require.Len(t, wide.Items, 6, "a wider window reaches further back")

	events, err := b.store.ListTimeline(context.Background(), inc.ID)
	require.NoError(t, err)
	var shown []incident.TimelineEvent
	for _, ev := range events {
		if ev.Kind == incident.EventChangesShown {
			shown = append(shown, ev)
		}
	}
	require.Len(t, shown, 3, "declare, 60 min, 2 h")
	require.True(t, shown[1].Key)
	require.Equal(t, "U0DECL", shown[1].Actor)
	require.Equal(t, incident.ChangesShownData{Changes: 5, Highlighted: 3, FailedSources: 0, Window: "1h0m0s"}, shown[1].Payload)

	for _, w := range []time.Duration{30 * time.Second, 49 * time.Hour} {
		err := b.chg.WhatChanged(context.Background(), inc.ID, w, "U0DECL", incident.ReplyTarget{})
		require.Equal(t, incident.EINVALID, incident.ErrorCode(err), w)
	}
}

func TestWhatChangedSaysWhichSourceFailed(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	b.github.list = []incident.ChangeEvent{b.deploy("1", 5*time.Minute, "success")}
	b.flags.err = incident.Errorf(incident.EUNAVAILABLE, "LaunchDarkly is not responding (503).")
	inc := b.open(t, incident.P2)
	list := b.lastList(t, inc, 0)
	require.Len(t, list.Items, 1, "the other source is still listed")
	require.Equal(t, []incident.SourceFailure{{Source: "LaunchDarkly", Message: "LaunchDarkly is not responding (503)."}}, list.Failures)

	b.github.err = errors.New("dial tcp: connection refused with token ghp_secret")
	list = b.lastList(t, inc, 0)
	require.Len(t, list.Failures, 2)
	require.Equal(t, "GitHub", list.Failures[0].Source)
	require.NotContains(t, list.Failures[0].Message, "ghp_secret", "only the user-safe message is shown")
	require.Len(t, list.Items, 1, "a change stored from the earlier answer is still listed")
}

func TestWhatChangedMergesStoredWebhookChanges(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	ctx := context.Background()
	inc := b.open(t, incident.P2)
	fromAPI := b.deploy("5", 12*time.Minute, "success")
	b.github.list = []incident.ChangeEvent{fromAPI}
	// The webhook stored the same deployment earlier, without a service.
	hook := b.deploy("5", 12*time.Minute, "in_progress")
	require.NoError(t, b.chg.RecordChange(ctx, hook))
	other := incident.ChangeEvent{Source: "webhook", ExternalID: "terraform:apply-9", Kind: incident.ChangeConfig, Service: "checkout",
		Summary: "terraform apply", OccurredAt: b.start().Add(-3 * time.Minute)}
	require.NoError(t, b.chg.RecordChange(ctx, other))
	elsewhere := other
	elsewhere.ExternalID, elsewhere.Service = "terraform:apply-10", "search"
	require.NoError(t, b.chg.RecordChange(ctx, elsewhere))

	list := b.lastList(t, inc, 0)
	var ids []string
	for _, it := range list.Items {
		ids = append(ids, it.Change.Source+" "+it.Change.ExternalID)
	}
	require.Equal(t, []string{"webhook terraform:apply-9", "github deployment:acme/checkout:5"}, ids, "one entry per change, other services left out")
	require.Contains(t, itemOf(t, list, fromAPI.ExternalID).Change.Summary, "(success)", "the fresher answer wins")

	flag := b.flagChange("ld-7", 2*time.Minute)
	b.flags.list = []incident.ChangeEvent{flag}
	b.lastList(t, inc, 0)
	stored, err := b.store.ListChangeEvents(ctx, "checkout", b.start().Add(-time.Hour), b.start())
	require.NoError(t, err)
	require.Len(t, stored, 3, "what the sources said is stored, so history survives")
}

func TestChangesAtDeclareDoNotDelayTheChannel(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	ctx := context.Background()
	b.github.list = []incident.ChangeEvent{b.deploy("1", 5*time.Minute, "success")}
	inc := b.declare(t, "checkout is down", incident.P1)
	// Let the changes job run before the setup job: the sources answer
	// first, and the list waits for the channel.
	job, ok := b.queue.MoveToFront(changes.JobChanges)
	require.True(t, ok)

	require.Empty(t, b.queue.RunAll(t))
	inc, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, inc.ChannelID)
	require.Len(t, b.chat.ChangeLists, 1)
	require.Len(t, b.chat.ChangeLists[0].Items, 1)
	require.Equal(t, 1, b.github.calls(), "the sources are asked once, not again while waiting")

	// A redelivered job does not post the list again.
	require.NoError(t, b.queue.Handler(changes.JobChanges)(ctx, job.Payload))
	require.Len(t, b.chat.ChangeLists, 1)

	// A double click posts one list.
	for range 2 {
		require.NoError(t, b.chg.WhatChanged(ctx, inc.ID, 0, "U0DECL", incident.ReplyTarget{}))
	}
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, b.chat.ChangeLists, 2)
}

func TestDeclareListIsQuietWithoutSources(t *testing.T) {
	t.Parallel()
	b := newChangeBundle(t, false)
	b.declare(t, "checkout is down", incident.P2)
	require.Equal(t, 1, b.queue.Pending(changes.JobChanges), "the list is planned at declare")
	require.Empty(t, b.queue.RunAll(t))
	require.Empty(t, b.chat.ChangeLists, "nothing is tracked, so nothing is said")
}

func TestRollbackDeployEndToEnd(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	ctx := context.Background()
	d := b.deploy("1", 5*time.Minute, "success")
	b.github.list = []incident.ChangeEvent{d}
	inc := b.open(t, incident.P2)
	value := itemOf(t, b.lastList(t, inc, 0), d.ExternalID).Value

	plan, err := b.rb.PlanRollback(ctx, inc.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Equal(t, "Redeploy acme/checkout to production at 0ld5afe (from bad0c0f).", plan.Description)
	require.Equal(t, "github:"+d.ExternalID, plan.ChangeID)
	require.Contains(t, bot.NoticeText(b.rb.RollbackRule(ctx, inc, plan)), "<!subteam^S0CHECKOUT>")
	require.Contains(t, bot.NoticeText(b.rb.RollbackRule(ctx, inc, plan)), "<!subteam^S0ROLL>")

	b.deploys.progress = []string{"in_progress", "succeeded"}
	r, err := b.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Equal(t, incident.RollbackRunning, r.Status)
	now := b.clock.Now()
	require.Empty(t, b.queue.RunDue(t, now))
	require.Equal(t, []string{"deploy:" + d.ExternalID + " by U0DECL"}, b.deploys.executions())
	r, err = b.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, "777", r.ExternalID)
	require.Equal(t, incident.RollbackRunning, r.Status)

	for range 2 {
		now = b.clock.Advance(15 * time.Second)
		require.Empty(t, b.queue.RunDue(t, now))
	}
	r, err = b.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, incident.RollbackSucceeded, r.Status)
	require.Equal(t, 2, b.deploys.polls)
	posts := b.posts(inc)
	require.Contains(t, posts, "<@U0DECL> confirmed a rollback: Redeploy acme/checkout")
	require.Contains(t, posts, "Rolling back on behalf of <@U0DECL>")
	require.Contains(t, posts, "Rollback of acme/checkout in production to 0ld5afe is in progress.")
	require.Contains(t, posts, "Rollback of acme/checkout in production to 0ld5afe succeeded in 30s")
	require.Equal(t, []string{"requested:U0DECL", "started:U0DECL", "in_progress:github", "succeeded:github"}, b.rollbackSteps(t, inc))
	require.Empty(t, b.queue.RunAll(t), "no poll is left")
	require.Equal(t, 2, b.deploys.polls)
}

func TestRollbackFlagEndToEnd(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	ctx := context.Background()
	f := b.flagChange("ld-1", 8*time.Minute)
	b.flags.list = []incident.ChangeEvent{f}
	inc := b.open(t, incident.P2)
	it := itemOf(t, b.lastList(t, inc, 0), "ld-1")
	require.Equal(t, "Turn off", it.Action)

	// A member of the rollback group may do it as well as the IC.
	plan, err := b.rb.PlanRollback(ctx, inc.ID, it.Value, "U0ROLL2")
	require.NoError(t, err)
	require.Equal(t, "new-checkout", plan.Flag)
	require.Equal(t, "production", plan.Environment)
	r, err := b.rb.RequestRollback(ctx, inc.ID, it.Value, "U0ROLL2")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	require.Equal(t, []string{"flag:ld-1 by U0ROLL2"}, b.flagsOff.executions())
	r, err = b.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, incident.RollbackSucceeded, r.Status)
	require.Contains(t, b.posts(inc), "Rollback of flag new-checkout in production succeeded in 0s, requested by <@U0ROLL2>")
	require.Zero(t, b.flagsOff.polls, "a run finished at once is not polled")
	require.Equal(t, []string{"requested:U0ROLL2", "started:U0ROLL2", "succeeded:launchdarkly"}, b.rollbackSteps(t, inc))
}

func TestRollbackRefusedForOthers(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	ctx := context.Background()
	d := b.deploy("1", 5*time.Minute, "success")
	b.github.list = []incident.ChangeEvent{d}
	inc := b.open(t, incident.P2)
	value := itemOf(t, b.lastList(t, inc, 0), d.ExternalID).Value

	_, err := b.rb.PlanRollback(ctx, inc.ID, value, "U0RANDOM")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	require.Equal(t, "You may not roll back this change: rollbacks of checkout in production belong to its owners and the rollback group, not to an incident's roles. Who can: members of <!subteam^S0CHECKOUT> or members of <!subteam^S0ROLL>.",
		slackMessage(err))
	// Being the Incident Commander is no right to roll back.
	_, err = b.core.AssignRole(ctx, inc.ID, incident.RoleCommander, "U0RANDOM", "U0DECL")
	require.NoError(t, err)
	_, err = b.rb.RequestRollback(ctx, inc.ID, value, "U0RANDOM")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	_, err = b.rb.RequestRollback(ctx, inc.ID, value, "U0RANDOM")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	rbs, err := b.store.ListRollbacks(ctx, inc.ID)
	require.NoError(t, err)
	require.Empty(t, rbs)
	require.Empty(t, b.queue.RunAll(t))
	require.Empty(t, b.deploys.executions())

	_, err = b.rb.PlanRollback(ctx, inc.ID, "github|1|deployment:acme/checkout:404", "U0DECL")
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err))
	_, err = b.rb.PlanRollback(ctx, inc.ID, "nonsense", "U0DECL")
	require.Equal(t, incident.EINVALID, incident.ErrorCode(err))
}

func TestRollbackTwoPersonRule(t *testing.T) {
	t.Parallel()
	b := setupChanges(t, func(p *incident.Policy) {
		p.TwoPersonRollback = map[string]map[incident.Severity]bool{incident.AnyEnvironment: {incident.P1: true}}
	})
	ctx := context.Background()
	d := b.deploy("1", 5*time.Minute, "success")
	b.github.list = []incident.ChangeEvent{d}
	b.deploys.execStatus = "succeeded"
	inc := b.open(t, incident.P1)
	value := itemOf(t, b.lastList(t, inc, 0), d.ExternalID).Value
	plan, err := b.rb.PlanRollback(ctx, inc.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Contains(t, bot.NoticeText(b.rb.RollbackRule(ctx, inc, plan)), "needs a second person's approval")

	r, err := b.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Equal(t, incident.RollbackAwaitingApproval, r.Status)
	require.Empty(t, b.queue.RunAll(t))
	require.Empty(t, b.deploys.executions(), "nothing runs before the approval")
	require.Contains(t, b.posts(inc), "[Approve rollback:"+incident.ActionApproveRol+"="+r.Key+"]")
	require.Equal(t, 1, strings.Count(b.posts(inc), "asked for a rollback"), "said once, with its button")

	_, err = b.rb.ApproveRollback(ctx, r.Key, "U0DECL")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "a second person must approve, and you requested this rollback")
	_, err = b.rb.ApproveRollback(ctx, r.Key, "U0RANDOM")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))

	r, err = b.rb.ApproveRollback(ctx, r.Key, "U0ROLL1")
	require.NoError(t, err)
	require.Equal(t, "U0ROLL1", r.ApprovedBy)
	_, err = b.rb.ApproveRollback(ctx, r.Key, "U0ROLL2")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Empty(t, b.queue.RunAll(t))
	require.Equal(t, []string{"deploy:" + d.ExternalID + " by U0DECL"}, b.deploys.executions())
	require.Contains(t, b.posts(inc), "<@U0ROLL1> approved the rollback <@U0DECL> asked for")
	require.Equal(t, []string{"requested:U0DECL", "approval:U0DECL", "approved:U0ROLL1", "started:U0DECL", "succeeded:github"}, b.rollbackSteps(t, inc))
}

func TestRollbackDoubleClickRollsBackOnce(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	ctx := context.Background()
	d := b.deploy("1", 5*time.Minute, "success")
	b.github.list = []incident.ChangeEvent{d}
	b.deploys.execStatus = "succeeded"
	inc := b.open(t, incident.P2)
	value := itemOf(t, b.lastList(t, inc, 0), d.ExternalID).Value

	first, err := b.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
	require.NoError(t, err)
	b.clock.Advance(2 * time.Second)
	second, err := b.rb.RequestRollback(ctx, inc.ID, value, "U0ROLL1")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Equal(t, "This rollback was already requested by U0DECL 2s ago; it is running.", incident.ErrorMessage(err))
	var refused *incident.Error
	require.ErrorAs(t, err, &refused)
	require.Equal(t, []string{"U0DECL"}, refused.Users, "the refusal names who asked by id, for the chat to mention")
	require.Equal(t, "This rollback was already requested by <@U0DECL> 2s ago; it is running.",
		refused.Text(func(id string) string { return "<@" + id + ">" }))
	require.Equal(t, first.ID, second.ID)
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, b.deploys.executions(), 1)
	require.Equal(t, 1, strings.Count(b.posts(inc), "confirmed a rollback"))
}

func TestRollbackExecuteFailsThenRetrySucceeds(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	ctx := context.Background()
	d := b.deploy("1", 5*time.Minute, "success")
	b.github.list = []incident.ChangeEvent{d}
	inc := b.open(t, incident.P2)
	value := itemOf(t, b.lastList(t, inc, 0), d.ExternalID).Value

	down := incident.Errorf(incident.EUNAVAILABLE, "GitHub is not responding (502).")
	b.deploys.execErrs = []error{down, down, down, down, down}
	b.deploys.execStatus = "succeeded"
	r, err := b.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t), "the job gives up by itself, having said so")
	require.Len(t, b.deploys.executions(), 5, "a provider outage is retried")
	r, err = b.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, incident.RollbackFailed, r.Status)
	require.Contains(t, b.posts(inc), "Rollback of acme/checkout in production to 0ld5afe failed*: GitHub is not responding (502).")
	require.Contains(t, b.posts(inc), "[Retry rollback:"+incident.ActionRetryRoll+"="+r.Key+"]")

	_, err = b.rb.RetryRollback(ctx, r.Key, "U0RANDOM")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	r, err = b.rb.RetryRollback(ctx, r.Key, "U0ROLL1")
	require.NoError(t, err)
	require.Equal(t, incident.RollbackRunning, r.Status)
	_, err = b.rb.RetryRollback(ctx, r.Key, "U0ROLL1")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err), "a double click retries once")
	require.Empty(t, b.queue.RunAll(t))
	execs := b.deploys.executions()
	require.Len(t, execs, 6)
	require.Equal(t, "deploy:"+d.ExternalID+"#retry1 by U0ROLL1", execs[5], "a retry is a new run for the provider")
	r, err = b.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, incident.RollbackSucceeded, r.Status)
	require.Equal(t, []string{"requested:U0DECL", "failed:github", "retry:U0ROLL1", "started:U0ROLL1", "succeeded:github"}, b.rollbackSteps(t, inc))
}

func TestRollbackRefusedByTheProviderFailsAtOnce(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	ctx := context.Background()
	d := b.deploy("1", 5*time.Minute, "success")
	b.github.list = []incident.ChangeEvent{d}
	inc := b.open(t, incident.P2)
	value := itemOf(t, b.lastList(t, inc, 0), d.ExternalID).Value
	b.deploys.execErrs = []error{incident.Errorf(incident.EINVALID, "Workflow deploy.yml has no workflow_dispatch trigger.")}
	_, err := b.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, b.deploys.executions(), 1, "a refusal is not retried")
	require.Contains(t, b.posts(inc), "failed*: Workflow deploy.yml has no workflow_dispatch trigger.")
	require.Equal(t, 1, strings.Count(b.posts(inc), "[Retry rollback:"))
}

func TestRecordChangeMapsServices(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	ctx := context.Background()
	at := b.start().Add(-time.Minute)
	for i, tc := range []struct {
		name string
		c    incident.ChangeEvent
		want string
	}{
		{"github repo", incident.ChangeEvent{Source: "github", Kind: incident.ChangeDeploy, Environment: "production", Data: map[string]string{"repo": "acme/checkout"}}, "checkout"},
		{"repo in another case", incident.ChangeEvent{Source: "github", Kind: incident.ChangeDeploy, Environment: "staging", Data: map[string]string{"repo": "ACME/Search"}}, "search"},
		{"unknown repo: not recorded", incident.ChangeEvent{Source: "github", Kind: incident.ChangeDeploy, Data: map[string]string{"repo": "acme/other"}}, "-"},
		{"deploy to an environment outside the policy: not recorded", incident.ChangeEvent{Source: "github", Kind: incident.ChangeDeploy, Environment: "github-pages", Data: map[string]string{"repo": "acme/checkout"}}, "-"},
		{"a deploy reported by the change webhook: kept, for incidents without a service", incident.ChangeEvent{Source: "webhook", Kind: incident.ChangeDeploy, Data: map[string]string{"repo": "acme/other"}}, ""},
		{"run of a workflow that does not deploy: not recorded", incident.ChangeEvent{Source: "github", Kind: incident.ChangeWorkflow, Data: map[string]string{"repo": "acme/checkout", "workflow": "test.yml"}}, "-"},
		{"launchdarkly flag", incident.ChangeEvent{Source: "launchdarkly", Kind: incident.ChangeFlag, Ref: "new-checkout", Environment: "production", Data: map[string]string{"project": "default"}}, "checkout"},
		{"flag without project", incident.ChangeEvent{Source: "launchdarkly", Kind: incident.ChangeFlag, Ref: "new-checkout", Environment: "production"}, "checkout"},
		{"flag in another environment", incident.ChangeEvent{Source: "launchdarkly", Kind: incident.ChangeFlag, Ref: "new-checkout", Environment: "staging"}, ""},
		{"flag of another provider", incident.ChangeEvent{Source: "unleash", Kind: incident.ChangeFlag, Ref: "new-checkout", Environment: "production"}, ""},
		{"unleash flag in its project", incident.ChangeEvent{Source: "unleash", Kind: incident.ChangeFlag, Ref: "fuzzy", Environment: "development", Data: map[string]string{"project": "web"}}, "search"},
		{"unleash flag in another project", incident.ChangeEvent{Source: "unleash", Kind: incident.ChangeFlag, Ref: "fuzzy", Data: map[string]string{"project": "default"}}, ""},
		{"service already set", incident.ChangeEvent{Source: "webhook", Kind: incident.ChangeConfig, Service: "search", Data: map[string]string{"repo": "acme/checkout"}}, "search"},
	} {
		tc.c.ExternalID = fmt.Sprintf("map-%d", i)
		tc.c.OccurredAt = at
		require.NoError(t, b.chg.RecordChange(ctx, tc.c), tc.name)
		got, err := b.store.ListChangeEvents(ctx, "", at, at)
		require.NoError(t, err)
		i := slices.IndexFunc(got, func(c incident.ChangeEvent) bool { return c.ExternalID == tc.c.ExternalID })
		if tc.want == "-" {
			require.Equal(t, -1, i, tc.name)
			continue
		}
		require.GreaterOrEqual(t, i, 0, tc.name)
		require.Equal(t, tc.want, got[i].Service, tc.name)
	}
	// The last case, delivered again.
	dup := incident.ChangeEvent{Source: "webhook", ExternalID: "map-12", Kind: incident.ChangeConfig, OccurredAt: at}
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(b.chg.RecordChange(ctx, dup)), "a redelivery is a conflict, as is")
}

func TestRollbackFollowsWorkflowRunWebhooks(t *testing.T) {
	t.Parallel()
	b := setupChanges(t, func(p *incident.Policy) {
		svc := p.Services["checkout"]
		svc.GitHub.DeployWorkflow = "deploy.yml"
		p.Services["checkout"] = svc
	})
	ctx := context.Background()
	d := b.deploy("1", 5*time.Minute, "success")
	b.github.list = []incident.ChangeEvent{d}
	inc := b.open(t, incident.P2)
	value := itemOf(t, b.lastList(t, inc, 0), d.ExternalID).Value
	r, err := b.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Equal(t, "workflow", r.Plan.Method)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Len(t, b.deploys.executions(), 1)

	run := func(status, conclusion string) incident.ChangeEvent {
		return incident.ChangeEvent{Source: "github", ExternalID: "workflow_run:acme/checkout:555:" + status, Kind: incident.ChangeWorkflow,
			Summary: "Workflow deploy.yml run #12 on acme/checkout@main (" + status + ")", URL: "https://github.com/acme/checkout/actions/runs/555",
			Ref: "ma1nhead", OccurredAt: b.clock.Now(), Data: map[string]string{"run_id": "555", "status": status, "conclusion": conclusion,
				"workflow": "deploy.yml", "event": "workflow_dispatch", "repo": "acme/checkout",
				"display_title": "firebreak rollback " + r.Key + " requested by U0DECL"}}
	}
	b.clock.Advance(5 * time.Second)
	require.NoError(t, b.chg.RecordChange(ctx, run("in_progress", "")))
	r, err = b.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, "555", r.ExternalID, "the dispatched run, naming the rollback, is adopted")
	require.Equal(t, "https://github.com/acme/checkout/actions/runs/555", r.URL)
	b.clock.Advance(3*time.Minute + 5*time.Second)
	require.NoError(t, b.chg.RecordChange(ctx, run("completed", "success")))
	r, err = b.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, incident.RollbackSucceeded, r.Status)
	require.Empty(t, b.queue.RunAll(t))
	require.Contains(t, b.posts(inc), "Rollback of acme/checkout in production to 0ld5afe is in progress.")
	require.Contains(t, b.posts(inc), "succeeded in 3m10s")
	require.Zero(t, b.deploys.polls, "the poll finds the webhook got there first")
	// The same delivery again changes nothing.
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(b.chg.RecordChange(ctx, run("completed", "success"))))
	require.Equal(t, 1, strings.Count(b.posts(inc), "succeeded in"))
}

func TestRollbackFailedDeploymentStatusOffersRetry(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	ctx := context.Background()
	d := b.deploy("1", 5*time.Minute, "success")
	b.github.list = []incident.ChangeEvent{d}
	inc := b.open(t, incident.P2)
	value := itemOf(t, b.lastList(t, inc, 0), d.ExternalID).Value
	r, err := b.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))

	status := func(id, state string) incident.ChangeEvent {
		c := b.deploy(id, 0, state)
		c.Ref, c.OccurredAt = "0ld5afe1234", b.clock.Now()
		return c
	}
	require.NoError(t, b.chg.RecordChange(ctx, status("776", "failure")), "another deployment is not ours")
	r, err = b.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, incident.RollbackRunning, r.Status)

	require.NoError(t, b.chg.RecordChange(ctx, status("777", "in_progress")))
	// GitHub reports every state of a deployment under one id.
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(b.chg.RecordChange(ctx, status("777", "failure"))))
	r, err = b.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, incident.RollbackFailed, r.Status, "a later state of the same deployment still counts")
	require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
	require.Contains(t, b.posts(inc), "Rollback of acme/checkout in production to 0ld5afe failed*: Deploy acme/checkout@bad0c0f to production (failure).")
	require.Contains(t, b.posts(inc), "[Retry rollback:"+incident.ActionRetryRoll+"="+r.Key+"]")
}

func TestWhatChangedOffersNoTurnOffForAFlagAlreadyTurnedOff(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	on, off := b.flagChange("ld-on", 5*time.Minute), b.flagChange("ld-off", 10*time.Minute)
	on.Data = map[string]string{"project": "default", "flag": on.Ref, "on": "true"}
	off.Data = map[string]string{"project": "default", "flag": off.Ref, "on": "false"}
	off.Summary = "Turned off the flag New checkout in production"
	b.flags.list = []incident.ChangeEvent{on, off}
	inc := b.open(t, incident.P2)

	list := b.lastList(t, inc, 0)
	require.Equal(t, "Turn off", itemOf(t, list, "ld-on").Action)
	it := itemOf(t, list, "ld-off")
	require.Empty(t, it.Action, "the change already turned the flag off")
	require.Empty(t, it.Value)
}

func TestWhatChangedShowsTheLatestStateOfADeploy(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	ctx := context.Background()
	// The webhook delivered the failure; the API still lists the deploy in
	// progress.
	running := b.deploy("7", 10*time.Minute, "in_progress")
	running.Revision = 101
	failed := b.deploy("7", 8*time.Minute, "failure")
	failed.Revision = 102
	require.NoError(t, b.chg.RecordChange(ctx, failed))
	b.github.list = []incident.ChangeEvent{running}
	inc := b.open(t, incident.P2)

	it := itemOf(t, b.lastList(t, inc, 0), "deployment:acme/checkout:7")
	require.Equal(t, "failure", it.Change.Data["state"])
	require.Equal(t, b.start().Add(-8*time.Minute), it.Change.OccurredAt)
	got, err := b.store.ListChangeEvents(ctx, "checkout", b.start().Add(-time.Hour), b.start())
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "failure", got[0].Data["state"], "the lagging answer does not overwrite the later state")
}

func TestWhatChangedListsADeployUnderWayAtTheStart(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	ctx := context.Background()
	inc := b.open(t, incident.P2)
	// Asked 20 minutes in: the deploy began 5 minutes before the start and
	// failed 10 minutes after it.
	failed := b.deploy("8", -10*time.Minute, "failure")
	failed.Revision = 5
	failed.Data["started_at"] = b.start().Add(-5 * time.Minute).Format(time.RFC3339)
	require.NoError(t, b.chg.RecordChange(ctx, failed))
	late := b.deploy("9", -12*time.Minute, "success")
	late.Data["started_at"] = b.start().Add(2 * time.Minute).Format(time.RFC3339)
	require.NoError(t, b.chg.RecordChange(ctx, late))
	b.clock.Advance(20 * time.Minute)

	list := b.lastList(t, inc, 0)
	it := itemOf(t, list, "deployment:acme/checkout:8")
	require.Equal(t, "failure", it.Change.Data["state"])
	require.True(t, it.Highlight, "under way at the start, begun 5 minutes before it")
	for _, it := range list.Items {
		require.NotEqual(t, "deployment:acme/checkout:9", it.Change.ExternalID, "begun after the start")
	}
}

func TestRollbackRetryKeepsTheTwoPersonRule(t *testing.T) {
	t.Parallel()
	b := setupChanges(t, func(p *incident.Policy) {
		p.TwoPersonRollback = map[string]map[incident.Severity]bool{incident.AnyEnvironment: {incident.P1: true}}
	})
	ctx := context.Background()
	d := b.deploy("1", 5*time.Minute, "success")
	b.github.list = []incident.ChangeEvent{d}
	inc := b.open(t, incident.P1)
	value := itemOf(t, b.lastList(t, inc, 0), d.ExternalID).Value
	r, err := b.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	_, err = b.rb.ApproveRollback(ctx, r.Key, "U0ROLL1")
	require.NoError(t, err)
	refused := incident.Errorf(incident.EINVALID, "The workflow is disabled.")
	b.deploys.execErrs = []error{refused}
	b.deploys.execStatus = "succeeded"
	require.Empty(t, b.queue.RunAll(t))
	r, err = b.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, incident.RollbackFailed, r.Status)
	require.Len(t, b.deploys.executions(), 1)

	// A single person's Retry does not run it: it waits for a second one.
	r, err = b.rb.RetryRollback(ctx, r.Key, "U0ROLL1")
	require.NoError(t, err)
	require.Equal(t, incident.RollbackAwaitingApproval, r.Status)
	require.Empty(t, b.queue.RunAll(t))
	require.Len(t, b.deploys.executions(), 1, "nothing runs before the approval")
	require.Contains(t, b.posts(inc), "<@U0ROLL1> asked to retry the rollback")
	_, err = b.rb.RetryRollback(ctx, r.Key, "U0ROLL1")
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	_, err = b.rb.ApproveRollback(ctx, r.Key, "U0ROLL1")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err), "the retrier cannot approve the retry")

	r, err = b.rb.ApproveRollback(ctx, r.Key, "U0DECL")
	require.NoError(t, err)
	require.Equal(t, incident.RollbackRunning, r.Status)
	require.Empty(t, b.queue.RunAll(t))
	execs := b.deploys.executions()
	require.Len(t, execs, 2)
	require.Equal(t, "deploy:"+d.ExternalID+"#retry1 by U0ROLL1", execs[1])
	r, err = b.store.GetRollback(ctx, r.Key)
	require.NoError(t, err)
	require.Equal(t, incident.RollbackSucceeded, r.Status)
	require.Equal(t, []string{"requested:U0DECL", "approval:U0DECL", "approved:U0ROLL1", "failed:github",
		"retry:U0ROLL1", "approval:U0ROLL1", "approved:U0DECL", "started:U0ROLL1", "succeeded:github"}, b.rollbackSteps(t, inc))
}

func TestDrillRollbackIsADryRunUnlessAllowed(t *testing.T) {
	t.Parallel()
	for _, allow := range []bool{false, true} {
		b := setupChanges(t, func(p *incident.Policy) { p.Drills.AllowRollback = allow })
		ctx := context.Background()
		d := b.deploy("1", 5*time.Minute, "success")
		b.github.list = []incident.ChangeEvent{d}
		inc, _, err := b.core.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P2, ServiceKey: "checkout",
			DeclaredBy: "U0DECL", Drill: true})
		require.NoError(t, err)
		require.Empty(t, b.queue.RunAll(t))
		inc, err = b.store.GetIncident(ctx, inc.ID)
		require.NoError(t, err)
		value := itemOf(t, b.lastList(t, inc, 0), d.ExternalID).Value

		r, err := b.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
		require.NoError(t, err)
		require.Empty(t, b.queue.RunDue(t, b.clock.Now()))
		r, err = b.store.GetRollback(ctx, r.Key)
		require.NoError(t, err)
		if allow {
			require.Len(t, b.deploys.executions(), 1, "the policy allows a drill's rollback")
			continue
		}
		require.Empty(t, b.deploys.executions(), "a drill's rollback changes nothing")
		require.Equal(t, incident.RollbackSucceeded, r.Status)
		require.Contains(t, r.Detail, "dry run")
		require.Contains(t, b.posts(inc), "Dry run for <@U0DECL>: this would have rolled back now: Redeploy acme/checkout")
		require.Contains(t, b.posts(inc), bot.DrillMarker)
	}
}

// A flag's name comes from the flag provider: a flag named <!channel> is
// shown literally in every line of its rollback and notifies nobody, while
// the timeline keeps the name as it is.
func TestRollbackOfAFlagNamedChannelIsShownLiterally(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	ctx := context.Background()
	f := b.flagChange("ld-evil", 4*time.Minute)
	f.Ref = "<!channel>"
	f.Data = map[string]string{"project": "default", "flag": f.Ref}
	b.flags.list = []incident.ChangeEvent{f}
	inc := b.open(t, incident.P2)
	it := itemOf(t, b.lastList(t, inc, 0), "ld-evil")
	require.Equal(t, "Turn off", it.Action)

	_, err := b.rb.RequestRollback(ctx, inc.ID, it.Value, "U0DECL")
	require.NoError(t, err)
	require.Empty(t, b.queue.RunAll(t))
	posts := b.posts(inc)
	require.Contains(t, posts, "confirmed a rollback: Turn off flag &lt;!channel&gt; in default/production.")
	require.Contains(t, posts, "Rollback of flag &lt;!channel&gt; in production succeeded")
	require.NotContains(t, posts, "<!channel>")
	events, err := b.store.ListTimeline(ctx, inc.ID)
	require.NoError(t, err)
	var steps int
	for _, ev := range events {
		if ev.Kind == incident.EventRollback {
			steps++
			require.Contains(t, ev.Text, "<!channel>", "the timeline keeps the name as named")
			require.NotContains(t, ev.Text, "&lt;")
		}
	}
	require.Equal(t, 4, steps, "requested, sent, started, succeeded")
}

// A list that cannot be posted, attempt after attempt, is said privately to
// whoever asked for it.
func TestWhatChangedTellsWhoAskedWhenTheListCannotBePosted(t *testing.T) {
	t.Parallel()
	b := setupChanges(t)
	inc := b.open(t, incident.P2)
	b.chat.Mu.Lock()
	b.chat.Fail["changes"] = 5
	b.chat.Mu.Unlock()
	require.NoError(t, b.chg.WhatChanged(context.Background(), inc.ID, 0, "U0DECL", incident.ReplyTarget{UserID: "U0DECL"}))
	require.NotEmpty(t, b.queue.RunAll(t), "the job gives up")
	require.Contains(t, b.chat.Replies, "U0DECL: I could not post the list of changes: Slack is not responding (changes)")
}

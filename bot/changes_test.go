package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/changes"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// chgRollbacker plans deploy rollbacks ("github") or flag turn-offs.
type chgRollbacker struct{ source string }

func (f chgRollbacker) Handles(c incident.ChangeEvent) bool {
	if c.Source != f.source || c.Ref == "" {
		return false
	}
	if f.source == "github" {
		return c.Kind == incident.ChangeDeploy && c.Data["repo"] != ""
	}
	return c.Kind == incident.ChangeFlag
}

func (f chgRollbacker) Plan(_ context.Context, c incident.ChangeEvent, svc incident.ServicePolicy) (incident.RollbackPlan, error) {
	if c.Kind == incident.ChangeFlag {
		return incident.RollbackPlan{Key: "flag:" + c.ExternalID, Kind: incident.ChangeFlag, Source: c.Source,
			Description: fmt.Sprintf("Turn off flag %s in default/%s (LaunchDarkly).", c.Ref, c.Environment),
			Environment: c.Environment, Method: "off", Project: "default", Flag: c.Ref}, nil
	}
	return incident.RollbackPlan{Key: "deploy:" + c.ExternalID, Kind: incident.ChangeDeploy, Source: c.Source,
		Description: "Redeploy acme/checkout to production at 0ld5afe (from bad0c0f) by running deploy.yml.",
		Repo:        "acme/checkout", Environment: c.Environment, FromRef: c.Ref, ToRef: goodSHA, Method: "workflow",
		Workflow: svc.GitHub.DeployWorkflow}, nil
}

func (chgRollbacker) Execute(_ context.Context, plan incident.RollbackPlan, _ string) (incident.RollbackRun, error) {
	return incident.RollbackRun{Plan: plan, Status: "succeeded"}, nil
}

func (chgRollbacker) Progress(_ context.Context, run incident.RollbackRun) (incident.RollbackRun, error) {
	return run, nil
}

const (
	badSHA  = "bad0c0ffee00000000000000000000000000beef"
	goodSHA = "0ld5afe0000000000000000000000000000000aa"
)

type chgFixture struct {
	srv    *slackfake.Server
	h      *Handler
	svc    *incident.Service
	chg    *changes.Service
	chat   *Chat
	store  *incidenttest.MemStore
	queue  *incidenttest.Queue
	clock  *incidenttest.Clock
	ic     slackfake.User
	roller slackfake.User
	other  slackfake.User
	group  slackfake.UserGroup
	inc    *incident.Incident
	deploy incident.ChangeEvent
	flag   incident.ChangeEvent
}

func newChgFixture(t *testing.T, sev incident.Severity, mutate ...func(*incident.Policy)) *chgFixture {
	t.Helper()
	ctx := context.Background()
	start := time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC)
	clock := incidenttest.NewClock(start)
	srv := slackfake.New(slackfake.WithClock(clock.Now), slackfake.WithTriggerTTL(time.Hour))
	t.Cleanup(srv.Close)
	f := &chgFixture{srv: srv, clock: clock, queue: incidenttest.NewQueue()}
	f.ic = srv.AddUser(slackfake.User{Name: "ic", Email: "ic@example.com"})
	f.roller = srv.AddUser(slackfake.User{Name: "roller", Email: "roller@example.com"})
	f.other = srv.AddUser(slackfake.User{Name: "other", Email: "other@example.com"})
	f.group = srv.AddUserGroup(slackfake.UserGroup{Handle: "rollbackers", Name: "Rollbackers", Users: []string{f.roller.ID}})
	owners := srv.AddUserGroup(slackfake.UserGroup{Handle: "checkout-owners", Name: "Checkout owners", Users: []string{f.ic.ID}})

	policy := incident.DefaultPolicy()
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout", Owners: []string{owners.ID},
		GitHub: incident.GitHubService{Repos: []string{"acme/checkout"}, DeployWorkflow: "deploy.yml", Rollback: "workflow"},
		Flags:  []incident.FlagRef{{Provider: "launchdarkly", Key: "new-checkout", Environment: "production"}}}}
	policy.RollbackGroup = f.group.ID
	for _, m := range mutate {
		m(&policy)
	}
	api := slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL()))
	f.store = incidenttest.NewMemStore(clock)
	f.store.SetScheduler(f.queue)
	f.chat = NewChat(api, policy, WithChatClock(clock))
	f.svc = incident.NewService(incident.ServiceConfig{Store: f.store, Scheduler: f.queue, Policy: policy, Clock: clock, Chat: f.chat.Roles()})
	f.svc.RegisterJobs(f.queue)
	f.chg = changes.New(changes.Config{Store: f.store, Core: f.svc, Chat: f.chat, Scheduler: f.queue, Policy: policy, Clock: clock,
		Rollbackers: []incident.Rollbacker{chgRollbacker{source: "github"}, chgRollbacker{source: "launchdarkly"}}})
	f.chg.RegisterJobs(f.queue)
	f.svc.Use(f.chg.Feature())
	f.h = New(withService(Config{Slack: api, Scheduler: f.queue, Replays: f.store, Clock: clock, Changes: f.chg, Rollbacks: f.chg.Rollbacks()},
		f.svc, f.store, f.chat))

	inc, _, err := f.svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: sev, ServiceKey: "checkout", DeclaredBy: f.ic.ID})
	require.NoError(t, err)
	f.queue.Run(t, incident.JobSetup)
	f.inc, err = f.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, f.inc.ChannelID)
	srv.AddMember(f.inc.ChannelID, f.other.ID)
	srv.AddMember(f.inc.ChannelID, f.roller.ID)

	f.deploy = incident.ChangeEvent{Source: "github", ExternalID: "deployment:acme/checkout:7", Kind: incident.ChangeDeploy,
		Summary: "Deploy acme/checkout@bad0c0f to production (success)", Environment: "production", Ref: badSHA,
		OccurredAt: start.Add(-8 * time.Minute), Data: map[string]string{"repo": "acme/checkout", "deployment_id": "7", "state": "success"}}
	f.flag = incident.ChangeEvent{Source: "launchdarkly", ExternalID: "ld-1", Kind: incident.ChangeFlag, Summary: "Turned on new-checkout",
		Environment: "production", Ref: "new-checkout", OccurredAt: start.Add(-3 * time.Minute), Data: map[string]string{"project": "default"}}
	require.NoError(t, f.chg.RecordChange(ctx, f.deploy))
	require.NoError(t, f.chg.RecordChange(ctx, f.flag))
	return f
}

// click sends a block action from the incident channel.
// changes is the handlers of changes and rollbacks, over the fixture's
// services.
func (f *chgFixture) changes() *changeHandlers {
	return &changeHandlers{kit: f.h.kit, changes: f.chg, rollbacks: f.chg.Rollbacks(), notes: f.h.cfg.Capture}
}

func (f *chgFixture) click(user slackfake.User, actionID, value string) {
	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, TriggerID: f.srv.NewTriggerIDFor(user.ID, "", 0),
		User: slack.User{ID: user.ID}}
	cb.Channel.ID = f.inc.ChannelID
	cb.ActionCallback.BlockActions = []*slack.BlockAction{{ActionID: actionID, Value: value}}
	f.h.Interaction(context.Background(), cb)
}

// submit submits a view as user with a reason.
func (f *chgFixture) submit(user slackfake.User, v slackfake.View, reason string) any {
	cb := slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: user.ID},
		View: slack.View{ID: v.ID, CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, State: &slack.ViewState{
			Values: map[string]map[string]slack.BlockAction{blockRollbackReason: {blockRollbackReason: {Value: reason}}}}}}
	return f.h.Interaction(context.Background(), cb)
}

func (f *chgFixture) ephemerals() string {
	var out []string
	for _, e := range f.srv.Ephemerals(f.inc.ChannelID) {
		out = append(out, e.User+": "+e.Text)
	}
	return strings.Join(out, "\n")
}

func (f *chgFixture) rollbacks(t *testing.T) []incident.Rollback {
	t.Helper()
	rbs, err := f.store.ListRollbacks(context.Background(), f.inc.ID)
	require.NoError(t, err)
	return rbs
}

// openModal clicks Roll back as user and returns the one modal opened.
func (f *chgFixture) openModal(t *testing.T, user slackfake.User, c incident.ChangeEvent) slackfake.View {
	t.Helper()
	before := len(f.srv.Views())
	f.click(user, incident.ActionRollback, changes.ChangeValue(c))
	views := f.srv.Views()
	require.Len(t, views, before+1, "ephemerals: %s", f.ephemerals())
	return views[len(views)-1]
}

func TestWhatChangedButtonSchedulesTheList(t *testing.T) {
	t.Parallel()
	f := newChgFixture(t, incident.P2)
	before := f.queue.Pending(changes.JobChanges)
	f.click(f.ic, ActionWhatChanged, fmt.Sprint(f.inc.ID))
	require.Equal(t, before+1, f.queue.Pending(changes.JobChanges))
	require.Empty(t, f.ephemerals())

	f.click(f.ic, ActionWhatChanged, "not-a-number")
	require.Contains(t, f.ephemerals(), "The button does not name an incident.")
}

func TestRollbackModalSaysWhatWillHappen(t *testing.T) {
	t.Parallel()
	f := newChgFixture(t, incident.P2)

	v := f.openModal(t, f.ic, f.deploy)
	require.Equal(t, ViewRollback, v.CallbackID)
	body := string(v.JSON)
	for _, want := range []string{
		"Redeploy acme/checkout to production at 0ld5afe (from bad0c0f) by running deploy.yml.",
		"*Repository*\\n`acme/checkout`", "*Environment*\\n`production`",
		"*From (now deployed)*\\n`" + badSHA + "`", "*To (last good deploy)*\\n`" + goodSHA + "`",
		"Run the `deploy.yml` workflow",
		"may confirm.", "or members of \\u003c!subteam^" + f.group.ID + "\\u003e",
	} {
		require.Contains(t, body, want)
	}
	require.Equal(t, "Roll back", submitText(t, v))
	// The metadata is sealed to the form and to the person it was opened for.
	cb := slack.InteractionCallback{User: slack.User{ID: f.ic.ID}, View: slack.View{CallbackID: ViewRollback, PrivateMetadata: v.PrivateMetadata}}
	require.NoError(t, f.h.kit.seals.unseal(&cb))
	var meta rollbackMeta
	require.NoError(t, json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta))
	require.Equal(t, rollbackMeta{IncidentID: f.inc.ID, Value: changes.ChangeValue(f.deploy)}, meta)
	other := slack.InteractionCallback{User: slack.User{ID: f.roller.ID}, View: slack.View{CallbackID: ViewRollback, PrivateMetadata: v.PrivateMetadata}}
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(f.h.kit.seals.unseal(&other)), "not for someone else")
	elsewhere := slack.InteractionCallback{User: slack.User{ID: f.ic.ID}, View: slack.View{CallbackID: ViewUpdate, PrivateMetadata: v.PrivateMetadata}}
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(f.h.kit.seals.unseal(&elsewhere)), "not in another form")

	// A member of the rollback group sees the flag's form.
	v = f.openModal(t, f.roller, f.flag)
	body = string(v.JSON)
	require.Contains(t, body, "Turn off flag new-checkout in default/production (LaunchDarkly).")
	require.Contains(t, body, "*Flag*\\n`new-checkout`")
	require.Contains(t, body, "*Provider*\\nLaunchDarkly")
	require.Equal(t, "Turn off", submitText(t, v))
	require.Empty(t, f.rollbacks(t), "opening the form changes nothing")
}

func TestRollbackRefusedBeforeTheForm(t *testing.T) {
	t.Parallel()
	f := newChgFixture(t, incident.P2)
	f.click(f.other, incident.ActionRollback, changes.ChangeValue(f.deploy))
	require.Empty(t, f.srv.Views(), "no form for someone who may not roll back")
	require.Contains(t, f.ephemerals(), f.other.ID+": You may not roll back this change: rollbacks of checkout in production belong to its owners and the rollback group")
	require.Empty(t, f.rollbacks(t))
}

func TestRollbackSubmitRequestsOnce(t *testing.T) {
	t.Parallel()
	f := newChgFixture(t, incident.P2)
	v := f.openModal(t, f.ic, f.deploy)
	require.Nil(t, f.submit(f.ic, v, "  error rate doubled after the deploy "), "the form closes")
	rbs := f.rollbacks(t)
	require.Len(t, rbs, 1)
	require.Equal(t, incident.RollbackRunning, rbs[0].Status)
	require.Equal(t, f.ic.ID, rbs[0].RequestedBy)
	require.Equal(t, 1, f.queue.Pending(changes.JobRollback))

	events, err := f.store.ListTimeline(context.Background(), f.inc.ID)
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(events, func(ev incident.TimelineEvent) bool {
		return ev.Kind == incident.EventNote && ev.Text == "Rollback reason: error rate doubled after the deploy" && ev.Actor == f.ic.ID
	}), "the reason goes on the timeline")

	// Someone else submitting this form is refused: it was opened for the IC.
	require.Nil(t, f.submit(f.roller, v, ""))
	require.Len(t, f.rollbacks(t), 1)

	// A second submit (a double click, or a second person's own form) is told why.
	resp := f.submit(f.ic, v, "")
	sub, ok := resp.(*slack.ViewSubmissionResponse)
	require.True(t, ok, "%#v", resp)
	require.Equal(t, slack.RAErrors, sub.ResponseAction)
	require.Contains(t, sub.Errors[blockRollbackReason], "This rollback was already requested by @"+f.ic.Name+" ", "a field error is plain text: the person by name")
	require.Len(t, f.rollbacks(t), 1)
	require.Equal(t, 1, f.queue.Pending(changes.JobRollback))

	resp = f.submit(f.ic, slackfake.View{CallbackID: ViewRollback, PrivateMetadata: "{}"}, "")
	require.Nil(t, resp, "a form without a change is refused, not crashed on")
}

func TestRollbackApproveButton(t *testing.T) {
	t.Parallel()
	f := newChgFixture(t, incident.P1, func(p *incident.Policy) {
		p.TwoPersonRollback = map[string]map[incident.Severity]bool{incident.AnyEnvironment: {incident.P1: true}}
	})
	v := f.openModal(t, f.ic, f.deploy)
	require.Contains(t, string(v.JSON), "needs a second person's approval before anything runs")
	require.Nil(t, f.submit(f.ic, v, ""))
	rbs := f.rollbacks(t)
	require.Len(t, rbs, 1)
	require.Equal(t, incident.RollbackAwaitingApproval, rbs[0].Status)

	f.click(f.ic, incident.ActionApproveRol, rbs[0].Key)
	require.Contains(t, f.ephemerals(), f.ic.ID+": You may not roll back this change: a second person must approve, and you requested this rollback")
	f.click(f.other, incident.ActionApproveRol, rbs[0].Key)
	require.Contains(t, f.ephemerals(), f.other.ID+": You may not roll back")
	require.Equal(t, incident.RollbackAwaitingApproval, f.rollbacks(t)[0].Status)

	f.click(f.roller, incident.ActionApproveRol, rbs[0].Key)
	r := f.rollbacks(t)[0]
	require.Equal(t, incident.RollbackRunning, r.Status)
	require.Equal(t, f.roller.ID, r.ApprovedBy)
}

func TestRollbackRetryButton(t *testing.T) {
	t.Parallel()
	f := newChgFixture(t, incident.P2)
	ctx := context.Background()
	plan, err := f.chg.Rollbacks().PlanRollback(ctx, f.inc.ID, changes.ChangeValue(f.flag), f.ic.ID)
	require.NoError(t, err)
	require.NoError(t, f.store.AddRollback(ctx, &incident.Rollback{IncidentID: f.inc.ID, Key: plan.Key, Plan: plan,
		Status: incident.RollbackFailed, RequestedBy: f.ic.ID, Detail: "LaunchDarkly is not responding."}))

	f.click(f.other, incident.ActionRetryRoll, plan.Key)
	require.Contains(t, f.ephemerals(), f.other.ID+": You may not roll back")
	require.Equal(t, incident.RollbackFailed, f.rollbacks(t)[0].Status)

	f.click(f.roller, incident.ActionRetryRoll, plan.Key)
	require.Equal(t, incident.RollbackRunning, f.rollbacks(t)[0].Status)
	require.Equal(t, 1, f.queue.Pending(changes.JobRollback))
	f.click(f.roller, incident.ActionRetryRoll, plan.Key)
	require.Contains(t, f.ephemerals(), f.roller.ID+": There is nothing to retry: the rollback is running.")
}

func TestChangesCommand(t *testing.T) {
	t.Parallel()
	f := newChgFixture(t, incident.P2)
	ctx := context.Background()
	cmd := func(args string) Invocation {
		return Invocation{Sub: "changes", Args: args, Cmd: slack.SlashCommand{ChannelID: f.inc.ChannelID, UserID: f.ic.ID}}
	}
	for _, tc := range []struct {
		args, want, code string
	}{
		{"", "the 1 h before " + f.inc.Key() + " started", ""},
		{"90m", "the 1 h 30 min before", ""},
		{"2H", "the 2 h before", ""},
		{"1d", "the 24 h before", ""},
		{"soon", `"soon" is not a time span: say how far back to look, from 1 minute to 48 hours, such as 90m, 2h or 1d.`, incident.EINVALID},
		{"-2h", "is not a time span", incident.EINVALID},
		{"3d", "3d is too far back: look at most 48 hours before the start.", incident.EINVALID},
		{"213504d", "213504d is too far back", incident.EINVALID},
		{"30s", "30s is too short: look at least 1 minute before the start.", incident.EINVALID},
	} {
		f.clock.Advance(5 * time.Second) // each a request of its own
		reply, err := f.changes().changesCommand(ctx, cmd(tc.args))
		if tc.code != "" {
			require.Equal(t, tc.code, incident.ErrorCode(err), tc.args)
			require.Contains(t, incident.ErrorMessage(err), tc.want, tc.args)
			continue
		}
		require.NoError(t, err, tc.args)
		require.Equal(t, slack.ResponseTypeEphemeral, reply.ResponseType)
		require.Contains(t, reply.Text, tc.want, tc.args)
	}
	require.Equal(t, 4, f.queue.Pending(changes.JobChanges)-countDeclareLists(f))

	elsewhere := cmd("")
	elsewhere.Cmd.ChannelID = "CRANDOM"
	_, err := f.changes().changesCommand(ctx, elsewhere)
	require.Equal(t, incident.ENOTFOUND, incident.ErrorCode(err))
}

// countDeclareLists counts the list scheduled at declare, which exists once
// Declare plans it.
func countDeclareLists(f *chgFixture) int {
	n := 0
	for _, j := range f.queue.Jobs() {
		if j.Kind == changes.JobChanges && strings.Contains(string(j.Payload), `"auto":true`) {
			n++
		}
	}
	return n
}

func submitText(t *testing.T, v slackfake.View) string {
	t.Helper()
	var view struct {
		Submit struct {
			Text string `json:"text"`
		} `json:"submit"`
	}
	require.NoError(t, json.Unmarshal(v.JSON, &view))
	return view.Submit.Text
}

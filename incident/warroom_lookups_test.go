package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// setupRun is a declare from #general against the fake Slack, its setup
// job taken from the queue so that a test runs each attempt itself.
type setupRun struct {
	srv     *slackfake.Server
	store   *incidenttest.MemStore
	clock   *incidenttest.Clock
	inc     *incident.Incident
	job     incident.Job
	run     incident.JobHandler
	decl    slackfake.User
	general slackfake.Channel
	svc     *incident.Service
	queue   *incidenttest.Queue
}

// newSetupRun declares a P1 titled "checkout is down" by dana, after
// arrange has shaped the policy and Slack.
func newSetupRun(t *testing.T, private bool, arrange func(*incident.Policy, *slackfake.Server)) setupRun {
	t.Helper()
	now := time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC)
	clock := incidenttest.NewClock(now)
	srv := slackfake.New(slackfake.WithClock(clock.Now))
	t.Cleanup(srv.Close)
	decl := srv.AddUser(slackfake.User{Name: "dana", Email: "dana@example.com"})
	general := srv.AddChannel(slackfake.Channel{Name: "general", Members: []string{srv.BotUserID(), decl.ID}})
	store := incidenttest.NewMemStore(clock)
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	policy := incident.DefaultPolicy()
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout"}}
	if arrange != nil {
		arrange(&policy, srv)
	}
	chat := bot.NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), policy, bot.WithChatClock(clock))
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: chat.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	inc, _, err := svc.Declare(context.Background(), incident.DeclareInput{Title: "checkout is down", Severity: incident.P1,
		DeclaredBy: decl.ID, Commander: decl.ID, Private: private, ServiceKey: "checkout",
		ReplyTo: incident.ReplyTarget{UserID: decl.ID, ChannelID: general.ID}})
	require.NoError(t, err)
	job, ok := q.Take(incident.JobSetup)
	require.True(t, ok)
	return setupRun{srv: srv, store: store, clock: clock, inc: inc, job: job, run: q.Handler(incident.JobSetup), decl: decl, general: general,
		svc: svc, queue: q}
}

// attempt runs attempt n of the setup job.
func (s setupRun) attempt(n int) error {
	return s.run(incident.WithJobAttempt(context.Background(), n, s.job.MaxAttempts), s.job.Payload)
}

// told is what the declarer was told in the channel they declared from.
func (s setupRun) told() []string {
	var out []string
	for _, e := range s.srv.Ephemerals(s.general.ID) {
		if e.User == s.decl.ID {
			out = append(out, e.Text)
		}
	}
	return out
}

// incident reads the incident as stored now.
func (s setupRun) incident(t *testing.T) *incident.Incident {
	t.Helper()
	inc, err := s.store.GetIncident(context.Background(), s.inc.ID)
	require.NoError(t, err)
	return inc
}

// TestWarRoomInvitesEveryoneResolvedWhenAGroupLookupFails: the P1 severity
// invites a user group whose members Slack will not list (missing_scope).
// One failed lookup dropped the whole list: the private channel held only
// the bot, not the declarer and IC, for an hour of retries. Now everyone
// resolved is invited at once (the declarer first), the declarer hears which
// lookup failed and why, and once the lookup works the retry brings in the
// group's members without a second round of invitations for the others.
func TestWarRoomInvitesEveryoneResolvedWhenAGroupLookupFails(t *testing.T) {
	t.Parallel()
	var head, pat, sam slackfake.User
	var group slackfake.UserGroup
	s := newSetupRun(t, true, func(p *incident.Policy, srv *slackfake.Server) {
		head = srv.AddUser(slackfake.User{Name: "head", Email: "head@example.com"})
		pat = srv.AddUser(slackfake.User{Name: "pat", Email: "pat@example.com"})
		sam = srv.AddUser(slackfake.User{Name: "sam", Email: "sam@example.com"})
		group = srv.AddUserGroup(slackfake.UserGroup{Handle: "sre", Name: "SRE", Users: []string{head.ID}})
		p.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout",
			Responders: []string{pat.ID, "sam@example.com"}}}
		sp := p.Severities[incident.P1]
		sp.Invite = []string{group.ID}
		p.Severities[incident.P1] = sp
	})
	scopeMissing := true
	s.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if c.Method == "usergroups.users.list" && scopeMissing {
			return slackfake.SlackError("missing_scope")
		}
		return nil
	})

	require.Error(t, s.attempt(1), "the step is retried for the group")
	inc := s.incident(t)
	ch, ok := s.srv.Channel(inc.ChannelID)
	require.True(t, ok)
	require.Subset(t, ch.Members, []string{s.decl.ID, pat.ID, sam.ID}, "everyone resolved is in the war room")
	require.NotContains(t, ch.Members, head.ID)
	invites := s.srv.CallsTo("conversations.invite")
	require.NotEmpty(t, invites)
	require.True(t, strings.HasPrefix(invites[0].Args.Get("users"), s.decl.ID), "the declarer and IC come first: %q", invites[0].Args.Get("users"))

	told := s.told()
	require.Len(t, told, 2)
	require.Equal(t, inc.Key()+" is open: <#"+inc.ChannelID+">", told[0], "the declarer, in the channel, is told where it is")
	require.Contains(t, told[1], "user group "+group.ID, "the declarer hears which lookup failed")
	require.Contains(t, told[1], "lacks a permission", "and why")
	require.Contains(t, told[1], "keep trying")

	require.Error(t, s.attempt(2))
	require.Len(t, s.told(), 2, "the refusal is said once")

	scopeMissing = false
	before := len(s.srv.CallsTo("conversations.invite"))
	require.NoError(t, s.attempt(3))
	ch, _ = s.srv.Channel(inc.ChannelID)
	require.Contains(t, ch.Members, head.ID, "the group's members join once the lookup works")
	retried := s.srv.CallsTo("conversations.invite")[before:]
	require.Len(t, retried, 1, "one call invites the rest")
	require.Equal(t, head.ID, retried[0].Args.Get("users"), "those invited before are not invited again")
	require.Len(t, s.told(), 2, "the declarer was told where the channel is once")
	for _, m := range s.srv.Messages(inc.ChannelID) {
		require.NotContains(t, m.Text, "Not every responder", "nobody is missing")
	}
}

// TestSetupWithNoFreeChannelNameTellsTheDeclarer: every name the incident's
// channel may take is taken. The setup gave up without a word: the
// declarer saw "opening the incident channel" and then nothing. Now they
// hear that no channel name was free and what to do.
func TestSetupWithNoFreeChannelNameTellsTheDeclarer(t *testing.T) {
	t.Parallel()
	s := newSetupRun(t, false, nil)
	s.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if c.Method == "conversations.create" {
			return slackfake.SlackError("name_taken")
		}
		return nil
	})
	err := s.attempt(1)
	require.ErrorIs(t, err, incident.ErrJobCancel, "no retry finds a free name")
	told := s.told()
	require.Len(t, told, 1, "the declarer hears it")
	require.Contains(t, told[0], s.inc.Key()+" was declared and is recorded, but I could not create the incident channel")
	require.Contains(t, told[0], "#inc-2026-08-07-checkout-is-down")
	require.Contains(t, told[0], "Archive or rename")
	require.Contains(t, told[0], "another title")
}

// TestBookmarkWithoutSchemeIsSaidAsAConfigurationProblem: a runbook link
// without http:// made Slack answer invalid_link, which the declarer heard
// as "a bug in the bot", and without a link to the channel, which was open
// all along. Now they hear which link to fix, and where the channel is.
func TestBookmarkWithoutSchemeIsSaidAsAConfigurationProblem(t *testing.T) {
	t.Parallel()
	s := newSetupRun(t, false, func(p *incident.Policy, _ *slackfake.Server) {
		p.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout", Runbook: "wiki.acme.com/checkout"}}
	})
	require.Error(t, s.attempt(1))
	inc := s.incident(t)
	require.NotEmpty(t, inc.ChannelID)
	told := s.told()
	require.Len(t, told, 2)
	require.Equal(t, inc.Key()+" is open: <#"+inc.ChannelID+">", told[0], "the declarer can go to the open channel")
	require.Contains(t, told[1], "wiki.acme.com/checkout", "the link to fix is named")
	require.Contains(t, told[1], "http://")
	require.Contains(t, told[1], "policy")
	require.NotContains(t, told[1], "bug in the bot")

	require.Error(t, s.attempt(2))
	require.Len(t, s.told(), 2, "neither is said again")
}

// TestSeverityChangeInvitesEveryoneResolvedWhenAGroupLookupFails: the
// people a severity change invites are looked up one by one as the war
// room's are: a user group Slack will not list keeps out only its members,
// the others join at once, and the step fails so that it is retried.
func TestSeverityChangeInvitesEveryoneResolvedWhenAGroupLookupFails(t *testing.T) {
	t.Parallel()
	var head, pat slackfake.User
	var group slackfake.UserGroup
	s := newSetupRun(t, false, func(p *incident.Policy, srv *slackfake.Server) {
		head = srv.AddUser(slackfake.User{Name: "head", Email: "head@example.com"})
		pat = srv.AddUser(slackfake.User{Name: "pat", Email: "pat@example.com"})
		group = srv.AddUserGroup(slackfake.UserGroup{Handle: "sre", Name: "SRE", Users: []string{head.ID}})
		sp := p.Severities[incident.P2]
		sp.Invite = []string{group.ID, pat.ID}
		p.Severities[incident.P2] = sp
	})
	require.NoError(t, s.attempt(1))
	scopeMissing := true
	s.srv.OnCall(func(c slackfake.Call) *slackfake.Fault {
		if c.Method == "usergroups.users.list" && scopeMissing {
			return slackfake.SlackError("missing_scope")
		}
		return nil
	})
	_, err := s.svc.SetSeverity(context.Background(), s.inc.ID, incident.P2, s.decl.ID)
	require.NoError(t, err)
	require.NotEmpty(t, s.queue.RunDue(t, s.clock.Now()), "the change's sync fails, so the job engine retries it for the group")
	inc := s.incident(t)
	ch, ok := s.srv.Channel(inc.ChannelID)
	require.True(t, ok)
	require.Contains(t, ch.Members, pat.ID, "the people resolved join though the group's lookup failed")
	require.NotContains(t, ch.Members, head.ID)
}

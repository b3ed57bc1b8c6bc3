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

// notInvitedPosts returns the posts of a channel that say who is missing.
func notInvitedPosts(c *incidenttest.Chat, ch string) []string {
	c.Mu.Lock()
	defer c.Mu.Unlock()
	var out []string
	for _, p := range c.Posts[ch] {
		if strings.Contains(p, "Not every responder is in this channel") {
			out = append(out, p)
		}
	}
	return out
}

// TestWarRoomSaysWhoWasNotInvited: a responder Slack refused to invite (a
// guest) and a responder that matches nobody (an e-mail without a Slack
// account) were only logged, and the IC took on-call for present. The war
// room says, once, who is not in it and why, even when the setup is
// retried for another step; everyone else is invited.
func TestWarRoomSaysWhoWasNotInvited(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) {
		svc := p.Services["checkout"]
		svc.Responders = append(svc.Responders, "gone@example.com")
		p.Services["checkout"] = svc
	})
	b.chat.RefuseInvite = map[string]string{"U0DAVE": "user_is_restricted"}
	b.chat.Fail["pin"] = 1 // the first attempt fails on another step

	inc := declare(t, b, "checkout is down", incident.P1, "")
	b.queue.RunAll(t)
	inc, err := b.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, inc.ChannelID)
	require.Zero(t, b.chat.Fail["pin"], "the setup was retried")

	said := notInvitedPosts(b.chat, inc.ChannelID)
	require.Len(t, said, 1, "said once, however often the setup runs")
	require.Contains(t, said[0], "<@U0DAVE> (a guest, whom only a workspace admin can add to a channel, user_is_restricted)")
	require.Contains(t, said[0], "Nobody in Slack matches gone@example.com")
	require.NotContains(t, said[0], "U0CAROL")
	b.chat.Mu.Lock()
	defer b.chat.Mu.Unlock()
	require.Subset(t, b.chat.Members[inc.ChannelID], []string{"U0ALICE", "U0CAROL", "U0BOB", "U0DECL"})
	require.NotContains(t, b.chat.Members[inc.ChannelID], "U0DAVE")
}

// TestWarRoomSaysWhoWasNotInvitedWhenThePostFailed: the line that says who
// is missing is part of the invite step: when Slack fails to take it, the
// step is tried again and the line said then, once.
func TestWarRoomSaysWhoWasNotInvitedWhenThePostFailed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.chat.RefuseInvite = map[string]string{"U0BOB": "user_disabled"}
	b.chat.Fail["post"] = 1 // Slack fails the line once
	inc := declare(t, b, "checkout is down", incident.P1, "")
	require.Empty(t, b.queue.RunAll(t))
	require.Zero(t, b.chat.Fail["post"], "the line failed once")
	inc, err := b.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	said := notInvitedPosts(b.chat, inc.ChannelID)
	require.Len(t, said, 1)
	require.Contains(t, said[0], "<@U0BOB> (a deactivated account, user_disabled)")
}

// TestWarRoomSaysWhomSlackRefused is the same through Slack itself (the
// fake, at the HTTP level): a guest and a single-channel guest already in
// their channel among the service's responders, with an e-mail address
// nobody has, are named in the war room with Slack's reasons, once; the
// other responders are in it.
func TestWarRoomSaysWhomSlackRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC)
	clock := incidenttest.NewClock(now)
	srv := slackfake.New(slackfake.WithClock(clock.Now))
	t.Cleanup(srv.Close)
	decl := srv.AddUser(slackfake.User{Name: "dana", Email: "dana@example.com"})
	kim := srv.AddUser(slackfake.User{Name: "kim", Email: "kim@example.com"})
	guest := srv.AddUser(slackfake.User{Name: "contractor", Email: "contractor@example.com", Guest: true})
	single := srv.AddUser(slackfake.User{Name: "auditor", Email: "auditor@example.com", SingleChannelGuest: true})
	srv.AddChannel(slackfake.Channel{Name: "audit", Members: []string{single.ID}})
	general := srv.AddChannel(slackfake.Channel{Name: "general", Members: []string{srv.BotUserID(), decl.ID}})

	store := incidenttest.NewMemStore(clock)
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	policy := incident.DefaultPolicy()
	policy.Services = map[string]incident.ServicePolicy{"checkout": {Key: "checkout", Name: "Checkout",
		Responders: []string{kim.ID, guest.ID, single.ID, "gone@example.com"}}}
	chat := bot.NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), policy, bot.WithChatClock(clock))
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: chat.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	inc, _, err := svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P1, ServiceKey: "checkout",
		DeclaredBy: decl.ID, ReplyTo: incident.ReplyTarget{UserID: decl.ID, ChannelID: general.ID}})
	require.NoError(t, err)
	job, ok := q.Take(incident.JobSetup)
	require.True(t, ok)
	run := q.Handler(incident.JobSetup)
	require.NoError(t, run(incident.WithJobRun(ctx, 42, 1, 8), job.Payload))
	require.NoError(t, run(incident.WithJobRun(ctx, 42, 2, 8), job.Payload), "a setup run again")

	inc, err = store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	room, ok := srv.Channel(inc.ChannelID)
	require.True(t, ok)
	require.Subset(t, room.Members, []string{decl.ID, kim.ID})
	require.NotContains(t, room.Members, guest.ID)
	var said []string
	for _, m := range srv.Messages(inc.ChannelID) {
		if strings.Contains(m.Text, "Not every responder is in this channel") {
			said = append(said, m.Text)
		}
	}
	require.Len(t, said, 1, "said once")
	require.Contains(t, said[0], "<@"+guest.ID+"> (a guest, whom only a workspace admin can add to a channel, user_is_restricted)")
	require.Contains(t, said[0], "<@"+single.ID+"> (a single-channel guest already in their one channel, ura_max_channels)")
	require.Contains(t, said[0], "Nobody in Slack matches gone@example.com")
	require.NotContains(t, said[0], kim.ID)
}

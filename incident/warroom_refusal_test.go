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

// refusedSetup is a declare whose war room Slack refuses to announce: an
// install without channels:join, whose bot is not a member of the broadcast
// channel. It returns the setup job, its handler, and what the declarer was
// told in the channel they declared from.
type refusedSetup struct {
	srv       *slackfake.Server
	inc       *incident.Incident
	job       incident.Job
	run       incident.JobHandler
	broadcast slackfake.Channel
	told      func() []string
	channel   func() string
}

func newRefusedSetup(t *testing.T) refusedSetup {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 8, 7, 14, 23, 0, 0, time.UTC)
	// An install without channels:join: the bot cannot join the broadcast
	// channel itself (with it, a retry joins the public channel and
	// announces there).
	srv := slackfake.New(slackfake.WithClock(func() time.Time { return now }), slackfake.WithoutScope("channels:join"))
	t.Cleanup(srv.Close)
	decl := srv.AddUser(slackfake.User{Name: "dana", Email: "dana@example.com"})
	general := srv.AddChannel(slackfake.Channel{Name: "general", Members: []string{srv.BotUserID(), decl.ID}})
	broadcast := srv.AddChannel(slackfake.Channel{Name: "incidents", Members: []string{decl.ID}})

	clock := incidenttest.NewClock(now)
	store := incidenttest.NewMemStore(clock)
	q := incidenttest.NewQueue()
	store.SetScheduler(q)
	policy := incident.DefaultPolicy()
	policy.BroadcastChannel = "#incidents"
	chat := bot.NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), policy, bot.WithChatClock(clock))
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: chat.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)

	inc, _, err := svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P1, DeclaredBy: decl.ID,
		ReplyTo: incident.ReplyTarget{UserID: decl.ID, ChannelID: general.ID}})
	require.NoError(t, err)
	job, ok := q.Take(incident.JobSetup)
	require.True(t, ok)
	told := func() []string {
		var out []string
		for _, e := range srv.Ephemerals(general.ID) {
			if e.User == decl.ID {
				out = append(out, e.Text)
			}
		}
		return out
	}
	channel := func() string {
		now, err := store.GetIncident(ctx, inc.ID)
		require.NoError(t, err)
		return now.ChannelID
	}
	return refusedSetup{srv: srv, inc: inc, job: job, run: q.Handler(incident.JobSetup), broadcast: broadcast, told: told, channel: channel}
}

// TestSetupRefusedBySlackTellsTheDeclarerAtOnce: Slack refuses a step of
// the war room for a reason a retry does not change (the bot is not a
// member of the broadcast channel, so chat.postMessage answers
// not_in_channel). The declarer hears, after the first attempt, what is
// missing and why, instead of nothing until the last attempt an hour
// later; a later attempt refused the same way does not say it again, and
// once the bot is invited the announcement goes out.
func TestSetupRefusedBySlackTellsTheDeclarerAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newRefusedSetup(t)
	srv, inc, job, run, broadcast, told := f.srv, f.inc, f.job, f.run, f.broadcast, f.told

	require.Error(t, run(incident.WithJobAttempt(ctx, 1, job.MaxAttempts), job.Payload))
	require.Len(t, told(), 2, "the declarer hears where the channel is, and of the refusal, after the first attempt")
	require.Equal(t, inc.Key()+" is open: <#"+f.channel()+">", told()[0])
	said := told()[1]
	require.Contains(t, said, inc.Key()+" was declared and is recorded, but I could not announce the incident in the broadcast channel")
	require.Contains(t, said, "the bot is not a member of the channel")
	require.Contains(t, said, "keep trying")
	require.NotContains(t, said, "create the incident channel", "what was done is not listed as missing")

	require.Error(t, run(incident.WithJobAttempt(ctx, 2, job.MaxAttempts), job.Payload))
	require.Len(t, told(), 2, "a second refusal is not said again")

	require.True(t, srv.AddMember(broadcast.ID, srv.BotUserID()))
	require.NoError(t, run(incident.WithJobAttempt(ctx, 3, job.MaxAttempts), job.Payload))
	require.Len(t, srv.Messages(broadcast.ID), 1, "announced once the bot is a member")
	last := told()[len(told())-1]
	require.True(t, strings.Contains(last, "is open") || strings.Contains(last, inc.Key()), "the declarer hears the incident is open: %q", last)
}

// TestSetupRefusalReportRateLimitedIsMadeByTheNextAttempt: Slack refuses a
// step for good and then rate-limits the report of it, so the first attempt
// cannot tell the declarer. The engine counts the postponed run as the
// next attempt; that attempt makes the report, and later ones do not make
// it again.
func TestSetupRefusalReportRateLimitedIsMadeByTheNextAttempt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newRefusedSetup(t)
	srv, inc, job, run := f.srv, f.inc, f.job, f.run
	told := func() []string {
		var out []string
		for _, text := range f.told() {
			if strings.Contains(text, "keep trying") {
				out = append(out, text)
			}
		}
		return out
	}

	// Slack takes neither where the channel is nor the refusal.
	srv.RateLimitNext("chat.postEphemeral", 2, 30*time.Second)
	err := run(incident.WithJobAttempt(ctx, 1, job.MaxAttempts), job.Payload)
	require.Error(t, err)
	var ra interface{ RetryAfter() time.Duration }
	require.ErrorAs(t, err, &ra, "the job waits out Slack's limit")
	require.Empty(t, told(), "Slack did not take the report")

	require.Error(t, run(incident.WithJobAttempt(ctx, 2, job.MaxAttempts), job.Payload))
	require.Len(t, told(), 1, "the next attempt makes the report")
	require.Contains(t, told()[0], inc.Key()+" was declared and is recorded, but I could not announce the incident in the broadcast channel")

	require.Error(t, run(incident.WithJobAttempt(ctx, 3, job.MaxAttempts), job.Payload))
	require.Len(t, told(), 1, "and no later one makes it again")
}

package incident_test

import (
	"context"
	"net/http"
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

// TestSetupFailingPastAMinuteTellsTheDeclarerOnce: Slack answers 500 to
// conversations.create for a while. The first attempts, within a minute of
// the declare, say nothing (a blip passes unnoticed); the first failed
// attempt after that tells the declarer, once, that the channel does not
// exist yet, why, and that the bot keeps trying; once Slack answers, the
// war room opens and the declarer hears it is ready.
func TestSetupFailingPastAMinuteTellsTheDeclarerOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
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
	chat := bot.NewChat(slack.New(srv.BotToken(), slack.OptionAPIURL(srv.URL())), policy, bot.WithChatClock(clock))
	svc := incident.NewService(incident.ServiceConfig{Store: store, Scheduler: q, Chat: chat.Roles(), Policy: policy, Clock: clock})
	svc.RegisterJobs(q)
	inc, _, err := svc.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P1, DeclaredBy: decl.ID,
		ReplyTo: incident.ReplyTarget{UserID: decl.ID, ChannelID: general.ID}})
	require.NoError(t, err)
	job, ok := q.Take(incident.JobSetup)
	require.True(t, ok)
	run := q.Handler(incident.JobSetup)
	// The engine gives the capped setup job more attempts than it asked
	// for; the handler sees their count.
	const attempts = 68
	attempt := 0
	runAttempt := func() error {
		attempt++
		return run(incident.WithJobRun(ctx, 42, attempt, attempts), job.Payload)
	}
	told := func() []string {
		var out []string
		for _, e := range srv.Ephemerals(general.ID) {
			if e.User == decl.ID {
				out = append(out, e.Text)
			}
		}
		return out
	}

	srv.FailNext("conversations.create", 1000, http.StatusInternalServerError)
	for _, after := range []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second} {
		clock.Advance(after)
		require.Error(t, runAttempt())
	}
	require.Empty(t, told(), "a setup failing for under a minute says nothing")

	clock.Advance(time.Minute)
	require.Error(t, runAttempt())
	require.Len(t, told(), 1, "past a minute, the declarer hears the war room is late")
	said := told()[0]
	require.Contains(t, said, inc.Key()+" was declared and is recorded, but I could not create the incident channel")
	require.Contains(t, said, "Slack is not responding (HTTP 500)")
	require.Contains(t, said, "I keep trying")
	require.NotContains(t, said, "nothing was changed", "a job is retried: the person is not asked to try again")

	clock.Advance(time.Minute)
	require.Error(t, runAttempt())
	require.Len(t, told(), 1, "said once")

	srv.ClearFaults()
	clock.Advance(time.Minute)
	require.NoError(t, runAttempt())
	require.Len(t, told(), 2)
	require.False(t, strings.Contains(told()[1], "could not"), "the declarer hears the war room is ready: %q", told()[1])
}

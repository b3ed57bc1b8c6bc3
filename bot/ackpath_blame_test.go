package bot

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// TestSlowSlackIsNotBlamedOnTheDatabase: the database answers, but Slack
// takes longer than the acknowledgement deadline to open the declare form.
// The person is told what did not happen and what to do instead, not that
// the database is down.
func TestSlowSlackIsNotBlamedOnTheDatabase(t *testing.T) {
	t.Parallel()
	f := newChgFixture(t, incident.P1)
	api := slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL()))
	h := New(withService(Config{Slack: api, Scheduler: f.queue, Replays: f.store, Clock: f.clock, SigningSecret: testSigningSecret,
		MaxBodyBytes: 64 << 10, AckDeadline: 100 * time.Millisecond}, f.svc, f.store, f.chat))
	r := chi.NewRouter()
	h.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	f.srv.SetLatency("views.open", 400*time.Millisecond)

	reply, err := slackfake.NewDriver(f.srv, testSigningSecret).SlashCommand(context.Background(), srv.URL+"/slack/commands",
		slack.SlashCommand{Command: "/incident", Text: "declare", UserID: f.ic.ID, ChannelID: f.inc.ChannelID})
	require.NoError(t, err)
	require.NotContains(t, string(reply.Body), "database", "Slack was slow, not the database")
	require.Contains(t, string(reply.Body), "Slack may not have opened the declare form; if it did not appear, declare directly instead",
		"a views.open that timed out may have opened the form")
}

// TestSlowSlackLookupOnAckPathIsNotBlamedOnTheDatabase: Slack slow on a
// lookup the acknowledgement path makes (the commander group, for a
// permission) was blamed on the database: the person was told "The
// incident database is not answering", and an operator looked in the
// wrong place. They are told Slack did not answer in time, within the
// deadline.
func TestSlowSlackLookupOnAckPathIsNotBlamedOnTheDatabase(t *testing.T) {
	t.Parallel()
	f := newChgFixture(t, incident.P1, func(p *incident.Policy) { p.CommanderGroup = "S0COMMANDERS" })
	api := slack.New(f.srv.BotToken(), slack.OptionAPIURL(f.srv.URL()))
	h := New(withService(Config{Slack: api, Scheduler: f.queue, Replays: f.store, Clock: f.clock, SigningSecret: testSigningSecret,
		MaxBodyBytes: 64 << 10, AckDeadline: 100 * time.Millisecond}, f.svc, f.store, f.chat))
	r := chi.NewRouter()
	h.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	f.clock.Advance(20 * time.Minute) // past the lookup caches
	f.srv.SetLatency("usergroups.users.list", 2*time.Second)

	began := time.Now()
	reply, err := slackfake.NewDriver(f.srv, testSigningSecret).SlashCommand(context.Background(), srv.URL+"/slack/commands",
		slack.SlashCommand{Command: "/incident", Text: "status mitigated", UserID: f.other.ID, ChannelID: f.inc.ChannelID})
	require.NoError(t, err)
	require.Less(t, time.Since(began), time.Second, "answered at the deadline, not when Slack answers")
	require.NotContains(t, string(reply.Body), "database", "Slack was slow, not the database")
	require.Contains(t, string(reply.Body), "Slack did not answer in time, so the bot could not list the members of user group S0COMMANDERS; nothing was changed. Try again in a moment.")
}

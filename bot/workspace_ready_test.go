package bot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// startingReplica is another replica of tr's bot, just started: it shares
// tr's database and form key, and has not yet learnt its workspace. It
// returns the replica and where it listens.
func startingReplica(t *testing.T, tr *transport) (*Handler, string) {
	t.Helper()
	api := slack.New(tr.srv.BotToken(), slack.OptionAPIURL(tr.srv.URL()))
	h := New(withService(Config{Slack: api, Scheduler: tr.queue, Replays: tr.store, Clock: tr.clock, SigningSecret: testSigningSecret,
		MetadataKey: tr.h.kit.seals.key}, tr.svc, tr.store, tr.chat))
	r := chi.NewRouter()
	h.Routes(r)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return h, srv.URL
}

// While the bot does not know its own workspace (Slack's auth.test has not
// answered), it cannot tell its organisation's people from another's: a
// command, a click and a form are refused, saying the bot cannot reach
// Slack yet, and nothing is done, even for a person of another
// organisation. auth.test is asked again at most every homeRetry; once it
// answers, requests are taken.
func TestRequestsRefusedUntilTheWorkspaceIsKnown(t *testing.T) {
	tr := newTransport(t)
	ctx := context.Background()
	tr.click(t, tr.ic.ID, ActionChangeSeverity)
	v := tr.openedView(t, ViewSeverity)

	tr.srv.FailNext("auth.test", 1000, http.StatusServiceUnavailable)
	_, base := startingReplica(t, tr)
	asked := len(tr.srv.CallsTo("auth.test"))

	for _, team := range []string{"", "T0OTHERORG"} {
		r, err := tr.driver.SlashCommand(ctx, base+"/slack/commands", slack.SlashCommand{Command: "/incident",
			Text: "declare P1 from a starting replica", UserID: tr.other.ID, ChannelID: "C0GENERAL", TeamID: team})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode)
		require.Contains(t, string(r.Body), msgNotReady, "team %q", team)
	}
	list, err := tr.svc.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1, "nothing was declared")

	r, err := tr.driver.Interaction(ctx, base+"/slack/interactions", slackfake.BlockActions(tr.other.ID, tr.inc.ChannelID, "",
		&slack.BlockAction{ActionID: ActionClaimIC, Value: strconv.FormatInt(tr.inc.ID, 10)}))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Equal(t, tr.ic.ID, tr.incident(t).Commander)
	var told bool
	for _, e := range tr.srv.Ephemerals(tr.inc.ChannelID) {
		told = told || e.User == tr.other.ID && e.Text == msgNotReady
	}
	require.True(t, told, "the person who clicked is told why")

	cb, err := slackfake.ViewSubmission(tr.ic.ID, v, map[string]map[string]slack.BlockAction{
		blockSeverity: {blockSeverity: {SelectedOption: slack.OptionBlockObject{Value: "P3"}}}})
	require.NoError(t, err)
	r, err = tr.driver.Interaction(ctx, base+"/slack/interactions", cb)
	require.NoError(t, err)
	require.Empty(t, r.ViewAckProblem)
	require.Equal(t, msgNotReady, formErrors(t, r)[blockSeverity], "said on the form")
	got, ok := tr.srv.View(v.ID)
	require.True(t, ok && got.Open, "the form stays open, to be submitted again")
	require.Equal(t, incident.P1, tr.incident(t).Severity)

	require.Len(t, tr.srv.CallsTo("auth.test"), asked+1, "auth.test is asked once within homeRetry, not by every request")

	// Slack answers again: the next request after homeRetry learns the
	// workspace and is taken.
	tr.srv.ClearFaults()
	tr.clock.Advance(homeRetry)
	r, err = tr.driver.Interaction(ctx, base+"/slack/interactions", cb)
	require.NoError(t, err)
	require.Nil(t, formErrors(t, r))
	require.Equal(t, incident.P3, tr.incident(t).Severity)
	r, err = tr.driver.SlashCommand(ctx, base+"/slack/commands", slack.SlashCommand{Command: "/incident",
		Text: "status", UserID: tr.other.ID, ChannelID: tr.inc.ChannelID, TeamID: "T0OTHERORG"})
	require.NoError(t, err)
	require.Contains(t, string(r.Body), msgOutsider, "another organisation is told apart once the workspace is known")
}

// The program tells the bot its workspace as soon as its own auth.test
// passes (SetWorkspace): requests are taken from then on, without the bot
// asking Slack itself.
func TestWorkspaceToldByTheProgram(t *testing.T) {
	tr := newTransport(t)
	tr.srv.FailNext("auth.test", 1000, http.StatusServiceUnavailable)
	h, base := startingReplica(t, tr)
	status := func() string {
		r, err := tr.driver.SlashCommand(context.Background(), base+"/slack/commands", slack.SlashCommand{Command: "/incident",
			Text: "status", UserID: tr.ic.ID, ChannelID: tr.inc.ChannelID})
		require.NoError(t, err)
		return string(r.Body)
	}
	require.Contains(t, status(), msgNotReady)
	asked := len(tr.srv.CallsTo("auth.test"))

	h.SetWorkspace(slackfake.DefaultTeamID, "")
	require.Contains(t, status(), tr.inc.Key())
	require.Len(t, tr.srv.CallsTo("auth.test"), asked)
}

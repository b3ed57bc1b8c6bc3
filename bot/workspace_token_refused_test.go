package bot

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// Slack refuses the bot's token (auth.test answers invalid_auth): waiting
// cannot help, so a command is not told to try again in a minute. It is
// told that Slack refused the bot's token, that an admin must fix
// SLACK_BOT_TOKEN, and that nothing was done; and it is told so again on
// the next try. A Slack that is only failing still says the bot cannot
// reach Slack yet.
func TestCommandToldWhenSlackRefusesTheBotToken(t *testing.T) {
	tr := newTransport(t)
	ctx := context.Background()
	tr.srv.ErrorNext("auth.test", 1000, "invalid_auth")
	_, base := startingReplica(t, tr)
	send := func() string {
		r, err := tr.driver.SlashCommand(ctx, base+"/slack/commands", slack.SlashCommand{Command: "/incident",
			Text: "declare P1 with a refused token", UserID: tr.other.ID, ChannelID: "C0GENERAL"})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode)
		return string(r.Body)
	}
	for range 2 {
		body := send()
		require.Contains(t, body, "Slack refused the bot's token (SLACK_BOT_TOKEN)")
		require.Contains(t, body, "an admin of the bot must")
		require.Contains(t, body, "nothing was done")
		require.NotContains(t, body, "Try again in a minute")
		tr.clock.Advance(homeRetry)
	}
	list, err := tr.svc.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1, "nothing was declared")

	// A click is told the same, where the person clicked.
	cb := slackfake.BlockActions(tr.other.ID, tr.inc.ChannelID, "", &slack.BlockAction{ActionID: ActionClaimIC, Value: strconv.FormatInt(tr.inc.ID, 10)})
	r, err := tr.driver.Interaction(ctx, base+"/slack/interactions", cb)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode)
	var told []string
	for _, e := range tr.srv.Ephemerals(tr.inc.ChannelID) {
		if e.User == tr.other.ID {
			told = append(told, e.Text)
		}
	}
	require.Contains(t, strings.Join(told, "\n"), "Slack refused the bot's token (SLACK_BOT_TOKEN)")
	tr.clock.Advance(homeRetry)

	tr.srv.ClearFaults()
	tr.srv.FailNext("auth.test", 1000, http.StatusServiceUnavailable)
	require.Contains(t, send(), msgNotReady, "Slack failing, not refusing, is something to wait for")
}

package bot

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// An events_api envelope whose inner event has no type is acknowledged
// and dropped in Socket Mode, as over HTTP it is answered 400 with
// X-Slack-No-Retry: Slack delivering it again cannot help.
func TestSocketModeAcknowledgesAnEventWithoutAType(t *testing.T) {
	tr := newTransport(t)
	ctx := runSocket(t, tr)
	before := len(tr.queue.Jobs())
	inner := []byte(`{"channel":"C1","user":"U1","text":"hi","ts":"1.2"}`)

	actx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	r, err := tr.driver.SocketEvent(actx, inner, "")
	require.NoError(t, err, "acknowledged, not left for Slack to redeliver")
	require.NotEmpty(t, r.EnvelopeID)
	require.Len(t, tr.queue.Jobs(), before, "nothing stored")

	hr, err := tr.driver.Event(context.Background(), tr.base+"/slack/events", inner, "")
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, hr.StatusCode)
	require.Equal(t, "1", hr.Header.Get("X-Slack-No-Retry"))
}

// The subcommand and its arguments may be separated by any white space:
// a tab, a new line, a no-break space.
func TestParseInvocationSplitsOnAnyWhiteSpace(t *testing.T) {
	for _, text := range []string{
		"declare\tP2\tsearch slow",
		"declare\nP2 search slow",
		"declare\u00a0P2 search slow",
		"  declare \u2003 P2 search slow ",
	} {
		inv, err := ParseInvocation(slack.SlashCommand{Text: text})
		require.NoError(t, err)
		require.Equal(t, "declare", inv.Sub, "%q", text)
		require.True(t, strings.HasPrefix(inv.Args, "P2"), "%q: args %q", text, inv.Args)
		require.True(t, strings.HasSuffix(inv.Args, "search slow"), "%q: args %q", text, inv.Args)
	}
}

// "/incident declare<TAB>P2<TAB>search slow" declares, over HTTP.
func TestDeclareWithTabs(t *testing.T) {
	tr := newTransport(t)
	r := tr.command(t, tr.ic.ID, "C0GENERAL", "declare\tP2\tsearch slow")
	require.NotContains(t, string(r.Body), "Unknown command")
	tr.queue.RunAll(t)
	incs, err := tr.store.ListIncidents(context.Background(), incident.IncidentFilter{})
	require.NoError(t, err)
	var titles []string
	for _, inc := range incs {
		titles = append(titles, inc.Title)
		if inc.Title == "search slow" {
			require.Equal(t, incident.P2, inc.Severity)
		}
	}
	require.Contains(t, titles, "search slow")
}

// A global shortcut (the app offers none) is answered, in a direct message
// since it comes from no channel, and a person of another organisation is
// refused as for every other interaction.
func TestGlobalShortcutIsAnswered(t *testing.T) {
	tr := newTransport(t)
	tr.h.SetWorkspace(slackfake.DefaultTeamID, "")
	outsider := tr.srv.AddUser(slackfake.User{ID: "U0EXTERNAL", Name: "vendor"})

	// dms is what the bot said to user in their direct message.
	dms := func(user string) string {
		var out []string
		for _, c := range tr.srv.CallsTo("chat.postMessage") {
			ch, ok := tr.srv.Channel(c.Args.Get("channel"))
			if ok && ch.IM && len(ch.Members) > 1 && ch.Members[1] == user {
				out = append(out, c.Args.Get("text"))
			}
		}
		return strings.Join(out, "\n")
	}

	cb := &slack.InteractionCallback{Type: slack.InteractionTypeShortcut, CallbackID: "declare_incident"}
	cb.User.ID, cb.User.TeamID = tr.other.ID, slackfake.DefaultTeamID
	tr.interact(t, cb)
	require.Contains(t, dms(tr.other.ID), "shortcut", "the person is told")

	// As Slack sends it for a person of another organisation.
	r, err := tr.driver.Interaction(context.Background(), tr.base+"/slack/interactions", map[string]any{
		"type": "shortcut", "callback_id": "declare_incident", "team": map[string]any{"id": "T0OTHERORG"},
		"user": map[string]any{"id": outsider.ID, "username": "vendor", "team_id": "T0OTHERORG"},
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Contains(t, dms(outsider.ID), msgOutsider)
	require.NotContains(t, dms(outsider.ID), "This shortcut")
}

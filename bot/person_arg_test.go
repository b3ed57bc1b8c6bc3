package bot

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// A name typed without @ ("/incident ic WENDY") is not a mention: the
// app's command has should_escape, so Slack sends a person named with @ as
// <@U…|wendy>. An upper-case word that starts with U or W is not taken for
// a user id: the IC role stays where it was and the person is told to name
// someone with @.
func TestTypedNameDoesNotTakeTheICRole(t *testing.T) {
	tr := newTransport(t)
	r := tr.command(t, tr.ic.ID, tr.inc.ChannelID, "ic WENDY")
	require.Contains(t, string(r.Body), "Slack knows no one with the id WENDY")
	require.Contains(t, string(r.Body), "Name the person with @, such as `/incident ic @jane`")
	require.Equal(t, tr.ic.ID, tr.incident(t).Commander, "the IC role went to a user id nobody has")
}

func TestTypedNameIsNotTakenForAUserID(t *testing.T) {
	tr := newTransport(t)
	r := tr.command(t, tr.ic.ID, tr.inc.ChannelID, "role comms WILLIAM")
	require.Contains(t, string(r.Body), "Name the person with @, such as `/incident role comms @jane`")
	require.Empty(t, tr.incident(t).Roles[incident.RoleComms], "a typed name became the comms lead")

	// Not shaped like an id at all: refused the same, without asking Slack.
	before := len(tr.srv.CallsTo("users.info"))
	r = tr.command(t, tr.ic.ID, tr.inc.ChannelID, "role comms william")
	require.Contains(t, string(r.Body), `\"william\" is not a Slack user. Name the person with @`)
	require.Len(t, tr.srv.CallsTo("users.info"), before)
	require.Empty(t, tr.incident(t).Roles[incident.RoleComms])
}

// A bare user id is taken when Slack's directory confirms a person: one it
// knows, not deactivated and not an app.
func TestBareUserIDIsConfirmedInSlack(t *testing.T) {
	tr := newTransport(t)
	gone := tr.srv.AddUser(slackfake.User{Name: "gone", Email: "gone@example.com", Deleted: true})
	app := tr.srv.AddUser(slackfake.User{Name: "deploybot", IsBot: true})

	for _, tc := range []struct{ id, want string }{
		{gone.ID, gone.ID + " is deactivated in Slack."},
		{app.ID, app.ID + " is an app, not a person."},
		{"U0NOBODY", "Slack knows no one with the id U0NOBODY."},
	} {
		r := tr.command(t, tr.ic.ID, tr.inc.ChannelID, "role scribe "+tc.id)
		require.Contains(t, string(r.Body), tc.want, tc.id)
		require.Contains(t, string(r.Body), "Name the person with @", tc.id)
		require.Empty(t, tr.incident(t).Roles[incident.RoleScribe], tc.id)
	}

	r := tr.command(t, tr.ic.ID, tr.inc.ChannelID, "role scribe "+tr.roller.ID)
	require.Contains(t, string(r.Body), "now holds the scribe role")
	require.Equal(t, tr.roller.ID, tr.incident(t).Roles[incident.RoleScribe])

	r = tr.command(t, tr.ic.ID, tr.inc.ChannelID, "ic "+tr.other.ID)
	require.Contains(t, string(r.Body), "is now the Incident Commander")
	require.Equal(t, tr.other.ID, tr.incident(t).Commander)
}

// Slack not answering users.info: a bare id is refused with a sentence
// saying Slack could not confirm the person, and nothing changes; a
// mention, Slack's own word, is taken as before.
func TestBareUserIDRefusedWhenSlackCannotConfirm(t *testing.T) {
	tr := newTransport(t)
	newcomer := tr.srv.AddUser(slackfake.User{Name: "newcomer", Email: "newcomer@example.com"})
	tr.srv.FailNext("users.info", 1000, http.StatusInternalServerError)
	defer tr.srv.ClearFaults()

	r := tr.command(t, tr.ic.ID, tr.inc.ChannelID, "role scribe "+newcomer.ID)
	require.Contains(t, string(r.Body), "Slack could not confirm who "+newcomer.ID+" is just now")
	require.NotContains(t, string(r.Body), "database")
	require.Empty(t, tr.incident(t).Roles[incident.RoleScribe])

	r = tr.command(t, tr.ic.ID, tr.inc.ChannelID, "role scribe <@"+newcomer.ID+"|newcomer>")
	require.Contains(t, string(r.Body), "now holds the scribe role")
	require.Equal(t, newcomer.ID, tr.incident(t).Roles[incident.RoleScribe])
}

package bot

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestOnCallIsNotForGuests: Slack's multi- and single-channel guests
// (users.info's is_restricted and is_ultra_restricted) are told plainly
// that who is on call is not shown to guests, in an incident channel they
// are in and anywhere else, and PagerDuty is not asked; the workspace's
// members are answered.
func TestOnCallIsNotForGuests(t *testing.T) {
	tr := newTransport(t)
	guest := tr.srv.AddUser(slackfake.User{Name: "contractor", Email: "contractor@partner.example", Guest: true})
	single := tr.srv.AddUser(slackfake.User{Name: "auditor", Email: "auditor@partner.example", SingleChannelGuest: true})
	tr.srv.AddMember(tr.inc.ChannelID, guest.ID)
	tr.srv.AddMember(tr.inc.ChannelID, single.ID)
	general := "C0GENERAL"

	for _, who := range []slackfake.User{guest, single} {
		for _, ch := range []string{tr.inc.ChannelID, general} {
			for _, text := range []string{"oncall checkout", "oncall"} {
				body := string(tr.command(t, who.ID, ch, text).Body)
				require.Contains(t, body, "You may not see who is on call: it is not shown to guests of the workspace", "%s in %s: %s", who.Name, ch, text)
				require.NotContains(t, body, "PagerDuty", "%s in %s: %s", who.Name, ch, text)
			}
		}
	}

	body := string(tr.command(t, tr.other.ID, general, "oncall checkout").Body)
	require.Contains(t, body, "PagerDuty is not configured", "a member's question reaches PagerDuty")
	require.NotContains(t, body, "guests")
}

// TestOnCallIsNotForSomeoneSlackCannotName: Slack does not answer whether
// the asker is a guest; who is on call, like a private incident, is shown
// only to those it says are members, so the question is refused.
func TestOnCallIsNotForSomeoneSlackCannotName(t *testing.T) {
	tr := newTransport(t)
	unknown := tr.srv.AddUser(slackfake.User{Name: "contractor", Email: "contractor@partner.example", Guest: true})
	tr.srv.FailNext("users.info", 20, http.StatusInternalServerError)
	body := string(tr.command(t, unknown.ID, "C0GENERAL", "oncall checkout").Body)
	require.Contains(t, body, "You may not see who is on call", body)
	require.NotContains(t, body, "PagerDuty", body)
}

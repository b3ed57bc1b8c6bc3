package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// With permissions.declare naming only the IC, someone else's bare
// "/incident declare" is refused at once, as the whole command is, saying
// who can; the declare form does not open for them to fill in and be told
// no afterwards. Someone the policy names still gets the form.
func TestDeclareFormRefusedToWhoMayNotDeclare(t *testing.T) {
	tr := newTransportWith(t, nil, func(p *incident.Policy) { p.Declarers = []string{"ic@example.com"} })

	for _, text := range []string{"declare P1 checkout is down", "declare", "declare P2", "declare search is slow"} {
		before := len(tr.srv.OpenViews())
		r := tr.command(t, tr.other.ID, "C0GENERAL", text)
		require.Contains(t, string(r.Body), "You may not declare incidents", text)
		require.Contains(t, string(r.Body), "ic@example.com", "the refusal says who can: %s", text)
		require.Len(t, tr.srv.OpenViews(), before, "no form opened for %q", text)
	}

	before := len(tr.srv.OpenViews())
	r := tr.command(t, tr.ic.ID, "C0GENERAL", "declare")
	require.Empty(t, strings.TrimSpace(string(r.Body)), "a plain acknowledgement: the form opened")
	require.Len(t, tr.srv.OpenViews(), before+1)
	require.Equal(t, ViewDeclare, tr.openedView(t, ViewDeclare).CallbackID)
}

// shortcutDeclare uses the "Declare incident" message shortcut as user on
// a message of the incident's channel.
func shortcutDeclare(t *testing.T, tr *transport, user string) {
	t.Helper()
	cb := &slack.InteractionCallback{Type: slack.InteractionTypeMessageAction, CallbackID: ShortcutDeclareFromMessage}
	cb.User.ID = user
	cb.Channel.ID = tr.inc.ChannelID
	cb.Message.Text = "partner API returns 502"
	cb.Message.Timestamp = "1786000000.000100"
	tr.interact(t, cb)
}

// A guest of the workspace may not declare (permissions.declare is empty):
// the "Declare incident" message shortcut is refused where they used it,
// only to them, and opens no form; a member's opens it.
func TestDeclareShortcutRefusedToAGuest(t *testing.T) {
	tr := newTransport(t)
	guest := tr.srv.AddUser(slackfake.User{Name: "contractor", Email: "contractor@partner.example", Guest: true})
	tr.srv.AddMember(tr.inc.ChannelID, guest.ID)

	before := len(tr.srv.OpenViews())
	shortcutDeclare(t, tr, guest.ID)
	require.Len(t, tr.srv.OpenViews(), before, "the declare form opened for a guest")
	var told string
	for _, e := range tr.srv.Ephemerals(tr.inc.ChannelID) {
		if e.User == guest.ID {
			told += e.Text
		}
	}
	require.Contains(t, told, "You may not declare incidents", "the guest is told why, where they used the shortcut")

	shortcutDeclare(t, tr, tr.other.ID)
	require.Len(t, tr.srv.OpenViews(), before+1, "a member's shortcut opens the form")
}

// Someone who could declare when the form opened and no longer can when
// they submit it (made a guest meanwhile) is answered on the form, which
// stays open, rather than by a direct message after it closed.
func TestDeclareFormRefusalIsOnTheForm(t *testing.T) {
	tr := newTransport(t)
	member := tr.srv.AddUser(slackfake.User{Name: "temp", Email: "temp@example.com"})
	r := tr.command(t, member.ID, "C0GENERAL", "declare")
	require.Empty(t, strings.TrimSpace(string(r.Body)))
	v := tr.openedView(t, ViewDeclare)

	member.Guest = true
	tr.srv.AddUser(member)
	tr.clock.Advance(userInfoTTL + time.Minute) // what Slack said of them is asked again

	r = tr.submit(t, member.ID, v, map[string]map[string]slack.BlockAction{
		blockTitle:     {blockTitle: {Value: "partner API returns 502"}},
		blockSeverity:  {blockSeverity: {SelectedOption: slack.OptionBlockObject{Value: "P2"}}},
		blockCommander: {blockCommander: {SelectedUser: member.ID}},
	})
	errs := formErrors(t, r)
	require.Contains(t, errs[blockTitle], "You may not declare incidents")
	got, ok := tr.srv.View(v.ID)
	require.True(t, ok && got.Open, "the form stays open")
	list, err := tr.svc.List(t.Context())
	require.NoError(t, err)
	for _, inc := range list {
		require.NotEqual(t, "partner API returns 502", inc.Title)
	}
}

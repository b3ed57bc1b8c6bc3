package bot

import (
	"context"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// directMessages is every message the bot posted in a direct message.
func (tr *transport) directMessages() string {
	var out []string
	for _, c := range tr.srv.Channels() {
		if !strings.HasPrefix(c.ID, "D") {
			continue
		}
		for _, m := range tr.srv.Messages(c.ID) {
			out = append(out, m.Text)
		}
	}
	return strings.Join(out, "\n")
}

// requireOpenWithError checks that the form v is still open, with an error
// on block containing want, as Slack shows it: on an input block, in plain
// text; and that nothing was said in a direct message instead.
func requireOpenWithError(t *testing.T, tr *transport, r *slackfake.Reply, v slackfake.View, block, want string) {
	t.Helper()
	errs := formErrors(t, r)
	require.Contains(t, errs[block], want, "%s", r.Body)
	require.NotContains(t, errs[block], "<@")
	got, ok := tr.srv.View(v.ID)
	require.True(t, ok && got.Open, "the form stays open")
	require.Empty(t, got.ErrorKeysNotInput)
	require.Empty(t, tr.directMessages(), "the refusal is on the form, not in a direct message")
}

// The IC opens the severity form, then hands the role over; their
// submission is refused, on the form's field, naming who can now, and the
// form stays open instead of closing and a direct message following.
func TestSeverityFormRefusalStaysOnTheForm(t *testing.T) {
	tr := newTransport(t)
	tr.click(t, tr.ic.ID, ActionChangeSeverity)
	v := tr.openedView(t, ViewSeverity)
	_, err := tr.svc.AssignRole(context.Background(), tr.inc.ID, incident.RoleCommander, tr.other.ID, tr.ic.ID)
	require.NoError(t, err)

	r := tr.submit(t, tr.ic.ID, v, map[string]map[string]slack.BlockAction{
		blockSeverity: {blockSeverity: {SelectedOption: slack.OptionBlockObject{Value: "P3"}}},
	})
	requireOpenWithError(t, tr, r, v, blockSeverity, "You may not change the severity")
	require.Contains(t, formErrors(t, r)[blockSeverity], "@"+tr.other.Name, "the refusal names the IC now")
	require.Equal(t, incident.P1, tr.incident(t).Severity)
}

// The same for the resolve form: refused on its checklist, the form open.
func TestResolveFormRefusalStaysOnTheForm(t *testing.T) {
	tr := newTransport(t)
	tr.click(t, tr.ic.ID, ActionResolve)
	v := tr.openedView(t, ViewResolve)
	_, err := tr.svc.AssignRole(context.Background(), tr.inc.ID, incident.RoleCommander, tr.other.ID, tr.ic.ID)
	require.NoError(t, err)

	r := tr.submit(t, tr.ic.ID, v, map[string]map[string]slack.BlockAction{
		blockSummary: {blockSummary: {Value: "rolled back the deploy"}},
	})
	requireOpenWithError(t, tr, r, v, blockChecks, "You may not")
	require.NotEqual(t, incident.StatusResolved, tr.incident(t).Status)
}

// A form submitted by someone it was not opened for (its seal is another
// person's), and one submitted by a person of another organisation, are
// refused on the form's first field too.
func TestFormRefusedBeforeItsHandlerStaysOpen(t *testing.T) {
	tr := newTransport(t)
	tr.h.SetWorkspace(slackfake.DefaultTeamID, "")

	tr.click(t, tr.ic.ID, ActionChangeSeverity)
	v := tr.openedView(t, ViewSeverity)
	values := map[string]map[string]slack.BlockAction{
		blockSeverity: {blockSeverity: {SelectedOption: slack.OptionBlockObject{Value: "P3"}}},
	}
	r := tr.submit(t, tr.other.ID, v, values)
	requireOpenWithError(t, tr, r, v, blockSeverity, "This form was not opened for you here")

	cb, err := slackfake.ViewSubmission("U0EXTERNAL", v, values)
	require.NoError(t, err)
	cb.User.TeamID, cb.Team.ID = "T0OTHERORG", "T0OTHERORG"
	r = tr.interact(t, cb)
	requireOpenWithError(t, tr, r, v, blockSeverity, msgOutsider)
	require.Equal(t, incident.P1, tr.incident(t).Severity)
}

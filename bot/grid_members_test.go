package bot

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// gridIncident is an incident of a bot installed in a workspace of the
// Enterprise Grid organisation E0HOME (enterprise "" for a workspace not
// on Grid), with its channel set up.
func gridIncident(t *testing.T, tr *transport, enterprise string) *incident.Incident {
	t.Helper()
	ctx := context.Background()
	tr.h.SetWorkspace(slackfake.DefaultTeamID, enterprise)
	inc, _, err := tr.svc.Declare(ctx, incident.DeclareInput{Title: "db down", Severity: incident.P2, ServiceKey: "checkout", DeclaredBy: "bot"})
	require.NoError(t, err)
	tr.queue.Run(t, incident.JobSetup)
	inc, err = tr.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	return inc
}

// claimIC clicks "I'm the IC" in the incident's channel as user, whose
// click carries their own workspace as user.team_id, in a payload naming
// the bot's own workspace and organisation (enterprise).
func claimIC(t *testing.T, tr *transport, inc *incident.Incident, user slackfake.User, enterprise string) {
	t.Helper()
	cb := slackfake.BlockActions(user.ID, inc.ChannelID, "", &slack.BlockAction{ActionID: ActionClaimIC, Value: strconv.FormatInt(inc.ID, 10)})
	cb.User.TeamID = user.TeamID
	cb.Team = slack.Team{ID: slackfake.DefaultTeamID, Domain: "home", EnterpriseID: enterprise}
	cb.Enterprise = slack.Enterprise{ID: enterprise}
	tr.interact(t, cb)
}

// toldTo is what the incident's channel showed user alone.
func toldTo(tr *transport, inc *incident.Incident, user string) string {
	var out []string
	for _, e := range tr.srv.Ephemerals(inc.ChannelID) {
		if e.User == user {
			out = append(out, e.Text)
		}
	}
	return strings.Join(out, "\n")
}

// TestGridSisterWorkspaceMemberActs: on Enterprise Grid, Slack gives a
// member of the organisation their own workspace's id as user.team_id,
// another workspace of the organisation than the bot's. Their clicks are
// theirs to make, as their slash commands are: Slack's directory
// (users.info, enterprise_user) says they are of the organisation.
func TestGridSisterWorkspaceMemberActs(t *testing.T) {
	tr := newTransport(t)
	inc := gridIncident(t, tr, "E0HOME")
	sister := tr.srv.AddUser(slackfake.User{Name: "sam", RealName: "Sam Sister", TeamID: "T0SISTER", EnterpriseID: "E0HOME"})

	claimIC(t, tr, inc, sister, "E0HOME")

	got, err := tr.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Equal(t, sister.ID, got.Commander, "a member of the organisation from another of its workspaces is refused: %s", toldTo(tr, inc, sister.ID))
	require.NotContains(t, toldTo(tr, inc, sister.ID), msgOutsider)

	// Their slash command from the same workspace agrees.
	r := commandFrom(t, tr, sister.ID, inc.ChannelID, "status", "T0SISTER", "E0HOME")
	require.NotContains(t, string(r.Body), msgOutsider)
	require.Contains(t, string(r.Body), inc.Key())
}

// TestGridSlackConnectStrangerRefused: a person of another organisation
// in a Slack Connect channel, whose click's payload names the bot's own
// workspace and organisation, is still refused, whether Slack's directory
// shows them as a stranger, as a member of their own organisation, or
// does not know them; with the bot installed in one workspace of the
// organisation or organisation-wide.
func TestGridSlackConnectStrangerRefused(t *testing.T) {
	for _, install := range []struct{ name, team string }{{"workspace", slackfake.DefaultTeamID}, {"organisation-wide", ""}} {
		t.Run(install.name, func(t *testing.T) {
			tr := newTransport(t)
			inc := gridIncident(t, tr, "E0HOME")
			tr.h.SetWorkspace(install.team, "E0HOME")
			for _, vendor := range []slackfake.User{
				{Name: "vera", TeamID: "T0VENDOR", EnterpriseID: "E0VENDOR", Stranger: true},
				{Name: "val", TeamID: "T0VENDOR", EnterpriseID: "E0VENDOR"},
				{Name: "vic", TeamID: "T0SMALL", Stranger: true},
				{Name: "viv", TeamID: "T0SMALL"},
			} {
				u := tr.srv.AddUser(vendor)
				claimIC(t, tr, inc, u, "E0HOME")
				got, err := tr.store.GetIncident(context.Background(), inc.ID)
				require.NoError(t, err)
				require.Empty(t, got.Commander, "%s of another organisation took the IC role", u.Name)
				require.Contains(t, toldTo(tr, inc, u.ID), msgOutsider, u.Name)
			}
			// Someone Slack's directory does not know.
			claimIC(t, tr, inc, slackfake.User{ID: "U0NOBODY", TeamID: "T0VENDOR"}, "E0HOME")
			got, err := tr.store.GetIncident(context.Background(), inc.ID)
			require.NoError(t, err)
			require.Empty(t, got.Commander)

			// A member of the organisation still acts.
			sister := tr.srv.AddUser(slackfake.User{Name: "sam", TeamID: "T0SISTER", EnterpriseID: "E0HOME"})
			claimIC(t, tr, inc, sister, "E0HOME")
			got, err = tr.store.GetIncident(context.Background(), inc.ID)
			require.NoError(t, err)
			require.Equal(t, sister.ID, got.Commander)
		})
	}
}

// TestGridMemberRefusedWhileSlackCannotSay: when Slack's directory cannot
// say who a person of another workspace is, nothing is done for them.
func TestGridMemberRefusedWhileSlackCannotSay(t *testing.T) {
	tr := newTransport(t)
	inc := gridIncident(t, tr, "E0HOME")
	sister := tr.srv.AddUser(slackfake.User{Name: "sam", TeamID: "T0SISTER", EnterpriseID: "E0HOME"})
	tr.srv.FailFraction("users.info", 1, 503)
	claimIC(t, tr, inc, sister, "E0HOME")
	got, err := tr.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Empty(t, got.Commander)
	told := toldTo(tr, inc, sister.ID)
	require.Contains(t, told, msgMemberUnknown, "the person is told Slack could not confirm them")
	require.NotContains(t, told, msgOutsider, "not that they belong to another organisation")

	// Once Slack answers, they act.
	tr.srv.ClearFaults()
	claimIC(t, tr, inc, sister, "E0HOME")
	got, err = tr.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Equal(t, sister.ID, got.Commander)
}

// TestNotOnGridOtherWorkspaceRefused: a bot in a workspace not on
// Enterprise Grid acts only for its own workspace's people; another
// workspace's click is refused without asking Slack's directory.
func TestNotOnGridOtherWorkspaceRefused(t *testing.T) {
	tr := newTransport(t)
	inc := gridIncident(t, tr, "")
	other := tr.srv.AddUser(slackfake.User{Name: "oz", TeamID: "T0OTHER", EnterpriseID: "E0OTHER"})
	before := len(tr.srv.CallsTo("users.info"))
	claimIC(t, tr, inc, other, "")
	got, err := tr.store.GetIncident(context.Background(), inc.ID)
	require.NoError(t, err)
	require.Empty(t, got.Commander)
	require.Contains(t, toldTo(tr, inc, other.ID), msgOutsider)
	require.Len(t, tr.srv.CallsTo("users.info"), before)
}

// TestGridFormKeptOpenWhileSlackCannotSay: a form submitted by a person
// of another workspace of the organisation while Slack's directory cannot
// say who they are stays open with what they wrote, the reason on it, so
// they can submit it again; nothing is declared.
func TestGridFormKeptOpenWhileSlackCannotSay(t *testing.T) {
	tr := newTransport(t)
	gridIncident(t, tr, "E0HOME")
	sister := tr.srv.AddUser(slackfake.User{Name: "sam", TeamID: "T0SISTER", EnterpriseID: "E0HOME"})
	tr.command(t, sister.ID, "C0GENERAL", "declare")
	v := tr.openedView(t, ViewDeclare)
	tr.srv.FailFraction("users.info", 1, 503)
	cb, err := slackfake.ViewSubmission(sister.ID, v, map[string]map[string]slack.BlockAction{
		blockTitle:    {blockTitle: {Value: "search is slow"}},
		blockSeverity: {blockSeverity: {SelectedOption: slack.OptionBlockObject{Value: "P3"}}},
		blockService:  {blockService: {SelectedOption: slack.OptionBlockObject{Value: "checkout"}}},
	})
	require.NoError(t, err)
	cb.User.TeamID = sister.TeamID
	cb.Team = slack.Team{ID: slackfake.DefaultTeamID, Domain: "home", EnterpriseID: "E0HOME"}
	cb.Enterprise = slack.Enterprise{ID: "E0HOME"}
	r := tr.interact(t, cb)
	require.Contains(t, string(r.Body), `"response_action":"errors"`)
	require.Contains(t, string(r.Body), "Slack could not confirm just now")
	list, err := tr.svc.List(context.Background())
	require.NoError(t, err)
	for _, inc := range list {
		require.NotEqual(t, "search is slow", inc.Title)
	}
}

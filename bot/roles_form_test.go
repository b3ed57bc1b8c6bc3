package bot

import (
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestRolesFormHandsOverAndNamesLeads: the Incident Commander hands the
// role to someone else and names the comms lead in the same roles form.
// Both take effect and the form closes, rather than the handover going
// through first and the comms lead then being refused to the person who
// just stopped leading.
func TestRolesFormHandsOverAndNamesLeads(t *testing.T) {
	tr := newTransport(t)
	tr.click(t, tr.ic.ID, ActionAssignRoles)
	v := tr.openedView(t, ViewRoles)
	errs := formErrors(t, tr.submit(t, tr.ic.ID, v, map[string]map[string]slack.BlockAction{
		incident.RoleCommander: {incident.RoleCommander: {SelectedUser: tr.other.ID}},
		incident.RoleComms:     {incident.RoleComms: {SelectedUser: tr.roller.ID}},
	}))
	require.Nil(t, errs)
	inc := tr.incident(t)
	require.Equal(t, tr.other.ID, inc.Commander)
	require.Equal(t, tr.roller.ID, inc.Roles[incident.RoleComms])

	// The new IC leads from now on: their own form names the comms lead.
	tr.inc = inc
	tr.click(t, tr.other.ID, ActionAssignRoles)
	v = tr.openedView(t, ViewRoles)
	require.Nil(t, formErrors(t, tr.submit(t, tr.other.ID, v, map[string]map[string]slack.BlockAction{
		incident.RoleComms: {incident.RoleComms: {SelectedUser: tr.ic.ID}},
	})))
	require.Equal(t, tr.ic.ID, tr.incident(t).Roles[incident.RoleComms])
}

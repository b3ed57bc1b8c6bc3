package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// The roles form shows each role's holder as it opens (initial_user), and
// Slack submits those untouched values with the rest. A form left open
// while someone else changed a role must not put the old holder back: the
// IC opens the form with other as comms lead; meanwhile the comms role
// goes to roller; the IC names only a scribe and submits.
func TestStaleRolesFormLeavesALaterChangeAlone(t *testing.T) {
	tr := newTransport(t)
	ctx := context.Background()
	_, err := tr.svc.AssignRole(ctx, tr.inc.ID, incident.RoleComms, tr.other.ID, tr.ic.ID)
	require.NoError(t, err)
	tr.click(t, tr.ic.ID, ActionAssignRoles)
	v := tr.openedView(t, ViewRoles)

	_, err = tr.svc.AssignRole(ctx, tr.inc.ID, incident.RoleComms, tr.roller.ID, tr.ic.ID)
	require.NoError(t, err)

	r := tr.submit(t, tr.ic.ID, v, map[string]map[string]slack.BlockAction{
		incident.RoleCommander: {incident.RoleCommander: {SelectedUser: tr.ic.ID}},
		incident.RoleComms:     {incident.RoleComms: {SelectedUser: tr.other.ID}}, // untouched
		incident.RoleScribe:    {incident.RoleScribe: {SelectedUser: tr.roller.ID}},
	})
	require.Nil(t, formErrors(t, r))
	inc := tr.incident(t)
	require.Equal(t, tr.roller.ID, inc.Roles[incident.RoleComms], "a field the IC did not touch undid a later change")
	require.Equal(t, tr.roller.ID, inc.Roles[incident.RoleScribe], "the field the IC changed is applied")
	require.Equal(t, tr.ic.ID, inc.Commander)
}

// The same with the IC role: a commander-group member's roles form, opened
// before the IC handed over, does not hand the role back to the old IC
// when it is submitted with the IC field untouched.
func TestStaleRolesFormKeepsAHandover(t *testing.T) {
	tr := newTransportWith(t, nil, func(p *incident.Policy) { p.CommanderGroup = "roller@example.com" })
	ctx := context.Background()
	tr.click(t, tr.roller.ID, ActionAssignRoles)
	v := tr.openedView(t, ViewRoles)

	_, err := tr.svc.AssignRole(ctx, tr.inc.ID, incident.RoleCommander, tr.other.ID, tr.ic.ID)
	require.NoError(t, err)

	r := tr.submit(t, tr.roller.ID, v, map[string]map[string]slack.BlockAction{
		incident.RoleCommander: {incident.RoleCommander: {SelectedUser: tr.ic.ID}}, // untouched initial_user
		incident.RoleScribe:    {incident.RoleScribe: {SelectedUser: tr.roller.ID}},
	})
	require.Nil(t, formErrors(t, r))
	inc := tr.incident(t)
	require.Equal(t, tr.other.ID, inc.Commander, "a stale form undid the handover")
	require.Equal(t, tr.roller.ID, inc.Roles[incident.RoleScribe])
}

// A field the person did change, for a role that changed hands since the
// form opened, is a conflict: it is answered on that field, naming who
// holds the role now, the form stays open, and nothing of it is applied.
func TestRolesFormChangeOverALaterChangeIsAConflict(t *testing.T) {
	tr := newTransport(t)
	ctx := context.Background()
	_, err := tr.svc.AssignRole(ctx, tr.inc.ID, incident.RoleComms, tr.other.ID, tr.ic.ID)
	require.NoError(t, err)
	tr.click(t, tr.ic.ID, ActionAssignRoles)
	v := tr.openedView(t, ViewRoles)

	_, err = tr.svc.AssignRole(ctx, tr.inc.ID, incident.RoleComms, tr.roller.ID, tr.ic.ID)
	require.NoError(t, err)

	r := tr.submit(t, tr.ic.ID, v, map[string]map[string]slack.BlockAction{
		incident.RoleCommander: {incident.RoleCommander: {SelectedUser: tr.ic.ID}},
		incident.RoleComms:     {incident.RoleComms: {SelectedUser: tr.ic.ID}},
		incident.RoleScribe:    {incident.RoleScribe: {SelectedUser: tr.other.ID}},
	})
	errs := formErrors(t, r)
	require.Len(t, errs, 1, "%s", r.Body)
	msg := errs[incident.RoleComms]
	require.Contains(t, msg, "@"+tr.roller.Name+" holds this role now", "the field names who holds the role now: %s", msg)
	require.NotContains(t, msg, "<@")
	got, ok := tr.srv.View(v.ID)
	require.True(t, ok && got.Open, "the form stays open")
	require.Empty(t, got.ErrorKeysNotInput)

	inc := tr.incident(t)
	require.Equal(t, tr.roller.ID, inc.Roles[incident.RoleComms])
	require.Empty(t, inc.Roles[incident.RoleScribe], "nothing of a form with a conflict is applied")
}

// A roles form whose private_metadata holds no holders (opened by an older
// version of the bot) cannot tell an untouched field from a choice: it is
// answered on the form, to be opened again, and changes nothing.
func TestRolesFormWithoutHoldersIsOpenedAgain(t *testing.T) {
	tr := newTransport(t)
	tr.click(t, tr.ic.ID, ActionAssignRoles)
	v := tr.openedView(t, ViewRoles)

	old, _ := json.Marshal(modalMeta{IncidentID: tr.inc.ID})
	sealed := tr.h.kit.seals.seal(slack.ModalViewRequest{CallbackID: ViewRoles, PrivateMetadata: string(old)}, tr.ic.ID)
	var view map[string]any
	require.NoError(t, json.Unmarshal(v.JSON, &view))
	view["private_metadata"] = sealed.PrivateMetadata
	var err error
	v.JSON, err = json.Marshal(view)
	require.NoError(t, err)

	errs := formErrors(t, tr.submit(t, tr.ic.ID, v, map[string]map[string]slack.BlockAction{
		incident.RoleCommander: {incident.RoleCommander: {SelectedUser: tr.other.ID}},
		incident.RoleComms:     {incident.RoleComms: {SelectedUser: tr.roller.ID}},
	}))
	require.Contains(t, errs[incident.RoleCommander], "open it again")
	inc := tr.incident(t)
	require.Equal(t, tr.ic.ID, inc.Commander)
	require.Empty(t, inc.Roles[incident.RoleComms])
}

// The holders kept in the roles form's private_metadata fit Slack's 3000
// characters, sealed, with every role a form holds taken by someone.
func TestRolesFormHoldersFitPrivateMetadata(t *testing.T) {
	t.Parallel()
	p := incident.DefaultPolicy()
	p.Roles = nil
	inc := &incident.Incident{ID: 1 << 40, Commander: "W0123456789", Roles: map[string]string{}}
	for i := range 150 {
		role := fmt.Sprintf("role-%03d-%s", i, strings.Repeat("x", 300))
		p.Roles = append(p.Roles, role)
		inc.Roles[role] = fmt.Sprintf("U%010d", i)
	}
	v := sealer{key: newMetadataKey()}.seal(RolesModal(p, inc), "U0123456789")
	require.LessOrEqual(t, len(v.PrivateMetadata), slackfake.MaxPrivateMetadata)
	require.LessOrEqual(t, len(v.Blocks.BlockSet), maxModalBlocks)
}

package incident_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// A form that showed a role's holder gives the role only while that
// person still holds it: the comparison is the change's own, so a change
// made between the form's read and its submission is not undone.
func TestAssignRoleIfHeldBy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := ready(t, b)
	_, err := b.svc.AssignRole(ctx, inc.ID, incident.RoleComms, "U0KIM", "U0DECL")
	require.NoError(t, err)

	// The form showed nobody as comms lead; U0KIM was named meanwhile.
	_, err = b.svc.AssignRole(ctx, inc.ID, incident.RoleComms, "U0LEE", "U0DECL", incident.IfHeldBy(""))
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	var e *incident.Error
	require.True(t, errors.As(err, &e))
	require.Equal(t, []string{"U0KIM"}, e.Users, "the refusal names who holds the role now")
	got, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, "U0KIM", got.Roles[incident.RoleComms], "the later change stands")

	// The form showed U0KIM: the change goes through.
	got, err = b.svc.AssignRole(ctx, inc.ID, incident.RoleComms, "U0LEE", "U0DECL", incident.IfHeldBy("U0KIM"))
	require.NoError(t, err)
	require.Equal(t, "U0LEE", got.Roles[incident.RoleComms])

	// The IC role: the form showed U0DECL, who handed over meanwhile.
	_, err = b.svc.AssignRole(ctx, inc.ID, incident.RoleCommander, "U0JANE", "U0DECL")
	require.NoError(t, err)
	_, err = b.svc.AssignRole(ctx, inc.ID, incident.RoleCommander, "U0DECL", "U0JANE", incident.IfHeldBy("U0DECL"))
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	got, err = b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, "U0JANE", got.Commander)

	// Nobody holds the scribe role, as the form showed: given.
	got, err = b.svc.AssignRole(ctx, inc.ID, incident.RoleScribe, "U0SAM", "U0JANE", incident.IfHeldBy(""))
	require.NoError(t, err)
	require.Equal(t, "U0SAM", got.Roles[incident.RoleScribe])
}

// An update that moves the status from the one its author saw is refused
// when the status moved since, in the update's own transaction; declared
// and investigating count as one.
func TestUpdateStatusWas(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := ready(t, b)
	_, err := b.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Status: incident.StatusMitigated, Known: "rolled back"})
	require.NoError(t, err)

	// The author saw investigating and chose investigating again:
	// someone mitigated it meanwhile.
	_, err = b.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Status: incident.StatusInvestigating,
		StatusWas: incident.StatusDeclared, Known: "still looking"})
	require.ErrorIs(t, err, incident.ErrStatusMoved)
	require.Equal(t, incident.ECONFLICT, incident.ErrorCode(err))
	require.Contains(t, incident.ErrorMessage(err), "The status changed to Mitigated meanwhile")
	got, err := b.store.GetIncident(ctx, inc.ID)
	require.NoError(t, err)
	require.Equal(t, incident.StatusMitigated, got.Status, "the later change stands")
	updates, err := b.store.ListStatusUpdates(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, updates, 1, "the refused update is not stored")

	// The author saw mitigated: the move goes through.
	got, err = b.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0DECL", Status: incident.StatusInvestigating,
		StatusWas: incident.StatusMitigated, Known: "it came back"})
	require.NoError(t, err)
	require.Equal(t, incident.StatusInvestigating, got.Status)
}

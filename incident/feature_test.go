package incident_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// A feature's planner runs in the declare's transaction: what it schedules
// is stored with the incident, and its failure stores nothing at all.
func TestFeaturePlannerRunsInTheDeclaresTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	fail := true
	var hooked []incident.EventKind
	b.svc.Use(incident.Feature{
		Name: "probe",
		Planner: func(ctx context.Context, tx incident.Tx, inc *incident.Incident, in incident.DeclareInput) error {
			if _, err := tx.Schedule(ctx, incident.Job{Kind: "probe", Key: "probe:" + in.Key}); err != nil {
				return err
			}
			if fail {
				return errors.New("probe store down")
			}
			return nil
		},
		Hook: func(_ context.Context, c incident.Change) error {
			hooked = append(hooked, c.Kind)
			return nil
		},
	})

	in := incident.DeclareInput{Title: "checkout is down", Severity: incident.P2, ServiceKey: "checkout",
		DeclaredBy: "U0DECL", Key: "k1", ReplyTo: incident.ReplyTarget{UserID: "U0DECL", ChannelID: "CORIGIN"}}
	_, _, err := b.svc.Declare(ctx, in)
	require.ErrorContains(t, err, "plan probe of")
	require.ErrorContains(t, err, "probe store down")
	incs, err := b.store.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Empty(t, incs, "a failed planner stores no incident")
	require.Zero(t, b.queue.Pending(), "and no job of any feature")
	require.Empty(t, hooked)

	fail = false
	inc, existed, err := b.svc.Declare(ctx, in)
	require.NoError(t, err)
	require.False(t, existed)
	require.Equal(t, 1, b.queue.Pending("probe"))
	require.Equal(t, 1, b.queue.Pending(incident.JobSetup))
	require.Equal(t, []incident.EventKind{incident.EventDeclared}, hooked)

	_, err = b.svc.SetSeverity(ctx, inc.ID, incident.P1, "U0DECL")
	require.NoError(t, err)
	require.Equal(t, 1, b.queue.Pending(incident.JobHooks), "the change stores the work of its hooks")
	require.Empty(t, b.queue.Run(t, incident.JobHooks))
	require.Equal(t, []incident.EventKind{incident.EventDeclared, incident.EventSeverityChanged}, hooked)
}

package changes_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// twoPersonAtP1 asks a second person for every rollback while a P1 is
// involved.
func twoPersonAtP1(p *incident.Policy) {
	p.TwoPersonRollback = map[string]map[incident.Severity]bool{incident.AnyEnvironment: {incident.P1: true}}
}

// A P1 declared without a service ("/incident declare P1 checkout is
// down") may be about checkout: a rollback group member who declares a P4 on
// checkout cannot roll back the P1's deploy alone from there.
func TestRollbackFromASideIncidentCountsAnOpenP1WithoutService(t *testing.T) {
	t.Parallel()
	b := setupChanges(t, twoPersonAtP1)
	ctx := context.Background()
	d := b.deploy("1", 5*time.Minute, "success")
	d.Service = "checkout"
	b.github.list = []incident.ChangeEvent{d}
	b.deploys.execStatus = "succeeded"
	_, _, err := b.core.Declare(ctx, incident.DeclareInput{Title: "checkout is down", Severity: incident.P1,
		DeclaredBy: "U0DECL", ReplyTo: incident.ReplyTarget{UserID: "U0DECL"}})
	require.NoError(t, err)
	side, _, err := b.core.Declare(ctx, incident.DeclareInput{Title: "tidy up", Severity: incident.P4, ServiceKey: "checkout",
		DeclaredBy: "U0ROLL1", ReplyTo: incident.ReplyTarget{UserID: "U0ROLL1"}})
	require.NoError(t, err)
	b.queue.RunAll(t)
	side, err = b.store.GetIncident(ctx, side.ID)
	require.NoError(t, err)
	value := itemOf(t, b.lastList(t, side, 0), d.ExternalID).Value

	r, err := b.rb.RequestRollback(ctx, side.ID, value, "U0ROLL1")
	require.NoError(t, err)
	require.Equal(t, incident.RollbackAwaitingApproval, r.Status, "a P1 that may be checkout's is open")
	b.queue.RunAll(t)
	require.Empty(t, b.deploys.executions(), "nothing runs before a second person approves")
}

// An open P1 of another service does not make a checkout rollback a
// two-person one.
func TestRollbackIgnoresAnOpenP1OfAnotherService(t *testing.T) {
	t.Parallel()
	b := setupChanges(t, twoPersonAtP1)
	ctx := context.Background()
	d := b.deploy("1", 5*time.Minute, "success")
	d.Service = "checkout"
	b.github.list = []incident.ChangeEvent{d}
	b.deploys.execStatus = "succeeded"
	_, _, err := b.core.Declare(ctx, incident.DeclareInput{Title: "search is down", Severity: incident.P1, ServiceKey: "search",
		DeclaredBy: "U0DECL", ReplyTo: incident.ReplyTarget{UserID: "U0DECL"}})
	require.NoError(t, err)
	b.queue.RunAll(t)
	b.chat.ChangeLists = nil
	inc := b.open(t, incident.P3)
	value := itemOf(t, b.lastList(t, inc, 0), d.ExternalID).Value

	r, err := b.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Equal(t, incident.RollbackRunning, r.Status)
	b.queue.RunAll(t)
	require.Len(t, b.deploys.executions(), 1)
}

// Lowering a P1 to P3 for the click, and raising it again, does not skip
// the second person.
func TestRollbackAfterLoweringTheSeverityStillNeedsTwoPeople(t *testing.T) {
	t.Parallel()
	b := setupChanges(t, twoPersonAtP1)
	ctx := context.Background()
	d := b.deploy("1", 5*time.Minute, "success")
	d.Service = "checkout"
	b.github.list = []incident.ChangeEvent{d}
	b.deploys.execStatus = "succeeded"
	inc := b.open(t, incident.P1)
	value := itemOf(t, b.lastList(t, inc, 0), d.ExternalID).Value
	lowered, err := b.core.SetSeverity(ctx, inc.ID, incident.P3, "U0DECL")
	require.NoError(t, err)
	require.Equal(t, incident.P3, lowered.Severity)
	require.Equal(t, incident.P1, lowered.MostSevere())

	r, err := b.rb.RequestRollback(ctx, inc.ID, value, "U0DECL")
	require.NoError(t, err)
	require.Equal(t, incident.RollbackAwaitingApproval, r.Status)
	b.queue.RunAll(t)
	require.Empty(t, b.deploys.executions())
}

package incident_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestGuestsThroughTheService: the service asks the chat whether the person
// asking is a guest, and applies the guests' rules to declares, lists,
// status reads and pages.
func TestGuestsThroughTheService(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	const guest = "U0GUEST"
	b.chat.Guests = map[string]bool{guest: true}
	theirs := ready(t, b)
	other := declare(t, b, "search is slow", incident.P3, "k2")
	require.Empty(t, b.queue.RunAll(t))
	other, err := b.store.GetIncident(ctx, other.ID)
	require.NoError(t, err)
	b.chat.Members[theirs.ChannelID] = append(b.chat.Members[theirs.ChannelID], guest)

	before, err := b.store.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	_, _, err = b.svc.Declare(ctx, incident.DeclareInput{Title: "a guest's P1", Severity: incident.P1, ServiceKey: "checkout", DeclaredBy: guest})
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	require.Contains(t, refusalOf(err).Message(), "guests of the workspace may declare only where the policy names them")
	after, err := b.store.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, after, len(before), "a guest's declare stored nothing")

	list, err := b.svc.ListFor(ctx, guest)
	require.NoError(t, err)
	require.Len(t, list, 1, "a guest lists only the incidents whose channels they are in")
	require.Equal(t, theirs.ID, list[0].ID)
	everyone, err := b.svc.ListFor(ctx, "U0MEMBER")
	require.NoError(t, err)
	require.Len(t, everyone, 2)

	seen, err := b.svc.CanSee(ctx, guest, other)
	require.NoError(t, err)
	require.False(t, seen)
	d, err := b.svc.Authorize(ctx, incident.Request{Subject: incident.Subject{User: guest}, Action: incident.ActPostUpdate, Incident: theirs})
	require.NoError(t, err)
	require.True(t, d.Allowed, "a guest in the channel says what they know")
	d, err = b.svc.Authorize(ctx, incident.Request{Subject: incident.Subject{User: guest}, Action: incident.ActPage, Incident: theirs})
	require.NoError(t, err)
	require.False(t, d.Allowed, "a guest without a role does not page on-call")
	_, err = b.svc.AssignRole(ctx, theirs.ID, incident.RoleCommander, guest, guest)
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err), "a guest does not take the IC role")
	got, err := b.store.GetIncident(ctx, theirs.ID)
	require.NoError(t, err)
	require.NotEqual(t, guest, got.Commander)

	// Handed a role by the IC, they page.
	_, err = b.svc.AssignRole(ctx, theirs.ID, incident.RoleOps, guest, got.Commander)
	require.NoError(t, err)
	got, err = b.store.GetIncident(ctx, theirs.ID)
	require.NoError(t, err)
	d, err = b.svc.Authorize(ctx, incident.Request{Subject: incident.Subject{User: guest}, Action: incident.ActPage, Incident: got})
	require.NoError(t, err)
	require.True(t, d.Allowed, d.Reason)
}

// TestGuestLookupFailingTakesThePersonForAMember: when the chat cannot say
// whether someone is a guest, a declare goes ahead (an outage must not
// stop the workspace's people), and a warning names the person.
func TestGuestLookupFailingTakesThePersonForAMember(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var logs bytes.Buffer
	svc := incident.NewService(incident.ServiceConfig{Store: b.store, Scheduler: b.queue, Chat: b.chat.Roles(), Policy: b.svc.Policy(),
		Clock: b.clock, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	b.chat.Fail["guest"] = 1
	_, _, err := svc.Declare(context.Background(), incident.DeclareInput{Title: "checkout is down", Severity: incident.P1, ServiceKey: "checkout", DeclaredBy: "U0DECL"})
	require.NoError(t, err)
	require.Contains(t, logs.String(), "could not tell whether the person is a guest")
	require.Contains(t, logs.String(), "U0DECL")
}

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

// TestSeeingWhenTheGuestLookupFails: someone the chat cannot say about
// sees only the incidents they are a member of, as a guest would, though
// they may still declare.
func TestSeeingWhenTheGuestLookupFails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	theirs := ready(t, b)
	other := declare(t, b, "search is slow", incident.P3, "k2")
	require.Empty(t, b.queue.RunAll(t))
	other, err := b.store.GetIncident(ctx, other.ID)
	require.NoError(t, err)
	const who = "U0NEWCOMER"
	b.chat.Members[theirs.ChannelID] = append(b.chat.Members[theirs.ChannelID], who)

	b.chat.Fail["guest"] = 1
	list, err := b.svc.ListFor(ctx, who)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, theirs.ID, list[0].ID)
	b.chat.Fail["guest"] = 1
	d, err := b.svc.Authorize(ctx, incident.Request{Subject: incident.Subject{User: who}, Action: incident.ActView, Incident: other})
	require.NoError(t, err)
	require.False(t, d.Allowed)

	list, err = b.svc.ListFor(ctx, who)
	require.NoError(t, err)
	require.Len(t, list, 2, "once the chat answers, a member sees every public incident")
}

// TestListReadsAPersonsChannelsOnce: for the private incidents in a list,
// the person's channels are read once, not each incident's members.
func TestListReadsAPersonsChannelsOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var private []*incident.Incident
	for i := range 5 {
		inc, _, err := b.svc.Declare(ctx, incident.DeclareInput{Title: "payroll leak", Severity: incident.P2, ServiceKey: "checkout",
			DeclaredBy: "U0DECL", Private: true, Key: "p" + string(rune('a'+i))})
		require.NoError(t, err)
		private = append(private, inc)
	}
	require.Empty(t, b.queue.RunAll(t))
	for i, inc := range private {
		got, err := b.store.GetIncident(ctx, inc.ID)
		require.NoError(t, err)
		private[i] = got
	}
	b.chat.Members[private[2].ChannelID] = append(b.chat.Members[private[2].ChannelID], "U0READER")
	b.chat.Calls = nil

	list, err := b.svc.ListFor(ctx, "U0READER")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, private[2].ID, list[0].ID)
	var reads, members int
	for _, c := range b.chat.Calls {
		switch c {
		case "user_channels":
			reads++
		case "is_member":
			members++
		}
	}
	require.Equal(t, 1, reads)
	require.Zero(t, members)
}

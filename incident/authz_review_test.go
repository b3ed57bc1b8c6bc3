package incident_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestTakeICFromAnActiveICIsRefused: someone who merely joined the channel
// cannot take the role from an IC who is working the incident, even by
// confirming; once the IC has been quiet for the policy's time they can,
// after confirming; the IC's handover and the commander group always can.
func TestTakeICFromAnActiveICIsRefused(t *testing.T) {
	t.Parallel()
	p := permPolicy()
	inc := incidentIn("has-ic", incident.P1)
	now := time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC)
	ask := func(actor, target string, confirmed bool, activeAgo time.Duration) incident.Decision {
		return p.Decide(incident.Request{Subject: subject(actor, inc), Action: incident.ActTakeIC, Incident: inc,
			Target: target, Confirmed: confirmed, At: now, ICActiveAt: now.Add(-activeAgo)})
	}

	for _, confirmed := range []bool{false, true} {
		d := ask(uMember, uMember, confirmed, 3*time.Minute)
		require.False(t, d.Allowed, "an active IC keeps the role (confirmed %v)", confirmed)
		require.False(t, d.Confirm, "no confirmation lifts it")
		msg := slackMessage(d.Err())
		require.Contains(t, msg, "You may not take the Incident Commander role")
		require.Contains(t, msg, "<@"+uIC+">", "the refusal names the IC")
		require.Contains(t, msg, "/incident ic", "and how to get the role from them")
		require.Contains(t, msg, "commander group")
		require.Contains(t, msg, "15 minutes")
		require.Contains(t, msg, gCommanders)
	}

	d := ask(uMember, uMember, false, 16*time.Minute)
	require.False(t, d.Allowed)
	require.True(t, d.Confirm, "a quiet IC: the taker confirms in the channel")
	require.True(t, ask(uMember, uMember, true, 16*time.Minute).Allowed, "and then takes over")

	require.True(t, ask(uIC, uMember, false, time.Minute).Allowed, "the IC hands over")
	require.True(t, ask(uCommander, uCommander, false, time.Minute).Allowed, "the commander group takes over")

	// Unknown activity (no time given) counts as active.
	d = p.Decide(incident.Request{Subject: subject(uMember, inc), Action: incident.ActTakeIC, Incident: inc, Confirmed: true})
	require.False(t, d.Allowed)

	// The quiet time is the policy's.
	p.TakeoverAfter = 5 * time.Minute
	require.True(t, ask(uMember, uMember, false, 6*time.Minute).Confirm)
}

func TestICActiveAtReadsTheTimeline(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 8, 7, 14, 0, 0, 0, time.UTC)
	inc := &incident.Incident{Commander: "U0IC", DeclaredBy: "U0DECL", DeclaredAt: t0}
	events := []incident.TimelineEvent{
		{Kind: incident.EventRoleAssigned, Actor: "U0DECL", At: t0.Add(time.Minute), Payload: incident.RoleAssignedData{Role: incident.RoleCommander, User: "U0IC"}},
		{Kind: incident.EventMessage, Actor: "U0OTHER", At: t0.Add(9 * time.Minute)},
	}
	require.Equal(t, t0.Add(time.Minute), incident.ICActiveAt(inc, events), "being given the role counts")
	events = append(events, incident.TimelineEvent{Kind: incident.EventMessage, Actor: "U0IC", At: t0.Add(5 * time.Minute)})
	require.Equal(t, t0.Add(5*time.Minute), incident.ICActiveAt(inc, events), "a message in the channel counts")
	require.True(t, incident.ICActiveAt(&incident.Incident{}, events).IsZero())
}

// TestTakeICThroughTheService: AssignRole reads the IC's activity from the
// timeline.
func TestTakeICThroughTheService(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1) // U0DECL declared it and is the IC
	require.Equal(t, "U0DECL", inc.Commander)

	b.clock.Advance(2 * time.Minute)
	_, err := b.svc.AssignRole(ctx, inc.ID, incident.RoleCommander, "U0MALLORY", "U0MALLORY")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	require.False(t, refusalOf(err).Confirm, "an active IC: no takeover to confirm")
	_, err = b.svc.ConfirmTakeIC(ctx, inc.ID, "U0MALLORY")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err), "confirming does not lift it")
	inc, _ = b.store.GetIncident(ctx, inc.ID)
	require.Equal(t, "U0DECL", inc.Commander)

	// The IC keeps talking in the channel: still active at 20 minutes.
	b.clock.Advance(10 * time.Minute)
	require.NoError(t, b.store.AddTimelineEvent(ctx, &incident.TimelineEvent{IncidentID: inc.ID, Kind: incident.EventMessage,
		Actor: "U0DECL", At: b.clock.Now(), Text: "looking at the pool", SourceID: "m1"}))
	b.clock.Advance(8 * time.Minute)
	_, err = b.svc.ConfirmTakeIC(ctx, inc.ID, "U0MALLORY")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))

	// Quiet for 15 minutes: the takeover is confirmed in the channel.
	b.clock.Advance(8 * time.Minute)
	_, err = b.svc.AssignRole(ctx, inc.ID, incident.RoleCommander, "U0JANE", "U0JANE")
	require.True(t, refusalOf(err).Confirm)
	inc, err = b.svc.ConfirmTakeIC(ctx, inc.ID, "U0JANE")
	require.NoError(t, err)
	require.Equal(t, "U0JANE", inc.Commander)

	// The new IC hands over at once.
	inc, err = b.svc.AssignRole(ctx, inc.ID, incident.RoleCommander, "U0KIM", "U0JANE")
	require.NoError(t, err)
	require.Equal(t, "U0KIM", inc.Commander)
}

// TestBystanderUpdateKeepsTheLadder: a non-IC's "still investigating"
// every few minutes does not stop the reminders from reaching the IC
// directly and then the commander group.
func TestBystanderUpdateKeepsTheLadder(t *testing.T) {
	t.Parallel()
	b := setup(t, func(p *incident.Policy) { p.CommanderGroup = "S0ICS" })
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	replies := len(b.chat.Replies)
	for range 3 {
		advance(t, b, 9*time.Minute)
		before, _ := b.store.GetIncident(ctx, inc.ID)
		after, err := b.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0MALLORY", Known: incident.StillInvestigating})
		require.NoError(t, err, "anyone may post an update")
		require.False(t, incident.UpdateReset(before, after))
		require.Equal(t, before.NagCount, after.NagCount)
	}
	advance(t, b, 4*time.Minute) // 31 minutes in
	require.Len(t, b.chat.Nags, 3, "the ladder climbed despite the updates")
	require.Contains(t, b.chat.Nags[2], "<!subteam^S0ICS>, please help the IC or take over")
	require.Greater(t, len(b.chat.Replies), replies, "the IC was messaged directly")
	ups, err := b.store.ListStatusUpdates(ctx, inc.ID)
	require.NoError(t, err)
	require.Len(t, ups, 3, "the updates were posted")

	// A role holder's update starts the reminders over, as the IC's does.
	_, err = b.svc.AssignRole(ctx, inc.ID, incident.RoleComms, "U0KIM", "U0DECL")
	require.NoError(t, err)
	before, _ := b.store.GetIncident(ctx, inc.ID)
	after, err := b.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0KIM", Known: "pool exhausted"})
	require.NoError(t, err)
	require.True(t, incident.UpdateReset(before, after))
	require.Zero(t, after.NagCount)
}

func TestBystanderUpdateBeforeTheFirstNag(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	inc := readyAt(t, b, incident.P1)
	advance(t, b, 8*time.Minute)
	_, err := b.svc.PostUpdate(ctx, inc.ID, incident.UpdateInput{Author: "U0MALLORY", Known: "seeing errors too", NextIn: 30 * time.Minute})
	require.NoError(t, err)
	advance(t, b, 3*time.Minute)
	require.Len(t, b.chat.Nags, 1, "the IC's first reminder comes on time")
}

func TestPermissionExportAndReset(t *testing.T) {
	t.Parallel()
	p := permPolicy()
	p.Exporters = []string{uReleaser}
	inc := incidentIn("has-ic", incident.P2)
	const uReviewOwner = "UREVIEW"
	for actor, want := range map[string]bool{uIC: true, uComms: true, uCommander: true, uReviewOwner: true, uReleaser: true,
		uMember: false, uStranger: false, uOwner: false} {
		d := p.Decide(incident.Request{Subject: subject(actor, inc), Action: incident.ActExport, Incident: inc, Target: uReviewOwner})
		require.Equal(t, want, d.Allowed, actor)
		if !want {
			msg := slackMessage(d.Err())
			require.Contains(t, msg, "You may not export the postmortem", actor)
			require.Contains(t, msg, "<@"+uIC+">", actor)
			require.Contains(t, msg, "<@"+uReviewOwner+">", actor)
		}
	}
	require.Contains(t, p.RefsFor(incident.Request{Action: incident.ActExport}), uReleaser)

	for actor, want := range map[string]bool{uIC: true, uComms: true, uCommander: true, uMember: false, uReleaser: false} {
		d := p.Decide(incident.Request{Subject: subject(actor, inc), Action: incident.ActResetReminders, Incident: inc})
		require.Equal(t, want, d.Allowed, actor)
	}
}

func TestPolicyWarnsWithoutACommanderGroup(t *testing.T) {
	t.Parallel()
	p := incident.DefaultPolicy()
	w := p.Warnings()
	require.Len(t, w, 1)
	require.Contains(t, w[0], "commander_group")
	p.CommanderGroup = "S0ICS"
	require.Empty(t, p.Warnings())
}

package incident_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// Judging a P1 alert not an incident silences its proposal until it
// resolves and fires again: it is for the people who answer for the
// service and the commander group, not for anyone who may declare. A P3's
// is anyone's who may declare.
func TestDismissingASevereAlertIsForItsServicesPeople(t *testing.T) {
	t.Parallel()
	b := setup(t, alertPolicy, func(p *incident.Policy) {
		p.AlertRules = append(p.AlertRules, incident.AlertRule{Name: "checkout-slow",
			Match: map[string]string{"alertname": "SlowPages"}, Service: "checkout", Severity: incident.P3})
	})
	ctx := context.Background()
	require.NoError(t, b.alrt.HandleAlert(ctx, firing("fp1", "HighErrorRate")))
	require.NoError(t, b.alrt.HandleAlert(ctx, firing("fp2", "SlowPages")))
	require.Empty(t, b.queue.RunAll(t))
	p1, err := b.store.FindAlert(ctx, "alertmanager", "fp1")
	require.NoError(t, err)
	p3, err := b.store.FindAlert(ctx, "alertmanager", "fp2")
	require.NoError(t, err)

	_, err = b.alrt.DismissAlert(ctx, p1.ID, "U0ERIN")
	require.Equal(t, incident.EFORBIDDEN, incident.ErrorCode(err))
	var r *incident.Refusal
	require.ErrorAs(t, err, &r)
	require.Equal(t, incident.ActDismissAlert, r.Action)
	require.Equal(t, "a P1 alert is judged not an incident only by the people who answer for its service and the commander group", r.Reason)
	stored, err := b.store.GetAlert(ctx, p1.ID)
	require.NoError(t, err)
	require.Equal(t, incident.AlertProposed, stored.State, "the proposal stays open")

	dismissed, err := b.alrt.DismissAlert(ctx, p1.ID, "U0ALICE") // a responder of checkout
	require.NoError(t, err)
	require.Equal(t, incident.AlertDismissed, dismissed.State)

	dismissed, err = b.alrt.DismissAlert(ctx, p3.ID, "U0ERIN")
	require.NoError(t, err, "a P3 is anyone's call who may declare")
	require.Equal(t, incident.AlertDismissed, dismissed.State)
}

// Who is on call is the workspace's own: a guest is refused, a member is
// not, whatever incident they are in.
func TestSeeingWhoIsOnCallIsNotForGuests(t *testing.T) {
	t.Parallel()
	p := incident.DefaultPolicy()
	guest := p.Decide(incident.Request{Subject: incident.Subject{User: "U0GUEST", Guest: true}, Action: incident.ActSeeOnCall})
	require.False(t, guest.Allowed)
	require.Equal(t, "it is not shown to guests of the workspace; ask the Incident Commander or a member of the workspace in the incident's channel", guest.Reason)
	require.True(t, p.Decide(incident.Request{Subject: incident.Subject{User: "U0MEMBER"}, Action: incident.ActSeeOnCall}).Allowed)
}

// With declaring limited to named people and a service's owners,
// responders and the commander group named apart from them, a P1 alert
// is theirs to judge not an incident, whether or not they may declare; a
// declarer who is none of them is refused, as is anyone else. A P3 stays
// the declarers' call.
func TestDismissingASevereAlertNeedsNotDeclaring(t *testing.T) {
	t.Parallel()
	p := incident.Policy{
		Declarers:      []string{"USRE"},
		CommanderGroup: "UIC",
		Services: map[string]incident.ServicePolicy{
			"checkout": {Name: "Checkout", Owners: []string{"UOWNER"}, Responders: []string{"URESP"}},
		},
	}
	decide := func(who string, sev incident.Severity) incident.Decision {
		return p.Decide(incident.Request{Subject: incident.Subject{User: who}, Action: incident.ActDismissAlert, Severity: sev, Service: "checkout"})
	}
	for _, who := range []string{"UOWNER", "URESP", "UIC"} {
		require.True(t, decide(who, incident.P1).Allowed, who)
	}
	for _, who := range []string{"USRE", "USOMEONE"} {
		d := decide(who, incident.P1)
		require.False(t, d.Allowed, who)
		require.Equal(t, "a P1 alert is judged not an incident only by the people who answer for its service and the commander group", d.Reason)
	}
	require.True(t, decide("USRE", incident.P3).Allowed, "a P3 is the declarers' call")
	require.False(t, decide("UOWNER", incident.P3).Allowed, "who may not declare does not judge a P3")
}

package bot

import (
	"context"
	"strconv"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/alerts"
)

// TestAlertButtonsActOnlyWhereTheAlertWasProposed: an alert proposal's
// buttons name the alert by id. A click carrying that id from another
// channel (another proposal's button with its value changed, in a channel
// the person is in) is not a click on the proposal: it neither declares
// nor dismisses the alert, and does not say the alert's title to someone
// who may never have seen the private channel it was proposed in. Clicked
// where it was proposed, it works. The policy names the channel by id or
// by name.
func TestAlertButtonsActOnlyWhereTheAlertWasProposed(t *testing.T) {
	for _, ref := range []string{"C0SREALERTS", "#sre-alerts"} {
		t.Run(ref, func(t *testing.T) { testAlertButtonsWhereProposed(t, ref) })
	}
}

func testAlertButtonsWhereProposed(t *testing.T, ref string) {
	const sreAlerts = "C0SREALERTS"
	tr := newTransportWith(t, nil, func(p *incident.Policy) {
		// A P3: anyone who may declare judges it (a P1's or P2's is its
		// service's people's, incident.ActDismissAlert).
		p.AlertRules = []incident.AlertRule{{Name: "payments", Match: map[string]string{"alertname": "PaymentsSlow"}, Service: "checkout", Severity: incident.P3}}
		svc := p.Services["checkout"]
		svc.Channel = ref
		p.Services["checkout"] = svc
	})
	tr.srv.AddChannel(slackfake.Channel{ID: sreAlerts, Name: "sre-alerts", Private: true, Members: []string{tr.srv.BotUserID(), tr.roller.ID}})
	ctx := context.Background()
	tr.h.cfg.Alerts.(*alerts.Service).RegisterJobs(tr.queue)
	require.NoError(t, tr.h.cfg.Alerts.(*alerts.Service).HandleAlert(ctx, incident.AlertEvent{Source: "grafana", Fingerprint: "fp-secret",
		Title: "Payments slow in the fraud pipeline", Labels: map[string]string{"alertname": "PaymentsSlow"}}))
	tr.queue.Run(t, alerts.JobPropose)
	al, err := tr.store.FindAlert(ctx, "grafana", "fp-secret")
	require.NoError(t, err)
	require.Equal(t, ref, al.ChannelID, "proposed in the service's channel")
	require.Len(t, tr.srv.Messages(sreAlerts), 1, "proposed in the service's channel")
	before, err := tr.svc.List(ctx)
	require.NoError(t, err)
	id := strconv.FormatInt(al.ID, 10)

	for _, actionID := range []string{incident.ActionAlertDismiss, incident.ActionAlertDeclare} {
		cb := slackfake.BlockActions(tr.other.ID, "C0GENERAL", "1700000000.000300", &slack.BlockAction{ActionID: actionID, Value: id})
		cb.Channel.Name = "general"
		r := tr.interact(t, cb)
		posts := tr.srv.ResponsePosts(r.ResponseURL)
		require.Len(t, posts, 1, actionID)
		require.False(t, posts[0].ReplaceOriginal, actionID)
		require.Contains(t, posts[0].Text, "You can't act on that alert here because its proposal was posted in another channel", actionID)
		require.NotContains(t, posts[0].Text, "fraud pipeline", "%s: the alert's title is said to someone outside its channel", actionID)
	}
	al, err = tr.store.GetAlert(ctx, al.ID)
	require.NoError(t, err)
	require.Equal(t, incident.AlertProposed, al.State, "a click from elsewhere decided the alert")
	after, err := tr.svc.List(ctx)
	require.NoError(t, err)
	require.Len(t, after, len(before), "a click from elsewhere declared an incident")

	cb := slackfake.BlockActions(tr.roller.ID, sreAlerts, al.MessageTS, &slack.BlockAction{ActionID: incident.ActionAlertDismiss, Value: id})
	cb.Channel.Name = "sre-alerts"
	r := tr.interact(t, cb)
	require.Len(t, tr.srv.ResponsePosts(r.ResponseURL), 1)
	al, err = tr.store.GetAlert(ctx, al.ID)
	require.NoError(t, err)
	require.Equal(t, incident.AlertDismissed, al.State, "dismissed where it was proposed")
	require.Equal(t, tr.roller.ID, al.DecidedBy)
}

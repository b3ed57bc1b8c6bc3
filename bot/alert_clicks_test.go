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

// TestAlertDeclaredTwiceKeepsWhoDeclared: two people press Declare on the
// same alert proposal. One incident is declared, by the first; the second
// is told, only to them, who declared it, and the alert keeps the first as
// who decided. A button naming an alert that does not exist declares
// nothing.
func TestAlertDeclaredTwiceKeepsWhoDeclared(t *testing.T) {
	tr := newTransportWith(t, nil, func(p *incident.Policy) {
		p.AlertRules = []incident.AlertRule{{Name: "payments", Match: map[string]string{"alertname": "PaymentsDown"}, Service: "checkout", Severity: incident.P1}}
	})
	ctx := context.Background()
	require.NoError(t, tr.h.cfg.Alerts.(*alerts.Service).HandleAlert(ctx, incident.AlertEvent{Source: "grafana", Fingerprint: "fp-payments",
		Title: "Payments down", Labels: map[string]string{"alertname": "PaymentsDown"}}))
	al, err := tr.store.FindAlert(ctx, "grafana", "fp-payments")
	require.NoError(t, err)
	before, err := tr.svc.List(ctx)
	require.NoError(t, err)

	click := func(user, value string) []slackfake.ResponsePost {
		r := tr.interact(t, slackfake.BlockActions(user, "C0GENERAL", "1700000000.000100",
			&slack.BlockAction{ActionID: incident.ActionAlertDeclare, Value: value}))
		return tr.srv.ResponsePosts(r.ResponseURL)
	}
	id := strconv.FormatInt(al.ID, 10)
	click(tr.roller.ID, id)
	posts := click(tr.other.ID, id)

	after, err := tr.svc.List(ctx)
	require.NoError(t, err)
	require.Len(t, after, len(before)+1, "one incident")
	al, err = tr.store.GetAlert(ctx, al.ID)
	require.NoError(t, err)
	require.Equal(t, tr.roller.ID, al.DecidedBy, "the alert keeps who declared it")
	inc, err := tr.store.GetIncident(ctx, al.IncidentID)
	require.NoError(t, err)
	require.Equal(t, tr.roller.ID, inc.DeclaredBy)
	require.Len(t, posts, 1)
	require.False(t, posts[0].ReplaceOriginal, "the proposal is not rewritten as the second person's declare")
	require.Contains(t, posts[0].Text, "<@"+tr.roller.ID+"> already declared "+inc.Key())

	posts = click(tr.other.ID, "424242")
	require.Len(t, posts, 1)
	require.Contains(t, posts[0].Text, "That alert was not found")
	again, err := tr.svc.List(ctx)
	require.NoError(t, err)
	require.Len(t, again, len(after), "a forged alert id declares nothing")
}

// TestAlertDismissedTwiceKeepsWhoDismissed: two people press Not an
// incident on the same proposal; the second is told, only to them, who
// judged it, and the alert keeps the first.
func TestAlertDismissedTwiceKeepsWhoDismissed(t *testing.T) {
	tr := newTransportWith(t, nil, func(p *incident.Policy) {
		// A P3: anyone who may declare judges it (a P1's or P2's is its
		// service's people's, incident.ActDismissAlert).
		p.AlertRules = []incident.AlertRule{{Name: "payments", Match: map[string]string{"alertname": "PaymentsSlow"}, Service: "checkout", Severity: incident.P3}}
	})
	ctx := context.Background()
	require.NoError(t, tr.h.cfg.Alerts.(*alerts.Service).HandleAlert(ctx, incident.AlertEvent{Source: "grafana", Fingerprint: "fp-slow",
		Title: "Payments slow", Labels: map[string]string{"alertname": "PaymentsSlow"}}))
	al, err := tr.store.FindAlert(ctx, "grafana", "fp-slow")
	require.NoError(t, err)
	id := strconv.FormatInt(al.ID, 10)
	for _, user := range []string{tr.roller.ID, tr.roller.ID} {
		r := tr.interact(t, slackfake.BlockActions(user, "C0GENERAL", "1700000000.000200", &slack.BlockAction{ActionID: incident.ActionAlertDismiss, Value: id}))
		for _, p := range tr.srv.ResponsePosts(r.ResponseURL) {
			require.NotContains(t, p.Text, "already", "a double click is no conflict")
		}
	}
	r := tr.interact(t, slackfake.BlockActions(tr.other.ID, "C0GENERAL", "1700000000.000200", &slack.BlockAction{ActionID: incident.ActionAlertDismiss, Value: id}))
	posts := tr.srv.ResponsePosts(r.ResponseURL)
	require.Len(t, posts, 1)
	require.False(t, posts[0].ReplaceOriginal)
	require.Contains(t, posts[0].Text, "<@"+tr.roller.ID+"> already judged this alert not an incident")
	al, err = tr.store.GetAlert(ctx, al.ID)
	require.NoError(t, err)
	require.Equal(t, incident.AlertDismissed, al.State)
	require.Equal(t, tr.roller.ID, al.DecidedBy)
}

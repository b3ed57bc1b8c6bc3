package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

const pdWebhookSecret = "pd-webhook-secret"

func pagerDutyFake(t *testing.T) *pdfake.Server {
	t.Helper()
	pd := pdfake.New()
	t.Cleanup(pd.Close)
	pd.AddEscalationPolicy("PEP1", "Checkout")
	pd.AddService(pdfake.Service{ID: "PSVC1", Name: "Checkout", EscalationPolicyID: "PEP1"})
	pd.AddUser(pdfake.User{ID: "PUBOT", Name: "firebreak", Email: "bot@example.com"})
	pd.AddUser(pdfake.User{ID: "PUALICE", Name: "Alice Doe", Email: "alice@example.com"})
	pd.AddUser(pdfake.User{ID: "PUBOB", Name: "Bob Roe", Email: "bob@example.com"})
	pd.AddUser(pdfake.User{ID: "PUCAROL", Name: "Carol Poe", Email: "carol@example.com"})
	pd.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 1, UserID: "PUBOB", Schedule: "Primary"})
	pd.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 2, UserID: "PUCAROL", Schedule: "Secondary"})
	return pd
}

func pagingEnv(t *testing.T, pd *pdfake.Server) map[string]string {
	return map[string]string{
		"POLICY_FILE": writePolicyFile(t, `
services:
  checkout:
    name: Checkout
    responders: [U0CAROL]
    pagerduty: {service_id: PSVC1}
`),
		"PAGERDUTY_API_URL": pd.URL(), "PAGERDUTY_EVENTS_URL": pd.EventsURL(), "PAGERDUTY_TOKEN": pd.Token(),
		"PAGERDUTY_FROM_EMAIL": "bot@example.com", "PAGERDUTY_WEBHOOK_SECRET": pdWebhookSecret,
	}
}

// TestPagingEndToEnd: a declare pages PagerDuty once; an acknowledgement
// from the phone (a signed webhook) shows in the channel once, however often
// it is delivered; a forged webhook is refused; the Acknowledge button
// acknowledges as the clicking user; resolving resolves the page.
func TestPagingEndToEnd(t *testing.T) {
	t.Parallel()
	fake := seededSlack(t)
	pd := pagerDutyFake(t)
	b := startBot(t, botOptions{mode: "http", slack: fake, databaseURL: pgtest.MigratedDSN(t), env: pagingEnv(t, pd)})
	ctx := context.Background()

	_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P1 --service=checkout payments failing")
	require.Contains(t, text, "Declaring INC-1")
	ch := waitChannel(t, fake, fmt.Sprintf("inc-%s-payments-failing", time.Now().UTC().Format("2006-01-02")))
	require.Eventually(t, func() bool { return strings.Contains(messagesText(fake, ch.ID), "Paged *Checkout* in PagerDuty") },
		15*time.Second, 25*time.Millisecond)
	require.Len(t, pd.Incidents(), 1, "paged once")
	pdInc := pd.Incidents()[0]
	require.Equal(t, "alice@example.com", pdInc.CreatedBy, "attributed to the declarer")
	require.Equal(t, "high", pdInc.Urgency)
	require.Contains(t, pdInc.Title, "[INC-1]")
	require.Subset(t, pdInc.Notified, []string{"PUBOB", "PUCAROL"}, "P1 pages on-call and the backup")

	// Acknowledged on the phone: PagerDuty's webhook, delivered twice.
	for i := 0; i < 2; i++ {
		resp, err := pd.SendWebhook(ctx, b.base+"/webhooks/pagerduty", pdWebhookSecret, "incident.acknowledged", pdInc.ID, "Bob Roe", pdfake.WithEventID("EV-ACK-1"))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	require.Eventually(t, func() bool {
		return strings.Contains(messagesText(fake, ch.ID), "Acknowledged by Bob Roe in PagerDuty")
	},
		15*time.Second, 25*time.Millisecond)
	require.Never(t, func() bool { return strings.Count(messagesText(fake, ch.ID), "Acknowledged by Bob Roe") > 1 },
		500*time.Millisecond, 50*time.Millisecond, "a redelivered webhook changes nothing")
	_, text = b.command("http", "U0ALICE", ch.ID, "status")
	require.Contains(t, text, "INC-1")

	// The incident series: one P1 open, declared and paged once.
	require.Equal(t, 1.0, b.metric("firebreak_incidents_open", `severity="P1"`))
	require.Equal(t, 0.0, b.metric("firebreak_incidents_open", `severity="P2"`))
	require.Equal(t, 1.0, b.metric("firebreak_incidents_declared_total", `severity="P1"`))
	require.Equal(t, 1.0, b.metric("firebreak_pages_total", `severity="P1"`))

	// A forged delivery is refused and changes nothing.
	resp, err := pd.SendWebhook(ctx, b.base+"/webhooks/pagerduty", "wrong-secret", "incident.resolved", pdInc.ID, "Mallory")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// The Acknowledge button acts as the clicking user (by Slack e-mail).
	_, text = b.command("http", "U0ALICE", ch.ID, "page")
	require.Contains(t, text, "Paging checkout")
	require.Eventually(t, func() bool { return len(pd.Incidents()) == 2 }, 15*time.Second, 25*time.Millisecond, "a deliberate re-page is a new page")
	second := pd.Incidents()[1]
	var key string
	require.Eventually(t, func() bool {
		for _, m := range fake.Messages(ch.ID) {
			if strings.Contains(string(m.Blocks), "page_ack") && strings.Contains(string(m.Blocks), "-r1") {
				key = second.IncidentKey // firebreak-<installation>-1-checkout-r1
				return true
			}
		}
		return false
	}, 15*time.Second, 25*time.Millisecond)
	cb := slackfake.BlockActions("U0ALICE", ch.ID, "", &slack.BlockAction{ActionID: "page_ack", Value: key})
	r, err := b.driver.Interaction(ctx, b.base+"/slack/interactions", cb)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Eventually(t, func() bool {
		got, _ := pd.Incident(second.ID)
		return got.Status == "acknowledged" && got.AcknowledgedBy == "PUALICE"
	}, 15*time.Second, 25*time.Millisecond, "acknowledged in PagerDuty as Alice")

	// Resolving the incident resolves its pages.
	_, text = b.command("http", "U0ALICE", ch.ID, "resolve")
	require.Contains(t, text, "resolved")
	require.Eventually(t, func() bool {
		for _, inc := range pd.Incidents() {
			if inc.Status != "resolved" {
				return false
			}
		}
		return true
	}, 15*time.Second, 25*time.Millisecond)
}

// TestPagerDutyDown: the incident and its channel are still created, the
// channel says the page failed and why with a Retry button, and the page
// goes out once PagerDuty is back.
func TestPagerDutyDown(t *testing.T) {
	t.Parallel()
	fake := seededSlack(t)
	pd := pagerDutyFake(t)
	pd.SetDown(true)
	b := startBot(t, botOptions{mode: "http", slack: fake, env: pagingEnv(t, pd)})

	start := time.Now()
	_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P2 --service=checkout search slow")
	require.Contains(t, text, "Declaring INC-1")
	require.Less(t, time.Since(start), 3*time.Second, "nothing waits on PagerDuty on the Slack path")
	ch := waitChannel(t, fake, fmt.Sprintf("inc-%s-search-slow", time.Now().UTC().Format("2006-01-02")))
	require.Eventually(t, func() bool { return strings.Contains(messagesText(fake, ch.ID), "Paging Checkout failed") },
		20*time.Second, 25*time.Millisecond)
	var failure slackfake.Message
	for _, m := range fake.Messages(ch.ID) {
		if strings.Contains(m.Text, "Paging Checkout failed") {
			failure = m
		}
	}
	require.Contains(t, failure.Text, "PagerDuty is not responding")
	require.Contains(t, failure.Text, "Retrying in the background")
	require.Contains(t, string(failure.Blocks), "page_retry", "with a Retry button")

	// PagerDuty is back: the background retry pages once.
	pd.SetDown(false)
	require.Eventually(t, func() bool { return strings.Contains(messagesText(fake, ch.ID), "Paged *Checkout* in PagerDuty") },
		90*time.Second, 100*time.Millisecond, "the circuit breaker lets a probe through after 30s; the job retries every 15s")
	require.Len(t, pd.Incidents(), 1)
	require.Equal(t, 1, strings.Count(messagesText(fake, ch.ID), "Paging Checkout failed"), "the failure is said once")
}

// TestUnacknowledgedPageEscalatesByItself: a P1 page carries the runbook and
// a web link to the channel, the people paged are invited into the channel,
// and when nobody acknowledges it within the severity's response target
// PagerDuty escalates it to the next level, which the channel is told, with
// the Re-page button still there.
func TestUnacknowledgedPageEscalatesByItself(t *testing.T) {
	t.Parallel()
	fake := seededSlack(t)
	pd := pagerDutyFake(t)
	pd.AddUser(pdfake.User{ID: "PUDAVE", Name: "Dave Moe", Email: "dave@example.com"})
	pd.AddOnCall(pdfake.OnCall{EscalationPolicyID: "PEP1", Level: 3, UserID: "PUDAVE", Schedule: "Managers"})
	env := pagingEnv(t, pd)
	env["POLICY_FILE"] = writePolicyFile(t, `
severities:
  P1: {respond_within: 3s, update_every: 1h}
services:
  checkout:
    name: Checkout
    runbook: https://runbooks.example.com/checkout
    pagerduty: {service_id: PSVC1}
`)
	b := startBot(t, botOptions{mode: "http", slack: fake, env: env})

	_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P1 --service=checkout payments failing")
	require.Contains(t, text, "Declaring INC-1")
	ch := waitChannel(t, fake, fmt.Sprintf("inc-%s-payments-failing", time.Now().UTC().Format("2006-01-02")))
	require.Eventually(t, func() bool { return len(pd.Incidents()) > 0 }, 15*time.Second, 25*time.Millisecond)
	pdInc := pd.Incidents()[0]
	require.Contains(t, pdInc.Details, "Runbook: https://runbooks.example.com/checkout", "what to do, on the phone at once")
	require.Contains(t, pdInc.Details, "Incident channel: https://slack.com/app_redirect?channel="+ch.ID, "a link a phone can open")
	require.NotContains(t, pdInc.Details, "slack://")

	// On-call (Bob) and the backup (Carol) are paged and invited.
	require.Eventually(t, func() bool {
		c, _ := fake.Channel(ch.ID)
		return slices.Contains(c.Members, "U0BOB") && slices.Contains(c.Members, "U0CAROL")
	}, 15*time.Second, 25*time.Millisecond, "the people paged are invited by e-mail")

	// Nobody acknowledges within 3 seconds: PagerDuty escalates to level 3.
	require.Eventually(t, func() bool {
		return strings.Contains(messagesText(fake, ch.ID), "Nobody acknowledged the page for *Checkout* within 3 seconds, so I escalated it in PagerDuty to the next level")
	}, 20*time.Second, 50*time.Millisecond)
	got, ok := pd.Incident(pdInc.ID)
	require.True(t, ok)
	require.Contains(t, got.Notified, "PUDAVE", "PagerDuty notified the next level")
	require.Contains(t, messagesText(fake, ch.ID), "now paging Dave Moe.")
	require.Eventually(t, func() bool {
		c, _ := fake.Channel(ch.ID)
		return slices.Contains(c.Members, "U0DAVE")
	}, 15*time.Second, 25*time.Millisecond, "the next level is invited too")
	var button bool
	for _, m := range fake.Messages(ch.ID) {
		if strings.Contains(m.Text, "so I escalated it") && strings.Contains(string(m.Blocks), "page_repage") {
			button = true
		}
	}
	require.True(t, button, "the Re-page button stays for doing it again by hand")
}

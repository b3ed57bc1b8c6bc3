package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/integrations/pagerduty/pdfake"
)

const amToken = "alertmanager-bearer-token"

// postAlert delivers an Alertmanager webhook as Alertmanager does, with its
// http_config bearer token.
func postAlert(t *testing.T, b *botInstance, token string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+"/webhooks/alertmanager", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Alertmanager/0.28.1")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// incidentChannel waits for the channel whose name starts with prefix and
// has its pinned panel.
func incidentChannel(t *testing.T, fake *slackfake.Server, prefix string) slackfake.Channel {
	t.Helper()
	var ch slackfake.Channel
	require.Eventually(t, func() bool {
		for _, c := range fake.Channels() {
			if strings.HasPrefix(c.Name, prefix) && len(c.Pins) == 1 {
				ch = c
				return true
			}
		}
		return false
	}, 20*time.Second, 25*time.Millisecond, "an incident channel %s...", prefix)
	return ch
}

func channelCount(fake *slackfake.Server, channelID, sub string) int {
	n := 0
	for _, m := range fake.Messages(channelID) {
		if strings.Contains(m.Text, sub) {
			n++
		}
	}
	return n
}

// TestAlertProposesDeclaresRepeatsAndResolves: an Alertmanager v4 webhook
// proposes a P1 in the service's channel; Declare opens the incident;
// Alertmanager's resends of the firing alert say nothing, and its firing
// again goes on the timeline and the channel once; its resolution is said
// in the incident channel. A wrong token changes nothing.
func TestAlertProposesDeclaresRepeatsAndResolves(t *testing.T) {
	t.Parallel()
	fake := seededSlack(t)
	fake.AddChannel(slackfake.Channel{ID: "C0CHECKOUT", Name: "checkout-ops", Members: []string{"U0ALICE", fake.BotUserID()}})
	env := map[string]string{
		"ALERTMANAGER_WEBHOOK_TOKEN": amToken,
		"POLICY_FILE": writePolicyFile(t, `
services:
  checkout:
    name: Checkout
    channel: "#checkout-ops"
alerts:
  rules:
    - name: checkout-errors
      match: {alertname: HighErrorRate, service: checkout}
      service: checkout
      severity: P1
`),
	}
	b := startBot(t, botOptions{mode: "http", slack: fake, env: env})
	ctx := context.Background()
	firing, err := os.ReadFile("../../integrations/alerting/testdata/alertmanager_v4.json")
	require.NoError(t, err)

	require.Equal(t, http.StatusUnauthorized, postAlert(t, b, "wrong", firing))
	require.Equal(t, http.StatusUnauthorized, postAlert(t, b, "", firing))
	require.Equal(t, http.StatusOK, postAlert(t, b, amToken, firing))
	require.Equal(t, http.StatusOK, postAlert(t, b, amToken, firing), "Alertmanager's repeat before anyone decided")

	var proposal slackfake.Message
	var value string
	require.Eventually(t, func() bool {
		for _, m := range fake.Messages("C0CHECKOUT") {
			if v := buttonValues(m, incident.ActionAlertDeclare); len(v) == 1 {
				proposal, value = m, v[0]
				return true
			}
		}
		return false
	}, 20*time.Second, 25*time.Millisecond, "a Declare P1 from this alert? proposal")
	require.Contains(t, proposal.Text, "Declare P1 from this alert?")
	require.Contains(t, proposal.Text, "HighErrorRate: checkout 5xx rate above 5%")
	require.Len(t, buttonValues(proposal, incident.ActionAlertDismiss), 1)
	require.Never(t, func() bool { return channelCount(fake, "C0CHECKOUT", "from this alert?") > 1 }, time.Second, 50*time.Millisecond,
		"one proposal for one alert")

	// Declare, clicked twice.
	for range 2 {
		cb := slackfake.BlockActions("U0ALICE", "C0CHECKOUT", proposal.TS, &slack.BlockAction{ActionID: incident.ActionAlertDeclare, Value: value})
		r, err := b.driver.Interaction(ctx, b.base+"/slack/interactions", cb)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode)
	}
	ch := incidentChannel(t, fake, fmt.Sprintf("inc-%s-higherrorrate", time.Now().UTC().Format("2006-01-02")))
	require.Eventually(t, func() bool { return channelCount(fake, ch.ID, "Started by the alert") == 1 }, 20*time.Second, 25*time.Millisecond)
	require.Contains(t, panelText(t, fake, ch), "INC-1")
	require.Eventually(t, func() bool {
		m, ok := fake.Message("C0CHECKOUT", proposal.TS)
		return ok && strings.Contains(m.Text, "declared *INC-1*")
	}, 10*time.Second, 25*time.Millisecond, "the proposal says who declared, and has no buttons left to click")
	_, text := b.command("http", "U0ALICE", ch.ID, "status")
	require.Contains(t, text, "P1")

	// Alertmanager resends the firing alert, same startsAt, every
	// group_interval: that says nothing. It stops and fires again, its
	// resolution not sent (send_resolved: false): a later startsAt, said
	// once though both HA peers send it.
	require.Equal(t, http.StatusOK, postAlert(t, b, amToken, firing))
	refiring := bytes.Replace(firing, []byte(`"startsAt": "2026-08-07T14:20:31.123Z"`), []byte(`"startsAt": "2026-08-07T14:52:00Z"`), 1)
	require.NotEqual(t, firing, refiring)
	require.Equal(t, http.StatusOK, postAlert(t, b, amToken, refiring))
	require.Equal(t, http.StatusOK, postAlert(t, b, amToken, refiring))
	require.Eventually(t, func() bool { return channelCount(fake, ch.ID, "fired again (2 times so far)") == 1 }, 20*time.Second, 25*time.Millisecond)
	require.Never(t, func() bool { return channelCount(fake, ch.ID, "fired again") > 1 }, time.Second, 50*time.Millisecond,
		"neither the resend nor the second peer's delivery is said")

	// The alert resolves: positive confirmation in the incident channel.
	resolved := bytes.Replace(refiring, []byte(`"status": "firing",
      "labels": {"alertname": "HighErrorRate"`), []byte(`"status": "resolved",
      "labels": {"alertname": "HighErrorRate"`), 1)
	require.NotEqual(t, firing, resolved)
	require.Equal(t, http.StatusOK, postAlert(t, b, amToken, resolved))
	require.Equal(t, http.StatusOK, postAlert(t, b, amToken, resolved), "a redelivered resolution")
	require.Eventually(t, func() bool {
		return channelCount(fake, ch.ID, "The alert that started this has resolved") == 1
	}, 20*time.Second, 25*time.Millisecond)
	require.Never(t, func() bool { return channelCount(fake, ch.ID, "The alert that started this has resolved") > 1 },
		time.Second, 50*time.Millisecond)
	require.Len(t, fake.CallsTo("conversations.create"), 1, "one incident")
}

// TestDeclareFromMessageShortcut: the message shortcut opens the declare
// modal with the message as the description; the incident's timeline links
// the message.
func TestDeclareFromMessageShortcut(t *testing.T) {
	t.Parallel()
	fake := seededSlack(t)
	b := startBot(t, botOptions{mode: "http", slack: fake})
	ctx := context.Background()
	msg, ok := fake.AddMessage(slackfake.Message{Channel: "C0GENERAL", User: "U0BOB", Text: "checkout returns 502 for everyone since 14:02\nsee the dashboard"})
	require.True(t, ok)

	cb := &slack.InteractionCallback{Type: slack.InteractionTypeMessageAction, CallbackID: "declare_from_message"}
	cb.User.ID = "U0ALICE"
	cb.Channel.ID = "C0GENERAL"
	cb.Message.Text, cb.Message.User, cb.Message.Timestamp = msg.Text, msg.User, msg.TS
	cb.MessageTs = msg.TS
	r, err := b.driver.Interaction(ctx, b.base+"/slack/interactions", cb)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode)

	var view slackfake.View
	require.Eventually(t, func() bool {
		for _, v := range fake.OpenViews() {
			if v.CallbackID == "declare" {
				view = v
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the declare modal")
	require.Contains(t, string(view.JSON), "checkout returns 502 for everyone since 14:02\\nsee the dashboard", "the message is the description")
	sub, err := slackfake.ViewSubmission("U0ALICE", view, map[string]map[string]slack.BlockAction{
		"title":       {"title": {Value: "checkout returns 502"}},
		"severity":    {"severity": {SelectedOption: slack.OptionBlockObject{Value: "P2"}}},
		"description": {"description": {Value: msg.Text}},
	})
	require.NoError(t, err)
	r, err = b.driver.Interaction(ctx, b.base+"/slack/interactions", sub)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode, string(r.Body))
	ch := incidentChannel(t, fake, fmt.Sprintf("inc-%s-checkout-returns-502", time.Now().UTC().Format("2006-01-02")))

	// The link is on the timeline: the postmortem draft shows it as a key event.
	_, text := b.command("http", "U0ALICE", ch.ID, "resolve")
	require.Equal(t, "INC-1 is now resolved.", text)
	_, text = b.command("http", "U0ALICE", ch.ID, "close")
	require.Equal(t, "INC-1 is now closed.", text)
	require.Eventually(t, func() bool {
		return strings.Contains(messagesText(fake, ch.ID), "Declared from a message by")
	}, 20*time.Second, 50*time.Millisecond, "the postmortem's key events link the message")
	require.Contains(t, messagesText(fake, ch.ID), ".slack.com/archives/C0GENERAL/p"+strings.ReplaceAll(msg.TS, ".", ""))
}

func dmTexts(fake *slackfake.Server, user string) []string {
	var out []string
	for _, c := range fake.Channels() {
		if c.IM && len(c.Members) > 1 && c.Members[1] == user {
			for _, m := range fake.Messages(c.ID) {
				out = append(out, m.Text)
			}
		}
	}
	return out
}

// TestFollowThroughOnceAcrossTwoReplicas runs two bots on one PostgreSQL
// database with one injected clock, moved forward by days: the owner's
// due-date reminder, the overdue escalation to the IC, the weekly digest
// and the review reminder each arrive exactly once, though both replicas
// check every second.
func TestFollowThroughOnceAcrossTwoReplicas(t *testing.T) {
	t.Parallel()
	fake := seededSlack(t)
	fake.AddChannel(slackfake.Channel{ID: "C0FOLLOW", Name: "followups", Members: []string{fake.BotUserID()}})
	// Tuesday 1 December 2026, 08:00 UTC: the item is due on Friday the
	// 4th, overdue on Saturday the 5th (the digest day, and the weekly
	// drill's), and the review is due on Tuesday the 8th.
	today := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := incidenttest.NewClock(today.Add(8 * time.Hour))
	due := today.AddDate(0, 0, 3)
	overdueDay := due.AddDate(0, 0, 1)
	env := map[string]string{"POLICY_FILE": writePolicyFile(t, `
followups:
  check_every: 1s
  at: "09:00"
  digest_day: saturday
  digest_channel: "#followups"
drills:
  schedule:
    - name: weekly-search
      every: weekly
      day: 6
      at: "09:00"
      severity: P3
      title: "Weekly drill: search is slow"
`)}
	dsn := pgtest.MigratedDSN(t)
	a := startBot(t, botOptions{mode: "http", slack: fake, databaseURL: dsn, env: env, clock: clock})
	b := startBot(t, botOptions{mode: "http", slack: fake, databaseURL: dsn, env: env, clock: clock})

	_, text := a.command("http", "U0ALICE", "C0GENERAL", "declare P3 search is slow")
	require.Contains(t, text, "Declaring INC-1")
	ch := incidentChannel(t, fake, "inc-"+today.Format("2006-01-02")+"-search-is-slow")
	_, text = b.command("http", "U0ALICE", ch.ID, "followup add an index on orders.created_at <@U0BOB> due "+due.Format(time.DateOnly))
	require.Equal(t, "Follow-up recorded for INC-1.", text)
	_, text = a.command("http", "U0ALICE", ch.ID, "resolve")
	require.Equal(t, "INC-1 is now resolved.", text)
	_, text = b.command("http", "U0ALICE", ch.ID, "close")
	require.Equal(t, "INC-1 is now closed.", text)
	require.Eventually(t, func() bool { return channelCount(fake, ch.ID, "The postmortem review of INC-1 is due") == 1 },
		20*time.Second, 50*time.Millisecond, "the review is scheduled at close")
	_, text = a.command("http", "U0ALICE", ch.ID, "review")
	require.Contains(t, text, "*draft*")
	reviewDue := incident.AddBusinessDays(today, 5)
	require.Contains(t, text, reviewDue.Format("Mon 2 Jan 2006"))

	exactlyOnce := func(what string, count func() int) {
		t.Helper()
		require.Eventually(t, func() bool { return count() >= 1 }, 20*time.Second, 50*time.Millisecond, what)
		require.Never(t, func() bool { return count() > 1 }, 3500*time.Millisecond, 100*time.Millisecond, what+": once")
	}

	// The day before the due date, after 09:00: the owner's reminder.
	clock.Set(due.AddDate(0, 0, -1).Add(9*time.Hour + 30*time.Minute))
	exactlyOnce("the due-date reminder", func() int { return countContaining(dmTexts(fake, "U0BOB"), "Your follow-up from INC-1 is due") })
	_, text = a.command("http", "U0BOB", "C0GENERAL", "followups mine")
	require.Contains(t, text, "add an index on orders.created_at")

	// The day after: overdue, escalated to the IC; the weekly digest.
	clock.Set(overdueDay.Add(9*time.Hour + 30*time.Minute))
	exactlyOnce("the overdue reminder", func() int { return countContaining(dmTexts(fake, "U0BOB"), "is overdue") })
	exactlyOnce("the escalation to the IC", func() int { return countContaining(dmTexts(fake, "U0ALICE"), "which you commanded, is overdue") })
	exactlyOnce("the weekly digest", func() int { return channelCount(fake, "C0FOLLOW", "Weekly follow-ups") })
	exactlyOnce("the scheduled drill", func() int {
		n := 0
		for _, c := range fake.Channels() {
			if strings.HasPrefix(c.Name, "inc-drill-2026-12-05-weekly-drill-search-is-slow") {
				n++
			}
		}
		return n
	})
	digest := messagesText(fake, "C0FOLLOW")
	require.Contains(t, digest, "1 open, 1 overdue")
	require.Contains(t, digest, "add an index on orders.created_at")
	_, text = b.command("http", "U0ALICE", "C0GENERAL", "followups overdue")
	require.Contains(t, text, "Overdue follow-ups")

	// The business day before the review is due: its reminder to the IC.
	clock.Set(reviewDue.AddDate(0, 0, -1).Add(10 * time.Hour))
	for wd := clock.Now().Weekday(); wd == time.Saturday || wd == time.Sunday; wd = clock.Now().Weekday() {
		clock.Advance(-24 * time.Hour)
	}
	exactlyOnce("the review reminder", func() int {
		return countContaining(dmTexts(fake, "U0ALICE"), "Reminder: the postmortem review of INC-1")
	})
	_, text = a.command("http", "U0ALICE", ch.ID, "review in_review")
	require.Contains(t, text, "in review")
}

// TestDrillPagesNobodyRealAndStaysOutOfMetrics: a drill runs the whole
// flow marked DRILL; without a test service its page is simulated, with one
// only the test service is paged; its rollback-free resolve and close work;
// and the metrics leave it out.
func TestDrillPagesNobodyRealAndStaysOutOfMetrics(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, drills string
		testService  bool
	}{
		{"simulated", "", false},
		{"test service", "drills:\n  pagerduty: {service_id: PSVCTEST}\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := seededSlack(t)
			pd := pagerDutyFake(t)
			pd.AddService(pdfake.Service{ID: "PSVCTEST", Name: "Drill target", EscalationPolicyID: "PEP1"})
			env := pagingEnv(t, pd)
			env["POLICY_FILE"] = writePolicyFile(t, `
services:
  checkout:
    name: Checkout
    responders: [U0CAROL]
    pagerduty: {service_id: PSVC1}
`+tc.drills)
			b := startBot(t, botOptions{mode: "http", slack: fake, databaseURL: pgtest.MigratedDSN(t), env: env})

			_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare --drill --service=checkout P1 checkout is down")
			require.Contains(t, text, "DRILL")
			ch := incidentChannel(t, fake, fmt.Sprintf("inc-drill-%s-checkout-is-down", time.Now().UTC().Format("2006-01-02")))
			require.Contains(t, ch.Topic, "DRILL")
			require.Contains(t, panelText(t, fake, ch), "[DRILL]")
			if tc.testService {
				require.Eventually(t, func() bool { return len(pd.Incidents()) >= 1 }, 20*time.Second, 25*time.Millisecond)
				require.Eventually(t, func() bool { return channelCount(fake, ch.ID, "Paged *Checkout (drill test service)*") == 1 },
					20*time.Second, 25*time.Millisecond)
			} else {
				require.Eventually(t, func() bool { return channelCount(fake, ch.ID, "Simulated page") == 1 }, 20*time.Second, 25*time.Millisecond)
			}
			_, text = b.command("http", "U0ALICE", ch.ID, "update drill: rolling back the 14:02 deploy")
			require.Contains(t, text, "Update posted")
			_, text = b.command("http", "U0ALICE", ch.ID, "resolve drill over")
			require.Equal(t, "INC-1 is now resolved.", text)
			_, text = b.command("http", "U0ALICE", ch.ID, "close")
			require.Equal(t, "INC-1 is now closed.", text)
			require.Eventually(t, func() bool { return strings.Contains(messagesText(fake, ch.ID), "Drill: what worked") }, 30*time.Second, 50*time.Millisecond,
				"the drill's postmortem records what worked")

			for _, inc := range pd.Incidents() {
				require.Equal(t, "PSVCTEST", inc.ServiceID, "nobody real was paged: %+v", inc)
				require.Contains(t, inc.Title, "[DRILL] ")
			}
			if !tc.testService {
				require.Empty(t, pd.Incidents())
				require.Empty(t, pd.Events())
			}
			for _, m := range fake.Messages(ch.ID) {
				if m.BotID != "" && !m.IsReply() {
					require.True(t, strings.HasPrefix(m.Text, bot.DrillMarker) || strings.Contains(m.Text, "[DRILL]"),
						"every message in the drill's channel is marked: %q", m.Text)
				}
			}

			// Metrics leave the drill out; a real incident counts.
			_, text = b.command("http", "U0ALICE", "C0GENERAL", "metrics 30d")
			require.Contains(t, text, "0 incidents")
			_, text = b.command("http", "U0ALICE", "C0GENERAL", "declare P3 search is slow")
			require.Contains(t, text, "Declaring INC-2")
			_, text = b.command("http", "U0ALICE", "C0GENERAL", "metrics 30d")
			require.Contains(t, text, "1 incidents")
		})
	}
}

// TestGrafanaAndPagerDutyAlerts: a Grafana contact point signed with HMAC,
// and a PagerDuty incident opened by a monitoring tool (Events API v2,
// then the incident.triggered webhook), are proposed in the service's
// channel; the bot's own pages are not alerts.
func TestGrafanaAndPagerDutyAlerts(t *testing.T) {
	t.Parallel()
	fake := seededSlack(t)
	fake.AddChannel(slackfake.Channel{ID: "C0CHECKOUT", Name: "checkout-ops", Members: []string{fake.BotUserID()}})
	pd := pagerDutyFake(t)
	monitor := pd.AddService(pdfake.Service{ID: "PMON1", Name: "Checkout monitors", EscalationPolicyID: "PEP1"})
	env := pagingEnv(t, pd)
	env["GRAFANA_WEBHOOK_SECRET"] = "grafana-hmac-secret"
	env["GRAFANA_WEBHOOK_TIMESTAMP_HEADER"] = "X-Grafana-Alerting-Timestamp"
	env["POLICY_FILE"] = writePolicyFile(t, `
services:
  checkout:
    name: Checkout
    channel: "#checkout-ops"
    pagerduty: {service_id: PSVC1}
alerts:
  rules:
    - name: grafana-checkout
      match: {alertname: Checkout errors, team: payments}
      service: checkout
      severity: P2
    - name: pagerduty-monitors
      match: {pagerduty_service: PMON1}
      service: checkout
      severity: P1
`)
	b := startBot(t, botOptions{mode: "http", slack: fake, databaseURL: pgtest.MigratedDSN(t), env: env})
	ctx := context.Background()

	body, err := os.ReadFile("../../integrations/alerting/testdata/grafana.json")
	require.NoError(t, err)
	// Grafana's contact point signs "timestamp:body" with the Timestamp
	// Header set; the body alone signed could be sent again at any time.
	send := func(sig, ts string) int {
		req, err := http.NewRequest(http.MethodPost, b.base+"/webhooks/grafana", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Grafana-Alerting-Signature", sig)
		if ts != "" {
			req.Header.Set("X-Grafana-Alerting-Timestamp", ts)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	signed := append([]byte(ts+":"), body...)
	require.Equal(t, http.StatusUnauthorized, send(hmacHex("wrong-secret", signed), ts))
	require.Equal(t, http.StatusUnauthorized, send(hmacHex("grafana-hmac-secret", body), ""), "a signature without a timestamp")
	require.Equal(t, http.StatusOK, send(hmacHex("grafana-hmac-secret", signed), ts))
	require.Equal(t, http.StatusUnauthorized, send(hmacHex("grafana-hmac-secret", signed), ts), "the same delivery again")
	require.Eventually(t, func() bool {
		return channelCount(fake, "C0CHECKOUT", "Declare P2 from this alert?* Checkout errors") == 1
	},
		20*time.Second, 25*time.Millisecond, "the Grafana alert is proposed")

	// A monitoring tool opens a PagerDuty incident; PagerDuty's webhook says so.
	event := fmt.Sprintf(`{"routing_key":%q,"event_action":"trigger","payload":{"summary":"checkout p99 above 2s","source":"synthetics","severity":"critical"}}`, monitor.RoutingKey)
	resp, err := http.Post(pd.EventsURL()+"/v2/enqueue", "application/json", strings.NewReader(event))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Len(t, pd.Incidents(), 1)
	foreign := pd.Incidents()[0]
	hook, err := pd.SendWebhook(ctx, b.base+"/webhooks/pagerduty", pdWebhookSecret, "incident.triggered", foreign.ID, "")
	require.NoError(t, err)
	hook.Body.Close()
	require.Equal(t, http.StatusOK, hook.StatusCode)
	require.Eventually(t, func() bool {
		return channelCount(fake, "C0CHECKOUT", "Declare P1 from this alert?* checkout p99 above 2s (PagerDuty)") == 1
	}, 20*time.Second, 25*time.Millisecond, "the PagerDuty incident is proposed")

	// Declaring it pages the service's on-call: that page is the bot's own
	// and is not proposed again when PagerDuty reports it triggered.
	var value string
	for _, m := range fake.Messages("C0CHECKOUT") {
		if strings.Contains(m.Text, "(PagerDuty)") {
			value = buttonValues(m, incident.ActionAlertDeclare)[0]
		}
	}
	cb := slackfake.BlockActions("U0ALICE", "C0CHECKOUT", "", &slack.BlockAction{ActionID: incident.ActionAlertDeclare, Value: value})
	r, err := b.driver.Interaction(ctx, b.base+"/slack/interactions", cb)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Eventually(t, func() bool { return len(pd.Incidents()) == 2 }, 20*time.Second, 25*time.Millisecond, "the declare pages on-call")
	ours := pd.Incidents()[1]
	require.Equal(t, "PSVC1", ours.ServiceID)
	hook, err = pd.SendWebhook(ctx, b.base+"/webhooks/pagerduty", pdWebhookSecret, "incident.triggered", ours.ID, "")
	require.NoError(t, err)
	hook.Body.Close()
	require.Equal(t, http.StatusOK, hook.StatusCode)
	require.Never(t, func() bool { return channelCount(fake, "C0CHECKOUT", "from this alert?") > 2 }, 2*time.Second, 50*time.Millisecond,
		"the bot's own page is not an alert")
}

func hmacHex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// TestResolveChecklist: for a severity the policy lists, the Resolve
// button's checklist must be complete, the plain command is refused, and
// the answers reach the postmortem.
func TestResolveChecklist(t *testing.T) {
	t.Parallel()
	fake := seededSlack(t)
	env := map[string]string{"POLICY_FILE": writePolicyFile(t, "resolution:\n  confirm: [P1]\n")}
	b := startBot(t, botOptions{mode: "http", slack: fake, env: env})
	ctx := context.Background()
	_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P1 payments fail")
	require.Contains(t, text, "Declaring INC-1")
	ch := incidentChannel(t, fake, fmt.Sprintf("inc-%s-payments-fail", time.Now().UTC().Format("2006-01-02")))
	_, text = b.command("http", "U0ALICE", ch.ID, "resolve")
	require.Contains(t, text, "confirm the resolution with data")

	cb := slackfake.BlockActions("U0ALICE", ch.ID, ch.Pins[0], &slack.BlockAction{ActionID: "resolve", Value: "1"})
	r, err := b.driver.Interaction(ctx, b.base+"/slack/interactions", cb)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode)
	var view slackfake.View
	require.Eventually(t, func() bool {
		for _, v := range fake.OpenViews() {
			if v.CallbackID == "resolve" {
				view = v
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the resolve checklist")
	checks := func(values ...string) slack.BlockAction {
		var a slack.BlockAction
		for _, v := range values {
			a.SelectedOptions = append(a.SelectedOptions, slack.OptionBlockObject{Value: v})
		}
		return a
	}
	incomplete, err := slackfake.ViewSubmission("U0ALICE", view, map[string]map[string]slack.BlockAction{
		"checks": {"checks": checks("monitors_green")},
	})
	require.NoError(t, err)
	r, err = b.driver.Interaction(ctx, b.base+"/slack/interactions", incomplete)
	require.NoError(t, err)
	require.Contains(t, string(r.Body), `"response_action":"errors"`)
	require.Contains(t, string(r.Body), "error rate and latency at baseline")

	complete, err := slackfake.ViewSubmission("U0ALICE", view, map[string]map[string]slack.BlockAction{
		"checks":       {"checks": checks("monitors_green", "error_rate_baseline", "smoke_tested")},
		"smoke_tester": {"smoke_tester": {SelectedUser: "U0BOB"}},
		"summary":      {"summary": {Value: "rolled back the 14:02 deploy"}},
		"notes":        {"notes": {Value: "5xx back to 0.1%, p99 180 ms"}},
	})
	require.NoError(t, err)
	r, err = b.driver.Interaction(ctx, b.base+"/slack/interactions", complete)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.NotContains(t, string(r.Body), "errors")
	require.Eventually(t, func() bool { return channelCount(fake, ch.ID, "Resolution confirmed by <@U0ALICE>") == 1 }, 20*time.Second, 25*time.Millisecond)
	_, text = b.command("http", "U0ALICE", ch.ID, "close")
	require.Equal(t, "INC-1 is now closed.", text)
	require.Eventually(t, func() bool { return strings.Contains(messagesText(fake, ch.ID), "### Resolution confirmed with data") },
		30*time.Second, 50*time.Millisecond, "the answers are in the postmortem")
	pm := messagesText(fake, ch.ID)
	require.Contains(t, pm, "Smoke test by someone not in the fix: yes, by bob")
	require.Contains(t, pm, "Evidence: 5xx back to 0.1%, p99 180 ms")
}

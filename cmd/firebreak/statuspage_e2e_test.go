package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident/pgtest"
	"github.com/firebreakhq/firebreak/integrations/instatus/instatusfake"
	"github.com/firebreakhq/firebreak/integrations/statuspage/statuspagefake"
)

// The practice's clock, scaled so the real program can be watched: one
// minute of it is minute of this test.
const minute = time.Second

func statusPageEnv(t *testing.T, sp *statuspagefake.Fake) map[string]string {
	env := map[string]string{
		"POLICY_FILE": writePolicyFile(t, fmt.Sprintf(`
severities:
  P1:
    update_every: 1h
    respond_within: 1h
    status_page_within: %s
    customer_email_after: %s
comms:
  stale_after: 1h
services:
  checkout:
    name: Checkout
    responders: [U0CAROL]
    statuspage:
      components: [cmpapi, cmpweb]
`, 10*minute, 30*minute)),
	}
	if sp != nil {
		env["STATUSPAGE_API_URL"], env["STATUSPAGE_API_KEY"], env["STATUSPAGE_PAGE_ID"] = sp.URL, sp.APIKey, sp.PageID
	}
	return env
}

// buttonValue returns the value of the message's button with actionID.
func buttonValue(t *testing.T, msg slackfake.Message, actionID string) string {
	t.Helper()
	id := regexp.QuoteMeta(actionID)
	m := regexp.MustCompile(`"action_id":"` + id + `"[^}]*?"value":"([^"]+)"|"value":"([^"]+)"[^}]*?"action_id":"` + id + `"`).FindStringSubmatch(string(msg.Blocks))
	require.NotNil(t, m, "a %s button in %s", actionID, msg.Blocks)
	return m[1] + m[2]
}

// click presses the Publish button of the newest message containing text.
func clickPublish(t *testing.T, b *botInstance, fake *slackfake.Server, channel, text, user string) {
	t.Helper()
	var msg slackfake.Message
	require.Eventually(t, func() bool {
		var ok bool
		msg, ok = findMessage(fake, channel, text)
		return ok && strings.Contains(string(msg.Blocks), "statuspage_publish")
	}, 15*time.Second, 20*time.Millisecond, "a message with %q and a Publish button", text)
	cb := slackfake.BlockActions(user, channel, msg.TS, &slack.BlockAction{ActionID: "statuspage_publish", Value: buttonValue(t, msg, "statuspage_publish")})
	r, err := b.driver.Interaction(context.Background(), b.base+"/slack/interactions", cb)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode)
}

// TestStatusPageEndToEnd: a P1 is declared and the status page draft is in
// the channel at once; the IC publishes it at minute 3 (the nudge at 5 and
// the escalation at 10 never come); an update is mirrored with one click;
// the customer e-mail is proposed at 30 minutes and recorded as sent;
// resolving proposes the resolution notice, which sets the components
// operational; the postmortem shows the time to first public update.
func TestStatusPageEndToEnd(t *testing.T) {
	t.Parallel()
	fake := seededSlack(t)
	sp := statuspagefake.New("sp-e2e-key", "pgE2E", "cmpapi", "cmpweb")
	t.Cleanup(sp.Close)
	b := startBot(t, botOptions{mode: "http", slack: fake, databaseURL: pgtest.MigratedDSN(t), env: statusPageEnv(t, sp)})

	declared := time.Now()
	_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P1 --service=checkout card payments failing")
	require.Contains(t, text, "Declaring INC-1")
	ch := waitChannel(t, fake, fmt.Sprintf("inc-%s-card-payments-failing", time.Now().UTC().Format("2006-01-02")))

	// The draft, with its three buttons.
	require.Eventually(t, func() bool { _, ok := findMessage(fake, ch.ID, "Status page draft for INC-1"); return ok }, 15*time.Second, 20*time.Millisecond)
	draft, _ := findMessage(fake, ch.ID, "Status page draft for INC-1")
	for _, action := range []string{"statuspage_publish", "statuspage_edit", "statuspage_decline"} {
		require.Contains(t, string(draft.Blocks), action)
	}
	require.Contains(t, draft.Text, "We are aware of an issue affecting Checkout")

	// Published at minute 3 by the IC.
	require.Eventually(t, func() bool { return time.Since(declared) >= 3*minute }, 10*minute, 20*time.Millisecond, "minute 3 of the clock")
	clickPublish(t, b, fake, ch.ID, "Status page draft for INC-1", "U0ALICE")
	require.Eventually(t, func() bool {
		return strings.Contains(messagesText(fake, ch.ID), "Posted on the status page (Statuspage · investigating)")
	},
		15*time.Second, 20*time.Millisecond)
	incs := sp.Incidents()
	require.Len(t, incs, 1)
	require.Equal(t, "Issue affecting Checkout", incs[0].Name)
	require.Equal(t, "critical", incs[0].Impact)
	require.Equal(t, "major_outage", sp.Component("cmpapi"))
	require.True(t, strings.HasPrefix(incs[0].Updates[0].Body, "We are aware of an issue affecting Checkout"))
	// The panel carries the public link.
	require.Eventually(t, func() bool {
		for _, m := range fake.Messages(ch.ID) {
			if strings.Contains(string(m.Blocks), "Status page") && strings.Contains(string(m.Blocks), "https://stspg.io/"+incs[0].ID) {
				return true
			}
		}
		return false
	}, 15*time.Second, 20*time.Millisecond, "the panel shows the public link")

	// An update is offered for the status page and mirrored with one click.
	_, text = b.command("http", "U0ALICE", ch.ID, "update rolled back the 14:02 deploy, error rate falling")
	require.Contains(t, text, "Update posted")
	clickPublish(t, b, fake, ch.ID, "Also post this update to the status page?", "U0ALICE")
	require.Eventually(t, func() bool { return len(sp.Incidents()[0].Updates) == 2 }, 15*time.Second, 20*time.Millisecond)
	require.Contains(t, sp.Incidents()[0].Updates[0].Body, "rolled back the 14:02 deploy")

	// The customer e-mail is proposed at 30 minutes, and recorded as sent.
	require.Eventually(t, func() bool { _, ok := findMessage(fake, ch.ID, "*Customer e-mail*"); return ok }, 40*minute, 20*time.Millisecond)
	require.GreaterOrEqual(t, time.Since(declared), 30*minute, "not before 30 minutes")
	email, _ := findMessage(fake, ch.ID, "*Customer e-mail*")
	require.Contains(t, email.Text, "Subject: Checkout disruption")
	cb := slackfake.BlockActions("U0ALICE", ch.ID, email.TS, &slack.BlockAction{ActionID: "customer_email_sent", Value: "1"})
	r, err := b.driver.Interaction(context.Background(), b.base+"/slack/interactions", cb)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Eventually(t, func() bool { return strings.Contains(messagesText(fake, ch.ID), "Customers were told by e-mail at") }, 15*time.Second, 20*time.Millisecond)

	// Resolved: the resolution notice is proposed and posted.
	_, text = b.command("http", "U0ALICE", ch.ID, "resolve rolled back the deploy")
	require.Contains(t, text, "resolved")
	clickPublish(t, b, fake, ch.ID, "post the resolution notice on the status page?", "U0ALICE")
	require.Eventually(t, func() bool { return sp.Incidents()[0].Status == "resolved" }, 15*time.Second, 20*time.Millisecond)
	require.Equal(t, "operational", sp.Component("cmpapi"))
	require.Equal(t, "operational", sp.Component("cmpweb"))
	require.Len(t, sp.Incidents(), 1, "one public incident, never a second")

	// No nudge or escalation: the post came in time.
	require.NotContains(t, messagesText(fake, ch.ID), "is not on the status page yet")
	require.NotContains(t, messagesText(fake, ch.ID), "without a status page post")

	// The postmortem shows the time to first public update.
	_, text = b.command("http", "U0ALICE", ch.ID, "close")
	require.Contains(t, text, "closed")
	require.Eventually(t, func() bool { return strings.Contains(messagesText(fake, ch.ID), "Time to first public update") }, 40*time.Second, 50*time.Millisecond)
	all := messagesText(fake, ch.ID)
	require.Regexp(t, `Time to first public update: \d+s \(target 10s: met\)`, all, "measured against the 10-minute target, scaled")
	require.Regexp(t, `\| Status page first posted \| \d\d:\d\d UTC \| \+\d+s \|`, all, "on the postmortem's timeline")
	require.Contains(t, all, "Customers were told at")
}

// postWhileStatuspageAnswers starts the program on Statuspage, declares a P1
// of the checkout service and asks for a status page post while Statuspage
// answers the next calls with statuses.
func postWhileStatuspageAnswers(t *testing.T, statuses ...int) (*slackfake.Server, *statuspagefake.Fake, *botInstance, slackfake.Channel) {
	t.Helper()
	fake := seededSlack(t)
	sp := statuspagefake.New("sp-e2e-key", "pgE2E", "cmpapi", "cmpweb")
	t.Cleanup(sp.Close)
	b := startBot(t, botOptions{mode: "http", slack: fake, env: statusPageEnv(t, sp)})
	_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P1 --service=checkout search down")
	require.Contains(t, text, "Declaring INC-1")
	ch := waitChannel(t, fake, fmt.Sprintf("inc-%s-search-down", time.Now().UTC().Format("2006-01-02")))

	sp.FailNext(statuses...)
	_, text = b.command("http", "U0ALICE", ch.ID, "statuspage We are looking into failing searches.")
	require.Contains(t, text, "Posting INC-1 to the status page")
	return fake, sp, b, ch
}

// TestStatusPageDownEndToEnd: Statuspage answers 503; the channel says the
// post failed and why, with Retry, and the durable job posts it once when
// Statuspage is back.
func TestStatusPageDownEndToEnd(t *testing.T) {
	t.Parallel()
	fake, sp, _, ch := postWhileStatuspageAnswers(t, http.StatusServiceUnavailable, http.StatusServiceUnavailable)
	require.Eventually(t, func() bool {
		return strings.Contains(messagesText(fake, ch.ID), "The status page post for INC-1 failed")
	},
		15*time.Second, 20*time.Millisecond)
	failure, _ := findMessage(fake, ch.ID, "The status page post for INC-1 failed")
	require.Contains(t, failure.Text, "Retrying in the background")
	require.Contains(t, string(failure.Blocks), "statuspage_retry")
	require.Eventually(t, func() bool { return strings.Contains(messagesText(fake, ch.ID), "Posted on the status page") },
		60*time.Second, 50*time.Millisecond, "the durable job retries with backoff")
	require.Len(t, sp.Incidents(), 1, "posted once")
	require.Equal(t, "We are looking into failing searches.", sp.Incidents()[0].Updates[0].Body)
	require.Equal(t, 1, strings.Count(messagesText(fake, ch.ID), "The status page post for INC-1 failed"), "the failure is said once")
}

// TestStatusPageEditOnInstatusEndToEnd: on Instatus, the IC edits the
// draft in the form before publishing; a severity change then maps to the
// components' status.
func TestStatusPageEditOnInstatusEndToEnd(t *testing.T) {
	t.Parallel()
	fake := seededSlack(t)
	is := instatusfake.New("is-e2e-key", "ckpage", "cmpapi", "cmpweb")
	t.Cleanup(is.Close)
	env := statusPageEnv(t, nil)
	env["INSTATUS_API_URL"], env["INSTATUS_API_KEY"], env["INSTATUS_PAGE_ID"] = is.URL, is.APIKey, is.PageID
	env["INSTATUS_PAGE_URL"] = "https://status.example.com"
	b := startBot(t, botOptions{mode: "http", slack: fake, env: env})
	ctx := context.Background()

	_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P1 --service=checkout sign-in failing")
	require.Contains(t, text, "Declaring INC-1")
	ch := waitChannel(t, fake, fmt.Sprintf("inc-%s-sign-in-failing", time.Now().UTC().Format("2006-01-02")))
	require.Eventually(t, func() bool { _, ok := findMessage(fake, ch.ID, "Status page draft for INC-1* (Instatus)"); return ok },
		15*time.Second, 20*time.Millisecond)
	draft, _ := findMessage(fake, ch.ID, "Status page draft for INC-1")

	cb := slackfake.BlockActions("U0ALICE", ch.ID, draft.TS, &slack.BlockAction{ActionID: "statuspage_edit", Value: "1|ack|"})
	r, err := b.driver.Interaction(ctx, b.base+"/slack/interactions", cb)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode)
	var view slackfake.View
	require.Eventually(t, func() bool {
		for _, v := range fake.OpenViews() {
			if v.CallbackID == "statuspage" {
				view = v
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the edit form opens")
	require.Contains(t, string(view.JSON), "We are aware of an issue affecting Checkout", "pre-filled with the draft")
	sub, err := slackfake.ViewSubmission("U0ALICE", view, map[string]map[string]slack.BlockAction{
		"statuspage_body": {"statuspage_body": {Value: "Some customers cannot sign in. We are on it."}}})
	require.NoError(t, err)
	r, err = b.driver.Interaction(ctx, b.base+"/slack/interactions", sub)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode)

	require.Eventually(t, func() bool { return len(is.Incidents()) == 1 }, 15*time.Second, 20*time.Millisecond)
	in := is.Incidents()[0]
	require.Equal(t, "Issue affecting Checkout", in.Name)
	require.Equal(t, "INVESTIGATING", in.Status)
	require.Equal(t, "Some customers cannot sign in. We are on it.", in.Updates[0].Message)
	require.Equal(t, "MAJOROUTAGE", is.Component("cmpapi"))
	require.Eventually(t, func() bool {
		return strings.Contains(messagesText(fake, ch.ID), "Posted on the status page (Instatus · investigating)") &&
			strings.Contains(messagesText(fake, ch.ID), "https://status.example.com/incident/"+in.ID)
	}, 15*time.Second, 20*time.Millisecond)

	_, text = b.command("http", "U0ALICE", ch.ID, "severity P2")
	require.NotContains(t, text, "may not")
	require.Eventually(t, func() bool {
		return is.Component("cmpapi") == "PARTIALOUTAGE" && is.Component("cmpweb") == "PARTIALOUTAGE"
	},
		15*time.Second, 20*time.Millisecond, "the severity maps to the components' status")
	require.Len(t, is.Incidents()[0].Updates, 1, "a component change posts no message")
}

// TestStatusPageRetryClickRacingTheBackgroundRetryEndToEnd: the first post
// failed; Retry is clicked while the job engine's retry is creating the
// public incident. The click's post waits for it and then finds it done:
// one public incident, said once, and Retry then says it is there.
func TestStatusPageRetryClickRacingTheBackgroundRetryEndToEnd(t *testing.T) {
	t.Parallel()
	fake, sp, b, ch := postWhileStatuspageAnswers(t, http.StatusServiceUnavailable)
	var failure slackfake.Message
	require.Eventually(t, func() bool {
		var ok bool
		failure, ok = findMessage(fake, ch.ID, "The status page post for INC-1 failed")
		return ok
	}, 15*time.Second, 10*time.Millisecond)
	// The engine retries a second later: its create is held on its way.
	held, release := sp.HoldCreates(false)
	defer release()
	select {
	case <-held:
	case <-time.After(15 * time.Second):
		t.Fatal("the background retry never reached Statuspage")
	}

	retry := buttonValue(t, failure, "statuspage_retry")
	w := &authzWorld{t: t, fake: fake, b: b}
	w.click("U0ALICE", ch.ID, "statuspage_retry", retry)
	select {
	case <-held:
		t.Error("the click's post reached Statuspage while the background retry's was on its way")
	case <-time.After(1500 * time.Millisecond):
	}
	release()
	require.Eventually(t, func() bool { return strings.Contains(messagesText(fake, ch.ID), "Posted on the status page") },
		15*time.Second, 20*time.Millisecond)
	require.Never(t, func() bool { return len(sp.Incidents()) != 1 }, 4*time.Second, 50*time.Millisecond,
		"one public incident, after the click's post ran again")
	require.Equal(t, 1, strings.Count(messagesText(fake, ch.ID), "Posted on the status page"))

	w.click("U0ALICE", ch.ID, "statuspage_retry", retry)
	w.waitSaid("U0ALICE", "That post is already on the status page.", "Retry after the post says it is there")
	require.Len(t, sp.Incidents(), 1)
}

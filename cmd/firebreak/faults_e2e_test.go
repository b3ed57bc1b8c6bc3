package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/gormstore"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

// TestWholeLifecycleUnderFaults drives the real program through a whole P1
// on PostgreSQL with faults injected everywhere: Slack 5xx and 429 on a share
// of calls, PagerDuty down for a while, GitHub timing out, the bot stopped
// mid-declare and restarted, and two instances sharing the database. At the
// end there is exactly one incident and one channel, every change is in
// the timeline once, each nag was posted once, the page was sent once, the
// rollback dispatched once, and the postmortem is complete.
func TestWholeLifecycleUnderFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.MigratedDSN(t)
	world, cleanup, err := newDemoWorld(t.TempDir(), nopWriter{})
	require.NoError(t, err)
	t.Cleanup(cleanup)
	fake := world.slack
	policy := writePolicyFile(t, fmt.Sprintf(`
channels: {broadcast: "#incidents"}
commander_group: S0ICS
severities:
  P1: {update_every: 3s, respond_within: 1h}
services:
  checkout:
    name: Checkout
    responders: [U0CAROL, S0PAYMENTS]
    owners: [U0BOB]
    pagerduty: {service_id: PSVC1}
    github: {repos: [%s], environments: [production], deploy_workflow: %s, rollback: workflow}
    flags:
      - {provider: launchdarkly, project: default, key: new-checkout-flow, environment: production}
`, demoRepo, demoWorkflow))
	env := map[string]string{
		"POLICY_FILE":       policy,
		"PAGERDUTY_API_URL": world.pd.URL(), "PAGERDUTY_EVENTS_URL": world.pd.EventsURL(), "PAGERDUTY_TOKEN": world.pd.Token(),
		"PAGERDUTY_FROM_EMAIL": "bot@example.com", "PAGERDUTY_WEBHOOK_SECRET": demoPDSecret,
		"GITHUB_API_URL": world.gh.URL(), "GITHUB_TOKEN": world.gh.Token(), "GITHUB_WEBHOOK_SECRET": demoGHSecret,
		"GITHUB_POSTMORTEM_REPO": demoRepo,
		"LAUNCHDARKLY_API_URL":   world.ld.URL, "LAUNCHDARKLY_TOKEN": "demo-ld-token",
		"SHUTDOWN_TIMEOUT": "200ms", "LOG_LEVEL": "warn",
	}

	// Faults: Slack fails a share of its idempotent calls and rate-limits
	// posting; PagerDuty is down; GitHub hangs.
	fake.FailFraction("conversations.setTopic", 0.3, http.StatusServiceUnavailable)
	fake.FailFraction("chat.update", 0.2, http.StatusBadGateway)
	fake.FailFraction("conversations.invite", 0.3, http.StatusInternalServerError)
	fake.RateLimitNext("chat.postMessage", 3, time.Second)
	fake.RateLimitNext("conversations.create", 1, time.Second)
	fake.SetLatency("conversations.create", 300*time.Millisecond)
	world.pd.SetDown(true)
	world.gh.SetTimeoutMode(true)

	a := startBot(t, botOptions{mode: "http", slack: fake, databaseURL: dsn, env: env})
	b := startBot(t, botOptions{mode: "http", slack: fake, databaseURL: dsn, env: env})
	creating := arrival(fake, "conversations.create")

	// Declare on A, and stop A while the war room is being opened.
	_, text := a.command("http", "U0ALICE", "C0GENERAL", "declare P1 --service=checkout Checkout is failing")
	require.Contains(t, text, "Declaring INC-1")
	await(t, creating, 10*time.Second, "the channel to be asked for")
	a.stop()
	a2 := startBot(t, botOptions{mode: "http", slack: fake, databaseURL: dsn, env: env})

	name := fmt.Sprintf("inc-%s-checkout-is-failing", time.Now().UTC().Format("2006-01-02"))
	ch := waitChannel(t, fake, name)
	require.Eventually(t, func() bool { return strings.Contains(messagesText(fake, ch.ID), "Paging Checkout failed") },
		30*time.Second, 50*time.Millisecond, "the channel says PagerDuty is down")
	require.Eventually(t, func() bool {
		m, ok := findMessage(fake, ch.ID, "Could not read GitHub")
		return ok && strings.Contains(string(m.Blocks), "new-checkout-flow")
	}, 40*time.Second, 50*time.Millisecond, "the list names the failing source and shows the rest")
	world.gh.SetTimeoutMode(false)
	world.pd.SetDown(false)

	// Nags keep coming while nobody updates: each rung posted once by the
	// two instances together.
	require.Eventually(t, func() bool { return len(nagMessages(fake, ch.ID)) >= 3 }, 40*time.Second, 50*time.Millisecond)

	// The page goes out once PagerDuty is back; the phone acknowledges.
	require.Eventually(t, func() bool { return strings.Contains(messagesText(fake, ch.ID), "Paged *Checkout* in PagerDuty") },
		90*time.Second, 100*time.Millisecond)
	require.Len(t, world.pd.Incidents(), 1, "paged once")
	resp, err := world.pd.SendWebhook(ctx, b.base+"/webhooks/pagerduty", demoPDSecret, "incident.acknowledged", world.pd.Incidents()[0].ID, "Bob Roe")
	require.NoError(t, err)
	resp.Body.Close()
	_, text = b.command("http", "U0BOB", ch.ID, "ic")
	require.Contains(t, text, "Incident Commander")
	_, text = a2.command("http", "U0BOB", ch.ID, "update rolling back the 14:02 deploy")
	require.Contains(t, text, "Update posted")

	// What changed, now that GitHub answers; roll the deploy back, with a
	// double-submitted confirmation.
	_, text = b.command("http", "U0BOB", ch.ID, "changes")
	require.NotContains(t, text, "Unknown")
	var value string
	require.Eventually(t, func() bool {
		for _, m := range fake.Messages(ch.ID) {
			for _, v := range buttonValues(m, "rollback_open") {
				if strings.HasPrefix(v, "github|") {
					value = v
				}
			}
		}
		return value != ""
	}, 30*time.Second, 50*time.Millisecond, "a Roll back button for the deploy")
	cb := slackfake.BlockActions("U0BOB", ch.ID, "", &slack.BlockAction{ActionID: "rollback_open", Value: value})
	r, err := b.driver.Interaction(ctx, b.base+"/slack/interactions", cb)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode)
	var view slackfake.View
	require.Eventually(t, func() bool {
		for _, v := range fake.OpenViews() {
			if v.CallbackID == "rollback" {
				view = v
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond)
	sub, err := slackfake.ViewSubmission("U0BOB", view, nil)
	require.NoError(t, err)
	for i := 0; i < 2; i++ {
		_, err = b.driver.Interaction(ctx, b.base+"/slack/interactions", sub)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		return len(world.gh.Dispatches(demoRepo)) >= 1 && world.gh.Dispatches(demoRepo)[0].RunID != 0
	},
		30*time.Second, 50*time.Millisecond)
	run := world.gh.Dispatches(demoRepo)[0].RunID
	require.NoError(t, world.gh.CompleteRun(demoRepo, run, "success"))
	payload, err := world.gh.WorkflowRunPayload(demoRepo, run)
	require.NoError(t, err)
	code, err := world.gh.SendWebhook(ctx, a2.base+"/webhooks/github", demoGHSecret, "workflow_run", payload)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	require.Eventually(t, func() bool { return strings.Contains(messagesText(fake, ch.ID), "succeeded") }, 30*time.Second, 50*time.Millisecond)

	// Resolve, close: the postmortem is drafted and exported once.
	_, text = a2.command("http", "U0BOB", ch.ID, "resolve rolled back")
	require.Contains(t, text, "resolved")
	_, text = b.command("http", "U0BOB", ch.ID, "close")
	require.Contains(t, text, "closed")
	require.Eventually(t, func() bool { _, ok := findMessage(fake, ch.ID, "postmortem_export"); return ok }, 40*time.Second, 50*time.Millisecond)
	_, text = b.command("http", "U0BOB", ch.ID, "postmortem export github")
	require.NotContains(t, text, "Unknown")
	require.Eventually(t, func() bool { return len(world.gh.PullRequests(demoRepo)) == 1 }, 30*time.Second, 50*time.Millisecond)

	// The end state.
	require.Len(t, world.gh.Dispatches(demoRepo), 1, "the rollback was dispatched once")
	require.Len(t, world.pd.Incidents(), 1, "the page was sent once")
	channels := 0
	for _, c := range fake.Channels() {
		if strings.HasPrefix(c.Name, "inc-") {
			channels++
		}
	}
	require.Equal(t, 1, channels, "exactly one incident channel")
	nags := nagMessages(fake, ch.ID)
	require.Equal(t, 1, countContaining(nags, "Second reminder"), "each nag rung posted once")
	require.Equal(t, 1, countContaining(nags, "3 updates missed"))

	db, err := gormstore.Open(ctx, dsn)
	require.NoError(t, err)
	defer db.Close()
	store := gormstore.New(db, incident.SystemClock)
	all, err := store.ListIncidents(ctx, incident.IncidentFilter{})
	require.NoError(t, err)
	require.Len(t, all, 1, "exactly one incident")
	events, err := store.ListTimeline(ctx, all[0].ID)
	require.NoError(t, err)
	kinds := map[incident.EventKind]int{}
	for _, ev := range events {
		kinds[ev.Kind]++
	}
	require.Equal(t, 1, kinds[incident.EventDeclared])
	require.Equal(t, 1, kinds[incident.EventAcknowledged])
	require.GreaterOrEqual(t, kinds[incident.EventChangesShown], 1)
	require.GreaterOrEqual(t, kinds[incident.EventRollback], 1)
	require.Equal(t, 1, kinds[incident.EventUpdatePosted])
	for _, step := range []string{"channel", "topic", "bookmarks", "invites", "panel", "announce"} {
		require.Contains(t, sourceIDs(events), "setup:"+step, "the war room was completed despite the faults")
	}
	acks := func() int {
		n := 0
		for _, m := range fake.Messages(ch.ID) {
			if strings.HasPrefix(m.Text, ":white_check_mark: Acknowledged by Bob Roe in PagerDuty") {
				n++
			}
		}
		return n
	}
	// Under the injected faults a sync may be waiting out a retry.
	require.Eventually(t, func() bool { return acks() >= 1 }, 40*time.Second, 50*time.Millisecond, "the acknowledgement is said")
	require.Never(t, func() bool { return acks() > 1 }, time.Second, 50*time.Millisecond, "the acknowledgement is said once")
	exp, err := store.GetExport(ctx, all[0].ID, "github")
	require.NoError(t, err)
	require.Contains(t, exp.URL, "/pull/")
	files := world.gh.Files(demoRepo, world.gh.PullRequests(demoRepo)[0].Head)
	var md string
	for name, content := range files {
		if strings.HasPrefix(name, "postmortems/") {
			md = content
		}
	}
	for _, section := range []string{"## 1. Summary", "## 2. Timeline", "## 3. Root cause analysis", "## 4. Contributing factors", "## 5. What went well", "## 6. Action items"} {
		require.Contains(t, md, section, "the postmortem is complete")
	}
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func findMessage(fake *slackfake.Server, channel, s string) (slackfake.Message, bool) {
	msgs := fake.Messages(channel)
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.Contains(msgs[i].Text, s) || strings.Contains(string(msgs[i].Blocks), s) {
			return msgs[i], true
		}
	}
	return slackfake.Message{}, false
}

func countContaining(xs []string, s string) int {
	n := 0
	for _, x := range xs {
		if strings.Contains(x, s) {
			n++
		}
	}
	return n
}

func sourceIDs(events []incident.TimelineEvent) []string {
	var out []string
	for _, ev := range events {
		out = append(out, ev.SourceID)
	}
	return out
}

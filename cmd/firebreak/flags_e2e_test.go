package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/integrations/unleash/unleashfake"
)

// TestFlagRollbacksEndToEnd turns off a LaunchDarkly flag and an Unleash
// flag through the "What changed?" list and the confirmation modal, as a
// responder would, through the real program; someone who may not roll back
// is refused before the modal opens.
func TestFlagRollbacksEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	world, cleanup, err := newDemoWorld(t.TempDir(), nopWriter{})
	require.NoError(t, err)
	t.Cleanup(cleanup)
	un := unleashfake.New("unleash-token")
	un.AddFeature(unleashfake.Feature{Project: "default", Name: "checkout-v2", Enabled: map[string]bool{"production": true}})
	un.AddEvent(unleashfake.Event{Type: "feature-environment-enabled", CreatedBy: "frank@example.com", CreatedAt: time.Now().UTC().Add(-8 * time.Minute),
		Project: "default", Environment: "production", FeatureName: "checkout-v2"})
	unSrv := httptest.NewServer(un)
	t.Cleanup(unSrv.Close)

	env := map[string]string{
		"POLICY_FILE": writePolicyFile(t, `
rollback: {group: S0PAYMENTS}
services:
  checkout:
    name: Checkout
    owners: [U0ALICE]
    flags:
      - {provider: launchdarkly, project: default, key: new-checkout-flow, environment: production}
      - {provider: unleash, project: default, key: checkout-v2, environment: production}
`),
		"LAUNCHDARKLY_API_URL": world.ld.URL, "LAUNCHDARKLY_TOKEN": "demo-ld-token",
		"UNLEASH_API_URL": unSrv.URL, "UNLEASH_TOKEN": "unleash-token",
	}
	b := startBot(t, botOptions{mode: "http", slack: world.slack, env: env})
	_, text := b.command("http", "U0ALICE", "C0GENERAL", "declare P2 --service=checkout Checkout errors")
	require.Contains(t, text, "Declaring INC-1")
	ch := waitChannel(t, world.slack, fmt.Sprintf("inc-%s-checkout-errors", time.Now().UTC().Format("2006-01-02")))

	values := map[string]string{}
	require.Eventually(t, func() bool {
		for _, m := range world.slack.Messages(ch.ID) {
			for _, v := range buttonValues(m, "rollback_open") {
				values[strings.SplitN(v, "|", 2)[0]] = v
			}
		}
		return values["launchdarkly"] != "" && values["unleash"] != ""
	}, 20*time.Second, 25*time.Millisecond, "Turn off buttons for both flag changes")
	list, _ := findMessage(world.slack, ch.ID, "rollback_open")
	require.Contains(t, string(list.Blocks), "Turn off")
	require.Contains(t, string(list.Blocks), "in the 30 min before the start", "recent changes are highlighted")

	click := func(user, value string) {
		t.Helper()
		cb := slackfake.BlockActions(user, ch.ID, "", &slack.BlockAction{ActionID: "rollback_open", Value: value})
		r, err := b.driver.Interaction(ctx, b.base+"/slack/interactions", cb)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode)
	}
	confirm := func(user string) {
		t.Helper()
		var view slackfake.View
		require.Eventually(t, func() bool {
			for _, v := range world.slack.OpenViews() {
				if v.CallbackID == "rollback" && v.UserID == user {
					view = v
					return true
				}
			}
			return false
		}, 10*time.Second, 20*time.Millisecond)
		sub, err := slackfake.ViewSubmission(user, view, nil)
		require.NoError(t, err)
		_, err = b.driver.Interaction(ctx, b.base+"/slack/interactions", sub)
		require.NoError(t, err)
	}

	// Carol is neither an owner of checkout nor in the rollback group: refused.
	views := len(world.slack.Views())
	click("U0CAROL", values["launchdarkly"])
	require.Eventually(t, func() bool {
		for _, p := range world.slack.AllResponsePosts() {
			if strings.Contains(p.Text, "You may not roll back this change") && p.ResponseType == "ephemeral" {
				return true
			}
		}
		return false
	}, 10*time.Second, 25*time.Millisecond, "a clear refusal, only to her")
	require.Len(t, world.slack.Views(), views, "no confirmation opened for her")

	// Dave is in the rollback group; Alice owns checkout.
	click("U0DAVE", values["launchdarkly"])
	confirm("U0DAVE")
	require.Eventually(t, func() bool {
		on, ok := world.ldFake.FlagOn("default", "new-checkout-flow", "production")
		return ok && !on
	}, 20*time.Second, 25*time.Millisecond, "the LaunchDarkly flag is off")
	click("U0ALICE", values["unleash"])
	confirm("U0ALICE")
	require.Eventually(t, func() bool {
		on, ok := un.Enabled("default", "checkout-v2", "production")
		return ok && !on
	}, 20*time.Second, 25*time.Millisecond, "the Unleash flag is off")
	require.Eventually(t, func() bool { return strings.Count(messagesText(world.slack, ch.ID), "succeeded") >= 2 },
		20*time.Second, 25*time.Millisecond, "both rollbacks reported to completion")
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident/pgtest"
)

const e2ePolicy = `
commander_group: S0LEADS
channels:
  broadcast: "#incidents"
  dashboard: https://grafana.example.com/d/overview
services:
  checkout:
    name: Checkout
    responders: [U0CAROL, S0TEAM, bob@example.com]
    runbook: https://runbooks.example.com/checkout
`

// seededSlack is a fake Slack with the people and channels of the scenario.
func seededSlack(t *testing.T) *slackfake.Server {
	t.Helper()
	fake := slackfake.New(slackfake.WithChatWritePublic())
	t.Cleanup(fake.Close)
	for _, u := range []slackfake.User{
		{ID: "U0ALICE", Name: "alice", Email: "alice@example.com"},
		{ID: "U0BOB", Name: "bob", Email: "bob@example.com"},
		{ID: "U0CAROL", Name: "carol", Email: "carol@example.com"},
		{ID: "U0DAVE", Name: "dave", Email: "dave@example.com"},
		{ID: "U0ERIN", Name: "erin", Email: "erin@example.com"},
	} {
		fake.AddUser(u)
	}
	fake.AddUserGroup(slackfake.UserGroup{ID: "S0TEAM", Handle: "checkout-team", Users: []string{"U0DAVE", "U0ERIN"}})
	// Dave leads incidents: he may name someone else as IC when declaring.
	fake.AddUserGroup(slackfake.UserGroup{ID: "S0LEADS", Handle: "incident-leads", Users: []string{"U0DAVE"}})
	fake.AddChannel(slackfake.Channel{ID: "C0GENERAL", Name: "general", Members: []string{"U0ALICE", fake.BotUserID()}})
	fake.AddChannel(slackfake.Channel{ID: "C0INCIDENTS", Name: "incidents", Members: []string{fake.BotUserID()}})
	return fake
}

func writePolicy(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	require.NoError(t, os.WriteFile(path, []byte(e2ePolicy), 0o600))
	return path
}

// waitChannel waits until the fake has a channel with the name.
func waitChannel(t *testing.T, fake *slackfake.Server, name string) slackfake.Channel {
	t.Helper()
	var ch slackfake.Channel
	require.Eventually(t, func() bool {
		var ok bool
		ch, ok = fake.Channel(name)
		return ok && len(ch.Pins) == 1
	}, 20*time.Second, 25*time.Millisecond, "channel %s with a pinned panel", name)
	return ch
}

// panelText returns the text of the pinned panel's blocks.
func panelText(t *testing.T, fake *slackfake.Server, ch slackfake.Channel) string {
	t.Helper()
	ch, _ = fake.Channel(ch.ID)
	require.Len(t, ch.Pins, 1)
	msg, ok := fake.Message(ch.ID, ch.Pins[0])
	require.True(t, ok)
	return string(msg.Blocks)
}

func messagesText(fake *slackfake.Server, channelID string) string {
	var parts []string
	for _, m := range fake.Messages(channelID) {
		parts = append(parts, m.Text)
	}
	return strings.Join(parts, "\n")
}

// TestDeclareAndRunEndToEnd drives the real program through a whole
// incident, over HTTP and over Socket Mode, on PostgreSQL, and checks every
// Slack call that matters.
func TestDeclareAndRunEndToEnd(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"http", "socket"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			fake := seededSlack(t)
			b := startBot(t, botOptions{mode: mode, slack: fake, databaseURL: pgtest.MigratedDSN(t), env: map[string]string{"POLICY_FILE": writePolicy(t)}})
			ctx := context.Background()

			// Bad input: a clear answer with the usage line, nothing created.
			_, text := b.command(mode, "U0ALICE", "C0GENERAL", "declare P7 checkout is down")
			require.Contains(t, text, "Unknown severity \"P7\"")
			require.Contains(t, text, "Usage: `/incident declare [P1] [--private] [--service=&lt;key&gt;] [--drill] &lt;title&gt;`")
			_, text = b.command(mode, "U0ALICE", "C0GENERAL", "declare P1 "+strings.Repeat("long ", 200))
			require.Contains(t, text, "keep it within 150")
			_, text = b.command(mode, "U0ALICE", "C0GENERAL", "declare P1 --service=billing checkout")
			require.Contains(t, text, "Unknown service \"billing\"")
			_, text = b.command(mode, "U0ALICE", "C0GENERAL", "list")
			require.Contains(t, text, "No open incidents")

			// Declare by command.
			start := time.Now()
			_, text = b.command(mode, "U0ALICE", "C0GENERAL", "declare P1 --service=checkout Checkout is down!")
			require.Contains(t, text, "Declaring INC-1")
			name := fmt.Sprintf("inc-%s-checkout-is-down", time.Now().UTC().Format("2006-01-02"))
			ch := waitChannel(t, fake, name)
			t.Logf("%s: declare to pinned panel in %s", mode, time.Since(start))
			require.False(t, ch.Private)
			require.Equal(t, fake.BotUserID(), ch.Creator)
			require.Eventually(t, func() bool {
				ch, _ = fake.Channel(name)
				return len(ch.Members) >= 6 && ch.Topic != "" && len(ch.Bookmarks) == 2
			}, 10*time.Second, 25*time.Millisecond)
			require.Subset(t, ch.Members, []string{"U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN"}, "declarer, responders by id, group and e-mail")
			require.Equal(t, "INC-1 P1 | Investigating | IC <@U0ALICE> | Checkout is down!", ch.Topic)
			require.ElementsMatch(t, []string{"https://runbooks.example.com/checkout", "https://grafana.example.com/d/overview"},
				[]string{ch.Bookmarks[0].Link, ch.Bookmarks[1].Link})
			panel := panelText(t, fake, ch)
			require.Contains(t, panel, "INC-1")
			require.Contains(t, panel, "Investigating")
			for _, button := range []string{"I'm the IC", "Assign roles", "Post update", "Change severity", "Page on-call", "What changed?", "Resolve"} {
				require.Contains(t, panel, button)
			}
			require.Eventually(t, func() bool {
				return strings.Contains(messagesText(fake, "C0INCIDENTS"), "INC-1") || len(fake.Messages("C0INCIDENTS")) > 0
			},
				10*time.Second, 25*time.Millisecond, "announced in #incidents")
			require.Len(t, fake.CallsTo("conversations.create"), 1)
			for _, c := range fake.CallsTo("conversations.invite") {
				require.LessOrEqual(t, len(strings.Split(c.Args.Get("users"), ",")), 100)
			}

			// A repeated delivery of the same command declares nothing new.
			_, text = b.command(mode, "U0ALICE", "C0GENERAL", "list")
			require.Contains(t, text, "INC-1")

			// Run it from the incident channel.
			panelUpdates := func() int { return len(fake.CallsTo("chat.update")) }
			before := panelUpdates()
			_, text = b.command(mode, "U0ALICE", ch.ID, "ic <@U0BOB|bob>")
			require.Contains(t, text, "<@U0BOB> is now the Incident Commander")
			_, text = b.command(mode, "U0BOB", ch.ID, "role comms <@U0CAROL>")
			require.Contains(t, text, "comms role")
			_, text = b.command(mode, "U0BOB", ch.ID, "role janitor <@U0CAROL>")
			require.Contains(t, text, "Unknown role \"janitor\"")
			_, text = b.command(mode, "U0BOB", ch.ID, "severity P2")
			require.Contains(t, text, "INC-1 is now P2")
			_, text = b.command(mode, "U0BOB", ch.ID, "close")
			require.Contains(t, text, "Only a resolved incident can be closed")
			_, text = b.command(mode, "U0BOB", ch.ID, "resolve rolled back the deploy")
			require.Contains(t, text, "is now resolved")
			_, text = b.command(mode, "U0BOB", ch.ID, "reopen")
			require.Contains(t, text, "is now investigating")
			_, text = b.command(mode, "U0BOB", ch.ID, "status mitigated")
			require.Contains(t, text, "Mitigated")
			_, text = b.command(mode, "U0BOB", ch.ID, "resolve")
			require.Contains(t, text, "is now resolved")
			_, text = b.command(mode, "U0BOB", ch.ID, "close")
			require.Contains(t, text, "is now closed")
			_, text = b.command(mode, "U0BOB", ch.ID, "severity P1")
			require.Contains(t, text, "closed")
			_, text = b.command(mode, "U0BOB", "C0GENERAL", "status")
			require.Contains(t, text, "not an incident channel")

			for _, want := range []string{
				"Incident Commander handover: <@U0ALICE> → <@U0BOB>",
				"<@U0CAROL> is now the comms lead",
				"Severity lowered from P1 to P2",
				"resolved the incident",
				"reopened the incident",
				"marked the incident mitigated",
				"closed the incident",
			} {
				require.Eventually(t, func() bool { return strings.Contains(messagesText(fake, ch.ID), want) },
					15*time.Second, 25*time.Millisecond, "%q in the channel", want)
			}
			resolves := func() int {
				n := 0
				for _, m := range fake.Messages(ch.ID) {
					if strings.HasPrefix(m.Text, ":white_check_mark: <@U0BOB> resolved the incident") {
						n++
					}
				}
				return n
			}
			require.Eventually(t, func() bool { return resolves() == 2 }, 15*time.Second, 25*time.Millisecond, "both resolves are posted")
			require.Never(t, func() bool { return resolves() > 2 }, 500*time.Millisecond, 50*time.Millisecond, "each change is posted once")
			require.Eventually(t, func() bool { return strings.Contains(panelText(t, fake, ch), "Closed") },
				10*time.Second, 25*time.Millisecond, "the panel follows the changes")
			require.Positive(t, panelUpdates()-before)
			// An edit that would leave a message as it is is not sent.
			last := map[string]string{}
			for _, c := range fake.CallsTo("chat.update") {
				ts, content := c.Args.Get("ts"), c.Args.Get("text")+c.Args.Get("blocks")
				require.NotEqual(t, last[ts], content, "chat.update repeated unchanged content")
				last[ts] = content
			}
			ch, _ = fake.Channel(ch.ID)
			require.Contains(t, ch.Topic, "Closed")
			require.Contains(t, ch.Topic, "IC <@U0BOB>")
			require.Subset(t, ch.Members, []string{"U0BOB", "U0CAROL"})

			// Declare through the modal: the command without text opens it.
			_, text = b.command(mode, "U0DAVE", "C0GENERAL", "declare")
			require.Empty(t, text)
			var view slackfake.View
			require.Eventually(t, func() bool {
				for _, v := range fake.OpenViews() {
					if v.CallbackID == "declare" {
						view = v
						return true
					}
				}
				return false
			}, 5*time.Second, 20*time.Millisecond)
			submit := func(values map[string]map[string]slack.BlockAction) *slackfake.Reply {
				cb, err := slackfake.ViewSubmission("U0DAVE", view, values)
				require.NoError(t, err)
				var r *slackfake.Reply
				if mode == "socket" {
					r, err = b.driver.SocketInteraction(ctx, cb)
				} else {
					r, err = b.driver.Interaction(ctx, b.base+"/slack/interactions", cb)
				}
				require.NoError(t, err)
				require.Empty(t, r.ViewAckProblem)
				return r
			}
			// Missing pieces come back on the field at fault.
			r := submit(map[string]map[string]slack.BlockAction{"title": {"title": {Value: ""}}})
			var errs struct {
				ResponseAction string            `json:"response_action"`
				Errors         map[string]string `json:"errors"`
			}
			require.NoError(t, json.Unmarshal(r.Body, &errs), string(r.Body))
			require.Equal(t, "errors", errs.ResponseAction)
			require.Contains(t, errs.Errors, "title")
			require.Contains(t, errs.Errors, "severity")

			values := map[string]map[string]slack.BlockAction{
				"title":     {"title": {Value: "Payments API latency"}},
				"severity":  {"severity": {SelectedOption: slack.OptionBlockObject{Value: "P2"}}},
				"commander": {"commander": {SelectedUser: "U0ERIN"}},
				"service":   {"service": {SelectedOption: slack.OptionBlockObject{Value: "checkout"}}},
				"private":   {"private": {SelectedOptions: []slack.OptionBlockObject{{Value: "private"}}}},
			}
			submit(values)
			submit(values) // a double-clicked submit declares once
			name2 := fmt.Sprintf("inc-%s-payments-api-latency", time.Now().UTC().Format("2006-01-02"))
			ch2 := waitChannel(t, fake, name2)
			require.True(t, ch2.Private, "the modal's private choice makes a private channel")
			require.Eventually(t, func() bool {
				ch2, _ = fake.Channel(name2)
				return strings.Contains(ch2.Topic, "IC <@U0ERIN>")
			}, 10*time.Second, 25*time.Millisecond)
			_, text = b.command(mode, "U0DAVE", "C0GENERAL", "list")
			require.Contains(t, text, "INC-2")
			require.NotContains(t, text, "INC-3")
			require.Len(t, fake.CallsTo("conversations.create"), 2, "one channel per incident")
		})
	}
}

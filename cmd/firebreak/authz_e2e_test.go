package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// authzWorld is the real program against the demo's stand-ins, with a
// policy that names who owns checkout's rollbacks and a two-person rule on
// production.
type authzWorld struct {
	t     *testing.T
	world *demoWorld
	fake  *slackfake.Server
	b     *botInstance
}

func newAuthzWorld(t *testing.T) *authzWorld {
	t.Helper()
	world, cleanup, err := newDemoWorld(t.TempDir(), nopWriter{})
	require.NoError(t, err)
	t.Cleanup(cleanup)
	env := map[string]string{
		"POLICY_FILE": writePolicyFile(t, fmt.Sprintf(`
channels: {broadcast: "#incidents"}
commander_group: S0ICS
services:
  checkout:
    name: Checkout
    owners: [U0DAVE, U0BOB]
    github: {repos: [%s], environments: [production], deploy_workflow: %s, rollback: workflow}
rollback:
  two_person:
    production: [P1, P2, P3, P4]
`, demoRepo, demoWorkflow)),
		"GITHUB_API_URL": world.gh.URL(), "GITHUB_TOKEN": world.gh.Token(), "GITHUB_WEBHOOK_SECRET": demoGHSecret,
	}
	b := startBot(t, botOptions{mode: "http", slack: world.slack, env: env})
	return &authzWorld{t: t, world: world, fake: world.slack, b: b}
}

func (w *authzWorld) click(user, channel, actionID, value string) {
	w.t.Helper()
	cb := slackfake.BlockActions(user, channel, "", &slack.BlockAction{ActionID: actionID, Value: value})
	r, err := w.b.driver.Interaction(context.Background(), w.b.base+"/slack/interactions", cb)
	require.NoError(w.t, err)
	require.Equal(w.t, http.StatusOK, r.StatusCode)
}

// said reports whether someone was told s privately: through a response
// URL or an ephemeral message.
func (w *authzWorld) said(user, s string) bool {
	for _, p := range w.fake.AllResponsePosts() {
		if strings.Contains(p.Text, s) && p.ResponseType == "ephemeral" {
			return true
		}
	}
	for _, c := range w.fake.Channels() {
		for _, e := range w.fake.Ephemerals(c.ID) {
			if e.User == user && strings.Contains(e.Text, s) {
				return true
			}
		}
	}
	return false
}

func (w *authzWorld) waitSaid(user, s, why string) {
	w.t.Helper()
	require.Eventually(w.t, func() bool { return w.said(user, s) }, 10*time.Second, 20*time.Millisecond, why)
}

func (w *authzWorld) channelWith(part string) slackfake.Channel {
	w.t.Helper()
	var found slackfake.Channel
	require.Eventually(w.t, func() bool {
		for _, c := range w.fake.Channels() {
			if strings.HasPrefix(c.Name, "inc-") && strings.Contains(c.Name, part) && len(c.Pins) > 0 {
				found = c
				return true
			}
		}
		return false
	}, 20*time.Second, 25*time.Millisecond, "an incident channel named like %q with its pinned panel", part)
	return found
}

// plainJSON undoes Go's HTML-safe JSON escapes, so blocks read as Slack
// reads them.
func plainJSON(b json.RawMessage) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b))
}

// TestRollbackAuthorizationEndToEnd: being IC of an incident is no right to
// roll back; the change's owners may, and production needs a second owner.
func TestRollbackAuthorizationEndToEnd(t *testing.T) {
	t.Parallel()
	w := newAuthzWorld(t)

	// Carol declares a P4 against checkout: she is its IC, and no owner.
	_, text := w.b.command("http", "U0CAROL", "C0GENERAL", "declare P4 --service=checkout checkout button misaligned")
	require.Contains(t, text, "Declaring INC-1")
	ch := w.channelWith("checkout-button-misaligned")
	var value string
	require.Eventually(t, func() bool {
		for _, m := range w.fake.Messages(ch.ID) {
			for _, v := range buttonValues(m, "rollback_open") {
				if strings.HasPrefix(v, "github|") {
					value = v
				}
			}
		}
		return value != ""
	}, 20*time.Second, 25*time.Millisecond, "a Roll back button for the production deploy")

	views := len(w.fake.Views())
	w.click("U0CAROL", ch.ID, "rollback_open", value)
	w.waitSaid("U0CAROL", "You may not roll back this change", "the IC of the P4 is refused, and told why")
	require.True(t, w.said("U0CAROL", "Who can: <@U0DAVE> or <@U0BOB>"), "and who can")
	require.Len(t, w.fake.Views(), views, "no confirmation opens for her")

	// Dave owns checkout: he asks, and production needs a second person.
	w.click("U0DAVE", ch.ID, "rollback_open", value)
	var view slackfake.View
	require.Eventually(t, func() bool {
		for _, v := range w.fake.OpenViews() {
			if v.CallbackID == "rollback" && v.UserID == "U0DAVE" {
				view = v
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond)
	require.Contains(t, plainJSON(view.JSON), "needs a second person's approval")
	sub, err := slackfake.ViewSubmission("U0DAVE", view, nil)
	require.NoError(t, err)
	_, err = w.b.driver.Interaction(context.Background(), w.b.base+"/slack/interactions", sub)
	require.NoError(t, err)
	var key string
	require.Eventually(t, func() bool {
		for _, m := range w.fake.Messages(ch.ID) {
			if vs := buttonValues(m, "rollback_approve"); len(vs) > 0 {
				key = vs[0]
			}
		}
		return key != ""
	}, 20*time.Second, 25*time.Millisecond, "an approval request with its button: %s\n%v", messagesText(w.fake, ch.ID), w.fake.AllResponsePosts())
	require.Contains(t, messagesText(w.fake, ch.ID), "needs a second person")

	// The requester cannot approve; nor can the IC who is no owner.
	w.click("U0DAVE", ch.ID, "rollback_approve", key)
	w.waitSaid("U0DAVE", "a second person must approve, and you requested this rollback", "Dave may not approve his own")
	w.click("U0CAROL", ch.ID, "rollback_approve", key)
	w.waitSaid("U0CAROL", "rollbacks of checkout in production belong to its owners", "the IC may not approve")
	require.Empty(t, w.world.gh.Dispatches(demoRepo), "nothing ran")

	// Bob, the other owner, approves: the deploy workflow is dispatched once.
	w.click("U0BOB", ch.ID, "rollback_approve", key)
	require.Eventually(t, func() bool { return len(w.world.gh.Dispatches(demoRepo)) == 1 }, 20*time.Second, 25*time.Millisecond,
		"the rollback runs: %s\n%+v", messagesText(w.fake, ch.ID), w.fake.AllResponsePosts())
	require.Eventually(t, func() bool {
		return strings.Contains(messagesText(w.fake, ch.ID), "<@U0BOB> approved the rollback <@U0DAVE> asked for")
	}, 10*time.Second, 25*time.Millisecond)
}

// TestPrivateIncidentEndToEnd: a private incident is acknowledged to its
// declarer only, never announced in the public broadcast channel, hidden
// from list for non-members, and its buttons refuse them, as do buttons
// clicked in another incident's channel.
func TestPrivateIncidentEndToEnd(t *testing.T) {
	t.Parallel()
	w := newAuthzWorld(t)

	_, text := w.b.command("http", "U0ALICE", "C0GENERAL", "declare P2 checkout is slow")
	require.Contains(t, text, "Declaring INC-1")
	public := w.channelWith("checkout-is-slow")

	r, text := w.b.command("http", "U0CAROL", "C0GENERAL", "declare P2 --private payroll export leaked")
	require.Contains(t, text, "private incident *INC-2*")
	var ack struct {
		ResponseType string `json:"response_type"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &ack))
	require.Equal(t, "ephemeral", ack.ResponseType, "the declare is acknowledged to Carol alone")
	private := w.channelWith("payroll-export-leaked")
	require.True(t, private.Private)
	require.NotContains(t, private.Members, "U0ALICE")

	// The public incident is announced; the private one never is.
	require.Eventually(t, func() bool { return strings.Contains(messagesText(w.fake, "C0INCIDENTS"), "INC-1") }, 20*time.Second, 25*time.Millisecond)
	broadcast := messagesText(w.fake, "C0INCIDENTS")
	require.NotContains(t, broadcast, "INC-2")
	require.NotContains(t, broadcast, "payroll")
	require.NotContains(t, messagesText(w.fake, "C0GENERAL"), "payroll", "nothing said in the channel where it was typed")

	_, text = w.b.command("http", "U0ALICE", "C0GENERAL", "list")
	require.Contains(t, text, "INC-1")
	require.NotContains(t, text, "INC-2", "hidden from a non-member")
	require.NotContains(t, text, "payroll")
	_, text = w.b.command("http", "U0CAROL", "C0GENERAL", "list")
	require.Contains(t, text, "INC-2", "shown to its member")

	// A forged button naming the private incident, clicked outside it.
	var privateID string
	require.Eventually(t, func() bool {
		for _, m := range w.fake.Messages(private.ID) {
			if vs := buttonValues(m, "ic_claim"); len(vs) > 0 {
				privateID = vs[0]
			}
		}
		return privateID != ""
	}, 10*time.Second, 25*time.Millisecond)
	w.click("U0ALICE", "C0GENERAL", "ic_claim", privateID)
	w.waitSaid("U0ALICE", "belongs to a private incident you are not a member of", "a forged button from another channel is refused")
	w.click("U0ALICE", "C0GENERAL", "resolve", privateID)

	// A button clicked in one incident's channel naming another.
	w.click("U0ALICE", public.ID, "resolve", privateID)
	w.waitSaid("U0ALICE", "does not belong to this channel's incident", "a button from another incident's channel is refused")

	_, text = w.b.command("http", "U0CAROL", private.ID, "status")
	require.Contains(t, text, "<@U0CAROL>", "Carol is still the IC")
	require.Contains(t, text, "Investigating", "and nobody resolved it")
	require.NotContains(t, messagesText(w.fake, private.ID), "U0ALICE")
}

// TestUserTextIsShownLiterallyEndToEnd: a title and an update that look like
// Slack markup are shown as typed, in message text, blocks and the topic,
// and ping nobody.
func TestUserTextIsShownLiterallyEndToEnd(t *testing.T) {
	t.Parallel()
	w := newAuthzWorld(t)
	const escaped = "&lt;!channel&gt; p99 &gt; 2s"

	// Slack sends the typed "<!channel> p99 > 2s" escaped, as here.
	_, text := w.b.command("http", "U0ALICE", "C0GENERAL", "declare P2 &lt;!channel&gt; p99 &gt; 2s")
	require.Contains(t, text, escaped, "the acknowledgement shows the title literally")
	require.NotContains(t, text, "<!channel>")
	require.NotContains(t, text, "&amp;gt;", "Slack's entities are not escaped twice")
	ch := w.channelWith("p99")

	require.Eventually(t, func() bool { return strings.Contains(w.channel(ch.ID).Topic, escaped) }, 10*time.Second, 25*time.Millisecond)
	require.NotContains(t, w.channel(ch.ID).Topic, "<!channel>")
	panel, ok := findMessage(w.fake, ch.ID, "ic_claim")
	require.True(t, ok)
	require.Contains(t, panel.Text, escaped, "the panel's message text")
	require.Contains(t, plainJSON(panel.Blocks), "p99")
	require.NotContains(t, mrkdwnTexts(t, panel.Blocks), "<!channel>", "and its blocks")
	require.Eventually(t, func() bool { return strings.Contains(messagesText(w.fake, "C0INCIDENTS"), "INC-1") }, 20*time.Second, 25*time.Millisecond)
	for _, m := range append(w.fake.Messages("C0INCIDENTS"), w.fake.Messages(ch.ID)...) {
		require.NotContains(t, m.Text, "<!channel>", "no message pings the channel")
		require.NotContains(t, mrkdwnTexts(t, m.Blocks), "<!channel>")
		require.NotContains(t, m.Text, "&amp;gt;")
	}
	require.Contains(t, messagesText(w.fake, "C0INCIDENTS"), escaped, "the announcement")

	// The update form's text is escaped too.
	w.click("U0ALICE", ch.ID, "update_open", panelIncidentID(t, panel))
	var view slackfake.View
	require.Eventually(t, func() bool {
		for _, v := range w.fake.OpenViews() {
			if v.CallbackID == "update" && v.UserID == "U0ALICE" {
				view = v
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond)
	sub, err := slackfake.ViewSubmission("U0ALICE", view, map[string]map[string]slack.BlockAction{
		"update_known": {"update_known": {Value: "<!here> rolled back & <@U0BOB> watches p99 > 2s"}},
	})
	require.NoError(t, err)
	_, err = w.b.driver.Interaction(context.Background(), w.b.base+"/slack/interactions", sub)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return strings.Contains(messagesText(w.fake, ch.ID), "&lt;!here&gt; rolled back &amp; &lt;@U0BOB&gt; watches p99 &gt; 2s")
	}, 10*time.Second, 25*time.Millisecond, "the update is posted literally")
	for _, m := range w.fake.Messages(ch.ID) {
		require.NotContains(t, m.Text, "<!here>")
		require.NotContains(t, m.Text, "<@U0BOB>")
	}
}

func (w *authzWorld) channel(id string) slackfake.Channel {
	for _, c := range w.fake.Channels() {
		if c.ID == id {
			return c
		}
	}
	return slackfake.Channel{}
}

func panelIncidentID(t *testing.T, panel slackfake.Message) string {
	t.Helper()
	vs := buttonValues(panel, "ic_claim")
	require.NotEmpty(t, vs)
	return vs[0]
}

// mrkdwnTexts joins the text of every mrkdwn object in blocks: the text
// Slack parses for mentions and links. (plain_text is shown as it is and
// notifies nobody.)
func mrkdwnTexts(t *testing.T, blocks json.RawMessage) string {
	t.Helper()
	if len(blocks) == 0 {
		return ""
	}
	var v any
	require.NoError(t, json.Unmarshal(blocks, &v))
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "mrkdwn" {
				if s, ok := x["text"].(string); ok {
					out = append(out, s)
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return strings.Join(out, "\n")
}

// TestOtherOrganisationRefusedByTheProgram: the real program learns its
// workspace from auth.test and refuses a declare from a user of another
// organisation (a Slack Connect channel), storing nothing, while its own
// workspace's users declare as before.
func TestOtherOrganisationRefusedByTheProgram(t *testing.T) {
	t.Parallel()
	b := startBot(t, botOptions{mode: "http"})
	ctx := context.Background()
	send := func(team, text string) string {
		r, err := b.driver.SlashCommand(ctx, b.base+"/slack/commands", slack.SlashCommand{Command: "/incident", Text: text,
			UserID: "U0OUTSIDE", ChannelID: "C0GENERAL", TeamID: team})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode)
		return string(r.Body)
	}
	require.Contains(t, send("T0OTHERORG", "declare P1 from outside"), "Only members of the workspace this bot belongs to")
	require.NotContains(t, send(slackfake.DefaultTeamID, "list"), "from outside", "nothing was declared")
	require.NotContains(t, send(slackfake.DefaultTeamID, "declare P3 from inside"), "Only members")
	require.Contains(t, send(slackfake.DefaultTeamID, "list"), "from inside")
}

// TestOtherOrganisationRefusedFromTheFirstRequest: Slack is slow to answer
// the program's first auth.test, and a declare from another organisation
// arrives as soon as the program listens. It is refused all the same: the
// program learns its workspace before it takes Slack's requests.
func TestOtherOrganisationRefusedFromTheFirstRequest(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(slackfake.WithChatWritePublic())
	t.Cleanup(fake.Close)
	fake.SetLatency("auth.test", 700*time.Millisecond)
	b := startBot(t, botOptions{mode: "http", slack: fake})
	r, err := b.driver.SlashCommand(context.Background(), b.base+"/slack/commands", slack.SlashCommand{Command: "/incident",
		Text: "declare P1 from outside", UserID: "U0OUTSIDE", ChannelID: "C0GENERAL", TeamID: "T0OTHERORG"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Contains(t, string(r.Body), "Only members of the workspace this bot belongs to")
	for _, c := range fake.Channels() {
		require.NotContains(t, c.Name, "from-outside", "nothing was declared")
	}
}

// TestGuestRefusedByTheProgram: the program reads the workspace's people
// when it starts, and a guest's declare is refused without asking Slack
// about them; a member's goes ahead.
func TestGuestRefusedByTheProgram(t *testing.T) {
	t.Parallel()
	fake := slackfake.New(slackfake.WithChatWritePublic())
	t.Cleanup(fake.Close)
	guest := fake.AddUser(slackfake.User{Name: "contractor", Guest: true})
	member := fake.AddUser(slackfake.User{Name: "sre"})
	b := startBot(t, botOptions{mode: "http", slack: fake})
	require.Eventually(t, func() bool {
		for _, c := range fake.CallsTo("users.list") {
			if c.OK() {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the program reads the workspace's people")
	ctx := context.Background()
	send := func(user, text string) string {
		r, err := b.driver.SlashCommand(ctx, b.base+"/slack/commands", slack.SlashCommand{Command: "/incident", Text: text,
			UserID: user, ChannelID: "C0GENERAL", TeamID: slackfake.DefaultTeamID})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.StatusCode)
		return string(r.Body)
	}
	require.Contains(t, send(guest.ID, "declare P1 from a guest"), "guests of the workspace may declare only where the policy names them")
	require.NotContains(t, send(member.ID, "declare P3 from a member"), "You may not")
	require.Contains(t, send(member.ID, "list"), "from a member")
	require.NotContains(t, send(member.ID, "list"), "from a guest")
	for _, c := range fake.CallsTo("users.info") {
		require.NotEqual(t, guest.ID, c.Args.Get("user"), "the guest was told apart from the workspace's list, not by users.info")
	}
}

package bot

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// updateMarkup is a transport whose incident is announced in a broadcast
// channel, where its updates are mirrored, and a person, bob, to mention.
type updateMarkup struct {
	*transport
	bob       slackfake.User
	broadcast slackfake.Channel
}

func newUpdateMarkup(t *testing.T) *updateMarkup {
	t.Helper()
	tr := newTransport(t)
	u := &updateMarkup{transport: tr}
	u.bob = tr.srv.AddUser(slackfake.User{Name: "bob", Email: "bob@example.com"})
	tr.srv.AddMember(tr.inc.ChannelID, u.bob.ID)
	u.broadcast = tr.srv.AddChannel(slackfake.Channel{Name: "incidents", Creator: tr.ic.ID, Members: []string{tr.ic.ID, tr.srv.BotUserID()}})
	announced, ok := tr.srv.AddMessage(slackfake.Message{Channel: u.broadcast.ID, User: tr.srv.BotUserID(), Text: "INC-1 declared"})
	require.True(t, ok)
	_, err := tr.store.UpdateIncident(context.Background(), tr.inc.ID, func(i *incident.Incident) ([]incident.TimelineEvent, error) {
		i.BroadcastChannel, i.BroadcastTS = u.broadcast.ID, announced.TS
		return nil, nil
	})
	require.NoError(t, err)
	return u
}

// slash sends "/incident <typed>" as Slack sends what the person typed,
// escaped and with mentions and links in markup.
func (u *updateMarkup) slash(t *testing.T, typed string) {
	t.Helper()
	r := u.command(t, u.ic.ID, u.inc.ChannelID, u.driver.Typed(typed))
	require.Contains(t, string(r.Body), "Update posted", string(r.Body))
}

// form posts an update through the update form, its boxes holding what
// the person typed.
func (u *updateMarkup) form(t *testing.T, known, doing string) {
	t.Helper()
	u.click(t, u.ic.ID, ActionPostUpdate)
	values := map[string]map[string]slack.BlockAction{
		blockUpdateStatus: {blockUpdateStatus: {SelectedOption: slack.OptionBlockObject{Value: string(incident.StatusInvestigating)}}},
		blockUpdateKnown:  {blockUpdateKnown: {Value: known}},
	}
	if doing != "" {
		values[blockUpdateDoing] = map[string]slack.BlockAction{blockUpdateDoing: {Value: doing}}
	}
	require.Nil(t, formErrors(t, u.submit(t, u.ic.ID, u.openedView(t, ViewUpdate), values)))
}

// posted runs the jobs that post the newest update and returns what it
// says in the incident's channel and in the broadcast channel (the
// message's text and its blocks' text, as sent), and the update as stored.
func (u *updateMarkup) posted(t *testing.T) (channel, broadcast []string, stored string) {
	t.Helper()
	u.queue.Run(t, incident.JobSync)
	updates, err := u.store.ListStatusUpdates(context.Background(), u.inc.ID)
	require.NoError(t, err)
	require.NotEmpty(t, updates)
	return latestUpdateMessage(t, u.srv.Messages(u.inc.ChannelID)), latestUpdateMessage(t, u.srv.Messages(u.broadcast.ID)), updates[len(updates)-1].Text
}

// latestUpdateMessage is the text and block texts of the newest status
// update among msgs.
func latestUpdateMessage(t *testing.T, msgs []slackfake.Message) []string {
	t.Helper()
	for i := len(msgs) - 1; i >= 0; i-- {
		if !strings.Contains(msgs[i].Text, "Status update") {
			continue
		}
		out := []string{msgs[i].Text}
		var blocks []struct {
			Text *struct {
				Text string `json:"text"`
			} `json:"text"`
		}
		if len(msgs[i].Blocks) > 0 {
			require.NoError(t, json.Unmarshal(msgs[i].Blocks, &blocks))
		}
		for _, b := range blocks {
			if b.Text != nil {
				out = append(out, b.Text.Text)
			}
		}
		return out
	}
	t.Fatalf("no status update among %d messages", len(msgs))
	return nil
}

// allowedUpdateMarkup is the markup an update message may carry: user
// mentions, channel references and http(s) or mailto links. Broadcasts,
// user groups and anything else Slack would act on are not.
var allowedUpdateMarkup = regexp.MustCompile(`^<(@[UW][A-Z0-9]+(\|[^<>|]*)?|#[CG][A-Z0-9]+(\|[^<>|]*)?|(https?://|mailto:)[^<>|\s]+(\|[^<>]*)?)>$`)

// requireUpdateMarkup fails when a text holds markup other than mentions,
// channel references and links, or a bare & < > Slack would read as markup.
func requireUpdateMarkup(t *testing.T, texts []string) {
	t.Helper()
	for _, text := range texts {
		for _, seq := range regexp.MustCompile(`<[^<>]*>`).FindAllString(text, -1) {
			require.Regexp(t, allowedUpdateMarkup, seq, "in %q", text)
		}
		rest := regexp.MustCompile(`<[^<>]*>`).ReplaceAllString(text, "")
		require.NotContains(t, rest, "<", "a bare < in %q", text)
		require.NotContains(t, rest, ">", "a bare > in %q", text)
		require.NotRegexp(t, `&($|[^alg]|a($|[^m])|l($|[^t])|g($|[^t]))`, rest, "a bare & in %q", text)
	}
}

func requireEach(t *testing.T, texts []string, want string) {
	t.Helper()
	for _, text := range texts {
		require.Contains(t, text, want)
	}
}

func requireNone(t *testing.T, texts []string, unwanted string) {
	t.Helper()
	for _, text := range texts {
		require.NotContains(t, text, unwanted)
	}
}

// plainName names a user for incident.PlainText.
func plainName(id string) string { return "@" + id }

// TestUpdateCommandMentionShowsAsAMention: "/incident update" with a
// person mentioned (Slack sends <@U…|bob>, the command escaping what it
// sends) stores the mention as Slack wrote it, and the update message,
// in the channel and in the broadcast channel, mentions bob rather than
// showing "<@U…|bob>" as text.
func TestUpdateCommandMentionShowsAsAMention(t *testing.T) {
	u := newUpdateMarkup(t)
	u.slash(t, "update @bob is rolling back the 14:02 deploy")
	channel, broadcast, stored := u.posted(t)
	require.Equal(t, "<@"+u.bob.ID+"|bob> is rolling back the 14:02 deploy", stored)
	for _, texts := range [][]string{channel, broadcast} {
		requireUpdateMarkup(t, texts)
		requireEach(t, texts, "<@"+u.bob.ID)
		requireNone(t, texts, "&lt;@")
	}
	require.Equal(t, "@"+u.bob.ID+" is rolling back the 14:02 deploy", incident.PlainText(stored, plainName))
}

// TestUpdateFormTypedMentionStaysText: "<@U…>" typed in the update form
// is what the person wrote, not a mention: it is stored escaped, as Slack
// stores typed text, so the message, the page and the postmortem show it
// as written and nobody is notified.
func TestUpdateFormTypedMentionStaysText(t *testing.T) {
	u := newUpdateMarkup(t)
	typed := "<@" + u.bob.ID + "> approved the rollback"
	u.form(t, typed, "<!channel> no action needed")
	channel, broadcast, stored := u.posted(t)
	require.Equal(t, "What we know: &lt;@"+u.bob.ID+"&gt; approved the rollback\nWhat we are doing: &lt;!channel&gt; no action needed", stored)
	for _, texts := range [][]string{channel, broadcast} {
		requireUpdateMarkup(t, texts)
		requireEach(t, texts, "&lt;@"+u.bob.ID+"&gt; approved the rollback")
		requireEach(t, texts, "&lt;!channel&gt; no action needed")
	}
	require.Equal(t, "What we know: "+typed+"\nWhat we are doing: <!channel> no action needed", incident.PlainText(stored, plainName))
}

// TestUpdateBroadcastPingsAreNotRepeated: "@here" and a user group's
// handle in "/incident update" reach the bot as <!here> and
// <!subteam^…>; the update, which is mirrored to the broadcast channel,
// says them as plain text and pings nobody. "@here" typed in the form is
// plain text already, and stays so.
func TestUpdateBroadcastPingsAreNotRepeated(t *testing.T) {
	u := newUpdateMarkup(t)
	u.slash(t, "update @here @channel @everyone @rollbackers checkout is failing over")
	channel, broadcast, stored := u.posted(t)
	require.Contains(t, stored, "<!here> <!channel> <!everyone> <!subteam^", "the command's words are stored as Slack sent them")
	for _, texts := range [][]string{channel, broadcast} {
		requireUpdateMarkup(t, texts)
		requireNone(t, texts, "<!")
		requireEach(t, texts, "@here @channel @everyone @rollbackers checkout is failing over")
	}
	require.Equal(t, "@here @channel @everyone @rollbackers checkout is failing over", incident.PlainText(stored, plainName))

	u.form(t, "@here checkout is failing over", "")
	channel, broadcast, stored = u.posted(t)
	require.Equal(t, "@here checkout is failing over", stored)
	for _, texts := range [][]string{channel, broadcast} {
		requireUpdateMarkup(t, texts)
		requireNone(t, texts, "<!")
		requireEach(t, texts, "@here checkout is failing over")
	}
}

// TestUpdateLinksAndChannelsShowAsSlackShowsThem: a link with a label (made
// with the composer's formatting), an address typed bare and a channel
// named in "/incident update" stay links and a channel reference in the
// update message; the postmortem's plain text names the address.
func TestUpdateLinksAndChannelsShowAsSlackShowsThem(t *testing.T) {
	u := newUpdateMarkup(t)
	sent := "update errors on <https://grafana.example/d/1?from=now-1h&amp;to=now|the checkout dashboard>, see " +
		u.driver.Typed("https://status.example.com and #incidents")
	r := u.command(t, u.ic.ID, u.inc.ChannelID, sent)
	require.Contains(t, string(r.Body), "Update posted")
	channel, broadcast, stored := u.posted(t)
	link := "<https://grafana.example/d/1?from=now-1h&amp;to=now|the checkout dashboard>"
	require.Equal(t, "errors on "+link+", see <https://status.example.com> and <#"+u.broadcast.ID+"|incidents>", stored)
	for _, texts := range [][]string{channel, broadcast} {
		requireUpdateMarkup(t, texts)
		requireEach(t, texts, link)
		requireEach(t, texts, "<https://status.example.com>")
		requireEach(t, texts, "<#"+u.broadcast.ID)
	}
	require.Equal(t, "errors on the checkout dashboard (https://grafana.example/d/1?from=now-1h&to=now), see https://status.example.com and #incidents",
		incident.PlainText(stored, plainName))
}

// TestUpdateAngleBracketsAndAmpersands: "a < b & c" reads as written
// through the command and the form alike: stored as Slack writes it
// (a &lt; b &amp; c), shown as written, and plain again for the
// postmortem and the status page.
func TestUpdateAngleBracketsAndAmpersands(t *testing.T) {
	u := newUpdateMarkup(t)
	u.slash(t, "update p99 < 300ms & error rate > 2% on a < b & c")
	channel, broadcast, stored := u.posted(t)
	require.Equal(t, "p99 &lt; 300ms &amp; error rate &gt; 2% on a &lt; b &amp; c", stored)
	for _, texts := range [][]string{channel, broadcast} {
		requireUpdateMarkup(t, texts)
		requireEach(t, texts, "p99 &lt; 300ms &amp; error rate &gt; 2% on a &lt; b &amp; c")
	}
	require.Equal(t, "p99 < 300ms & error rate > 2% on a < b & c", incident.PlainText(stored, plainName))

	u.form(t, "a < b & c", "R&D <draft>")
	channel, broadcast, stored = u.posted(t)
	require.Equal(t, "What we know: a &lt; b &amp; c\nWhat we are doing: R&amp;D &lt;draft&gt;", stored)
	for _, texts := range [][]string{channel, broadcast} {
		requireUpdateMarkup(t, texts)
		requireEach(t, texts, "a &lt; b &amp; c")
		requireEach(t, texts, "R&amp;D &lt;draft&gt;")
	}
	require.Equal(t, "What we know: a < b & c\nWhat we are doing: R&D <draft>", incident.PlainText(stored, plainName))
}

// TestSlackMarkupRendersStoredWords: stored words render for a message as
// Slack shows them; broadcasts and group pings become plain words;
// malformed or unknown markup, and words stored as typed before update
// words were kept in Slack's markup, show as written, and nothing the
// renderer gives back is markup other than a mention, a channel or a link.
func TestSlackMarkupRendersStoredWords(t *testing.T) {
	t.Parallel()
	tests := []struct{ stored, want string }{
		{"rolling back", "rolling back"},
		{"<@U0BOB|bob> is on it", "<@U0BOB> is on it"},
		{"<@W0BOB> is on it", "<@W0BOB> is on it"},
		{"see <#C0INC|incidents>", "see <#C0INC|incidents>"},
		{"see <#C0INC>", "see <#C0INC>"},
		{"<https://x.example/a?b=1&amp;c=2|the dashboard>", "<https://x.example/a?b=1&amp;c=2|the dashboard>"},
		{"<https://x.example>", "<https://x.example>"},
		{"<mailto:oncall@example.com|oncall>", "<mailto:oncall@example.com|oncall>"},
		{"<!here> <!channel> <!everyone> <!group>", "@here @channel @everyone @group"},
		{"<!here|here> <!channel|@everyone in the world>", "@here @channel"},
		{"<!subteam^S0ONCALL|@oncall> <!subteam^S0DBA>", "@oncall @S0DBA"},
		{"<!date^1700000000^{date_short}|Nov 14, 2023> cut-off", "Nov 14, 2023 cut-off"},
		{"<!date^1700000000^{date_short}> cut-off", "&lt;!date^1700000000^{date_short}&gt; cut-off"},
		{"<!foo> and <!foo|bar>", "&lt;!foo&gt; and &lt;!foo|bar&gt;"},
		// Escaped typed text, as the form and the API store it.
		{"a &lt; b &amp; c", "a &lt; b &amp; c"},
		{"&lt;@U0BOB&gt; &lt;!here&gt;", "&lt;@U0BOB&gt; &lt;!here&gt;"},
		// Stored as typed, before the rule.
		{"a < b & c", "a &lt; b &amp; c"},
		{"p99 < 300ms <@U0BOB>", "p99 &lt; 300ms <@U0BOB>"},
		{"p99 > 2s & rising", "p99 &gt; 2s &amp; rising"},
		{"R&D <draft>", "R&amp;D &lt;draft&gt;"},
		// Malformed or not markup.
		{"<", "&lt;"},
		{"<>", "&lt;&gt;"},
		{"<@>", "&lt;@&gt;"},
		{"<@u0bob>", "&lt;@u0bob&gt;"},
		{"<#>", "&lt;#&gt;"},
		{"<|>", "&lt;|&gt;"},
		{"<https://x.example", "&lt;https://x.example"},
		{"<https://>", "&lt;https://&gt;"},
		{"<see https://x.example>", "&lt;see https://x.example&gt;"},
		{"<javascript:alert(1)|click>", "&lt;javascript:alert(1)|click&gt;"},
		{"<ftp://x.example/f>", "&lt;ftp://x.example/f&gt;"},
		{"<<@U0BOB>>", "&lt;<@U0BOB>&gt;"},
		{"<!here", "&lt;!here"},
		{"x <!here>> y", "x @here&gt; y"},
		{"&", "&amp;"},
		{"&am", "&amp;am"},
	}
	for _, tt := range tests {
		got := slackMarkup(tt.stored)
		require.Equal(t, tt.want, got, "stored %q", tt.stored)
		requireUpdateMarkup(t, []string{got})
	}
}

// TestUpdateNoticeStoredBeforeShowsAsWritten: an update stored before its
// words were kept in Slack's markup (as typed, a bare "<" and "&" in it),
// posted again (a retried job) or redrawn, shows as written; a broadcast
// copy of an update never pings.
func TestUpdateNoticeStoredBeforeShowsAsWritten(t *testing.T) {
	t.Parallel()
	n := incident.Notice{Kind: incident.NoticeUpdate, Incident: "INC-7", Actor: "U0IC", Mirror: true, Values: map[string]string{
		"severity": "P1", "label": "critical", "status": "Investigating",
		"known": "p99 < 300ms & rising", "doing": "<!channel> rolling back, ask <@U0BOB>"}}
	for _, broadcast := range []bool{false, true} {
		n.Broadcast = broadcast
		text := NoticeText(n)
		requireUpdateMarkup(t, []string{text})
		require.Contains(t, text, "*What we know:* p99 &lt; 300ms &amp; rising")
		require.Contains(t, text, "*What we are doing:* @channel rolling back, ask <@U0BOB>")
	}
	require.Contains(t, TimelineText(n), "*What we know:* p99 < 300ms & rising", "the timeline's words as stored")
}

// TestUpdateFormWordsPastTheLimitAsStored: two boxes within the form's
// length as typed, but past the update's 2,800 characters once & < > are
// stored as Slack stores them, are answered on the longer box, saying
// why; nothing is posted.
func TestUpdateFormWordsPastTheLimitAsStored(t *testing.T) {
	u := newUpdateMarkup(t)
	u.click(t, u.ic.ID, ActionPostUpdate)
	errs := formErrors(t, u.submit(t, u.ic.ID, u.openedView(t, ViewUpdate), map[string]map[string]slack.BlockAction{
		blockUpdateStatus: {blockUpdateStatus: {SelectedOption: slack.OptionBlockObject{Value: string(incident.StatusInvestigating)}}},
		blockUpdateKnown:  {blockUpdateKnown: {Value: strings.Repeat("x", maxUpdateInput)}},
		blockUpdateDoing:  {blockUpdateDoing: {Value: strings.Repeat("x", maxUpdateInput-2) + "&&"}},
	}))
	require.Len(t, errs, 1, errs)
	require.Contains(t, errs[blockUpdateDoing], "2808 characters long as stored")
	require.Contains(t, errs[blockUpdateDoing], "2800")
	updates, err := u.store.ListStatusUpdates(context.Background(), u.inc.ID)
	require.NoError(t, err)
	require.Empty(t, updates)
}

package bot_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
)

// brokenEntity finds an & that does not start one of the entities Slack
// escapes with: what a cut inside "&amp;" leaves, shown as typed.
var brokenEntity = regexp.MustCompile(`&(?:[^agl]|a[^m]|am[^p]|amp[^;]|g[^t]|gt[^;]|l[^t]|lt[^;]|.{0,3}$)`)

// draftNotice is a summary notice for a draft whose summary paragraph,
// facts and title are as given.
func draftNotice(title, summary string, facts ...string) incident.Notice {
	n := incident.Notice{Kind: incident.NoticePostmortemDraft, Incident: "INC-42", Actor: "bot", Values: map[string]string{
		"title": title, "summary": summary,
		"metrics":  "acknowledged in 4m (target 5m met) · mitigated in 17m 40s · resolved in 37m 40s",
		"timeline": "14:05 Detected and declared → 14:22 Mitigated", "key_events": "6", "action_items": "2", "no_owner": "1",
		"no_due": "1", "review_notes": "1", "parts": "2", "backfill_failed": "false"}}
	for _, f := range facts {
		n.Items = append(n.Items, incident.Notice{Kind: incident.NoticePostmortemFact, Incident: "INC-42", Values: map[string]string{"text": f}})
	}
	n.Items = append(n.Items, incident.Notice{Kind: incident.NoticePostmortemReviewNote, Incident: "INC-42",
		Values: map[string]string{"section": "Root cause", "phrase": "human error"}})
	return n
}

// The draft's summary notice is one Block Kit section, whose 3000
// characters Slack counts escaped: a summary of 700 characters (as much as
// the draft quotes) full of & < > takes up to 3500. The summary paragraph
// is cut, not the metrics, facts and review notes under it, never inside
// an entity, and the notice says it was cut; Slack takes the message with
// its Export button.
func TestDraftSummaryCutCountsEscapes(t *testing.T) {
	t.Parallel()
	summary := "p99 > 2s " + strings.Repeat("<&> ", 173)[:691]
	n := draftNotice("checkout & payments <EU>", summary, "deploy bad0c0f at 13:58 changed R&D <flags>")
	got := bot.NoticeText(n)

	require.LessOrEqual(t, utf8.RuneCountInString(got), 2900)
	require.Contains(t, got, "p99 &gt; 2s &lt;&amp;&gt; &lt;&amp;&gt;", "the summary starts as written")
	require.Contains(t, got, "_(cut; the full draft follows below)_", "the cut is said")
	for _, kept := range []string{"*Key metrics:* acknowledged in 4m", "deploy bad0c0f at 13:58 changed R&amp;D &lt;flags&gt;",
		"• Root cause: \"human error\"", "_The full draft in Markdown follows in 2 messages._"} {
		require.Contains(t, got, kept)
	}
	require.NotRegexp(t, brokenEntity, got, "no entity is cut in two")

	// A summary that fits is shown whole, with nothing said.
	short := bot.NoticeText(draftNotice("search is slow", strings.Repeat("a & b ", 50)))
	require.NotContains(t, short, "cut;")
	require.Contains(t, short, strings.TrimSpace(strings.Repeat("a &amp; b ", 50)))

	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.AddChannel(slackfake.Channel{ID: "C0INC", Name: "inc-42", Members: []string{fake.BotUserID()}})
	chat := bot.NewChat(slack.New(fake.BotToken(), slack.OptionAPIURL(fake.URL())), incident.DefaultPolicy())
	n.Buttons = []incident.Button{{Action: incident.ActionExport, Text: "Export to Confluence", Value: "7:confluence", Style: "primary"}}
	_, err := chat.Notify(context.Background(), "C0INC", n)
	require.NoError(t, err, "Slack takes the summary")
	msgs := fake.Messages("C0INC")
	require.Len(t, msgs, 1)
	require.Contains(t, string(msgs[0].Blocks), "cut; the full draft follows below")
	require.Contains(t, string(msgs[0].Blocks), "Export to Confluence")
	require.Equal(t, 1, strings.Count(string(msgs[0].Blocks), `"type":"section"`), "one section, the button under it")
}

// When even the notice under the summary does not fit (three facts of 220
// characters, each all escapes), the notice is cut at its end, between
// lines, and says the full draft follows.
func TestDraftNoticeCutAtItsEndSaysSo(t *testing.T) {
	t.Parallel()
	fact := strings.Repeat("<&>", 80)[:220]
	got := bot.NoticeText(draftNotice("checkout is down", strings.Repeat("&", 700), fact, fact, fact))
	require.LessOrEqual(t, utf8.RuneCountInString(got), 2900)
	require.True(t, strings.HasSuffix(got, "\n_…cut; the full draft follows below._"), got[len(got)-200:])
	require.Contains(t, got, "*Key metrics:*")
	require.NotRegexp(t, brokenEntity, got)
}

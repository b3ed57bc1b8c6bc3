package bot_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/bot/slackfake"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// postmortemSamples is one notice of every postmortem kind.
func postmortemSamples() map[string]incident.Notice {
	k := "INC-42"
	fact := func(text string) incident.Notice {
		return incident.Notice{Kind: incident.NoticePostmortemFact, Incident: k, Values: map[string]string{"text": text}}
	}
	note := func(section, phrase string) incident.Notice {
		return incident.Notice{Kind: incident.NoticePostmortemReviewNote, Incident: k, Values: map[string]string{"section": section, "phrase": phrase}}
	}
	return map[string]incident.Notice{
		"postmortem_draft": {Kind: incident.NoticePostmortemDraft, Incident: k, Actor: "bot",
			Values: map[string]string{"title": hostile, "summary": "Checkout failed: " + hostile,
				"metrics":  "acknowledged in 4m (target 5m met) · mitigated in 17m 40s · resolved in 37m 40s",
				"timeline": "14:05 Detected and declared → 14:22 Mitigated", "missing": "customer impact ended", "key_events": "6",
				"action_items": "2", "no_owner": "1", "no_due": "1", "review_notes": "4", "more_notes": "1", "more_facts": "2",
				"parts": "2", "backfill_failed": "true"},
			Items: []incident.Notice{fact("pool exhausted at 14:03 " + hostile), fact("deploy bad0c0f at 13:58"), fact("retries doubled the load"),
				note("Root cause", "<@U0EVIL>"), note("Summary", "human error"), note("Timeline", "forgot to")},
			Buttons: []incident.Button{{Action: incident.ActionExport, Text: "Export to Confluence", Value: "7:confluence", Style: "primary"}}},
		"postmortem_draft_clean": {Kind: incident.NoticePostmortemDraft, Incident: k, Actor: "bot",
			Values: map[string]string{"title": "search is slow", "summary": "Search was slow.", "metrics": "acknowledged not recorded · mitigated not recorded · resolved in 1h",
				"timeline": "09:00 Detected and declared", "key_events": "1", "action_items": "0", "no_owner": "0", "no_due": "0",
				"review_notes": "0", "parts": "1", "backfill_failed": "false"}},
		"postmortem_draft_replaces": {Kind: incident.NoticePostmortemDraft, Incident: k, Actor: "bot",
			Values: map[string]string{"title": "search is slow", "summary": "Search was slow.", "metrics": "acknowledged not recorded · mitigated not recorded · resolved in 1h",
				"timeline": "09:00 Detected and declared", "key_events": "1", "action_items": "0", "no_owner": "0", "no_due": "0",
				"review_notes": "0", "parts": "3", "backfill_failed": "false", "replaces": "true"}},
		"postmortem_part": {Kind: incident.NoticePostmortemPart, Incident: k, Actor: "bot",
			Values: map[string]string{"markdown": "# INC-42: " + hostile + "\n\n```\nSELECT 1;\n```", "part": "1", "parts": "2"}},
		"postmortem_exported": {Kind: incident.NoticePostmortemExported, Incident: k, Actor: "U0JANE",
			Values: map[string]string{"verb": "exported", "target": "Confluence", "url": "https://wiki.example/pages/1"}},
		"postmortem_exported_version": {Kind: incident.NoticePostmortemExported, Incident: k, Actor: "U0BOB",
			Values: map[string]string{"verb": "updated", "target": "GitHub", "url": "https://github.com/acme/pm/blob/main/INC-42.md", "version": "2"}},
		"postmortem_export_failed": {Kind: incident.NoticePostmortemExportFailed, Incident: k, Actor: "bot",
			Values:  map[string]string{"target": "Confluence", "error": "Confluence refused the page: <b>bad</b> & more", "retry": "final"},
			Buttons: []incident.Button{{Action: incident.ActionExport, Text: "Retry export to Confluence", Value: "7:confluence", Style: "primary"}}},
		"postmortem_export_retrying": {Kind: incident.NoticePostmortemExportFailed, Incident: k, Actor: "bot",
			Values: map[string]string{"target": "GitHub", "error": "GitHub is not responding", "retry": "background"}},
	}
}

// TestPostmortemNoticeGolden pins the Slack wording of the postmortem's
// notices; -update rewrites testdata/notices/postmortem_*.golden.
func TestPostmortemNoticeGolden(t *testing.T) {
	t.Parallel()
	for name, n := range postmortemSamples() {
		got := bot.NoticeText(n)
		require.NotEqual(t, bot.Escape(n.String()), got, "%s has its own wording", n.Kind)
		incidenttest.Golden(t, filepath.Join("testdata", "notices", name+".golden"), []byte(got+"\n"))

		require.NotContains(t, got, "<!channel>", name)
		require.NotContains(t, got, "<@U0EVIL>", name)
		require.NotContains(t, got, "<https://evil", name)
		require.NotContains(t, got, "<b>", name)
		require.NotContains(t, got, "&amp;gt;", name)
		if strings.Contains(bot.TimelineText(n), hostile) {
			require.Contains(t, got, "&lt;!channel&gt; p99 &gt; 2s &amp; &lt;@U0EVIL&gt;", name)
		}
	}
}

// TestPostmortemDraftNamesTheConfiguredCommand: the draft's hint names the
// slash command as the app registers it.
func TestPostmortemDraftNamesTheConfiguredCommand(t *testing.T) {
	t.Parallel()
	n := postmortemSamples()["postmortem_draft"]
	require.Contains(t, bot.NoticeText(n), "Add more with `/incident followup`.")
	require.Contains(t, bot.NoticeTextFor(n, "/ic"), "Add more with `/ic followup`.")

	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.AddChannel(slackfake.Channel{ID: "C0INC", Name: "inc-42", Members: []string{fake.BotUserID()}})
	policy := incident.DefaultPolicy()
	policy.Command = "/ic"
	chat := bot.NewChat(slack.New(fake.BotToken(), slack.OptionAPIURL(fake.URL())), policy)
	n.Buttons = nil
	_, err := chat.Notify(context.Background(), "C0INC", n)
	require.NoError(t, err)
	msgs := fake.Messages("C0INC")
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0].Text, "Add more with `/ic followup`.")
	require.NotContains(t, msgs[0].Text, "/incident")
}

// TestMarkdownParts: every piece of a long draft fits one message once
// worded, and together they are the whole draft.
func TestMarkdownParts(t *testing.T) {
	t.Parallel()
	var md strings.Builder
	for i := 0; i < 3000; i++ {
		md.WriteString("- line with <tags> & ``` fences and enough words to take room\n")
	}
	md.WriteString(strings.Repeat("<", 50000))
	parts := bot.MarkdownParts(md.String())
	require.Greater(t, len(parts), 3)
	var joined strings.Builder
	for i, p := range parts {
		n := incident.Notice{Kind: incident.NoticePostmortemPart, Incident: "INC-42", Values: map[string]string{"markdown": p, "part": "1", "parts": "9"}}
		require.LessOrEqual(t, utf8.RuneCountInString(bot.NoticeText(n)), 40000, "part %d fits one message", i+1)
		joined.WriteString(p)
	}
	strip := func(s string) string { return strings.ReplaceAll(s, "\n", "") }
	require.Equal(t, strip(md.String()), strip(joined.String()), "nothing is lost between the parts")
	require.Equal(t, []string{"short"}, bot.MarkdownParts("short\n"))
}

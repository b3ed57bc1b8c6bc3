package bot_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// messageSections returns the text of a posted message's section blocks.
func messageSections(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	require.NoError(t, json.Unmarshal(raw, &blocks))
	var out []string
	for _, b := range blocks {
		if b.Type == "section" && b.Text != nil {
			out = append(out, b.Text.Text)
		}
	}
	return out
}

// TestLongDraftWithButtonsIsShownWhole: a status page draft the comms lead
// is asked to publish, longer than one section holds once escaped (3000
// characters), is shown whole over several sections, each accepted by
// Slack, none cut inside an entity or a mention, the quote kept on each,
// rather than cut short while its button publishes the whole.
func TestLongDraftWithButtonsIsShownWhole(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t)
	ch := f.botChannel(t, "inc-42")
	var b strings.Builder
	for i := 0; b.Len() < 2800; i++ {
		b.WriteString("Checkout & payments <degraded> for EU customers; ")
		if i%7 == 6 {
			b.WriteString("\n")
		}
	}
	body := strings.TrimSpace(b.String())
	n := incident.Notice{Kind: incident.NoticeStatusPageOffer, Incident: "INC-42", Actor: "bot",
		Values:  map[string]string{"body": body},
		Buttons: []incident.Button{{Action: incident.ActionStatusPagePublish, Text: "Post to status page", Value: "42|update|1", Style: "primary"}}}

	ts, err := f.chat.Notify(context.Background(), ch.ID, n)
	require.NoError(t, err, "Slack accepts the message")
	msg, ok := f.srv.Message(ch.ID, ts)
	require.True(t, ok)
	sections := messageSections(t, msg.Blocks)
	require.Greater(t, len(sections), 1, "the draft takes more than one section")
	var shown strings.Builder
	for i, s := range sections {
		require.NotContains(t, s, "…", "nothing is cut")
		require.NotRegexp(t, `&[a-z]*$`, s, "no section ends inside an entity")
		if i > 0 {
			require.True(t, strings.HasPrefix(s, ">>> "), "section %d keeps the quote: %q", i, s[:20])
			s = strings.TrimPrefix(s, ">>> ")
		}
		shown.WriteString(s + "\n")
	}
	flat := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	require.Contains(t, flat(shown.String()), flat(strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(body)), "the whole draft is shown")
}

// TestTopicWithLongTitleEndsCleanly: a channel topic with a long title full
// of characters Slack escapes stays within conversations.setTopic's 250
// characters and ends with "…", never inside an entity such as "&am".
func TestTopicWithLongTitleEndsCleanly(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t)
	ch := f.botChannel(t, "inc-42")
	title := strings.Repeat("R&D <EU> ", 17)[:incident.MaxTitleLength]
	n := incident.Notice{Kind: incident.NoticeTopic, Incident: "INC-42", User: f.alice.ID,
		Values: map[string]string{"severity": "P1", "status": "Investigating", "title": title, "drill": "true"}}
	require.NoError(t, f.chat.SetTopic(context.Background(), ch.ID, n))
	got, ok := f.srv.Channel(ch.ID)
	require.True(t, ok)
	require.Contains(t, got.Topic, "<@"+f.alice.ID+">", "the IC is still mentioned")
	require.True(t, strings.HasSuffix(got.Topic, "…"), got.Topic)
	require.NotRegexp(t, `&[a-z]*…$`, got.Topic, "the cut is not inside an entity")
}

// TestOverlongMessageSaysItWasCut: a message longer than Slack takes
// (40,000 characters) is posted cut between mentions, and says it was cut.
func TestOverlongMessageSaysItWasCut(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t)
	ch := f.botChannel(t, "inc-42")
	text := strings.Repeat("ping <@"+f.alice.ID+"> ", 2500)
	require.Greater(t, len([]rune(text)), 40000)

	ts, err := f.chat.Post(context.Background(), ch.ID, text)
	require.NoError(t, err)
	msg, ok := f.srv.Message(ch.ID, ts)
	require.True(t, ok)
	require.LessOrEqual(t, len([]rune(msg.Text)), 40000)
	require.Equal(t, strings.Count(msg.Text, "<"), strings.Count(msg.Text, ">"), "no mention is cut")
	require.Contains(t, msg.Text, "too long", "the message says it was cut")
}

// TestButtonTextPastWhatBlocksHoldSaysSo: text with buttons past what a
// message's blocks hold together (Slack's msg_blocks_too_long, at about
// 12,000 characters) is shown up to there, and says the rest is left out.
func TestButtonTextPastWhatBlocksHoldSaysSo(t *testing.T) {
	t.Parallel()
	f := newChatFixture(t)
	ch := f.botChannel(t, "inc-42")
	body := strings.Repeat("Checkout retried every order overnight. ", 900)
	n := incident.Notice{Kind: incident.NoticeStatusPageOffer, Incident: "INC-42", Actor: "bot",
		Values:  map[string]string{"body": body},
		Buttons: []incident.Button{{Action: incident.ActionStatusPagePublish, Text: "Post to status page", Value: "42|update|1", Style: "primary"}}}
	ts, err := f.chat.Notify(context.Background(), ch.ID, n)
	require.NoError(t, err)
	msg, ok := f.srv.Message(ch.ID, ts)
	require.True(t, ok)
	sections := messageSections(t, msg.Blocks)
	total := 0
	for _, s := range sections {
		total += len([]rune(s))
	}
	require.LessOrEqual(t, total, 12000)
	require.Contains(t, sections[len(sections)-1], "too long to show here")
}

package slackfake_test

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot/slackfake"
)

// TestBlocksTextTotal: chat.postMessage, chat.postEphemeral and chat.update
// refuse a message whose blocks carry more than 12,000 characters of text
// together with msg_blocks_too_long, though every block is within its own
// limit; button labels count, button values do not.
func TestBlocksTextTotal(t *testing.T) {
	t.Parallel()
	f := setup(t)
	sections := func(n, size int) []slack.Block {
		out := make([]slack.Block, n)
		for i := range out {
			out[i] = section(strings.Repeat("s", size))
		}
		return out
	}
	withButton := func(label string) []slack.Block {
		btn := slack.NewButtonBlockElement("a", strings.Repeat("v", 2000), slack.NewTextBlockObject("plain_text", label, false, false))
		return append(sections(4, 2999), slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "x", false, false), nil, slack.NewAccessory(btn)))
	}
	tests := []struct {
		name   string
		blocks []slack.Block
		want   string
	}{
		{"4 sections of 3,000", sections(4, 3000), ""},
		{"4 sections of 3,000 and one character", append(sections(4, 3000), section("x")), "msg_blocks_too_long"},
		{"30 sections of 500", sections(30, 500), "msg_blocks_too_long"},
		// 11,996 + "x" + a 3-character label; the 2,000-character value is not text.
		{"button value", withButton("Ack"), ""},
		{"button label", withButton(strings.Repeat("b", 4)), "msg_blocks_too_long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := f.api.PostMessage(f.incident.ID, slack.MsgOptionText("fallback", false), slack.MsgOptionBlocks(tt.blocks...))
			require.Equal(t, tt.want, slackErr(t, err), "chat.postMessage")
			_, err = f.api.PostEphemeral(f.incident.ID, f.alice.ID, slack.MsgOptionText("fallback", false), slack.MsgOptionBlocks(tt.blocks...))
			require.Equal(t, tt.want, slackErr(t, err), "chat.postEphemeral")
		})
	}

	_, ts, err := f.api.PostMessage(f.incident.ID, slack.MsgOptionText("ok", false))
	require.NoError(t, err)
	_, _, _, err = f.api.UpdateMessage(f.incident.ID, ts, slack.MsgOptionBlocks(sections(5, 2500)...))
	require.Equal(t, "msg_blocks_too_long", slackErr(t, err), "chat.update")
	m, ok := f.srv.Message(f.incident.ID, ts)
	require.True(t, ok)
	require.Equal(t, "ok", m.Text, "the refused update changed nothing")

	require.Equal(t, 12000, slackfake.MaxBlocksText)
}

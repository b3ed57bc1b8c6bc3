package slackfake_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"
)

func section(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", text, false, false), nil, nil)
}

func button(actionID, text string) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(actionID, "v", slack.NewTextBlockObject("plain_text", text, false, false))
}

func options(n, textLen int) []*slack.OptionBlockObject {
	out := make([]*slack.OptionBlockObject, n)
	for i := range out {
		out[i] = slack.NewOptionBlockObject(fmt.Sprint(i), slack.NewTextBlockObject("plain_text", strings.Repeat("o", textLen), false, false), nil)
	}
	return out
}

func TestMessageBlockKitLimits(t *testing.T) {
	t.Parallel()
	f := setup(t)
	blocks := func(n int) []slack.Block {
		out := make([]slack.Block, n)
		for i := range out {
			out[i] = slack.NewDividerBlock()
		}
		return out
	}
	fields := func(n, size int) []*slack.TextBlockObject {
		out := make([]*slack.TextBlockObject, n)
		for i := range out {
			out[i] = slack.NewTextBlockObject("mrkdwn", strings.Repeat("f", size), false, false)
		}
		return out
	}
	buttons := func(n int) []slack.BlockElement {
		out := make([]slack.BlockElement, n)
		for i := range out {
			out[i] = button(fmt.Sprintf("a%d", i), "Ack")
		}
		return out
	}
	selectWith := func(n, textLen int) slack.Block {
		sel := slack.NewOptionsSelectBlockElement("static_select", slack.NewTextBlockObject("plain_text", "Pick", false, false), "sev", options(n, textLen)...)
		return slack.NewActionBlock("b", sel)
	}
	optionValued := func(value string) slack.Block {
		o := slack.NewOptionBlockObject(value, slack.NewTextBlockObject("plain_text", "o", false, false), nil)
		return slack.NewActionBlock("b", slack.NewOptionsSelectBlockElement("static_select", slack.NewTextBlockObject("plain_text", "Pick", false, false), "sev", o))
	}
	placeholder := func(n int) slack.Block {
		return slack.NewActionBlock("b", slack.NewOptionsSelectBlockElement("static_select", slack.NewTextBlockObject("plain_text", strings.Repeat("p", n), false, false), "sev", options(1, 5)...))
	}
	confirmed := func(title, text, yes, no int) slack.Block {
		pt := func(n int) *slack.TextBlockObject {
			return slack.NewTextBlockObject("plain_text", strings.Repeat("c", n), false, false)
		}
		return slack.NewActionBlock("b", button("a", "Go").WithConfirm(slack.NewConfirmationBlockObject(pt(title), pt(text), pt(yes), pt(no))))
	}
	tests := []struct {
		name    string
		text    string
		blocks  []slack.Block
		want    string
		pointer string // a json-pointer the explanation must name
	}{
		{"50 blocks", "", blocks(50), "", ""},
		{"51 blocks", "", blocks(51), "invalid_blocks", "/blocks"},
		{"section text 3000", "", []slack.Block{section(strings.Repeat("s", 3000))}, "", ""},
		{"section text 3001", "", []slack.Block{section(strings.Repeat("s", 3001))}, "invalid_blocks", "/blocks/0/text/text"},
		{"header 151", "", []slack.Block{slack.NewHeaderBlock(slack.NewTextBlockObject("plain_text", strings.Repeat("h", 151), false, false))}, "invalid_blocks", "/blocks/0/text/text"},
		{"button text 76", "", []slack.Block{slack.NewActionBlock("b", button("a", strings.Repeat("b", 76)))}, "invalid_blocks", "/blocks/0/elements/0/text/text"},
		{"action_id 256", "", []slack.Block{slack.NewActionBlock("b", button(strings.Repeat("a", 256), "Ack"))}, "invalid_blocks", "/blocks/0/elements/0/action_id"},
		{"block_id 256", "", []slack.Block{slack.NewActionBlock(strings.Repeat("b", 256), button("a", "Ack"))}, "invalid_blocks", "/blocks/0/block_id"},
		{"26 elements", "", []slack.Block{slack.NewActionBlock("b", buttons(26)...)}, "invalid_blocks", "/blocks/0/elements"},
		{"25 elements", "", []slack.Block{slack.NewActionBlock("b", buttons(25)...)}, "", ""},
		{"11 fields", "", []slack.Block{slack.NewSectionBlock(nil, fields(11, 5), nil)}, "invalid_blocks", "/blocks/0/fields"},
		{"field 2001", "", []slack.Block{slack.NewSectionBlock(nil, fields(1, 2001), nil)}, "invalid_blocks", "/blocks/0/fields/0/text"},
		{"option text 76", "", []slack.Block{selectWith(3, 76)}, "invalid_blocks", "/blocks/0/elements/0/options/0/text/text"},
		{"101 options", "", []slack.Block{selectWith(101, 5)}, "invalid_blocks", "/blocks/0/elements/0/options"},
		{"100 options", "", []slack.Block{selectWith(100, 5)}, "", ""},
		{"option value 150", "", []slack.Block{optionValued(strings.Repeat("v", 150))}, "", ""},
		{"option value 151", "", []slack.Block{optionValued(strings.Repeat("v", 151))}, "invalid_blocks", "/blocks/0/elements/0/options/0/value"},
		{"option description empty", "", []slack.Block{slack.NewActionBlock("b", slack.NewOptionsSelectBlockElement("static_select", slack.NewTextBlockObject("plain_text", "Pick", false, false), "sev",
			slack.NewOptionBlockObject("v", slack.NewTextBlockObject("plain_text", "o", false, false), slack.NewTextBlockObject("plain_text", "", false, false))))}, "invalid_blocks", "/blocks/0/elements/0/options/0/description/text"},
		{"button text empty", "", []slack.Block{slack.NewActionBlock("b", button("a", ""))}, "invalid_blocks", "/blocks/0/elements/0/text/text"},
		{"header empty", "", []slack.Block{slack.NewHeaderBlock(slack.NewTextBlockObject("plain_text", "", false, false))}, "invalid_blocks", "/blocks/0/text/text"},
		{"field empty", "", []slack.Block{slack.NewSectionBlock(nil, fields(1, 0), nil)}, "invalid_blocks", "/blocks/0/fields/0/text"},
		{"context text empty", "", []slack.Block{slack.NewContextBlock("", slack.NewTextBlockObject("mrkdwn", "", false, false))}, "invalid_blocks", "/blocks/0/elements/0/text"},
		{"placeholder 150", "", []slack.Block{placeholder(150)}, "", ""},
		{"placeholder 151", "", []slack.Block{placeholder(151)}, "invalid_blocks", "/blocks/0/elements/0/placeholder/text"},
		{"confirm at its limits", "", []slack.Block{confirmed(100, 300, 30, 30)}, "", ""},
		{"confirm title 101", "", []slack.Block{confirmed(101, 5, 5, 5)}, "invalid_blocks", "/blocks/0/elements/0/confirm/title/text"},
		{"confirm text 301", "", []slack.Block{confirmed(5, 301, 5, 5)}, "invalid_blocks", "/blocks/0/elements/0/confirm/text/text"},
		{"confirm button 31", "", []slack.Block{confirmed(5, 5, 31, 5)}, "invalid_blocks", "/blocks/0/elements/0/confirm/confirm/text"},
		{"context text 3001", "", []slack.Block{slack.NewContextBlock("", slack.NewTextBlockObject("mrkdwn", strings.Repeat("x", 3001), false, false))}, "invalid_blocks", "/blocks/0/elements/0/text"},
		{"duplicate block_id", "", []slack.Block{slack.NewActionBlock("b", button("a", "x")), slack.NewActionBlock("b", button("c", "y"))}, "invalid_blocks", "/blocks/1/block_id"},
		{"text 40000", strings.Repeat("t", 40000), nil, "", ""},
		{"text 40001", strings.Repeat("t", 40001), nil, "msg_too_long", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []slack.MsgOption{slack.MsgOptionText(tt.text, false)}
			if tt.blocks != nil {
				opts = append(opts, slack.MsgOptionBlocks(tt.blocks...))
			}
			_, _, err := f.api.PostMessage(f.incident.ID, opts...)
			require.Equal(t, tt.want, slackErr(t, err))
			if tt.pointer != "" {
				var se slack.SlackErrorResponse
				require.True(t, errors.As(err, &se))
				require.NotEmpty(t, se.ResponseMetadata.Messages)
				require.Contains(t, strings.Join(se.ResponseMetadata.Messages, "\n"), "[json-pointer:"+tt.pointer+"]")
			}
		})
	}
}

func TestUpdateAndResponseURLCheckBlocksToo(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, ts, err := f.api.PostMessage(f.incident.ID, slack.MsgOptionText("ok", false))
	require.NoError(t, err)
	_, _, _, err = f.api.UpdateMessage(f.incident.ID, ts, slack.MsgOptionBlocks(section(strings.Repeat("s", 3001))))
	require.Equal(t, "invalid_blocks", slackErr(t, err))

	ru := f.srv.NewResponseURL(f.incident.ID, f.alice.ID)
	_, _, err = f.api.PostMessage("", slack.MsgOptionResponseURL(ru, slack.ResponseTypeEphemeral),
		slack.MsgOptionBlocks(section(strings.Repeat("s", 3001))))
	require.Equal(t, "invalid_blocks", slackErr(t, err))
}

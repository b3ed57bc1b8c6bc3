package bot_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
)

func TestPanelShowsThePublicIncident(t *testing.T) {
	t.Parallel()
	inc := goldenIncident()
	blocks := render(t, bot.PanelBlocks(inc, goldenPolicy()))
	for _, f := range blocks[1].Fields {
		require.NotContains(t, f.Text, "Status page", "nothing before it is public")
	}
	inc.PublicProvider, inc.PublicID, inc.PublicURL = "statuspage", "sp0001", "https://stspg.io/sp0001"
	blocks = render(t, bot.PanelBlocks(inc, goldenPolicy()))
	var fields []string
	for _, b := range blocks {
		for _, f := range b.Fields {
			fields = append(fields, f.Text)
		}
	}
	require.Contains(t, fields, "*Status page*\n<https://stspg.io/sp0001|sp0001>")
}

func TestStatusPageModal(t *testing.T) {
	t.Parallel()
	inc := goldenIncident()
	v := bot.StatusPageModal(inc, incident.PostUpdate, "17", "We are continuing to investigate.")
	require.Equal(t, bot.ViewStatusPage, v.CallbackID)
	require.Equal(t, "Publish", v.Submit.Text)
	require.LessOrEqual(t, len([]rune(v.Title.Text)), 24, "Slack's title limit")
	var meta struct {
		I int64  `json:"i"`
		K string `json:"k"`
		R string `json:"r"`
	}
	require.NoError(t, json.Unmarshal([]byte(v.PrivateMetadata), &meta))
	require.Equal(t, int64(7), meta.I)
	require.Equal(t, incident.PostUpdate, meta.K)
	require.Equal(t, "17", meta.R)
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"initial_value":"We are continuing to investigate."`)
	require.Contains(t, string(raw), `"multiline":true`)
}

// TestStatusPageModalSaysALongDraftIsCut: a draft longer than the 3,000
// characters a plain-text input holds is cut in the box, and the box's
// hint says so, so nobody publishes a cut message unawares.
func TestStatusPageModalSaysALongDraftIsCut(t *testing.T) {
	t.Parallel()
	inc := goldenIncident()
	long := strings.Repeat("Checkout errors are falling. ", 120) // 3,480 characters
	v := bot.StatusPageModal(inc, incident.PostUpdate, "17", long)
	in, ok := v.Blocks.BlockSet[0].(*slack.InputBlock)
	require.True(t, ok)
	require.Contains(t, in.Hint.Text, "The draft has 3480 characters and this box holds 3000")
	require.LessOrEqual(t, len([]rune(in.Hint.Text)), 2000, "Slack's hint limit")
	el, ok := in.Element.(*slack.PlainTextInputBlockElement)
	require.True(t, ok)
	require.LessOrEqual(t, len([]rune(el.InitialValue)), 3000)

	short := bot.StatusPageModal(inc, incident.PostUpdate, "17", "We are continuing to investigate.")
	in, ok = short.Blocks.BlockSet[0].(*slack.InputBlock)
	require.True(t, ok)
	require.NotContains(t, in.Hint.Text, "cut")
}

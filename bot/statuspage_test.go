package bot_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
)

func TestPanelShowsThePublicIncident(t *testing.T) {
	t.Parallel()
	inc := goldenIncident()
	blocks := render(t, bot.PanelBlocks(inc, goldenPolicy(), goldenDeclared.Add(time.Minute)))
	for _, f := range blocks[1].Fields {
		require.NotContains(t, f.Text, "Status page", "nothing before it is public")
	}
	inc.PublicProvider, inc.PublicID, inc.PublicURL = "statuspage", "sp0001", "https://stspg.io/sp0001"
	blocks = render(t, bot.PanelBlocks(inc, goldenPolicy(), goldenDeclared.Add(time.Minute)))
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

package bot_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// TestNagWhenTheICCouldNotBeMessagedGolden pins the reminders whose direct
// message Slack refused: they say why, and never that the IC was messaged.
func TestNagWhenTheICCouldNotBeMessagedGolden(t *testing.T) {
	t.Parallel()
	k := "INC-42"
	why := "Slack refused the message: the user is deactivated <!channel>"
	for name, n := range map[string]incident.Notice{
		"nag_second_dm_failed": {Kind: incident.NoticeNag, Incident: k, Actor: "bot", User: "U0JANE",
			Values: map[string]string{"silent": "20 min", "level": "2", "dm_failed": why}},
		"nag_fourth_unbacked_dm_failed": {Kind: incident.NoticeNag, Incident: k, Actor: "bot", User: "U0JANE",
			Values: map[string]string{"silent": "50 min", "level": "4", "direct": "again", "dm_failed": why}},
	} {
		got := bot.NoticeText(n)
		require.Contains(t, got, "could not be messaged directly", name)
		require.NotContains(t, got, "has been messaged directly", name)
		require.NotContains(t, got, "<!channel>", name)
		incidenttest.Golden(t, filepath.Join("testdata", "notices", name+".golden"), []byte(got+"\n"))
	}
}

package bot_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// TestNagWithNobodyAboveTheICGolden pins the reminders of an incident
// nobody backs the IC up on: the IC is messaged again at every rung, and
// the first rung that would call the backup says nobody else is called.
func TestNagWithNobodyAboveTheICGolden(t *testing.T) {
	t.Parallel()
	k := "INC-42"
	for name, n := range map[string]incident.Notice{
		"nag_third_unbacked": {Kind: incident.NoticeNag, Incident: k, Actor: "bot", User: "U0JANE",
			Values: map[string]string{"silent": "30 min", "level": "3", "direct": "again", "unbacked": "true"}},
		"nag_fourth_unbacked": {Kind: incident.NoticeNag, Incident: k, Actor: "bot", User: "U0JANE",
			Values: map[string]string{"silent": "50 min", "level": "4", "direct": "again"}},
		"nag_no_ic_unbacked": {Kind: incident.NoticeNag, Incident: k, Actor: "bot",
			Values: map[string]string{"silent": "20 min", "level": "2", "unbacked": "true"}},
	} {
		got := bot.NoticeText(n)
		if n.Values["unbacked"] == "true" {
			require.Contains(t, got, "`commander_group`", name)
		} else {
			require.NotContains(t, got, "commander_group", name)
		}
		incidenttest.Golden(t, filepath.Join("testdata", "notices", name+".golden"), []byte(got+"\n"))
	}
}

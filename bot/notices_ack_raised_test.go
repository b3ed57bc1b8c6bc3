package bot_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/bot"
	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
)

// TestAckMissedAfterARaiseGolden pins the wording of a response-time
// target counted from a raise: it names the raise, not the declare.
func TestAckMissedAfterARaiseGolden(t *testing.T) {
	t.Parallel()
	n := incident.Notice{Kind: incident.NoticeAckMissed, Incident: "INC-42", Actor: "bot", User: "U0JANE",
		Values: map[string]string{"target": "15 minutes", "severity": "P1", "ago": "15m00s", "raised": "true", "group": "S0ICS"}}
	got := bot.NoticeText(n)
	require.Contains(t, got, "within 15 minutes of the raise to P1 (raised 15m00s ago)")
	require.NotContains(t, got, "declared")
	incidenttest.Golden(t, filepath.Join("testdata", "notices", "ack_missed_raised.golden"), []byte(got+"\n"))
}

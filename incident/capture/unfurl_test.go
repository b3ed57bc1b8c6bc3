package capture_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// A message_changed that overtook its original stores the message as it
// reads, edited only when Slack says so: an unfurl's message_changed has
// no "edited", and the original delivered after it changes nothing.
func TestChangeBeforeOriginalEditedOnlyWhenSlackSaysSo(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, kind storeKind) {
		b := setupOn(t, kind)
		inc := openIncident(t, b)
		ts := func(sec int) string { return slackTS(inc, sec) }
		capture := captureIn(t, b, inc)

		capture(incident.CapturedMessage{TS: ts(10), User: "U0ALICE", Text: "deploy <https://ci.example.com/run/42> broke checkout", Subtype: incident.SubtypeChanged})
		capture(incident.CapturedMessage{TS: ts(10), User: "U0ALICE", Text: "deploy <https://ci.example.com/run/42> broke checkout"})
		capture(incident.CapturedMessage{TS: ts(20), User: "U0BOB", Text: "pool at 100%", Subtype: incident.SubtypeChanged, Edited: true, EditedTS: ts(25)})
		capture(incident.CapturedMessage{TS: ts(20), User: "U0BOB", Text: "pool at 10%"})

		got := messages(t, b, inc.ID)
		require.Equal(t, incident.MessageData{User: "U0ALICE", TS: ts(10)}, got[ts(10)].Payload)
		require.Equal(t, "pool at 100%", got[ts(20)].Text)
		require.Equal(t, incident.MessageData{User: "U0BOB", TS: ts(20), Edited: true, EditedTS: ts(25)}, got[ts(20)].Payload)
	})
}

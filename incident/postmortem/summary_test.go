package postmortem_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	pmt "github.com/firebreakhq/firebreak/incident/postmortem/postmortemtest"
)

// The declare command's text reaches the bot escaped (the manifest sets
// should_escape), so a title can hold a user mention as Slack writes it,
// "<@U02BOB|bob>", and channel and link markup. The summary, written for a
// non-technical reader, names nobody and shows no markup: the title is
// read there as the description and the resolution are.
func TestSummaryTitleNamesNobody(t *testing.T) {
	t.Parallel()
	declared := pmt.Declared()
	d := postmortem.Compile(postmortem.Input{
		Incident: &incident.Incident{Number: 7, Title: "Checkout 500s after <@U02BOB|bob>'s deploy, see <#C0OPS|ops> & <https://status.example.com|status>",
			Severity: incident.P2, Status: incident.StatusInvestigating, DeclaredAt: declared},
		Policy:    incident.DefaultPolicy(),
		Now:       declared.Add(20 * time.Minute),
		UserNames: map[string]string{"U02BOB": "Bob Martin"},
	})
	require.Contains(t, d.Summary, "an incident began: Checkout 500s after a responder's deploy, see #ops & status (https://status.example.com).")
	require.NotContains(t, d.Summary, "U02BOB")
	require.NotContains(t, d.Summary, "Bob")
	for _, f := range d.ReviewNotes {
		require.NotEqual(t, "Summary", f.Section, "the summary is clean: %+v", f)
	}
}

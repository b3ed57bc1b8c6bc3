package postmortem_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/postmortem"
)

// TestKeyEventOnTheNextDayCarriesItsDate: key events after the resolution
// are listed too (the morning review's finding, pinned the next day). One
// on another UTC day than the rest makes every time carry its date, in the
// Markdown, the Confluence page and Slack's summary notice, so it cannot be
// read as happening before the start.
func TestKeyEventOnTheNextDayCarriesItsDate(t *testing.T) {
	t.Parallel()
	declared := time.Date(2026, time.March, 14, 23, 0, 0, 0, time.UTC)
	resolved := declared.Add(40 * time.Minute)
	nextDay := time.Date(2026, time.March, 15, 9, 15, 0, 0, time.UTC)
	d := postmortem.Compile(postmortem.Input{
		Incident: &incident.Incident{Number: 8, Title: "Checkout errors", Severity: incident.P1, Status: incident.StatusClosed,
			DeclaredAt: declared, ResolvedAt: &resolved},
		Timeline: []incident.TimelineEvent{
			{Kind: incident.EventNote, Actor: alice, At: nextDay, Text: "Found the missing index during the morning review", Key: true},
		},
		Policy: incident.DefaultPolicy(), Now: nextDay.Add(time.Hour),
	})
	require.True(t, d.MultiDay)
	doc, err := postmortem.Document(d, mustTemplates(t))
	require.NoError(t, err)

	keys := section(doc.Markdown, "### Key events", "###")
	require.Contains(t, keys, "- 2026-03-15 09:15 UTC, ")
	require.Contains(t, section(doc.Markdown, "## 2. Timeline", "###"), "| Detected and declared | 2026-03-14 23:00 UTC |")
	require.Contains(t, doc.Confluence, "<tr><td>2026-03-15 09:15 UTC</td>")
	require.Contains(t, postmortem.DraftNotice(d, 1, false).Values["timeline"], "2026-03-14 23:00 Started")
}

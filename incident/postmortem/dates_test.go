package postmortem_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/integrations/github"
	"github.com/firebreakhq/firebreak/integrations/github/ghfake"
)

// section returns the text of doc between the heading from and the next
// heading that starts with to.
func section(doc, from, to string) string {
	_, s, _ := strings.Cut(doc, from)
	s, _, _ = strings.Cut(s, to)
	return s
}

// TestDraftDateIsTheDayOfItsUTCTimes: every time in the draft is UTC, so
// the Date row is the UTC day those times fall on. An incident declared at
// 18:30 in Los Angeles on the 13th is 01:30 UTC on the 14th: the Date row
// says 2026-03-14 (UTC) and, for the team, the 13th at 18:30 in their zone.
// The Markdown (Slack's draft, the web page, GitHub), the Confluence page,
// Slack's summary notice and the GitHub file's name all say the same day.
func TestDraftDateIsTheDayOfItsUTCTimes(t *testing.T) {
	t.Parallel()
	la, err := time.LoadLocation("America/Los_Angeles")
	require.NoError(t, err)
	declared := time.Date(2026, time.March, 14, 1, 30, 0, 0, time.UTC) // 18:30 PDT on the 13th
	resolved := declared.Add(40 * time.Minute)
	policy := incident.DefaultPolicy()
	policy.Location = la
	d := postmortem.Compile(postmortem.Input{
		Incident: &incident.Incident{Number: 7, Title: "Checkout errors", Severity: incident.P1, Status: incident.StatusResolved,
			DeclaredAt: declared, ResolvedAt: &resolved},
		Policy: policy, Now: resolved.Add(time.Hour),
	})
	require.False(t, d.MultiDay, "every time is on the 14th, UTC")
	require.Equal(t, "2026-03-14", d.Day)
	require.Equal(t, "2026-03-13 18:30 America/Los_Angeles", d.LocalDay)
	doc, err := postmortem.Document(d, mustTemplates(t))
	require.NoError(t, err)

	require.Contains(t, doc.Markdown, "| Date | 2026-03-14 (UTC); 2026-03-13 18:30 America/Los_Angeles |")
	require.Contains(t, doc.Markdown, "On Saturday 14 March 2026 at 01:30 UTC")
	require.Contains(t, section(doc.Markdown, "## 2. Timeline", "###"), "| Detected and declared | 01:30 UTC |")
	require.Contains(t, doc.Confluence, "<tr><th>Date</th><td>2026-03-14 (UTC); 2026-03-13 18:30 America/Los_Angeles</td></tr>")
	require.Contains(t, postmortem.DraftNotice(d, 1, false).Values["timeline"], "01:30 Started")

	// The GitHub export files it under the same day.
	clock := incidenttest.NewClock(resolved)
	gh := ghfake.New(ghfake.WithClock(clock.Now))
	t.Cleanup(gh.Close)
	gh.AddRepo("acme/postmortems", "main", "")
	ghc, err := github.New(github.Config{APIURL: gh.URL(), Token: gh.Token(), ExportRepo: "acme/postmortems", Clock: clock})
	require.NoError(t, err)
	_, err = ghc.Export(context.Background(), doc, nil)
	require.NoError(t, err)
	prs := gh.PullRequests("acme/postmortems")
	require.Len(t, prs, 1)
	require.Contains(t, gh.Files("acme/postmortems", prs[0].Head), "postmortems/2026-03-14-checkout-errors.md")
}

// TestDraftInUTCShowsNoSecondDate: a team on UTC, or whose day is the UTC
// day, sees one date.
func TestDraftInUTCShowsNoSecondDate(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	declared := time.Date(2026, time.March, 14, 14, 5, 0, 0, time.UTC)
	for _, loc := range []*time.Location{nil, time.UTC, berlin} {
		policy := incident.DefaultPolicy()
		policy.Location = loc
		d := postmortem.Compile(postmortem.Input{
			Incident: &incident.Incident{Number: 7, Title: "Checkout errors", Severity: incident.P1, DeclaredAt: declared},
			Policy:   policy, Now: declared.Add(time.Hour),
		})
		require.Equal(t, "2026-03-14", d.Day)
		require.Empty(t, d.LocalDay, "in %v", loc)
	}
}

// TestResolutionOnTheNextDaySaysItsDay: the summary opens with the start's
// day; a resolution after midnight UTC says its own.
func TestResolutionOnTheNextDaySaysItsDay(t *testing.T) {
	t.Parallel()
	declared := time.Date(2026, time.March, 14, 23, 30, 0, 0, time.UTC)
	resolved := declared.Add(2 * time.Hour)
	d := postmortem.Compile(postmortem.Input{
		Incident: &incident.Incident{Number: 9, Title: "Checkout errors", Severity: incident.P1, Status: incident.StatusResolved,
			DeclaredAt: declared, ResolvedAt: &resolved},
		Policy: incident.DefaultPolicy(), Now: resolved,
	})
	require.Contains(t, d.Summary, "On Saturday 14 March 2026 at 23:30 UTC")
	require.Contains(t, d.Summary, "resolved at 01:30 UTC on Sunday 15 March.")
	require.True(t, d.MultiDay)
}

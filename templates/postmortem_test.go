package templates_test

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/incidenttest"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/incident/postmortem/postmortemtest"
	"github.com/firebreakhq/firebreak/templates"
)

// wellFormed parses a Confluence storage-format fragment as XML and returns
// its character data. The fragment has several top-level elements, so it is
// wrapped in one root; the ac: prefix is declared as Confluence does.
func wellFormed(t *testing.T, fragment string) string {
	t.Helper()
	doc := `<root xmlns:ac="http://atlassian.com/content" xmlns:ri="http://atlassian.com/resource/identifier">` + fragment + `</root>`
	dec := xml.NewDecoder(strings.NewReader(doc))
	dec.Strict = true
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "Confluence output is not well-formed XML")
		if cd, ok := tok.(xml.CharData); ok {
			text.Write(cd)
		}
	}
	return text.String()
}

func TestPostmortemGolden(t *testing.T) {
	t.Parallel()
	set, err := templates.Load("")
	require.NoError(t, err)
	draft := postmortem.Compile(postmortemtest.Replay())
	doc, err := postmortem.Document(draft, set)
	require.NoError(t, err)

	incidenttest.Golden(t, "testdata/postmortem.md.golden", []byte(doc.Markdown))
	incidenttest.Golden(t, "testdata/postmortem.confluence.golden", []byte(doc.Confluence))
	for _, out := range []string{doc.Markdown, doc.Confluence} {
		require.NotContains(t, out, "<no value>")
		for _, heading := range []string{"1. Summary", "2. Timeline", "3. Root cause analysis", "4. Contributing factors", "5. What went well", "6. Action items"} {
			require.Contains(t, out, heading)
		}
	}
	text := wellFormed(t, doc.Confluence)
	require.Contains(t, text, `the checkout page showed an error after "Pay" & orders were not placed`, "user text survives escaping")
	require.Contains(t, doc.Markdown, `exceeds 80% \| page the on-call`, "a pipe in user text cannot break the Markdown table")
	require.Equal(t, "checkout-fails-for-card-payments", doc.Slug)
	require.Equal(t, "2026-03-14", doc.Date.Format("2006-01-02"))
	require.Len(t, doc.ActionItems, 3)
}

func TestPostmortemConfluenceEscapesHostileText(t *testing.T) {
	t.Parallel()
	set, err := templates.Load("")
	require.NoError(t, err)
	hostile := `</p><script>alert("x")</script> & 'quotes' ]]> <![CDATA[ bell:` + "\x07" + ` end`
	in := postmortemtest.Replay()
	in.Incident.Title = hostile
	in.Incident.Description = hostile
	in.Timeline = append(in.Timeline, incident.TimelineEvent{Kind: incident.EventNote, Actor: postmortemtest.Cara,
		At: postmortemtest.Declared().Add(time.Minute), Key: true, Text: hostile})
	in.ActionItems = append(in.ActionItems, incident.ActionItem{Text: hostile, Owner: "U9EVIL"})
	in.UserNames["U9EVIL"] = `Mallory <b>"the" & co</b>`
	in.Changes = append(in.Changes, incident.ChangeEvent{Kind: incident.ChangeConfig, Summary: hostile,
		OccurredAt: postmortemtest.Declared().Add(-time.Minute)})

	doc, err := postmortem.Document(postmortem.Compile(in), set)
	require.NoError(t, err)
	text := wellFormed(t, doc.Confluence)
	clean := strings.ReplaceAll(hostile, "\x07", "")
	require.Contains(t, text, clean, "the text reads as written, minus characters XML forbids")
	require.Contains(t, text, `Mallory <b>"the" & co</b>`)
	require.NotContains(t, doc.Confluence, "<script>")
}

func TestPostmortemOpenIncidentWithLittleRecorded(t *testing.T) {
	t.Parallel()
	set, err := templates.Load("")
	require.NoError(t, err)
	declared := time.Date(2026, time.March, 20, 23, 50, 0, 0, time.UTC)
	in := postmortem.Input{
		Incident: &incident.Incident{Number: 9, Title: "Search is slow", Severity: incident.P3, Status: incident.StatusInvestigating, DeclaredAt: declared},
		Policy:   incident.DefaultPolicy(),
		Now:      declared.Add(40 * time.Minute),
	}
	doc, err := postmortem.Document(postmortem.Compile(in), set)
	require.NoError(t, err)
	wellFormed(t, doc.Confluence)
	require.Contains(t, doc.Markdown, "not recorded")
	require.Contains(t, doc.Markdown, "No events were marked as key")
	require.Contains(t, doc.Markdown, "No action items were recorded")
	require.Contains(t, doc.Markdown, "40m so far")
	require.Contains(t, doc.Markdown, "(expected: next business day)")
	require.Contains(t, doc.Markdown, "2026-03-20 23:50 UTC", "an incident past midnight shows dates with its times")
}

package postmortem_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	"github.com/firebreakhq/firebreak/integrations/confluence"
	"github.com/firebreakhq/firebreak/integrations/confluence/confluencefake"
)

// pinnedPastes is a closed incident whose channel pinned n messages of
// text each, as a team pins pasted HTML error pages and stack traces.
func pinnedPastes(n int, text string) postmortem.Input {
	declared := time.Date(2026, time.March, 14, 14, 0, 0, 0, time.UTC)
	resolved := declared.Add(3 * time.Hour)
	var timeline []incident.TimelineEvent
	for i := range n {
		ts := declared.Add(time.Duration(i+1) * time.Second)
		stamp := fmt.Sprintf("%d.%06d", ts.Unix(), i)
		timeline = append(timeline, incident.TimelineEvent{Kind: incident.EventMessage, Actor: bob, At: ts, Text: text, Key: true,
			SourceID: "msg:" + stamp, Payload: incident.MessageData{User: bob, TS: stamp, Marked: "pin",
				Permalink: "https://acme.slack.com/archives/C0PM/p" + strings.ReplaceAll(stamp, ".", "")}})
	}
	return postmortem.Input{
		Incident: &incident.Incident{Number: 9, Title: "Checkout errors", Severity: incident.P1, Status: incident.StatusClosed,
			DeclaredAt: declared, ResolvedAt: &resolved},
		Timeline: timeline, Policy: incident.DefaultPolicy(), Now: resolved, UserNames: people,
	}
}

// exportToConfluence publishes doc to a fake Confluence Cloud, which
// refuses a request over 5 MiB as Confluence does, and returns the page.
func exportToConfluence(t *testing.T, doc incident.PostmortemDoc) confluencefake.Page {
	t.Helper()
	fake := confluencefake.New(confluencefake.Config{Email: "bot@example.com", APIToken: "atl-token", Spaces: map[string]string{"42": "OPS"}})
	t.Cleanup(fake.Close)
	client := confluence.New(confluence.Config{BaseURL: fake.URL(), Email: "bot@example.com", APIToken: "atl-token", SpaceID: "42"})
	_, err := client.Export(context.Background(), doc, nil)
	require.NoError(t, err)
	pages := fake.Pages()
	require.Len(t, pages, 1)
	return pages[0]
}

// TestConfluencePageOfLongPinnedPastesFitsTheRequestLimit: forty pinned
// pastes of a Slack-sized message (40,000 characters of HTML) made a page
// Confluence refused with 413 at every Retry. The page keeps within its
// budget: the long key events are shortened, each saying the whole text is
// in the channel with a link to it, and the export goes through. The
// Markdown (Slack's draft, the web page, GitHub) keeps every word.
func TestConfluencePageOfLongPinnedPastesFitsTheRequestLimit(t *testing.T) {
	t.Parallel()
	paste := strings.Repeat("<td>&amp;</td>", 40000/14)
	d := postmortem.Compile(pinnedPastes(40, paste))
	require.Len(t, d.KeyEvents, 40)
	doc, err := postmortem.Document(d, mustTemplates(t))
	require.NoError(t, err)

	require.LessOrEqual(t, len(doc.Confluence), postmortem.ConfluenceBudget)
	wire, err := json.Marshal(map[string]any{"body": map[string]string{"representation": "storage", "value": doc.Confluence}})
	require.NoError(t, err)
	require.LessOrEqual(t, len(wire), confluence.RequestLimit, "within the limit even as escaping JSON writes it")
	require.Equal(t, 40, strings.Count(doc.Confluence, "shortened to keep this page within Confluence&#39;s size limit"))
	require.Contains(t, doc.Confluence, `<a href="https://acme.slack.com/archives/C0PM/p`)
	require.NotContains(t, doc.Confluence, "key events are left out", "every key event is still on the page")
	require.Equal(t, 40*(40000/14), strings.Count(doc.Markdown, "&lt;td>&&lt;/td>"), "the Markdown is whole")

	page := exportToConfluence(t, doc)
	require.Contains(t, page.Body, "the whole text is in the incident channel")
}

// TestConfluencePageOfThousandsOfKeyEventsSaysWhatIsLeftOut: when even
// shortened key events do not fit, the page keeps the first ones that do
// and says how many later ones are left out.
func TestConfluencePageOfThousandsOfKeyEventsSaysWhatIsLeftOut(t *testing.T) {
	t.Parallel()
	d := postmortem.Compile(pinnedPastes(6000, strings.Repeat("SELECT * FROM orders WHERE a<b & c>d; ", 20)))
	doc, err := postmortem.Document(d, mustTemplates(t))
	require.NoError(t, err)
	require.LessOrEqual(t, len(doc.Confluence), postmortem.ConfluenceBudget)

	kept := strings.Count(doc.Confluence, "shortened to keep this page")
	require.Greater(t, kept, 1000, "as many as fit are kept")
	require.Less(t, kept, 6000)
	require.Contains(t, doc.Confluence, fmt.Sprintf("%d later key events are left out to keep this page within Confluence&#39;s size limit", 6000-kept))
	require.Equal(t, 6000*20, strings.Count(doc.Markdown, "SELECT * FROM orders WHERE a&lt;b & c>d;"), "the Markdown is whole")

	page := exportToConfluence(t, doc)
	require.Contains(t, page.Body, "later key events are left out")
}

// TestConfluencePageWithinBudgetIsUntouched: an ordinary page is rendered
// as the template writes it.
func TestConfluencePageWithinBudgetIsUntouched(t *testing.T) {
	t.Parallel()
	d := postmortem.Compile(pinnedPastes(40, "Rolling back checkout to 9f8e7d6 now"))
	doc, err := postmortem.Document(d, mustTemplates(t))
	require.NoError(t, err)
	whole, err := mustTemplates(t).Render(postmortem.ConfluenceTemplate, d)
	require.NoError(t, err)
	require.Equal(t, whole, doc.Confluence)
	require.NotContains(t, doc.Confluence, "shortened")
}

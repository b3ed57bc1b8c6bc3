package postmortem_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/firebreakhq/firebreak/incident"
	"github.com/firebreakhq/firebreak/incident/postmortem"
	pmt "github.com/firebreakhq/firebreak/incident/postmortem/postmortemtest"
)

// TestMarkdownSummaryKeepsWhatPeopleTyped: the summary paragraph quotes the
// title, the impact and the resolution as people typed them. A word in
// angle brackets ("<tenant>") is text, not an HTML tag: rendered as GitHub
// and the web page render Markdown (GFM, raw HTML dropped), the summary
// keeps every word, as the tables and lists around it do.
func TestMarkdownSummaryKeepsWhatPeopleTyped(t *testing.T) {
	t.Parallel()
	declared := pmt.Declared()
	resolved := declared.Add(35 * time.Minute)
	d := postmortem.Compile(postmortem.Input{
		Incident: &incident.Incident{Number: 11, Title: "Login fails on <tenant>.api.example.com", Severity: incident.P2,
			Status: incident.StatusResolved, DeclaredAt: declared, ResolvedAt: &resolved,
			Description: "Users of <b>every</b> tenant see a blank page",
			Summary:     "Rolled back the <script> loader | cache purged"},
		Policy: incident.DefaultPolicy(),
		Now:    resolved,
	})
	doc, err := postmortem.Document(d, mustTemplates(t))
	require.NoError(t, err)

	var html bytes.Buffer
	require.NoError(t, goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert([]byte(doc.Markdown), &html))
	_, summary, ok := strings.Cut(html.String(), "<h2>1. Summary</h2>")
	require.True(t, ok)
	summary, _, _ = strings.Cut(summary, "<h2>")
	require.NotContains(t, summary, "raw HTML omitted", "nothing a person typed is dropped: %s", summary)
	require.Contains(t, summary, "Login fails on &lt;tenant&gt;.api.example.com")
	require.Contains(t, summary, "Users of &lt;b&gt;every&lt;/b&gt; tenant see a blank page")
	require.Contains(t, summary, "Rolled back the &lt;script&gt; loader | cache purged")
	require.NotContains(t, summary, "<script>")
}

package incident_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// TestPlainTextKeepsWhatPeopleTyped: a command's text reaches the domain
// unescaped, so a < or > a person typed is not markup; only what Slack
// marks up becomes plain text, also beside such a character.
func TestPlainTextKeepsWhatPeopleTyped(t *testing.T) {
	t.Parallel()
	name := func(string) string { return "a responder" }
	for in, want := range map[string]string{
		"p99 < 300ms, see <https://x/d>":            "p99 < 300ms, see https://x/d",
		"error rate < 1% since <@U123> deployed":    "error rate < 1% since a responder deployed",
		"<see https://x/d> for the graph":           "<see https://x/d> for the graph",
		"a <b> c":                                   "a <b> c",
		"<https://x/d|the dashboard> and <#C1|ops>": "the dashboard (https://x/d) and #ops",
		"p99 > 2s & <!here>":                        "p99 > 2s & @here",
	} {
		require.Equal(t, want, incident.PlainText(in, name), in)
	}
}

// TestEscapeTextIsPlainTextsInverse: a name the domain puts into captured
// text reads back as written, markup-looking characters and all.
func TestEscapeTextIsPlainTextsInverse(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"grafana-p99.png", "R&D <draft>.txt", "<@U123> &amp; <https://x|y>", ""} {
		escaped := incident.EscapeText(s)
		require.NotContains(t, strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(escaped, "&amp;", ""), "&lt;", ""), "&gt;", ""), "<")
		require.Equal(t, s, incident.PlainText(escaped, func(id string) string { return "@" + id }))
	}
}

// TestPlainTextLinksAreTheChatsLinks: only what the chat marks up as a
// link (http, https, mailto; no white space) is a link in plain text; any
// other scheme between < and > stays as written, as a chat message shows it.
func TestPlainTextLinksAreTheChatsLinks(t *testing.T) {
	t.Parallel()
	name := func(string) string { return "a responder" }
	for in, want := range map[string]string{
		"<ftp://x.example/f|the file>":       "<ftp://x.example/f|the file>",
		"<javascript:alert(1)|click>":        "<javascript:alert(1)|click>",
		"<https://|empty>":                   "<https://|empty>",
		"<mailto:oncall@x.example|on-call>":  "on-call (oncall@x.example)",
		"<http://x.example/a\tb|tab inside>": "<http://x.example/a\tb|tab inside>",
		"<https://x.example/d>":              "https://x.example/d",
	} {
		require.Equal(t, want, incident.PlainText(in, name), "%q", in)
		require.Equal(t, want != in, incident.IsLink(strings.SplitN(in[1:len(in)-1], "|", 2)[0]), "%q", in)
	}
}

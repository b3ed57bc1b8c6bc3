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

package github

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// What GitHub reads as a reference to an issue, a pull request or a
// commit in Markdown gets a zero-width space where its pattern wants a
// digit; code, links and what is no reference are left byte for byte.
// Either way the text reads the same.
func TestUnreferenceMarkdown(t *testing.T) {
	t.Parallel()
	const b = referenceBreak
	const full = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct{ name, in, want string }{
		{"an issue number", "see #3", "see #" + b + "3"},
		{"a step number", "step #2 failed", "step #" + b + "2 failed"},
		{"at the start", "#12 again", "#" + b + "12 again"},
		{"GH-", "GH-26 and gh-7", "GH-" + b + "26 and gh-" + b + "7"},
		{"owner/repo#", "acme/checkout#7", "acme/checkout#" + b + "7"},
		{"user#", "octocat#4", "octocat#" + b + "4"},
		{"a short SHA", "rolled back to 9f8e7d6.", "rolled back to 9f8e7d" + b + "6."},
		{"a full SHA", full, full[:6] + b + full[6:12] + b + full[12:18] + b + full[18:24] + b + full[24:30] + b + full[30:36] + b + full[36:]},
		{"in parentheses", "(from 1a2b3c4)", "(from 1a2b3c" + b + "4)"},
		{"user@SHA", "octocat@f95f852", "octocat@f95f85" + b + "2"},
		{"owner/repo@SHA", "acme/checkout@F95F852A", "acme/checkout@F95F85" + b + "2A"},
		{"a range", "1a2b3c4...9f8e7d6", "1a2b3c" + b + "4...9f8e7d" + b + "6"},
		{"digits only", "order 12345678, 1523456 errors", "order 12345678, 1523456 errors"},
		{"letters only", "defaced cafebabe", "defaced cafebabe"},
		{"a SHA of digits and letters", "deadbee5", "deadbe" + b + "e5"},
		{"emphasized", "_1a2b3c4_ and **#5**", "_1a2b3c" + b + "4_ and **#" + b + "5**"},
		{"bold number", "#**5**", "#**5**"},
		{"a table cell", "| a |\n|---|\n| #5 |", "| a |\n|---|\n| #" + b + "5 |"},
		{"quoted, listed, headed", "> #1\n- #2\n# #3", "> #" + b + "1\n- #" + b + "2\n# #" + b + "3"},
		{"escaped", `\#3`, `\#` + b + "3"},
		{"as a reference", "&#35;3 &num;4 &#x23;&#53;", "&#35;" + b + "3 &num;" + b + "4 &#x23;" + b + "&#53;"},
		{"a raw HTML block's text", "<div title=\"#3\">\n#4\n</div>", "<div title=\"#3\">\n#" + b + "4\n</div>"},
		{"inline HTML", "<b>#3</b>", "<b>#" + b + "3</b>"},
		{"a footnote", "a[^1]\n\n[^1]: #3", "a[^1]\n\n[^1]: #" + b + "3"},
		{"mixed with code", "`#1` #2 `1a2b3c4`", "`#1` #" + b + "2 `1a2b3c4`"},

		{"a code span", "run `git revert 1a2b3c4 #3`", "run `git revert 1a2b3c4 #3`"},
		{"a fenced block", "```\n#3 1a2b3c4\n```\n", "```\n#3 1a2b3c4\n```\n"},
		{"an indented block", "text\n\n    #3 1a2b3c4\n", "text\n\n    #3 1a2b3c4\n"},
		{"a link", "[1a2b3c4](https://github.com/acme/checkout/commit/" + full + ")", "[1a2b3c4](https://github.com/acme/checkout/commit/" + full + ")"},
		{"a link to the channel", "[#inc-42 (#3)](https://acme.slack.com/archives/C042)", "[#inc-42 (#3)](https://acme.slack.com/archives/C042)"},
		{"a reference link", "[#3][c]\n\n[c]: https://example.com/#3", "[#3][c]\n\n[c]: https://example.com/#3"},
		{"a bare URL", "see https://example.com/runbook#3 and www.example.com/1a2b3c4d", "see https://example.com/runbook#3 and www.example.com/1a2b3c4d"},
		{"an angle autolink", "<https://github.com/acme/checkout/deployments/1#3>", "<https://github.com/acme/checkout/deployments/1#3>"},
		{"an image", "![#3](https://example.com/#3.png)", "![#3](https://example.com/#3.png)"},
		{"a heading's marker", "## 1. Summary", "## 1. Summary"},
		{"no number", "#hashtag, # 3, C#, #", "#hashtag, # 3, C#, #"},
		{"GH- in a word", "LGH-3, gh-pages", "LGH-3, gh-pages"},
		{"a short hex run", "1a2b3c, cafe, 2026-03-14, 14:05:00", "1a2b3c, cafe, 2026-03-14, 14:05:00"},
		{"hex in a word", "x1a2b3c4d, 1a2b3c4dz, INC-1234567x", "x1a2b3c4d, 1a2b3c4dz, INC-1234567x"},
		{"a mention's character reference", "&#64;" + mentionBreak + "octocat", "&#64;" + mentionBreak + "octocat"},
		{"already broken", "#" + b + "3 1a2b3c" + b + "4", "#" + b + "3 1a2b3c" + b + "4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := unreferenceMarkdown(tc.in)
			require.Equal(t, tc.want, got)
			require.Equal(t, strings.ReplaceAll(tc.in, b, ""), strings.ReplaceAll(got, b, ""), "reads the same")
			require.Equal(t, got, unreferenceMarkdown(got), "a second pass changes nothing")
		})
	}
}

// A title is plain text to GitHub but for its code spans: a character
// reference in it shows as typed.
func TestUnreferenceTitle(t *testing.T) {
	t.Parallel()
	const b = referenceBreak
	for _, tc := range []struct{ in, want string }{
		{"Checkout down after #3", "Checkout down after #" + b + "3"},
		{"#3: GH-12 at 1a2b3c4", "#" + b + "3: GH-" + b + "12 at 1a2b3c" + b + "4"},
		{"Revert `1a2b3c4 #3` from #4", "Revert `1a2b3c4 #3` from #" + b + "4"},
		{"[x](https://example.com/#3)", "[x](https://example.com/#" + b + "3)"},
		{"&#35;35 as typed", "&#" + b + "35;35 as typed"},
		{"Step 2 of INC-42", "Step 2 of INC-42"},
		{"", ""},
	} {
		got := unreferenceTitle(tc.in)
		require.Equal(t, tc.want, got, tc.in)
		require.Equal(t, got, unreferenceTitle(got), "a second pass changes nothing")
	}
}

// Sent text mentions nobody and references nothing, and a cut to
// GitHub's limit that bares a code span's reference breaks it too.
func TestQuiet(t *testing.T) {
	t.Parallel()
	require.Equal(t, "cc @"+mentionBreak+"octocat on #"+referenceBreak+"3", quietMarkdown("cc @octocat on #3"))
	require.Equal(t, "@"+mentionBreak+"octocat: #"+referenceBreak+"3", quietTitle("@octocat: #3"))

	const limit = 20
	got := fitUnmentioned("x `#3 and more text` y", limit, quietMarkdown, truncate)
	require.LessOrEqual(t, utf8.RuneCountInString(got), limit)
	require.Equal(t, "x `#"+referenceBreak+"3 and more tex…", got)
}

package github

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// What GitHub reads as a mention in Markdown gets a zero-width space after
// its "@"; what it does not (code, links, e-mail addresses, an "@" inside
// a word) is left byte for byte. Either way the text reads the same.
func TestUnmentionMarkdown(t *testing.T) {
	t.Parallel()
	const b = mentionBreak
	for _, tc := range []struct{ name, in, want string }{
		{"a user", "@octocat said so", "@" + b + "octocat said so"},
		{"a team", "cc @acme/security", "cc @" + b + "acme/security"},
		{"in parentheses", "(@octocat)", "(@" + b + "octocat)"},
		{"after punctuation", "ok,@octocat", "ok,@" + b + "octocat"},
		{"after a non-ASCII letter", "é@octocat", "é@" + b + "octocat"},
		{"after emphasis ending in _", "_a_@octocat", "_a_@" + b + "octocat"},
		{"bold", "**@octocat**", "**@" + b + "octocat**"},
		{"escaped", `\@octocat`, `\@` + b + "octocat"},
		{"as a decimal reference", "&#64;octocat", "&#64;" + b + "octocat"},
		{"as a hex reference", "&#X0040;octocat", "&#X0040;" + b + "octocat"},
		{"as a named reference", "&commat;octocat", "&commat;" + b + "octocat"},
		{"the name as a reference", "@&#111;ctocat", "@" + b + "&#111;ctocat"},
		{"quoted, listed, headed", "> @a\n- @b\n# @c", "> @" + b + "a\n- @" + b + "b\n# @" + b + "c"},
		{"on a continued line", "see\n@octocat", "see\n@" + b + "octocat"},
		{"a table cell", "| a | b |\n|---|---|\n| @octocat | x |", "| a | b |\n|---|---|\n| @" + b + "octocat | x |"},
		{"raw HTML", "<div>\n@octocat\n</div>", "<div>\n@" + b + "octocat\n</div>"},
		{"inline HTML", "<b>x</b>@octocat", "<b>x</b>@" + b + "octocat"},
		{"a link's text", "[@octocat](https://github.com/octocat)", "[@" + b + "octocat](https://github.com/octocat)"},
		{"a footnote", "a[^1]\n\n[^1]: @octocat", "a[^1]\n\n[^1]: @" + b + "octocat"},
		{"mixed with code", "`a` @b `@c`", "`a` @" + b + "b `@c`"},
		{"after a code span", "`a`@b", "`a`@" + b + "b"},

		{"an e-mail address", "mail ops@example.com", "mail ops@example.com"},
		{"an e-mail address autolinked", "<ops@example.com>", "<ops@example.com>"},
		{"a code span", "run `@keep` now", "run `@keep` now"},
		{"a double-backtick code span", "``@keep ` @x``", "``@keep ` @x``"},
		{"a fenced block", "```\n@keep\n```\n", "```\n@keep\n```\n"},
		{"a tilde fence with info", "~~~ @lang\n@keep\n~~~", "~~~ @lang\n@keep\n~~~"},
		{"an indented block", "text\n\n    @keep\n", "text\n\n    @keep\n"},
		{"a link's destination", "[issue](https://example.com/@octocat)", "[issue](https://example.com/@octocat)"},
		{"a bare URL", "see https://example.com/@octocat", "see https://example.com/@octocat"},
		{"an angle autolink", "<https://example.com/@octocat>", "<https://example.com/@octocat>"},
		{"no name", "@ octocat, @, @-x", "@ octocat, @, @-x"},
		{"already broken", "@" + b + "octocat", "@" + b + "octocat"},
		{"a commit reference", "acme/checkout@f95f852", "acme/checkout@f95f852"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := unmentionMarkdown(tc.in)
			require.Equal(t, tc.want, got)
			require.Equal(t, strings.ReplaceAll(tc.in, b, ""), strings.ReplaceAll(got, b, ""), "reads the same")
			require.Equal(t, got, unmentionMarkdown(got), "a second pass changes nothing")
		})
	}
}

// A title is plain text to GitHub but for its code spans.
func TestUnmentionTitle(t *testing.T) {
	t.Parallel()
	const b = mentionBreak
	for _, tc := range []struct{ in, want string }{
		{"Ask @octocat", "Ask @" + b + "octocat"},
		{"@acme/security: page", "@" + b + "acme/security: page"},
		{"# @octocat", "# @" + b + "octocat"},
		{"    @octocat", "    @" + b + "octocat"},
		{"Run `@keep` for @octocat", "Run `@keep` for @" + b + "octocat"},
		{"[x](https://example.com/@octocat)", "[x](https://example.com/@" + b + "octocat)"},
		{"Mail ops@example.com", "Mail ops@example.com"},
		{"", ""},
	} {
		require.Equal(t, tc.want, unmentionTitle(tc.in), tc.in)
	}
}

// Cutting a body to GitHub's limit may leave a code span unclosed, baring
// the "@" in it; it is broken then too, and the result still fits.
func TestFitUnmentionedBreaksWhatTheCutBares(t *testing.T) {
	t.Parallel()
	const limit = 20
	s := "x `@keep and more text` y"
	got := fitUnmentioned(s, limit, unmentionMarkdown, truncate)
	require.LessOrEqual(t, utf8.RuneCountInString(got), limit)
	require.Equal(t, "x `@"+mentionBreak+"keep and more …", got)
}
